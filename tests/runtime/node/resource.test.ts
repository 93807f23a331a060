import assert from "node:assert/strict"
import { test } from "node:test"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Cache from "../../../src/resource/Cache.ts"
import * as Pool from "../../../src/resource/Pool.ts"
import * as ResourceManager from "../../../src/resource/ResourceManager.ts"

const run = <A, E>(effect: Effect.Effect<A, E, any>): Promise<A> =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())) as Effect.Effect<A, E>)

test("cache, pool and resource manager work under node", () =>
  run(
    Effect.gen(function* () {
      const cache = yield* Cache.make<string, number>({ maximumSize: 10, ttl: 100 })
      assert.equal(yield* cache.getOrCompute("k", Effect.succeed(1)), 1)
      yield* TestClock.adjust(100)
      assert.equal(cache.getUnsafe("k"), undefined)

      const pool = yield* Pool.make({ acquire: Effect.succeed("conn"), max: 1, acquireTimeout: 50 })
      const held = yield* Effect.forkChild(pool.use(() => Effect.sleep(1000)))
      yield* Effect.yieldNow
      const waiter = yield* Effect.forkChild(Effect.flip(pool.use(() => Effect.void)))
      yield* TestClock.adjust(50)
      assert.equal((yield* Fiber.join(waiter))._tag, "PoolTimeout")
      yield* Fiber.interrupt(held)
      assert.equal(pool.statsUnsafe().inUse, 0)

      const rm = yield* ResourceManager.make({ budgets: { operations: 1 } })
      yield* rm.acquire()
      assert.equal((yield* Effect.flip(rm.acquire()))._tag, "BudgetExceeded")
    }),
  ))
