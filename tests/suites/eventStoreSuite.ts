/**
 * The EventStore behaviour suite, run against every EventLog backend (memory, SQLite on bun:sqlite).
 * `makeLog` must return a fresh, empty log each time.
 */
import { describe, expect, it } from "bun:test"
import { Effect, Exit, Fiber, type Scope } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import type * as EventLog from "../../src/signal/EventLog.ts"
import * as EventStore from "../../src/signal/EventStore.ts"

export const runTest = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<A> =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())))

const ev = (
  type: string,
  data: unknown,
  extra: Partial<EventStore.EventInput> = {},
): EventStore.EventInput => ({
  type,
  data,
  ...extra,
})

export const eventStoreSuite = (name: string, makeLog: () => EventLog.EventLog): void => {
  const store = (retention?: EventStore.Retention) => EventStore.make({ log: makeLog(), retention })

  describe(`EventStore (${name})`, () => {
    it("assigns contiguous offsets from 0 and fills the CloudEvents envelope", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store()
          const a = yield* s.append([ev("cart.added", { sku: "a" }), ev("cart.added", { sku: "b" })])
          const b = yield* s.append([ev("cart.paid", { total: 3 }, { source: "/shop", subject: "cart-1" })])
          expect([...a, ...b].map((e) => e.offset)).toEqual([0, 1, 2])
          expect(b[0]).toMatchObject({
            specversion: "1.0",
            source: "/shop",
            subject: "cart-1",
            type: "cart.paid",
          })
          expect(b[0].time).toBe(new Date(0).toISOString())
          const all = yield* s.read(0)
          expect(all.map((e) => e.data)).toEqual([{ sku: "a" }, { sku: "b" }, { total: 3 }])
          expect(all[2]).toEqual(b[0])
          expect(yield* s.info).toMatchObject({ firstOffset: 0, nextOffset: 3, count: 3 })
          expect((yield* s.get(a[1].id))?.offset).toBe(1)
        }),
      ))

    it("rejects a batch with one invalid event and appends nothing", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store()
          yield* s.append([ev("ok", 1)])
          const bad: ReadonlyArray<EventStore.EventInput> = [ev("ok", 2), ev("ok", { f: () => 1 })]
          const e1 = yield* Effect.flip(s.append(bad))
          expect(e1._tag).toBe("InvalidEvent")
          expect((e1 as { index: number }).index).toBe(1)
          const e2 = yield* Effect.flip(s.append([ev("bad..type", 1)]))
          expect(e2._tag).toBe("InvalidEvent")
          const e3 = yield* Effect.flip(s.append([ev("ok", 1, { time: "yesterday" })]))
          expect(e3._tag).toBe("InvalidEvent")
          expect(yield* s.info).toMatchObject({ nextOffset: 1, count: 1 })
        }),
      ))

    it("queries by type, time range, correlation and causation with limit and order", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store()
          const [root] = yield* s.append([ev("order.placed", 1, { correlationId: "c1" })])
          yield* TestClock.adjust(1000)
          const [pay] = yield* s.append([ev("order.paid", 2, { correlationId: "c1", causationId: root.id })])
          yield* TestClock.adjust(1000)
          yield* s.append([
            ev("order.shipped", 3, { correlationId: "c1", causationId: pay.id }),
            ev("order.placed", 4, { correlationId: "c2" }),
          ])
          const placed = yield* s.query({ types: ["order.placed"] })
          expect(placed.map((e) => e.data)).toEqual([1, 4])
          const window = yield* s.query({ fromTimeMs: 1000, toTimeMs: 2000 })
          expect(window.map((e) => e.data)).toEqual([2])
          const c1 = yield* s.query({ correlationId: "c1", order: "desc", limit: 2 })
          expect(c1.map((e) => e.data)).toEqual([3, 2])
          const children = yield* s.query({ causationId: root.id })
          expect(children.map((e) => e.data)).toEqual([2])
          const ranged = yield* s.query({ fromOffset: 1, toOffset: 3 })
          expect(ranged.map((e) => e.offset)).toEqual([1, 2])
          expect(yield* s.query({ types: [] })).toEqual([])
          const last = (yield* s.query({ correlationId: "c1", order: "desc", limit: 1 }))[0]
          const chain = yield* s.causationChain(last.id)
          expect(chain.map((e) => e.type)).toEqual(["order.placed", "order.paid", "order.shipped"])
          expect(yield* s.causationChain("missing")).toEqual([])
        }),
      ))

    it("keeps at most maxEvents, removing the oldest, and reports evicted offsets", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store({ maxEvents: 5 })
          for (let i = 0; i < 4; i++) yield* s.append([ev("t", i), ev("t", i + 100), ev("t", i + 200)])
          const info = yield* s.info
          expect(info).toMatchObject({ firstOffset: 7, nextOffset: 12, count: 5 })
          expect((yield* s.read(7)).map((e) => e.offset)).toEqual([7, 8, 9, 10, 11])
          const err = yield* Effect.flip(s.read(3))
          expect(err).toMatchObject({ _tag: "OffsetEvicted", requested: 3, oldest: 7 })
          expect((yield* s.query()).length).toBe(5)
        }),
      ))

    it("removes events older than maxAgeMs on append and on prune", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store({ maxAgeMs: 10_000 })
          yield* s.append([ev("t", 1), ev("t", 2)])
          yield* TestClock.adjust(6000)
          yield* s.append([ev("t", 3)])
          yield* TestClock.adjust(6000)
          expect((yield* s.info).count).toBe(3)
          expect(yield* s.prune).toBe(2)
          expect((yield* s.read(2)).map((e) => e.data)).toEqual([3])
          yield* TestClock.adjust(10_000)
          yield* s.append([ev("t", 4)])
          expect(yield* s.info).toMatchObject({ firstOffset: 3, nextOffset: 4, count: 1 })
        }),
      ))

    it("keeps the accounted bytes within maxBytes", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store({ maxBytes: 2000 })
          for (let i = 0; i < 50; i++) yield* s.append([ev("blob", "x".repeat(100 + i))])
          const info = yield* s.info
          expect(info.bytes).toBeLessThanOrEqual(2000)
          expect(info.count).toBeGreaterThan(5)
          expect(info.nextOffset).toBe(50)
          const kept = yield* s.read(info.firstOffset, 100)
          expect(kept.length).toBe(info.count)
        }),
      ))

    it("never reuses offsets after retention empties the log", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store({ maxEvents: 0 })
          yield* s.append([ev("t", 1), ev("t", 2)])
          expect(yield* s.info).toMatchObject({ firstOffset: 2, nextOffset: 2, count: 0 })
          const [e] = yield* s.append([ev("t", 3)])
          expect(e.offset).toBe(2)
        }),
      ))

    it("subscription catches up from an offset, then follows live appends", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store()
          yield* s.append([ev("a", 0), ev("b", 1), ev("a", 2)])
          const sub = yield* s.subscribe({ from: 1 })
          expect((yield* sub.nextBatch(10)).map((e) => e.data)).toEqual([1, 2])
          const waiting = yield* Effect.forkChild(sub.nextBatch(10))
          yield* s.append([ev("a", 3)])
          expect((yield* Fiber.join(waiting)).map((e) => e.data)).toEqual([3])
          const onlyA = yield* s.subscribe({ from: "start", types: ["a"] })
          expect((yield* onlyA.nextBatch(10)).map((e) => e.data)).toEqual([0, 2, 3])
          const fromEnd = yield* s.subscribe({ from: "end" })
          yield* s.append([ev("b", 4)])
          expect((yield* fromEnd.next).data).toBe(4)
          expect(yield* fromEnd.position).toBe(5)
        }),
      ))

    it("a type-filtered subscription skips long runs of other events without losing matches", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store()
          const noise = (n: number) => Array.from({ length: n }, () => ev("noise", 0))
          yield* s.append([ev("a", 1), ev("a", 2), ev("a", 3)])
          yield* s.append(noise(5000))
          yield* s.append([ev("a", 4), ...noise(10), ev("a", 5)])
          const sub = yield* s.subscribe({ from: "start", types: ["a"] })
          const got: unknown[] = []
          while (got.length < 5) got.push((yield* sub.next).data)
          expect(got).toEqual([1, 2, 3, 4, 5])
          expect(yield* sub.position).toBe(5015)
        }),
      ))

    it("subscription started at a random offset during concurrent appends sees every event once, in order", () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 8 }),
          fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 8 }),
          fc.nat(),
          fc.integer({ min: 1, max: 16 }),
          (before, during, startSeed, batchMax) =>
            runTest(
              Effect.gen(function* () {
                const s = yield* store()
                let n = 0
                for (const k of before) yield* s.append(Array.from({ length: k }, () => ev("t", n++)))
                const start = startSeed % (n + 1)
                const appender = yield* Effect.forkChild(
                  Effect.forEach(during, (k) =>
                    Effect.andThen(s.append(Array.from({ length: k }, () => ev("t", n++))), Effect.yieldNow),
                  ),
                )
                const sub = yield* s.subscribe({ from: start })
                const total = before.reduce((a, b) => a + b, 0) + during.reduce((a, b) => a + b, 0)
                const seen: number[] = []
                while (seen.length < total - start) {
                  for (const e of yield* sub.nextBatch(batchMax)) seen.push(e.offset)
                }
                yield* Fiber.join(appender)
                expect(seen).toEqual(Array.from({ length: total - start }, (_, i) => start + i))
              }),
            ),
        ),
        { numRuns: 25 },
      ))

    it("fails a subscription whose start or cursor was evicted", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store({ maxEvents: 3 })
          yield* s.append([ev("t", 0), ev("t", 1), ev("t", 2)])
          const sub = yield* s.subscribe({ from: 0 })
          yield* s.append([ev("t", 3), ev("t", 4)])
          expect(yield* Effect.flip(sub.nextBatch(10))).toMatchObject({
            _tag: "OffsetEvicted",
            requested: 0,
            oldest: 2,
          })
          const exit = yield* Effect.exit(s.subscribe({ from: 1 }))
          expect(Exit.isFailure(exit)).toBe(true)
        }),
      ))

    it("durable consumer resumes after its last acknowledged offset", () =>
      runTest(
        Effect.gen(function* () {
          const s = yield* store()
          yield* s.append([ev("t", 0), ev("t", 1), ev("t", 2), ev("t", 3)])
          const firstRun = yield* Effect.scoped(
            Effect.gen(function* () {
              const c = yield* s.consumer("projector")
              const got = yield* c.nextBatch(2)
              yield* c.ack(got[got.length - 1].offset)
              yield* c.ack(0) // never moves backwards
              return got.map((e) => e.data)
            }),
          )
          expect(firstRun).toEqual([0, 1])
          const secondRun = yield* Effect.scoped(
            Effect.gen(function* () {
              const c = yield* s.consumer("projector")
              return (yield* c.nextBatch(10)).map((e) => e.data)
            }),
          )
          expect(secondRun).toEqual([2, 3])
          const other = yield* s.consumer("late", { from: "end" })
          expect(yield* other.position).toBe(4)
          const beyond = yield* Effect.exit(other.ack(4))
          expect(Exit.isFailure(beyond) && String(beyond.cause)).toContain('ack "offset"')
        }),
      ))
  })
}
