import { describe, expect, it } from "bun:test"
import { Clock, Deferred, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Bulkhead from "../../src/resilience/Bulkhead.ts"
import * as CircuitBreaker from "../../src/resilience/CircuitBreaker.ts"
import { protect } from "../../src/resilience/Protect.ts"
import * as RateLimiter from "../../src/resilience/RateLimiter.ts"

const runTest = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, TestClock.layer()))

describe("protect", () => {
  it("with no layers is the effect itself", async () => {
    expect(await runTest(protect("k", Effect.succeed(1), {}))).toBe(1)
  })

  it("checks the rate limit before the breaker sees the call", async () => {
    await runTest(
      Effect.gen(function* () {
        const limiter = yield* RateLimiter.make({ limit: 1, windowMs: 1000 })
        const breaker = yield* CircuitBreaker.make({ minimumCalls: 1 })
        let runs = 0
        const call = protect(
          "k",
          Effect.sync(() => ++runs),
          { rateLimit: limiter, breaker },
        )
        yield* call
        const e = yield* Effect.flip(call)
        expect(e._tag).toBe("RateLimited")
        expect(runs).toBe(1)
        expect((yield* breaker.metrics).calls).toBe(1)
      }),
    )
  })

  it("refuses while the breaker is open without taking a bulkhead slot", async () => {
    await runTest(
      Effect.gen(function* () {
        const breaker = yield* CircuitBreaker.make({ minimumCalls: 1 })
        const bulkhead = yield* Bulkhead.make({ maxConcurrency: 1, maxQueue: 0 })
        yield* Effect.ignore(protect("k", Effect.fail("down"), { breaker, bulkhead }))
        let runs = 0
        const e = yield* Effect.flip(
          protect(
            "k",
            Effect.sync(() => ++runs),
            { breaker, bulkhead },
          ),
        )
        expect(e._tag).toBe("CircuitOpen")
        expect(runs).toBe(0)
      }),
    )
  })

  it("counts a timeout as a breaker failure but not a full bulkhead", async () => {
    await runTest(
      Effect.gen(function* () {
        const breaker = yield* CircuitBreaker.make({ minimumCalls: 1 })
        const bulkhead = yield* Bulkhead.make({ maxConcurrency: 1, maxQueue: 0 })
        const gate = yield* Deferred.make<void>()
        const holder = yield* Effect.forkChild(bulkhead.run(Deferred.await(gate)))
        yield* Effect.yieldNow
        const full = yield* Effect.flip(protect("k", Effect.void, { breaker, bulkhead }))
        expect(full._tag).toBe("BulkheadFull")
        expect(yield* breaker.state).toBe("closed")
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(holder)
        const f = yield* Effect.forkChild(
          Effect.flip(protect("k", Effect.never, { breaker, bulkhead, timeoutMs: 100 })),
        )
        yield* TestClock.adjust(100)
        expect((yield* Fiber.join(f))._tag).toBe("TimeoutExceeded")
        expect(yield* breaker.state).toBe("open")
      }),
    )
  })

  it("retries outside every layer: each attempt is rate-limited again and honours retryAfterMs", async () => {
    await runTest(
      Effect.gen(function* () {
        const limiter = yield* RateLimiter.make({ algorithm: "fixed-window", limit: 2, windowMs: 1000 })
        const times: number[] = []
        const task = Effect.gen(function* () {
          times.push(yield* Clock.currentTimeMillis)
          return yield* Effect.fail("flaky" as const)
        })
        const f = yield* Effect.forkChild(
          Effect.flip(
            protect("k", task, {
              rateLimit: limiter,
              retry: { maxAttempts: 4, baseDelayMs: 10, jitter: "none" },
            }),
          ),
        )
        yield* TestClock.adjust(5000)
        const e = yield* Fiber.join(f)
        // attempts 1, 2 run at 0 and 10; attempt 3 is refused at 30 and waits 970 ms; attempt 4 runs at 1000
        expect(times).toEqual([0, 10, 1000])
        expect(e).toBe("flaky")
      }),
    )
  })

  it("takes the breaker for the key from a registry", async () => {
    await runTest(
      Effect.gen(function* () {
        const breakers = yield* CircuitBreaker.makeRegistry({ defaults: { minimumCalls: 1 } })
        yield* Effect.ignore(protect("a", Effect.fail("down"), { breaker: breakers }))
        expect((yield* Effect.flip(protect("a", Effect.void, { breaker: breakers })))._tag).toBe(
          "CircuitOpen",
        )
        yield* protect("b", Effect.void, { breaker: breakers })
      }),
    )
  })

  it("fails at construction on a bad timeoutMs, naming it", () => {
    expect(() => protect("k", Effect.void, { timeoutMs: 0 })).toThrow('"timeoutMs"')
  })
})
