import { describe, expect, it } from "bun:test"
import { Cause, Effect, Exit } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as RateLimiter from "../../src/resilience/RateLimiter.ts"
import type { Decision } from "../../src/resilience/RateLimiterStore.ts"
import { type Alg, type ModelLimit, MultiModel } from "./limiterModel.ts"

const runTest = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, TestClock.layer()))

const algs: ReadonlyArray<Alg> = ["token-bucket", "gcra", "fixed-window", "sliding-window", "sliding-log"]

const limitArb: fc.Arbitrary<ModelLimit> = fc
  .record({
    algorithm: fc.constantFrom(...algs),
    limit: fc.integer({ min: 1, max: 5 }),
    windowMs: fc.constantFrom(7, 10, 24),
    extra: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ algorithm, limit, windowMs, extra }) => ({
    algorithm,
    limit,
    windowMs,
    burst: algorithm === "token-bucket" || algorithm === "gcra" ? limit + extra : limit,
  }))

const capacity = (l: ModelLimit) =>
  l.algorithm === "token-bucket" || l.algorithm === "gcra" ? l.burst : l.limit

describe("RateLimiter", () => {
  it("reports remaining, resetAfterMs and retryAfterMs as the pure model does, for random histories", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(limitArb, { minLength: 1, maxLength: 2 }),
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 30 }),
            key: fc.constantFrom("a", "b", "c"),
            costPick: fc.integer({ min: 0, max: 100 }),
            peek: fc.boolean(),
          }),
          { maxLength: 30 },
        ),
        async (limits, ops) => {
          const maxCost = Math.min(...limits.map(capacity))
          const model = new MultiModel(limits)
          await runTest(
            Effect.gen(function* () {
              const limiter = yield* RateLimiter.make({ limits })
              let t = 0
              for (const op of ops) {
                if (op.dt > 0) yield* TestClock.adjust(op.dt)
                t += op.dt
                const cost = op.costPick % (maxCost + 1)
                const d = op.peek ? yield* limiter.peek(op.key, cost) : yield* limiter.check(op.key, cost)
                expect(d).toEqual(model.decide(op.key, t, cost, !op.peek))
              }
            }),
          )
        },
      ),
      { numRuns: 60 },
    )
  })

  it("never allows more than the limit in any window across concurrent callers (fc.scheduler)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.constantFrom<Alg>("sliding-log", "fixed-window", "token-bucket", "gcra", "sliding-window"),
        fc.array(fc.record({ key: fc.constantFrom("x", "y"), cost: fc.integer({ min: 1, max: 2 }) }), {
          minLength: 5,
          maxLength: 25,
        }),
        fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 6 }),
        async (s, algorithm, reqs, ticks) => {
          const limit = { algorithm, limit: 3, windowMs: 10, burst: 3 }
          const log: Array<{ t: number; key: string; cost: number; d: Decision }> = []
          const done = runTest(
            Effect.gen(function* () {
              const limiter = yield* RateLimiter.make({ limits: [limit] })
              let now = 0
              const gate = () => Effect.promise(() => s.schedule(Promise.resolve()))
              const callers = reqs.map((r) =>
                Effect.gen(function* () {
                  yield* gate()
                  const d = yield* limiter.check(r.key, r.cost)
                  log.push({ t: now, key: r.key, cost: r.cost, d })
                }),
              )
              const clocks = ticks.map((dt) =>
                Effect.gen(function* () {
                  yield* gate()
                  yield* TestClock.adjust(dt)
                  now += dt
                }),
              )
              yield* Effect.all([...callers, ...clocks], { concurrency: "unbounded" })
            }),
          )
          await s.waitFor(done)
          // Linearizable: replaying the decisions in the order they happened gives the same answers.
          const model = new MultiModel([limit])
          for (const e of log) expect(e.d).toEqual(model.decide(e.key, e.t, e.cost, true))
          // And directly: no window of 10 ms ever admits more than 3 units per key (sliding-log bound,
          // which every algorithm here also respects within an aligned window).
          for (const key of ["x", "y"]) {
            const admitted = log.filter((e) => e.key === key && e.d.allowed)
            for (const a of admitted) {
              const inWindow = admitted.filter((b) =>
                algorithm === "fixed-window"
                  ? Math.floor(b.t / 10) === Math.floor(a.t / 10)
                  : b.t >= a.t && b.t < a.t + 10,
              )
              const used = inWindow.reduce((n, b) => n + b.cost, 0)
              expect(used).toBeLessThanOrEqual(
                algorithm === "token-bucket" || algorithm === "gcra" ? 3 + 3 : 3,
              )
            }
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  it("multi-limits are all-or-none across concurrent callers (fc.scheduler)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 20 }),
        async (s, costs) => {
          const limits: ModelLimit[] = [
            { algorithm: "fixed-window", limit: 4, windowMs: 100, burst: 4 },
            { algorithm: "sliding-log", limit: 6, windowMs: 1000, burst: 6 },
          ]
          const log: Array<{ t: number; cost: number; d: Decision }> = []
          let now = 0
          const done = runTest(
            Effect.gen(function* () {
              const limiter = yield* RateLimiter.make({ limits })
              const callers = costs.map((cost, i) =>
                Effect.gen(function* () {
                  yield* Effect.promise(() => s.schedule(Promise.resolve(i)))
                  if (i % 4 === 3) {
                    yield* TestClock.adjust(100)
                    now += 100
                  }
                  log.push({ t: now, cost, d: yield* limiter.check("k", cost) })
                }),
              )
              yield* Effect.all(callers, { concurrency: "unbounded" })
            }),
          )
          await s.waitFor(done)
          // Replaying in the order decisions happened, an all-or-none model gives identical answers.
          const model = new MultiModel(limits)
          for (const e of log) expect(e.d).toEqual(model.decide("k", e.t, e.cost, true))
          // Directly: admitted units never exceed either limit (refused requests were charged nowhere).
          const admitted = log.filter((e) => e.d.allowed)
          expect(admitted.reduce((n, e) => n + e.cost, 0)).toBeLessThanOrEqual(6)
          for (const a of admitted) {
            const sameWindow = admitted.filter((b) => Math.floor(b.t / 100) === Math.floor(a.t / 100))
            expect(sameWindow.reduce((n, e) => n + e.cost, 0)).toBeLessThanOrEqual(4)
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  it("consume fails with RateLimited carrying retryAfterMs, and Retry-style waits then succeed", async () => {
    await runTest(
      Effect.gen(function* () {
        const limiter = yield* RateLimiter.make({
          name: "api",
          algorithm: "fixed-window",
          limit: 2,
          windowMs: 1000,
        })
        yield* limiter.consume("u")
        yield* TestClock.adjust(250)
        yield* limiter.consume("u")
        const e = yield* Effect.flip(limiter.consume("u"))
        expect(e._tag).toBe("RateLimited")
        expect(e.retryAfterMs).toBe(750)
        expect(e.message).toContain('"u"')
        yield* TestClock.adjust(e.retryAfterMs)
        expect((yield* limiter.consume("u")).remaining).toBe(1)
      }),
    )
  })

  it("decides when its effect runs, each time it runs, whether yielded in Effect.gen or combined", async () => {
    await runTest(
      Effect.gen(function* () {
        const limiter = yield* RateLimiter.make({ algorithm: "fixed-window", limit: 3, windowMs: 1000 })
        const check = limiter.check("k")
        const consume = limiter.consume("k")
        expect((yield* limiter.peek("k")).remaining).toBe(2) // making the effects took nothing
        expect((yield* check).remaining).toBe(2)
        expect(yield* Effect.map(check, (d) => d.remaining)).toBe(1)
        expect((yield* consume).remaining).toBe(0)
        const yielded = yield* Effect.gen(function* () {
          return yield* consume
        }).pipe(Effect.flip)
        const combined = yield* Effect.flip(Effect.map(consume, (d) => d.remaining))
        expect([yielded._tag, yielded.retryAfterMs]).toEqual(["RateLimited", 1000])
        expect([combined._tag, combined.retryAfterMs]).toEqual(["RateLimited", 1000])
        expect((yield* check).allowed).toBe(false)
        yield* TestClock.adjust(1000)
        expect((yield* check).remaining).toBe(2) // the clock is read at run time
      }),
    )
  })

  it("withRateLimit does not run the effect when refused", async () => {
    await runTest(
      Effect.gen(function* () {
        const limiter = yield* RateLimiter.make({ limit: 1, windowMs: 1000 })
        let runs = 0
        const task = Effect.sync(() => ++runs).pipe(RateLimiter.withRateLimit(limiter, "k"))
        yield* task
        const e = yield* Effect.flip(task)
        expect(e._tag).toBe("RateLimited")
        expect(runs).toBe(1)
      }),
    )
  })

  it("checkUnsafe decides synchronously with the same semantics", async () => {
    await runTest(
      Effect.gen(function* () {
        const limiter = yield* RateLimiter.make({ algorithm: "gcra", limit: 2, windowMs: 100 })
        expect(limiter.checkUnsafe!("k").allowed).toBe(true)
        expect(limiter.checkUnsafe!("k").allowed).toBe(true)
        expect(limiter.checkUnsafe!("k")).toEqual({
          allowed: false,
          remaining: 0,
          resetAfterMs: 100,
          retryAfterMs: 50,
        })
        yield* TestClock.adjust(50)
        expect(limiter.checkUnsafe!("k").allowed).toBe(true)
      }),
    )
  })

  it("stays within maxKeys and reclaims idle keys as new keys arrive, without a timer per key", async () => {
    await runTest(
      Effect.gen(function* () {
        const limiter = yield* RateLimiter.make({ limit: 5, windowMs: 100, maxKeys: 1000 })
        for (let i = 0; i < 5000; i++) {
          limiter.checkUnsafe!(`k${i}`)
          if (i % 100 === 99) yield* TestClock.adjust(10)
        }
        expect(yield* limiter.size).toBeLessThanOrEqual(1000)
        yield* TestClock.adjust(1000)
        expect(yield* limiter.sweep).toBeGreaterThan(0)
        expect(yield* limiter.size).toBe(0)
      }),
    )
  })

  it("sweepEvery sweeps periodically within its scope", async () => {
    await runTest(
      Effect.scoped(
        Effect.gen(function* () {
          const limiter = yield* RateLimiter.make({ limit: 5, windowMs: 100 })
          yield* RateLimiter.sweepEvery(limiter, 1000)
          for (let i = 0; i < 10; i++) yield* limiter.check(`k${i}`)
          expect(yield* limiter.size).toBe(10)
          yield* TestClock.adjust(1000)
          expect(yield* limiter.size).toBe(0)
        }),
      ),
    )
  })

  describe("bad input", () => {
    const cases: Array<[string, RateLimiter.Options, string]> = [
      ["zero limit", { limit: 0, windowMs: 1000 }, '"limit"'],
      ["negative limit", { limit: -3, windowMs: 1000 }, '"limit"'],
      ["fractional limit", { limit: 1.5, windowMs: 1000 }, '"limit"'],
      ["zero window", { limit: 5, windowMs: 0 }, '"windowMs"'],
      ["negative window", { limit: 5, windowMs: -1 }, '"windowMs"'],
      ["zero burst", { limit: 5, windowMs: 10, burst: 0 }, '"burst"'],
      [
        "burst on a window algorithm",
        { algorithm: "fixed-window", limit: 5, windowMs: 10, burst: 9 },
        '"burst"',
      ],
      ["unknown algorithm", { algorithm: "leaky" as any, limit: 5, windowMs: 10 }, '"algorithm"'],
      ["empty limits", { limits: [] }, '"limits"'],
      [
        "bad nested limit",
        {
          limits: [
            { limit: 5, windowMs: 10 },
            { limit: 0, windowMs: 10 },
          ],
        },
        '"limits[1].limit"',
      ],
      ["zero maxKeys", { limit: 5, windowMs: 10, maxKeys: 0 }, '"maxKeys"'],
    ]
    for (const [name, options, option] of cases) {
      it(`fails at construction on ${name}, naming ${option}`, () => {
        expect(() => RateLimiter.make(options)).toThrow(option)
      })
    }

    it('dies naming "cost" when a cost exceeds the capacity or is negative', async () => {
      for (const cost of [6, -1, 0.5]) {
        const exit = await runTest(
          Effect.exit(
            Effect.flatMap(RateLimiter.make({ limit: 5, windowMs: 10 }), (l) => l.check("k", cost)),
          ),
        )
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
        expect(String(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause))).toContain('"cost"')
      }
    })
  })
})
