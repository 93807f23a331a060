import { expect, it } from "bun:test"
import { expected, kernelScenario } from "../suites/kernelScenario.ts"

it("kernel scenario under Bun: supervised counter crashes, restarts, and the system closes clean", async () => {
  expect(await kernelScenario()).toEqual(expected)
})
