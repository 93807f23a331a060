import assert from "node:assert/strict"
import { test } from "node:test"
import { expected, kernelScenario } from "../../suites/kernelScenario.ts"

test("kernel scenario: supervised counter crashes, restarts, and the system closes clean", async () => {
  assert.deepEqual(await kernelScenario(), expected)
})
