import { describe, expect, it } from "bun:test"
import { Effect } from "effect"
import { program } from "../../examples/discovery/main.ts"

describe("examples/discovery", () => {
  it("spawns 1,000 agents, answers the discovery helpers, dispatches work and forgets stopped agents", async () => {
    const r = await Effect.runPromise(program(1000))
    expect(r.registered).toBe(1000)
    expect(r.health.total).toBe(1000)
    expect(r.capableAndHealthy).toBeGreaterThan(0)
    expect(r.idle.length).toBe(3)
    expect(r.leastLoadedSpread).toBeGreaterThan(50)
    expect(r.roundRobinJobsPerHealthyCoder.max - r.roundRobinJobsPerHealthyCoder.min).toBeLessThanOrEqual(1)
    expect(r.missing).toBe("NoAgentAvailable")
    expect(r.afterStop).toBe(900)
  })
})
