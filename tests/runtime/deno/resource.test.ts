import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Cache from "../../../src/resource/Cache.ts"
import * as Pool from "../../../src/resource/Pool.ts"
import * as ResourceManager from "../../../src/resource/ResourceManager.ts"

const check = (ok: boolean, what: string): void => {
  if (!ok) throw new Error(`resource smoke: ${what}`)
}

const run = <A, E>(effect: Effect.Effect<A, E, any>): Promise<A> =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())) as Effect.Effect<A, E>)

Deno.test("cache expires entries by TestClock and loads once per key", () =>
  run(
    Effect.gen(function* () {
      const cache = yield* Cache.make<string, number>({ maximumSize: 100, ttl: 1000 })
      let loads = 0
      const load = Effect.sync(() => ++loads)
      const values = yield* Effect.forEach([1, 2, 3, 4], () => cache.getOrCompute("k", load), {
        concurrency: "unbounded",
      })
      check(values.every((v) => v === 1) && loads === 1, "single flight")
      yield* TestClock.adjust(1000)
      check(cache.getUnsafe("k") === undefined, "expired at ttl")
      for (let i = 0; i < 1000; i++) cache.setUnsafe(`x${i}`, i)
      check(cache.size <= 100, "bounded")
    }),
  ))

Deno.test("pool bounds borrowers and returns resources", () =>
  run(
    Effect.gen(function* () {
      let created = 0
      let destroyed = 0
      const pool = yield* Pool.make({
        acquire: Effect.sync(() => ++created),
        release: () => Effect.sync(() => void destroyed++),
        max: 2,
        acquireTimeout: 100,
      })
      let borrowed = 0
      let peak = 0
      const fiber = yield* Effect.forkChild(
        Effect.forEach(
          [1, 2, 3, 4, 5],
          () =>
            pool.use(() =>
              Effect.gen(function* () {
                peak = Math.max(peak, ++borrowed)
                yield* Effect.sleep(10)
                borrowed--
              }),
            ),
          { concurrency: "unbounded" },
        ),
      )
      for (let i = 0; i < 5; i++) yield* TestClock.adjust(10)
      yield* Fiber.join(fiber)
      check(peak === 2 && created === 2, `peak ${peak}, created ${created}`)
      check(pool.statsUnsafe().inUse === 0, "all returned")
      const timeout = yield* Effect.flip(
        Effect.scoped(Effect.andThen(pool.get, Effect.andThen(pool.get, pool.get))).pipe(
          Effect.forkChild,
          Effect.tap(() => TestClock.adjust(100)),
          Effect.flatMap(Fiber.join),
        ),
      )
      check(timeout._tag === "PoolTimeout", "timeout")
      check(destroyed === 0, "nothing destroyed yet")
    }),
  ))

Deno.test("resource manager refuses beyond its budget", () =>
  run(
    Effect.gen(function* () {
      const rm = yield* ResourceManager.make({ budgets: { bytes: 10 } })
      yield* rm.acquire({ bytes: 8 })
      const refused = yield* Effect.flip(rm.acquire({ bytes: 3 }))
      check(refused._tag === "BudgetExceeded", "refused")
    }),
  ))
