import { describe, expect, it } from "bun:test"
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { LRUCache } from "lru-cache"
import { zipfTrace } from "../../bench/zipf.ts"
import * as Cache from "../../src/resource/Cache.ts"
import { FrequencySketch, hashKey } from "../../src/resource/internal/frequencySketch.ts"

const run = <A, E>(effect: Effect.Effect<A, E, any>): Promise<A> =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())) as Effect.Effect<A, E>)

const runExit = <A, E>(effect: Effect.Effect<A, E, any>): Promise<Exit.Exit<A, E>> =>
  Effect.runPromiseExit(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())) as Effect.Effect<A, E>)

const defectMessage = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return ""
  return String((Cause.squash(exit.cause) as Error).message)
}

describe("Cache", () => {
  describe("construction", () => {
    const bad: Array<[string, Cache.Options<string, number>]> = [
      ["maximumSize", { maximumSize: 0 }],
      ["maximumSize", { maximumSize: -5 }],
      ["maximumSize", { maximumSize: 1.5 }],
      ["maximumWeight", { maximumWeight: 0 }],
      ["maximumSize", {}],
      ["ttl", { maximumSize: 10, ttl: 0 }],
      ["ttl", { maximumSize: 10, ttl: -1 }],
      ["staleWhileRevalidate", { maximumSize: 10, ttl: 10, staleWhileRevalidate: -1 }],
      ["staleWhileRevalidate", { maximumSize: 10, staleWhileRevalidate: 5 }],
      ["failureTtl", { maximumSize: 10, failureTtl: 0 }],
      ["weigher", { maximumSize: 10, weigher: () => 1 }],
    ]
    for (const [option, options] of bad) {
      it(`rejects invalid "${option}" (${JSON.stringify(options)}) with a message naming it`, async () => {
        expect(() => Cache.makeUnsafe(options)).toThrow(option)
        const exit = await runExit(Cache.make(options))
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
        expect(defectMessage(exit)).toContain(option)
      })
    }

    it("rejects a weigher result that is not a positive integer", () => {
      const cache = Cache.makeUnsafe<string, number>({ maximumWeight: 10, weigher: (_, v) => v })
      expect(() => cache.setUnsafe("a", 0)).toThrow("weigher")
    })
  })

  describe("expiry", () => {
    it("returns a value until its ttl and never at or after it", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<string, number>({ maximumSize: 10, ttl: 1000 })
          yield* cache.set("a", 1)
          yield* TestClock.adjust(999)
          expect(yield* cache.get("a")).toEqual(Option.some(1))
          expect(cache.getUnsafe("a")).toBe(1)
          yield* TestClock.adjust(1)
          expect(cache.getUnsafe("a")).toBeUndefined()
          expect(yield* cache.get("a")).toEqual(Option.none())
          expect(cache.statsUnsafe().expirations).toBe(1)
        }),
      ))

    it("honours a per-entry ttl over the default", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<string, number>({ maximumSize: 10, ttl: "1 hour" })
          yield* cache.set("short", 1, { ttl: 10 })
          yield* cache.set("long", 2)
          yield* TestClock.adjust(10)
          expect(cache.hasUnsafe("short")).toBe(false)
          expect(cache.hasUnsafe("long")).toBe(true)
        }),
      ))

    it("reclaims expired entries without reads (sweep on writes, evictExpired)", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<number, number>({ maximumSize: 100, ttl: 100 })
          for (let i = 0; i < 50; i++) yield* cache.set(i, i)
          yield* TestClock.adjust(100)
          for (let i = 100; i < 110; i++) yield* cache.set(i, i, { ttl: "1 hour" })
          expect(cache.size).toBeLessThan(60) // the clock hand already took some
          const removed = yield* cache.evictExpired
          expect(removed + cache.statsUnsafe().expirations - removed).toBe(50)
          expect(cache.size).toBe(10)
        }),
      ))

    it("never returns an expired value and never exceeds its bounds (property)", async () => {
      type Op =
        | { readonly _tag: "set"; readonly key: number; readonly ttl: number | undefined; readonly w: number }
        | { readonly _tag: "get"; readonly key: number }
        | { readonly _tag: "del"; readonly key: number }
        | { readonly _tag: "tick"; readonly ms: number }
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({
          _tag: fc.constant("set" as const),
          key: fc.integer({ min: 0, max: 5 }),
          ttl: fc.option(fc.constantFrom(1, 5, 10, 20, 40), { nil: undefined }),
          w: fc.integer({ min: 1, max: 4 }),
        }),
        fc.record({ _tag: fc.constant("get" as const), key: fc.integer({ min: 0, max: 5 }) }),
        fc.record({ _tag: fc.constant("del" as const), key: fc.integer({ min: 0, max: 5 }) }),
        fc.record({ _tag: fc.constant("tick" as const), ms: fc.constantFrom(0, 1, 5, 10, 20) }), // lands on deadlines
      )
      await fc.assert(
        fc.asyncProperty(
          fc.array(op, { maxLength: 80 }),
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 4, max: 16 }),
          async (ops, maximumSize, maximumWeight) => {
            await run(
              Effect.gen(function* () {
                const cache = yield* Cache.make<number, { v: number; w: number }>({
                  maximumSize,
                  maximumWeight,
                  weigher: (_, value) => value.w,
                  ttl: 40,
                })
                let now = 0
                let serial = 0
                const model = new Map<number, { v: number; deadline: number }>()
                for (const o of ops) {
                  if (o._tag === "set") {
                    const v = serial++
                    cache.setUnsafe(o.key, { v, w: o.w }, o.ttl)
                    model.set(o.key, { v, deadline: now + (o.ttl ?? 40) })
                  } else if (o._tag === "get") {
                    const got = cache.getUnsafe(o.key)
                    const viaEffect = yield* cache.get(o.key)
                    const m = model.get(o.key)
                    if (got !== undefined) {
                      expect(m).toBeDefined()
                      expect(now).toBeLessThan(m!.deadline)
                      expect(got.v).toBe(m!.v)
                    }
                    if (Option.isSome(viaEffect)) {
                      expect(now).toBeLessThan(m!.deadline)
                      expect(viaEffect.value.v).toBe(m!.v)
                    }
                  } else if (o._tag === "del") {
                    cache.deleteUnsafe(o.key)
                    model.delete(o.key)
                  } else {
                    yield* TestClock.adjust(o.ms)
                    now += o.ms
                  }
                  expect(cache.size).toBeLessThanOrEqual(maximumSize)
                  expect(cache.weight).toBeLessThanOrEqual(maximumWeight)
                }
              }),
            )
          },
        ),
        { numRuns: 300 },
      )
    })
  })

  it("never serves a value past ttl + grace through getOrCompute with stale-while-revalidate (property)", async () => {
    type Op =
      | { readonly _tag: "load"; readonly key: number }
      | { readonly _tag: "get"; readonly key: number }
      | { readonly _tag: "set"; readonly key: number }
      | { readonly _tag: "tick"; readonly ms: number }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ _tag: fc.constant("load" as const), key: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ _tag: fc.constant("get" as const), key: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ _tag: fc.constant("set" as const), key: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ _tag: fc.constant("tick" as const), ms: fc.constantFrom(0, 5, 10, 20, 30, 50) }), // lands on deadlines
    )
    const ttl = 30
    const grace = 20
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        await run(
          Effect.gen(function* () {
            const cache = yield* Cache.make<number, number>({
              maximumSize: 4,
              ttl,
              staleWhileRevalidate: grace,
            })
            let now = 0
            let serial = 0
            const writtenAt = new Map<number, number>() // value -> time it was produced
            const produce = Effect.sync(() => {
              const v = serial++
              writtenAt.set(v, now)
              return v
            })
            for (const o of ops) {
              if (o._tag === "load") {
                const v = yield* cache.getOrCompute(o.key, produce)
                expect(now).toBeLessThan(writtenAt.get(v)! + ttl + grace)
              } else if (o._tag === "get") {
                const v = cache.getUnsafe(o.key)
                if (v !== undefined) expect(now).toBeLessThan(writtenAt.get(v)! + ttl)
              } else if (o._tag === "set") {
                cache.setUnsafe(o.key, yield* produce)
              } else {
                yield* TestClock.adjust(o.ms)
                now += o.ms
              }
              expect(cache.size).toBeLessThanOrEqual(4)
            }
          }),
        )
      }),
      { numRuns: 100 },
    )
  })

  describe("bounds and eviction", () => {
    it("keeps at most maximumSize entries", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<number, number>({ maximumSize: 100 })
          for (let i = 0; i < 10_000; i++) cache.setUnsafe(i, i)
          expect(cache.size).toBe(100)
          expect(cache.statsUnsafe().evictions).toBe(9_900)
        }),
      ))

    it("does not store an entry heavier than maximumWeight, and drops the old value", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<string, string>({ maximumWeight: 10, weigher: (_, v) => v.length })
          expect(cache.setUnsafe("k", "short")).toBe(true)
          expect(cache.setUnsafe("k", "much too long for it")).toBe(false)
          expect(cache.getUnsafe("k")).toBeUndefined()
          expect(cache.weight).toBe(0)
        }),
      ))

    it("keeps its frequently used keys through a long scan of one-hit keys", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<string, number>({ maximumSize: 100 })
          for (let round = 0; round < 5; round++) {
            for (let i = 0; i < 50; i++)
              if (cache.getUnsafe(`hot${i}`) === undefined) cache.setUnsafe(`hot${i}`, i)
          }
          for (let i = 0; i < 5_000; i++) cache.setUnsafe(`scan${i}`, i)
          let kept = 0
          for (let i = 0; i < 50; i++) if (cache.hasUnsafe(`hot${i}`)) kept++
          // an LRU would keep none; a hot key still in probation may age out during a scan 50x the size
          expect(kept).toBeGreaterThanOrEqual(48)
        }),
      ))

    it("adapts when popularity shifts (frequencies age)", () => {
      const cache = Cache.makeUnsafe<string, number>({ maximumSize: 100 })
      const access = (k: string) => {
        if (cache.getUnsafe(k) === undefined) cache.setUnsafe(k, 0)
      }
      const phase = (prefix: string, rounds: number) => {
        for (let r = 0; r < rounds; r++) {
          for (let i = 0; i < 60; i++) access(`${prefix}${i}`)
          access(`noise${prefix}${r}`) // a one-hit key per round
        }
      }
      phase("old", 200)
      phase("new", 30) // without aging, about 45 of 60 get in by then
      let fresh = 0
      for (let i = 0; i < 60; i++) if (cache.hasUnsafe(`new${i}`)) fresh++
      expect(fresh).toBeGreaterThanOrEqual(55)
    })

    it("beats LRU on a skewed (Zipf) trace", () => {
      const trace = zipfTrace(20_000, 0.9, 100_000, 12345)
      const cache = Cache.makeUnsafe<number, number>({ maximumSize: 500 })
      const lru = new LRUCache<number, number>({ max: 500 })
      let ours = 0
      let theirs = 0
      for (let i = 0; i < trace.length; i++) {
        const k = trace[i]
        if (cache.getUnsafe(k) !== undefined) ours++
        else cache.setUnsafe(k, k)
        if (lru.get(k) !== undefined) theirs++
        else lru.set(k, k)
      }
      expect(ours / 100_000).toBeGreaterThan(theirs / 100_000 + 0.03)
      expect(cache.statsUnsafe().hits).toBe(ours)
    })
  })

  describe("frequency sketch", () => {
    it("estimates at least the true count (capped at 15) and halves on aging", () => {
      const sketch = new FrequencySketch(1024)
      const keys = Array.from({ length: 200 }, (_, i) => hashKey(`k${i}`))
      keys.forEach((h, i) => {
        for (let n = 0; n < i % 20; n++) sketch.increment(h)
      })
      keys.forEach((h, i) => {
        expect(sketch.frequency(h)).toBeGreaterThanOrEqual(Math.min(15, i % 20))
      })
      const before = sketch.frequency(keys[19])
      sketch.halve()
      expect(sketch.frequency(keys[19])).toBe(before >>> 1)
    })

    it("is sized by entries held, not by a byte-sized weight budget", () => {
      const cache = Cache.makeUnsafe<string, string>({ maximumWeight: 2 ** 40, weigher: (_, v) => v.length })
      for (let i = 0; i < 100; i++) cache.setUnsafe(`k${i}`, "x".repeat(1 + i))
      expect(cache.size).toBe(100)
      expect(cache.weight).toBe((100 * 101) / 2)
    })
  })

  describe("getOrCompute", () => {
    it("loads once per key however many fibers ask at once", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<string, string>({ maximumSize: 100 })
          const loads = new Map<string, number>()
          const load = (key: string) =>
            Effect.gen(function* () {
              loads.set(key, (loads.get(key) ?? 0) + 1)
              yield* Effect.sleep(10)
              return `v:${key}`
            })
          const keys = ["a", "b", "c"]
          const fiber = yield* Effect.forkChild(
            Effect.forEach(
              Array.from({ length: 300 }, (_, i) => keys[i % 3]),
              (k) => cache.getOrCompute(k, load(k)),
              { concurrency: "unbounded" },
            ),
          )
          yield* TestClock.adjust(10)
          const results = yield* Fiber.join(fiber)
          expect(results.every((r, i) => r === `v:${keys[i % 3]}`)).toBe(true)
          expect([...loads.values()]).toEqual([1, 1, 1])
          expect(cache.statsUnsafe().loads).toBe(3)
        }),
      ))

    it("loads once per key under every interleaving (fc.scheduler)", async () => {
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 12 }), async (s, callers) => {
          let loads = 0
          const program = Effect.gen(function* () {
            const cache = yield* Cache.make<string, number>({ maximumSize: 10 })
            const load = Effect.promise(() => {
              loads++
              return s.schedule(Promise.resolve(loads), "load")
            })
            return yield* Effect.forEach(
              Array.from({ length: callers }, (_, i) => i),
              (i) =>
                Effect.andThen(
                  Effect.promise(() => s.schedule(Promise.resolve(i), `caller ${i}`)),
                  cache.getOrCompute("k", load),
                ),
              { concurrency: "unbounded" },
            )
          })
          const done = Effect.runPromise(Effect.scoped(program))
          await s.waitFor(done)
          const values = await done
          expect(loads).toBe(1)
          expect(new Set(values)).toEqual(new Set([1]))
        }),
        { numRuns: 60 },
      )
    })

    it("does not cache a failed load, and every waiter sees the failure", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<string, number>({ maximumSize: 10 })
          let calls = 0
          const failing = Effect.gen(function* () {
            calls++
            yield* Effect.sleep(5)
            return yield* Effect.fail("boom" as const)
          })
          const fiber = yield* Effect.forkChild(
            Effect.forEach([1, 2, 3], () => Effect.flip(cache.getOrCompute("k", failing)), {
              concurrency: 3,
            }),
          )
          yield* TestClock.adjust(5)
          expect(yield* Fiber.join(fiber)).toEqual(["boom", "boom", "boom"])
          expect(calls).toBe(1)
          expect(yield* cache.getOrCompute("k", Effect.succeed(7))).toBe(7)
          expect(cache.statsUnsafe().loadFailures).toBe(1)
        }),
      ))

    it("replays a failed load for failureTtl when asked to", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<string, number>({ maximumSize: 10, failureTtl: 100 })
          let calls = 0
          const failing = Effect.suspend(() => {
            calls++
            return Effect.fail("boom")
          })
          expect(yield* Effect.flip(cache.getOrCompute("k", failing))).toBe("boom")
          expect(yield* Effect.flip(cache.getOrCompute("k", failing))).toBe("boom")
          expect(calls).toBe(1)
          expect(cache.getUnsafe("k")).toBeUndefined()
          yield* TestClock.adjust(100)
          expect(yield* cache.getOrCompute("k", Effect.succeed(1))).toBe(1)
        }),
      ))

    it("hands the load to a waiter when the leading caller is interrupted", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<string, number>({ maximumSize: 10 })
          let calls = 0
          const load = Effect.gen(function* () {
            calls++
            yield* Effect.sleep(10)
            return calls
          })
          const leader = yield* Effect.forkChild(cache.getOrCompute("k", load))
          yield* Effect.yieldNow
          const waiter = yield* Effect.forkChild(cache.getOrCompute("k", load))
          yield* Effect.yieldNow
          yield* Fiber.interrupt(leader)
          yield* TestClock.adjust(10)
          expect(yield* Fiber.join(waiter)).toBe(2)
          expect(calls).toBe(2)
        }),
      ))

    it("does not store a load that raced with an invalidation", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<string, number>({ maximumSize: 10 })
          const fiber = yield* Effect.forkChild(cache.getOrCompute("k", Effect.as(Effect.sleep(10), 1)))
          yield* Effect.yieldNow
          yield* cache.invalidate("k")
          yield* TestClock.adjust(10)
          expect(yield* Fiber.join(fiber)).toBe(1)
          expect(cache.getUnsafe("k")).toBeUndefined()
        }),
      ))

    it("serves a stale value at once and refreshes it once in the background", () =>
      run(
        Effect.gen(function* () {
          const cache = yield* Cache.make<string, number>({
            maximumSize: 10,
            ttl: 100,
            staleWhileRevalidate: 50,
          })
          let calls = 0
          const load = Effect.gen(function* () {
            calls++
            yield* Effect.sleep(10)
            return calls * 10
          })
          const first = yield* Effect.forkChild(cache.getOrCompute("k", load))
          yield* TestClock.adjust(10)
          expect(yield* Fiber.join(first)).toBe(10)
          yield* TestClock.adjust(100) // now stale (t = 110 >= 10 + 100)
          expect(yield* cache.get("k")).toEqual(Option.none()) // plain reads never see stale values
          expect(yield* cache.getOrCompute("k", load)).toBe(10)
          expect(yield* cache.getOrCompute("k", load)).toBe(10)
          yield* TestClock.adjust(10)
          expect(calls).toBe(2)
          expect(yield* cache.getOrCompute("k", load)).toBe(20)
          yield* TestClock.adjust(160) // past ttl + grace: a blocking load
          const late = yield* Effect.forkChild(cache.getOrCompute("k", load))
          yield* TestClock.adjust(10)
          expect(yield* Fiber.join(late)).toBe(30)
        }),
      ))
  })

  it("drops a stale value whose background refresh failed", () =>
    run(
      Effect.gen(function* () {
        const cache = yield* Cache.make<string, number>({
          maximumSize: 10,
          ttl: 100,
          staleWhileRevalidate: 100,
        })
        yield* cache.getOrCompute("k", Effect.succeed(1))
        yield* TestClock.adjust(150)
        expect(yield* cache.getOrCompute("k", Effect.fail("down"))).toBe(1) // stale, refresh forked
        yield* Effect.yieldNow
        expect(cache.statsUnsafe().loadFailures).toBe(1)
        expect(yield* cache.getOrCompute("k", Effect.succeed(2))).toBe(2)
      }),
    ))

  it("counts hits, misses, loads and evictions", () =>
    run(
      Effect.gen(function* () {
        const cache = yield* Cache.make<number, number>({ maximumSize: 2 })
        cache.getUnsafe(1)
        yield* cache.getOrCompute(1, Effect.succeed(1))
        cache.getUnsafe(1)
        cache.setUnsafe(2, 2)
        cache.setUnsafe(3, 3)
        const stats = yield* cache.stats
        expect(stats.hits).toBe(1)
        expect(stats.misses).toBe(2)
        expect(stats.loads).toBe(1)
        expect(stats.evictions).toBe(1)
        expect(stats.size).toBe(2)
        expect(stats.hitRatio).toBeCloseTo(1 / 3)
      }),
    ))

  it("is emptied when its scope closes", async () => {
    let cache: Cache.Cache<string, number> | undefined
    await run(
      Effect.gen(function* () {
        cache = yield* Cache.make<string, number>({ maximumSize: 10 })
        cache.setUnsafe("a", 1)
      }),
    )
    expect(cache!.size).toBe(0)
  })
})
