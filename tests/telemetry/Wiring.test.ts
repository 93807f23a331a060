import { describe, expect, it } from "bun:test"
import { Effect, Metric } from "effect"
import { TestClock } from "effect/testing"
import { Cache, CircuitBreaker, Metrics, RateLimiter, Registry } from "../../src/index.ts"

/** Reads a metric's current state in the current context (counters: count; gauges: value). */
const read = (m: Metric.Metric<any, any>) =>
  Effect.map(Metrics.bind(m), (b) => {
    const v = b.value() as { count?: number; value?: number }
    return v.count ?? v.value ?? 0
  })

describe("Telemetry wiring", () => {
  it("feeds limiter decisions, breaker state and transitions, cache hits/misses/evictions and registry size", async () => {
    const got = await Effect.runPromise(
      Effect.gen(function* () {
        // a fresh metric registry: only this test's updates are visible
        const limiter = yield* RateLimiter.make({ limit: 2, windowMs: 1000 })
        for (let i = 0; i < 3; i++) yield* limiter.check("k")
        yield* limiter.peek("k") // a peek is not a decision

        const breaker = yield* CircuitBreaker.make({
          name: "quotes",
          minimumCalls: 2,
          failureRateThreshold: 0.5,
        })
        for (let i = 0; i < 2; i++) yield* Effect.ignore(breaker.run(Effect.fail("down")))
        const state = Metric.withAttributes(Metrics.breakerState, { breaker: "quotes" })
        const transitions = Metric.withAttributes(Metrics.breakerTransitions, { breaker: "quotes" })

        const cache = yield* Cache.make<string, number>({ maximumSize: 1 })
        cache.setUnsafe("a", 1)
        cache.getUnsafe("a")
        cache.getUnsafe("b")
        for (let i = 0; i < 20; i++) cache.setUnsafe(`k${i}`, i)

        const registry = yield* Registry.make<{ id: number }>()
        yield* registry.register("x", { id: 1 })
        yield* registry.register("y", { id: 2 })
        yield* registry.unregister("x")

        yield* Effect.yieldNow // hot-path counters are reported once per microtask
        return {
          allowed: yield* read(Metrics.limiterDecisions.allowed),
          denied: yield* read(Metrics.limiterDecisions.denied),
          breakerState: yield* read(state),
          transitions: yield* read(transitions),
          hits: yield* read(Metrics.cacheHits),
          misses: yield* read(Metrics.cacheMisses),
          evictions: yield* read(Metrics.cacheEvictions),
          registry: yield* read(Metrics.registrySize),
        }
      }).pipe(
        Effect.scoped,
        Effect.provideService(Metric.MetricRegistry, new Map()),
        Effect.provide(TestClock.layer()),
      ),
    )
    expect(got.allowed).toBe(2)
    expect(got.denied).toBe(1)
    expect(got.breakerState).toBe(Metrics.BreakerStateValue.open)
    expect(got.transitions).toBe(1)
    expect(got.hits).toBe(1)
    expect(got.misses).toBe(1)
    expect(got.evictions).toBeGreaterThan(0)
    expect(got.registry).toBe(1)
  })
})
