import assert from "node:assert/strict"
import { test } from "node:test"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Bulkhead from "../../../src/resilience/Bulkhead.ts"
import * as CircuitBreaker from "../../../src/resilience/CircuitBreaker.ts"
import { protect } from "../../../src/resilience/Protect.ts"
import * as RateLimiter from "../../../src/resilience/RateLimiter.ts"

test("resilience: limiter, breaker, bulkhead and retry under protect on Node", async () => {
  const result = await Effect.runPromise(
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.make({ algorithm: "gcra", limit: 2, windowMs: 1000 })
      const decisions = [yield* limiter.check("k"), yield* limiter.check("k"), yield* limiter.check("k")]
      const breaker = yield* CircuitBreaker.make({ minimumCalls: 2, openDurationMs: 100 })
      const bulkhead = yield* Bulkhead.make({ maxConcurrency: 1, maxQueue: 1 })
      let attempts = 0
      const flaky = Effect.suspend(() =>
        ++attempts < 3 ? Effect.fail("down" as const) : Effect.succeed("up"),
      )
      const fiber = yield* Effect.forkChild(
        protect("svc", flaky, {
          breaker,
          bulkhead,
          timeoutMs: 50,
          retry: { maxAttempts: 5, baseDelayMs: 100, jitter: "none" },
        }),
      )
      yield* TestClock.adjust(1000)
      return {
        allowed: decisions.map((d) => d.allowed),
        retryAfter: decisions[2].retryAfterMs,
        value: yield* Fiber.join(fiber),
        state: yield* breaker.state,
      }
    }).pipe(Effect.provide(TestClock.layer())),
  )
  assert.deepEqual(result.allowed, [true, true, false])
  assert.equal(result.retryAfter, 500)
  assert.equal(result.value, "up")
  assert.equal(result.state, "closed")
})
