import { describe, expect, it } from "bun:test"
import { Effect } from "effect"
import { main } from "../../examples/protected-api/main.ts"

describe("examples/protected-api", () => {
  it("limits the burst, opens the breaker in the outage, holds retries to the budget, and recovers", async () => {
    const summary = await Effect.runPromise(main)
    expect(summary.burst).toEqual({ ok: 5, rateLimited: 3 })
    expect(summary.transitions).toEqual(["closed->open", "open->half-open", "half-open->closed"])
    expect(summary.outage.failed.CircuitOpen).toBeGreaterThan(0)
    // Six callers with up to three attempts each would make 18 downstream calls without breaker and budget.
    expect(summary.outage.downstreamCalls).toBeLessThan(8)
    expect(summary.outage.retries).toBeLessThanOrEqual(2)
    expect(summary.recovery.ok).toBe(4)
  })

  it("is deterministic: two runs print the same lines", async () => {
    const [a, b] = await Promise.all([Effect.runPromise(main), Effect.runPromise(main)])
    expect(a.lines).toEqual(b.lines)
  })
})
