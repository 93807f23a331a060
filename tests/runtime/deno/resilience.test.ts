import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as CircuitBreaker from "../../../src/resilience/CircuitBreaker.ts"
import { protect } from "../../../src/resilience/Protect.ts"
import * as RateLimiter from "../../../src/resilience/RateLimiter.ts"

const assertEquals = (actual: unknown, expected: unknown, what: string): void => {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
  }
}

Deno.test("resilience: rate limiter, breaker and retry under protect on Deno", async () => {
  const result = await Effect.runPromise(
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ algorithm: "sliding-log", limit: 2, windowMs: 1000 })
      const a = yield* limiter.check("k")
      const b = yield* limiter.check("k")
      const c = yield* limiter.check("k")
      const breaker = yield* CircuitBreaker.make({ minimumCalls: 2, openDurationMs: 100 })
      let attempts = 0
      const flaky = Effect.suspend(() =>
        ++attempts < 3 ? Effect.fail("down" as const) : Effect.succeed("up"),
      )
      const fiber = yield* Effect.forkChild(
        protect("svc", flaky, { breaker, retry: { maxAttempts: 5, baseDelayMs: 100, jitter: "none" } }),
      )
      yield* TestClock.adjust(1000)
      const value = yield* Fiber.join(fiber)
      return {
        allowed: [a.allowed, b.allowed, c.allowed],
        retryAfter: c.retryAfterMs,
        value,
        attempts,
        state: yield* breaker.state,
      }
    }).pipe(Effect.provide(TestClock.layer())),
  )
  assertEquals(result.allowed, [true, true, false], "limiter decisions")
  assertEquals(result.retryAfter, 1000, "retryAfterMs")
  assertEquals(result.value, "up", "protected value")
  assertEquals(result.state, "closed", "breaker state")
})

Deno.test("resilience: breaker calls yielded in Effect.gen record completed and suspended effects on Deno", async () => {
  const result = await Effect.runPromise(
    Effect.gen(function* () {
      const breaker = yield* CircuitBreaker.make({ window: { type: "count", size: 4 }, minimumCalls: 4 })
      const values = [yield* breaker.run(Effect.succeed(1)), yield* breaker.run(Effect.sync(() => 2))]
      yield* Effect.ignore(breaker.run(Effect.fail("down")))
      const failed = yield* Effect.gen(function* () {
        return yield* breaker.run(Effect.suspend(() => Effect.fail("down")))
      }).pipe(Effect.flip)
      const refused = yield* Effect.flip(breaker.run(Effect.succeed(3)))
      return { values, failed, refused: refused._tag, metrics: yield* breaker.metrics }
    }).pipe(Effect.provide(TestClock.layer())),
  )
  assertEquals(result.values, [1, 2], "values")
  assertEquals(result.failed, "down", "failure passed through")
  assertEquals(result.refused, "CircuitOpen", "open after 2 of 4 failed")
  assertEquals([result.metrics.calls, result.metrics.failures], [4, 2], "window counts")
})
