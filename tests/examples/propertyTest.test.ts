import { describe, expect, it } from "bun:test"
import { main } from "../../examples/property-test/main.ts"

describe("examples/property-test", () => {
  it("keeps every invariant over random commands, faults and schedules", async () => {
    const lines: string[] = []
    expect(await main(25, (l) => lines.push(l))).toEqual({ passed: 25, runs: 25 })
    expect(lines).toEqual(["25 of 25 random schedules kept every invariant"])
  })
})
