/**
 * The behaviour every `RateLimiterStore` must show. Call `rateLimiterStoreSuite(name, factory)` from a test
 * file with the store's factory; the memory store runs it in `tests/resilience/RateLimiterStore.test.ts`.
 * Time is passed explicitly (`nowMs`), so the suite needs no clock at all.
 */
import { describe, expect, it } from "bun:test"
import { Effect } from "effect"
import * as fc from "fast-check"
import type {
  Algorithm,
  ResolvedLimit,
  StoreConfig,
  StoreFactory,
} from "../../src/resilience/RateLimiterStore.ts"
import { MultiModel } from "../resilience/limiterModel.ts"

const config = (limits: ReadonlyArray<ResolvedLimit>, extra: Partial<StoreConfig> = {}): StoreConfig => ({
  limits,
  maxKeys: 1000,
  overflow: "evict",
  epochMs: 0,
  ...extra,
})

const lim = (algorithm: Algorithm, limit: number, windowMs: number, burst = limit): ResolvedLimit => ({
  algorithm,
  limit,
  windowMs,
  burst,
})

const all: ReadonlyArray<Algorithm> = [
  "token-bucket",
  "gcra",
  "fixed-window",
  "sliding-window",
  "sliding-log",
]

export const rateLimiterStoreSuite = (name: string, factory: StoreFactory): void => {
  const run = <A>(e: Effect.Effect<A>): Promise<A> => Effect.runPromise(e)

  describe(`RateLimiterStore contract: ${name}`, () => {
    for (const algorithm of all) {
      it(`${algorithm}: admits exactly the limit at one instant, then refuses with a positive retryAfterMs`, async () => {
        const store = await run(factory(config([lim(algorithm, 3, 1000)])))
        const ds = []
        for (let i = 0; i < 4; i++) ds.push(await run(store.decide("k", 1, 500, true)))
        expect(ds.map((d) => d.allowed)).toEqual([true, true, true, false])
        expect(ds.map((d) => d.remaining)).toEqual([2, 1, 0, 0])
        expect(ds[3].retryAfterMs).toBeGreaterThan(0)
      })

      it(`${algorithm}: agrees with the pure model on a random single-key history`, async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(
              fc.record({ dt: fc.integer({ min: 0, max: 30 }), cost: fc.integer({ min: 0, max: 3 }) }),
              {
                maxLength: 25,
              },
            ),
            async (ops) => {
              const l = lim(algorithm, 3, 20)
              const store = await run(factory(config([l])))
              const model = new MultiModel([l])
              let t = 0
              for (const op of ops) {
                t += op.dt
                expect(await run(store.decide("k", op.cost, t, true))).toEqual(
                  model.decide("k", t, op.cost, true),
                )
              }
            },
          ),
          { numRuns: 25 },
        )
      })
    }

    it("multi-limits are all-or-none: a refused request is charged to no limit", async () => {
      const store = await run(factory(config([lim("fixed-window", 5, 1000), lim("fixed-window", 2, 100)])))
      expect((await run(store.decide("k", 2, 0, true))).allowed).toBe(true)
      // the 100 ms limit refuses; the 1000 ms limit must not be charged
      expect((await run(store.decide("k", 1, 50, true))).allowed).toBe(false)
      expect((await run(store.decide("k", 2, 100, true))).allowed).toBe(true)
      expect((await run(store.decide("k", 1, 200, true))).allowed).toBe(true)
      const last = await run(store.decide("k", 1, 300, true))
      expect(last.allowed).toBe(false) // 5 of 5 taken in the 1000 ms window
      expect(last.retryAfterMs).toBe(700)
    })

    it("is atomic: concurrent decisions on one key admit exactly the limit", async () => {
      const store = await run(factory(config([lim("token-bucket", 10, 1000)])))
      const ds = await run(
        Effect.all(
          Array.from({ length: 50 }, () => store.decide("k", 1, 0, true)),
          { concurrency: "unbounded" },
        ),
      )
      expect(ds.filter((d) => d.allowed).length).toBe(10)
    })

    it("a peek (commit false) charges nothing", async () => {
      const store = await run(factory(config([lim("sliding-log", 2, 1000)])))
      for (let i = 0; i < 5; i++) expect((await run(store.decide("k", 2, 0, false))).allowed).toBe(true)
      expect((await run(store.decide("k", 2, 0, true))).remaining).toBe(0)
    })

    it("keys are independent and reset forgets one key", async () => {
      const store = await run(factory(config([lim("fixed-window", 1, 1000)])))
      expect((await run(store.decide("a", 1, 0, true))).allowed).toBe(true)
      expect((await run(store.decide("b", 1, 0, true))).allowed).toBe(true)
      expect((await run(store.decide("a", 1, 0, true))).allowed).toBe(false)
      await run(store.reset("a"))
      expect((await run(store.decide("a", 1, 0, true))).allowed).toBe(true)
      expect((await run(store.decide("b", 1, 0, true))).allowed).toBe(false)
    })

    it("never holds more than maxKeys keys", async () => {
      const store = await run(factory(config([lim("token-bucket", 5, 1000)], { maxKeys: 50 })))
      for (let i = 0; i < 500; i++) await run(store.decide(`k${i}`, 1, i, true))
      expect(await run(store.size)).toBeLessThanOrEqual(50)
    })

    it('with overflow "reject", refuses new keys while full and admits them once keys go idle', async () => {
      const store = await run(
        factory(config([lim("fixed-window", 5, 1000)], { maxKeys: 3, overflow: "reject" })),
      )
      for (const k of ["a", "b", "c"]) expect((await run(store.decide(k, 1, 0, true))).allowed).toBe(true)
      expect((await run(store.decide("d", 1, 10, true))).allowed).toBe(false)
      expect((await run(store.decide("d", 1, 1000, true))).allowed).toBe(true)
    })

    it("sweep forgets exactly the idle keys, which changes no decision", async () => {
      const l = lim("sliding-window", 4, 100)
      const store = await run(factory(config([l])))
      const model = new MultiModel([l])
      for (let i = 0; i < 20; i++) {
        await run(store.decide(`k${i}`, 1 + (i % 3), i * 10, true))
        model.decide(`k${i}`, i * 10, 1 + (i % 3), true)
      }
      const removed = await run(store.sweep(250))
      expect(removed).toBeGreaterThan(0)
      expect(await run(store.size)).toBe(20 - removed)
      for (let i = 0; i < 20; i++) {
        expect(await run(store.decide(`k${i}`, 2, 260, true))).toEqual(model.decide(`k${i}`, 260, 2, true))
      }
      expect(await run(store.sweep(100_000))).toBe(20)
      expect(await run(store.size)).toBe(0)
    })
  })
}
