import { describe, expect, it } from "bun:test"
import { Deferred, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as Bulkhead from "../../src/resilience/Bulkhead.ts"
import * as TaskPool from "../../src/resilience/TaskPool.ts"

const runTest = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, TestClock.layer()))

describe("Bulkhead", () => {
  it("never exceeds its concurrency, and refuses only when slots and queue are full (fc.scheduler)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 16 }),
        async (s, maxConcurrency, maxQueue, tasks) => {
          let running = 0
          let peak = 0
          let refusedWhileRoom = 0
          let refused = 0
          let completed = 0
          const done = runTest(
            Effect.gen(function* () {
              const b = yield* Bulkhead.make({ maxConcurrency, maxQueue })
              const task = (i: number) =>
                Effect.gen(function* () {
                  peak = Math.max(peak, ++running)
                  yield* Effect.promise(() => s.schedule(Promise.resolve(i), `task ${i}`))
                  running--
                })
              const call = (i: number) =>
                Effect.gen(function* () {
                  yield* Effect.promise(() => s.schedule(Promise.resolve(i), `arrive ${i}`))
                  const before = b.statsUnsafe()
                  const r = yield* Effect.result(b.run(task(i)))
                  if (r._tag === "Failure") {
                    refused++
                    if (before.running + before.queued < maxConcurrency + maxQueue) refusedWhileRoom++
                  } else completed++
                })
              yield* Effect.all(
                Array.from({ length: tasks }, (_, i) => call(i)),
                { concurrency: "unbounded" },
              )
              return b.statsUnsafe()
            }),
          )
          const final = await s.waitFor(done)
          expect(peak).toBeLessThanOrEqual(maxConcurrency)
          expect(refusedWhileRoom).toBe(0)
          expect(refused + completed).toBe(tasks)
          expect(final.running + final.queued).toBe(0)
        },
      ),
      { numRuns: 50 },
    )
  })

  it("fails with BulkheadFull when both slots and queue are taken", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* Bulkhead.make({ name: "db", maxConcurrency: 1, maxQueue: 1 })
        const gate = yield* Deferred.make<void>()
        const f1 = yield* Effect.forkChild(b.run(Deferred.await(gate)))
        const f2 = yield* Effect.forkChild(b.run(Deferred.await(gate)))
        yield* Effect.yieldNow
        expect(b.statsUnsafe()).toMatchObject({ running: 1, queued: 1 })
        const e = yield* Effect.flip(b.run(Effect.void))
        expect(e._tag).toBe("BulkheadFull")
        expect(e.message).toContain('"db"')
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(f1)
        yield* Fiber.join(f2)
        expect(b.statsUnsafe()).toMatchObject({ running: 0, queued: 0 })
      }),
    )
  })

  it("starts queued tasks in arrival order", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* Bulkhead.make({ maxConcurrency: 1, maxQueue: 10 })
        const gate = yield* Deferred.make<void>()
        const started: number[] = []
        const first = yield* Effect.forkChild(b.run(Deferred.await(gate)))
        yield* Effect.yieldNow
        const rest = []
        for (let i = 0; i < 6; i++) {
          rest.push(yield* Effect.forkChild(b.run(Effect.sync(() => started.push(i)))))
          yield* Effect.yieldNow
        }
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(first)
        for (const f of rest) yield* Fiber.join(f)
        expect(started).toEqual([0, 1, 2, 3, 4, 5])
      }),
    )
  })

  it("frees the queue place of a task interrupted while waiting", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* Bulkhead.make({ maxConcurrency: 1, maxQueue: 1 })
        const gate = yield* Deferred.make<void>()
        const f1 = yield* Effect.forkChild(b.run(Deferred.await(gate)))
        const f2 = yield* Effect.forkChild(b.run(Effect.void))
        yield* Effect.yieldNow
        yield* Fiber.interrupt(f2)
        expect(b.statsUnsafe().queued).toBe(0)
        const f3 = yield* Effect.forkChild(b.run(Effect.succeed(3)))
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(f1)
        expect(yield* Fiber.join(f3)).toBe(3)
      }),
    )
  })

  it("times out a running task with TimeoutExceeded and frees its slot", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* Bulkhead.make({ name: "slow", maxConcurrency: 1, maxQueue: 0, timeoutMs: 100 })
        const f = yield* Effect.forkChild(Effect.flip(b.run(Effect.never)))
        yield* TestClock.adjust(100)
        const e = yield* Fiber.join(f)
        expect(e._tag).toBe("TimeoutExceeded")
        expect(b.statsUnsafe().running).toBe(0)
        expect(yield* b.run(Effect.succeed(1), { timeoutMs: 50 })).toBe(1)
      }),
    )
  })

  it("runBatch keeps input order, bounds its own concurrency and reports each item", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* Bulkhead.make({ maxConcurrency: 8, maxQueue: 100 })
        let running = 0
        let peak = 0
        const f = yield* Effect.forkChild(
          b.runBatch(
            [5, 1, 4, 2, 3, 6],
            (n) =>
              Effect.gen(function* () {
                peak = Math.max(peak, ++running)
                yield* Effect.sleep(n * 10)
                running--
                if (n === 4) return yield* Effect.fail("four")
                return n * 2
              }),
            { maxConcurrency: 2, timeoutMs: 55 },
          ),
        )
        yield* TestClock.adjust(1000)
        const results = yield* Fiber.join(f)
        expect(peak).toBe(2)
        expect(
          results.map((r) => (r._tag === "Success" ? r.success : ((r.failure as any)._tag ?? r.failure))),
        ).toEqual([10, 2, "four", 4, 6, "TimeoutExceeded"])
      }),
    )
  })

  describe("bad input", () => {
    const cases: Array<[string, Bulkhead.Options, string]> = [
      ["zero maxConcurrency", { maxConcurrency: 0 }, '"maxConcurrency"'],
      ["negative maxQueue", { maxQueue: -1 }, '"maxQueue"'],
      ["zero timeoutMs", { timeoutMs: 0 }, '"timeoutMs"'],
    ]
    for (const [name, options, option] of cases) {
      it(`fails at construction on ${name}, naming ${option}`, () => {
        expect(() => Bulkhead.make(options)).toThrow(option)
      })
    }
  })
})

describe("TaskPool", () => {
  it("creates each named pool once, with its configured options over the defaults", async () => {
    await runTest(
      Effect.gen(function* () {
        const pools = yield* TaskPool.TaskPool
        const db = yield* pools.get("db")
        expect(db.maxConcurrency).toBe(2)
        expect(db.maxQueue).toBe(7)
        expect(yield* pools.get("db")).toBe(db)
        const other = yield* pools.get("other")
        expect(other.maxConcurrency).toBe(5)
        expect(yield* pools.names).toEqual(["db", "other"])
      }).pipe(
        Effect.provide(
          TaskPool.layer({
            defaults: { maxConcurrency: 5, maxQueue: 7 },
            pools: { db: { maxConcurrency: 2 } },
          }),
        ),
      ),
    )
  })

  it("refuses more than maxPools names", async () => {
    const pools = TaskPool.make({ maxPools: 1 })
    await Effect.runPromise(pools.get("a"))
    const exit = await Effect.runPromiseExit(pools.get("b"))
    expect(String(exit)).toContain("maxPools")
  })

  it("fails at construction on a bad pool option, naming it", () => {
    expect(() => TaskPool.make({ pools: { db: { maxConcurrency: 0 } } })).toThrow('"pools.db.maxConcurrency"')
    expect(() => TaskPool.layer({ defaults: { maxQueue: -1 } })).toThrow('"defaults.maxQueue"')
  })
})
