/**
 * A flaky downstream ("quotes") behind `protect`: a per-client rate limiter, a circuit breaker that opens
 * during an outage and recovers after it, a bulkhead, a timeout, and retries held back by a retry budget.
 *
 * Time is simulated with Effect's `TestClock`, so the run is instant and its output deterministic:
 * `bun examples/protected-api/main.ts`. `tests/examples/protectedApi.test.ts` runs the same `main`.
 */
import { Effect, Fiber, Random } from "effect"
import { TestClock } from "effect/testing"
import * as Bulkhead from "../../src/resilience/Bulkhead.ts"
import * as CircuitBreaker from "../../src/resilience/CircuitBreaker.ts"
import { protect } from "../../src/resilience/Protect.ts"
import * as RateLimiter from "../../src/resilience/RateLimiter.ts"
import * as Retry from "../../src/resilience/Retry.ts"

/** What the run observed. */
export interface Summary {
  readonly burst: { readonly ok: number; readonly rateLimited: number }
  readonly outage: {
    readonly failed: Record<string, number>
    readonly downstreamCalls: number
    readonly retries: number
  }
  readonly recovery: { readonly ok: number }
  readonly transitions: ReadonlyArray<string>
  readonly lines: ReadonlyArray<string>
}

class QuoteUnavailable extends Error {
  readonly _tag = "QuoteUnavailable"
}

/** The scenario; needs a `TestClock` (see {@link main}). */
export const scenario = Effect.gen(function* () {
  const lines: string[] = []
  const now = () => Effect.clockWith((c) => Effect.succeed(c.currentTimeMillisUnsafe()))
  const say = (msg: string) =>
    Effect.map(now(), (t) => void lines.push(`[t=${String(t).padStart(5)} ms] ${msg}`))

  // The flaky downstream: 20 ms per call, failing while `down`.
  let down = false
  let downstreamCalls = 0
  const fetchQuote = (symbol: string) =>
    Effect.gen(function* () {
      downstreamCalls++
      yield* Effect.sleep(20)
      if (down) return yield* Effect.fail(new QuoteUnavailable(`quotes service is down (${symbol})`))
      return 100 + symbol.length
    })

  const limiter = yield* RateLimiter.make({
    name: "per-client",
    algorithm: "token-bucket",
    limit: 5,
    windowMs: 1000,
  })
  const breaker = yield* CircuitBreaker.make({
    name: "quotes",
    window: { type: "count", size: 10 },
    minimumCalls: 4,
    failureRateThreshold: 0.5,
    openDurationMs: 500,
    halfOpenMaxCalls: 1,
  })
  const bulkhead = yield* Bulkhead.make({ name: "quotes", maxConcurrency: 2, maxQueue: 8 })
  const budget = yield* Retry.makeBudget({ ratio: 0.2, minRetriesPerSecond: 1, ttlMs: 1000 })
  const transitions: string[] = []
  yield* breaker.subscribe((c) => {
    transitions.push(`${c.from}->${c.to}`)
    lines.push(`[t=${String(c.atMs).padStart(5)} ms] breaker "${c.name}": ${c.from} -> ${c.to}`)
  })
  let retries = 0
  const call = (client: string, symbol: string, withRetry: boolean) =>
    protect(`client:${client}`, fetchQuote(symbol), {
      rateLimit: limiter,
      breaker,
      bulkhead,
      timeoutMs: 200,
      retry: withRetry
        ? {
            maxAttempts: 3,
            baseDelayMs: 50,
            jitter: "equal",
            maxElapsedMs: 300,
            budget,
            onRetry: (i) => {
              retries++
              return say(
                `${client}/${symbol}: attempt ${i.attempt} failed (${(i.error as any)._tag}), retry in ${i.delayMs} ms`,
              )
            },
          }
        : undefined,
    }).pipe(
      Effect.tap((price) => say(`${client}/${symbol}: ${price}`)),
      Effect.tapError((e) => say(`${client}/${symbol}: ${e._tag}`)),
      Effect.result,
    )

  /** Runs calls concurrently (started `spacingMs` apart) while simulated time advances in 10 ms steps. */
  const settle = (calls: ReadonlyArray<Effect.Effect<any>>, spacingMs = 0) =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(
        Effect.all(
          calls.map((c, i) => Effect.andThen(Effect.sleep(i * spacingMs), c)),
          { concurrency: "unbounded" },
        ),
      )
      while (fiber.pollUnsafe() === undefined) yield* TestClock.adjust(10)
      return yield* Fiber.join(fiber)
    })

  yield* say("phase 1: a burst of 8 requests from client A (limit 5 per second, no retry)")
  const burst = yield* settle(Array.from({ length: 8 }, (_, i) => call("A", `S${i}`, false)))

  yield* say("phase 2: the quotes service goes down; clients B..G call with retries (budget 20% + 1/s)")
  down = true
  const before = downstreamCalls
  const outage = yield* settle(
    ["B", "C", "D", "E", "F", "G"].map((c) => call(c, "ACME", true)),
    30,
  )
  const outageCalls = downstreamCalls - before

  yield* say("phase 3: the service recovers; after the open duration a probe closes the breaker")
  down = false
  yield* TestClock.adjust(500)
  const recovery = yield* settle(
    ["H", "I", "J", "K"].map((c) => call(c, "ACME", true)),
    30,
  )

  const failed: Record<string, number> = {}
  for (const r of outage) if (r._tag === "Failure") failed[r.failure._tag] = (failed[r.failure._tag] ?? 0) + 1
  const summary: Summary = {
    burst: {
      ok: burst.filter((r) => r._tag === "Success").length,
      rateLimited: burst.filter((r) => r._tag === "Failure" && r.failure._tag === "RateLimited").length,
    },
    outage: { failed, downstreamCalls: outageCalls, retries },
    recovery: { ok: recovery.filter((r) => r._tag === "Success").length },
    transitions,
    lines,
  }
  return summary
})

/** The example as one program: the scenario under a `TestClock` with a fixed random seed. */
export const main: Effect.Effect<Summary> = scenario.pipe(
  Effect.scoped,
  Random.withSeed("protected-api"),
  Effect.provide(TestClock.layer()),
)

if (import.meta.main) {
  const summary = await Effect.runPromise(main)
  for (const line of summary.lines) console.log(line)
  const { lines: _, ...figures } = summary
  console.log(JSON.stringify(figures, null, 2))
}
