import { describe, expect, it } from "bun:test"
import { Effect } from "effect"
import { main } from "../../examples/supervision/main.ts"

describe("examples/supervision", () => {
  it("completes every job but the poison one, restarting only the crashed workers", async () => {
    const lines: string[] = []
    const { results, restarts } = await Effect.runPromise(main((l) => lines.push(l)))
    expect([...results.keys()].sort((a, b) => a - b)).toEqual(
      [...Array.from({ length: 20 }, (_, i) => i + 1)].filter((n) => n !== 13),
    )
    expect(results.get(12)).toBe(144)
    expect(restarts).toEqual({ "worker-0": 0, "worker-1": 1, "worker-2": 1, "worker-3": 0 })
    expect(lines.filter((l) => l.includes("AgentStopped"))).toHaveLength(2)
  })
})
