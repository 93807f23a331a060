import { describe, expect, it } from "bun:test"
import { Effect, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as Health from "../../src/telemetry/Health.ts"
import { runTest } from "./harness.ts"

const run = runTest

describe("Health", () => {
  it("aggregates to the worst status; pending is unready but alive (property)", () => {
    const status = fc.constantFrom<Health.Status | "pending">("healthy", "degraded", "unhealthy", "pending")
    fc.assert(
      fc.property(fc.array(status, { maxLength: 10 }), (xs) => {
        const ready = Health.aggregate("readiness", xs)
        const live = Health.aggregate("liveness", xs)
        const has = (s: string) => xs.includes(s as any)
        expect(ready).toBe(
          has("unhealthy") || has("pending") ? "unhealthy" : has("degraded") ? "degraded" : "healthy",
        )
        expect(live).toBe(has("unhealthy") ? "unhealthy" : has("degraded") ? "degraded" : "healthy")
      }),
      { numRuns: 200 },
    )
  })

  it("runs checks at their interval on the TestClock and reports per probe", async () => {
    const out = await run(
      Effect.gen(function* () {
        const health = yield* Health.make()
        const runs = yield* Ref.make(0)
        const status = yield* Ref.make<Health.Status>("healthy")
        yield* health.register({
          name: "db",
          check: Effect.andThen(
            Ref.update(runs, (n) => n + 1),
            Ref.get(status),
          ),
          intervalMs: 1000,
          probes: ["readiness", "liveness"],
        })
        yield* health.register({
          name: "cache",
          check: Effect.fail("down"),
          intervalMs: 1000,
          critical: false,
        })
        yield* Effect.yieldNow
        const first = { ready: yield* health.readiness, live: yield* health.liveness }
        yield* Ref.set(status, "unhealthy")
        yield* TestClock.adjust(999)
        const beforeTick = (yield* health.liveness).status
        yield* TestClock.adjust(1)
        const afterTick = yield* health.liveness
        yield* TestClock.adjust(5000)
        return { first, beforeTick, afterTick, runs: yield* Ref.get(runs) }
      }),
    )
    expect(out.first.ready.status).toBe("degraded")
    expect(out.first.ready.checks.find((c) => c.name === "cache")?.error).toBe("down")
    expect(out.first.live.status).toBe("healthy")
    expect(out.beforeTick).toBe("healthy")
    expect(out.afterTick.status).toBe("unhealthy")
    expect(out.runs).toBe(7)
  })

  it("treats a check exceeding its timeout as failed and a pending check as not ready", async () => {
    const out = await run(
      Effect.gen(function* () {
        const health = yield* Health.make()
        yield* health.register({ name: "slow", check: Effect.never, timeoutMs: 200, intervalMs: 1000 })
        yield* Effect.yieldNow
        const pending = yield* health.readiness
        yield* TestClock.adjust(200)
        return { pending, timedOut: yield* health.readiness }
      }),
    )
    expect(out.pending.status).toBe("unhealthy")
    expect(out.pending.checks[0].status).toBe("pending")
    expect(out.timedOut.checks[0].error).toBe("timed out")
    expect(out.timedOut.checks[0].consecutiveFailures).toBe(1)
  })

  it("stops a check and forgets it when its scope closes", async () => {
    const out = await run(
      Effect.gen(function* () {
        const health = yield* Health.make()
        const runs = yield* Ref.make(0)
        const fiber = yield* Effect.forkChild(
          Effect.scoped(
            Effect.gen(function* () {
              yield* health.register({ name: "temp", check: Ref.update(runs, (n) => n + 1), intervalMs: 100 })
              yield* TestClock.adjust(250)
            }),
          ),
        )
        yield* Fiber.await(fiber)
        const at = yield* Ref.get(runs)
        yield* TestClock.adjust(1000)
        return { at, later: yield* Ref.get(runs), report: yield* health.readiness }
      }),
    )
    expect(out.at).toBe(3)
    expect(out.later).toBe(3)
    expect(out.report.checks).toEqual([])
  })

  it("bounds checks, rejects duplicate names and invalid options naming them", async () => {
    const out = await run(
      Effect.gen(function* () {
        const health = yield* Health.make({ maxChecks: 1 })
        yield* health.register({ name: "a", check: Effect.void })
        const dup = yield* Effect.flip(health.register({ name: "a", check: Effect.void }))
        const full = yield* Effect.flip(health.register({ name: "b", check: Effect.void }))
        return { dup, full }
      }),
    )
    expect(out.dup._tag).toBe("HealthCheckExists")
    expect(out.full._tag).toBe("HealthChecksExhausted")
    expect(() => Effect.runSync(Health.make({ maxChecks: 0 }))).toThrow(/"maxChecks"/)
    await expect(
      run(
        Effect.gen(function* () {
          const health = yield* Health.make()
          yield* health.register({ name: "x", check: Effect.void, intervalMs: -1 })
        }),
      ),
    ).rejects.toThrow(/intervalMs/)
  })
})
