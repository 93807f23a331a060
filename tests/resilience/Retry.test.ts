import { describe, expect, it } from "bun:test"
import { Clock, Effect, Fiber, Random } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { RateLimited } from "../../src/resilience/ResilienceError.ts"
import * as Retry from "../../src/resilience/Retry.ts"

const runTest = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, TestClock.layer()))

/** A task failing `failures` times with `error` then succeeding; records attempt times. */
const flaky = <E>(failures: number, error: E) => {
  const times: number[] = []
  const task = Effect.gen(function* () {
    times.push(yield* Clock.currentTimeMillis)
    if (times.length <= failures) return yield* Effect.fail(error)
    return times.length
  })
  return { task, times }
}

/** Runs `effect` in a fiber and advances the TestClock until it ends. */
const drive = <A, E>(effect: Effect.Effect<A, E>, ms = 1_000_000) =>
  Effect.gen(function* () {
    const f = yield* Effect.forkChild(Effect.result(effect))
    yield* TestClock.adjust(ms)
    return yield* Fiber.join(f)
  })

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i])

describe("Retry", () => {
  it("waits exponentially, linearly, fixed or not at all between attempts", async () => {
    const cases: Array<[Retry.Backoff, number[]]> = [
      ["exponential", [100, 200, 400, 800]],
      ["linear", [100, 200, 300, 400]],
      ["fixed", [100, 100, 100, 100]],
      ["immediate", [0, 0, 0, 0]],
    ]
    for (const [backoff, expected] of cases) {
      const times = await runTest(
        Effect.gen(function* () {
          const { task, times } = flaky(4, "e")
          const r = yield* drive(
            task.pipe(Retry.retry({ backoff, baseDelayMs: 100, jitter: "none", maxAttempts: 5 })),
          )
          expect(r._tag).toBe("Success")
          return times
        }),
      )
      expect(gaps(times)).toEqual(expected)
    }
  })

  it("caps delays at maxDelayMs", async () => {
    const times = await runTest(
      Effect.gen(function* () {
        const { task, times } = flaky(5, "e")
        yield* drive(
          task.pipe(Retry.retry({ baseDelayMs: 100, maxDelayMs: 250, jitter: "none", maxAttempts: 6 })),
        )
        return times
      }),
    )
    expect(gaps(times)).toEqual([100, 200, 250, 250, 250])
  })

  it("keeps jittered delays in range and reproducible with a seeded Random", async () => {
    for (const jitter of ["full", "equal", "decorrelated"] as const) {
      const once = () =>
        runTest(
          Effect.gen(function* () {
            const { task, times } = flaky(6, "e")
            yield* drive(
              task.pipe(Retry.retry({ baseDelayMs: 100, maxDelayMs: 5000, jitter, maxAttempts: 7 })),
            )
            return gaps(times)
          }).pipe(Random.withSeed("retry")),
        )
      const a = await once()
      expect(await once()).toEqual(a)
      a.forEach((g, i) => {
        const d = Math.min(100 * 2 ** i, 5000)
        if (jitter === "full") expect(g >= 0 && g < d).toBe(true)
        if (jitter === "equal") expect(g >= d / 2 && g < d).toBe(true)
        if (jitter === "decorrelated") expect(g >= 100 && g <= 5000).toBe(true)
      })
    }
  })

  it("stops after maxAttempts with the last error", async () => {
    await runTest(
      Effect.gen(function* () {
        const { task, times } = flaky(10, "down")
        const r = yield* drive(task.pipe(Retry.retry({ maxAttempts: 3, jitter: "none" })))
        expect(r._tag === "Failure" && r.failure).toBe("down")
        expect(times.length).toBe(3)
      }),
    )
  })

  it("stops when the next retry would exceed maxElapsedMs", async () => {
    await runTest(
      Effect.gen(function* () {
        const { task, times } = flaky(10, "down")
        yield* drive(
          task.pipe(Retry.retry({ maxAttempts: 100, jitter: "none", baseDelayMs: 100, maxElapsedMs: 1000 })),
        )
        expect(times).toEqual([0, 100, 300, 700]) // the next would start at 1500
      }),
    )
  })

  it("retries only what retryOn accepts, and never defects", async () => {
    await runTest(
      Effect.gen(function* () {
        const { task, times } = flaky(10, "fatal")
        yield* drive(task.pipe(Retry.retry({ retryOn: (e) => e !== "fatal" })))
        expect(times.length).toBe(1)
        let n = 0
        const r = yield* drive(
          Effect.suspend(() => {
            n++
            return Effect.die("bug")
          }).pipe(Retry.retry({ maxAttempts: 5 })),
        )
        expect(r._tag).toBe("Failure")
        expect(n).toBe(1)
      }).pipe(Effect.catchCause(() => Effect.void)),
    )
  })

  it("waits at least the retryAfterMs carried by the error (e.g. RateLimited)", async () => {
    await runTest(
      Effect.gen(function* () {
        const { task, times } = flaky(
          1,
          new RateLimited({ key: "k", policy: "1 per 1000 ms", retryAfterMs: 750 }),
        )
        yield* drive(task.pipe(Retry.retry({ baseDelayMs: 10, jitter: "none" })))
        expect(times).toEqual([0, 750])
      }),
    )
  })

  it("a retry budget keeps retries within ratio * calls + floor, so a dead dependency sees no storm", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.constantFrom(0.1, 0.2, 0.5),
        fc.integer({ min: 0, max: 2 }),
        async (calls, ratio, minPerSecond) => {
          const attempts = await runTest(
            Effect.gen(function* () {
              const budget = yield* Retry.makeBudget({
                ratio,
                minRetriesPerSecond: minPerSecond,
                ttlMs: 10_000,
              })
              let attempts = 0
              const dead = Effect.suspend(() => {
                attempts++
                return Effect.fail("down")
              })
              const call = dead.pipe(Retry.retry({ maxAttempts: 4, baseDelayMs: 1, jitter: "none", budget }))
              yield* drive(
                Effect.all(
                  Array.from({ length: calls }, () => Effect.result(call)),
                  { concurrency: "unbounded" },
                ),
                100,
              )
              return attempts
            }),
          )
          const retries = attempts - calls
          expect(retries).toBeLessThanOrEqual(Math.floor(ratio * calls + minPerSecond * 10))
        },
      ),
      { numRuns: 30 },
    )
  })

  it("budget refills as calls age out of its window", async () => {
    await runTest(
      Effect.gen(function* () {
        const budget = yield* Retry.makeBudget({ ratio: 0, minRetriesPerSecond: 0.1, ttlMs: 10_000 })
        expect(yield* budget.available).toBe(1)
        expect(budget.withdrawUnsafe(0)).toBe(true)
        expect(budget.withdrawUnsafe(0)).toBe(false)
        yield* TestClock.adjust(10_000)
        expect(yield* budget.available).toBe(1)
      }),
    )
  })

  describe("bad input", () => {
    const cases: Array<[string, () => unknown, string]> = [
      ["zero maxAttempts", () => Retry.retry({ maxAttempts: 0 }), '"maxAttempts"'],
      ["negative baseDelayMs", () => Retry.retry({ baseDelayMs: -1 }), '"baseDelayMs"'],
      ["factor below 1", () => Retry.retry({ factor: 0.5 }), '"factor"'],
      ["unknown jitter", () => Retry.retry({ jitter: "wild" as any }), '"jitter"'],
      ["negative maxElapsedMs", () => Retry.retry({ maxElapsedMs: -5 }), '"maxElapsedMs"'],
      ["budget ttl not a multiple of 10", () => Retry.makeBudget({ ttlMs: 15 }), '"ttlMs"'],
      ["negative budget ratio", () => Retry.makeBudget({ ratio: -1 }), '"ratio"'],
    ]
    for (const [name, f, option] of cases) {
      it(`fails at construction on ${name}, naming ${option}`, () => {
        expect(f).toThrow(option)
      })
    }
  })
})
