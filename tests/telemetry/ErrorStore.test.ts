import { describe, expect, it } from "bun:test"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as ErrorStore from "../../src/telemetry/ErrorStore.ts"

describe("ErrorStore", () => {
  it("never holds more than capacity overall or perKey per agent, and counts stay exact (property)", () => {
    const op = fc.record({
      agent: fc.option(fc.constantFrom("a", "b", "c", "d"), { nil: undefined }),
      tag: fc.constantFrom("X", "Y", "Z"),
      dt: fc.nat(5),
    })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(op, { maxLength: 80 }),
        (capacity, perKey, ops) => {
          const store = ErrorStore.makeUnsafe({ capacity, perKey })
          const model: Array<{ agent: string | undefined; tag: string; id: number }> = []
          let now = 0
          for (const o of ops) {
            now += o.dt
            const e = store.recordUnsafe({ agent: o.agent, tag: o.tag, message: "m" }, now)
            // reference model: evict oldest of the key, then oldest overall
            const same = model.filter((m) => m.agent === o.agent)
            if (same.length >= perKey) model.splice(model.indexOf(same[0]), 1)
            if (model.length >= capacity) model.shift()
            model.push({ agent: o.agent, tag: o.tag, id: e.id })
          }
          const all = Effect.runSync(store.query())
          expect(all.length).toBeLessThanOrEqual(capacity)
          expect(all.map((e) => e.id)).toEqual(model.map((m) => m.id))
          const stats = Effect.runSync(store.stats)
          expect(stats.size).toBe(model.length)
          expect(stats.recorded - stats.evicted).toBe(stats.size)
          for (const tag of ["X", "Y", "Z"]) {
            const n = model.filter((m) => m.tag === tag).length
            expect(stats.byTag[tag] ?? 0).toBe(n)
            expect(Effect.runSync(store.count({ tag }))).toBe(n)
          }
          for (const agent of ["a", "b", "c", "d"]) {
            const n = model.filter((m) => m.agent === agent).length
            expect(n).toBeLessThanOrEqual(perKey)
            expect(Effect.runSync(store.count({ agent }))).toBe(n)
            expect(Effect.runSync(store.query({ agent })).length).toBe(n)
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  it("queries by agent, tag, correlation id and time range using the Effect clock", async () => {
    const out = await Effect.runPromise(
      Effect.gen(function* () {
        const store = yield* ErrorStore.make()
        yield* store.record({ tag: "AskTimeout", message: "t1", agent: "pricer", correlationId: "c1" })
        yield* TestClock.adjust(1000)
        yield* store.record({ error: new RangeError("bad"), agent: "buyer" })
        yield* TestClock.adjust(1000)
        yield* store.record({
          error: { _tag: "MailboxFull", message: "full" },
          agent: "pricer",
          correlationId: "c2",
        })
        return {
          pricer: yield* store.query({ agent: "pricer" }),
          range: yield* store.query({ from: 500, to: 1500 }),
          byTag: yield* store.query({ tag: "MailboxFull" }),
          corr: yield* store.query({ correlationId: "c1" }),
          newest: yield* store.query({ limit: 1 }),
          countRange: yield* store.count({ agent: "pricer", from: 1 }),
        }
      }).pipe(Effect.provide(TestClock.layer())),
    )
    expect(out.pricer.map((e) => e.message)).toEqual(["t1", "full"])
    expect(out.range.map((e) => e.tag)).toEqual(["RangeError"])
    expect(out.byTag[0].agent).toBe("pricer")
    expect(out.corr.map((e) => e.tag)).toEqual(["AskTimeout"])
    expect(out.newest.map((e) => e.tag)).toEqual(["MailboxFull"])
    expect(out.countRange).toBe(1)
  })

  it("evicts entries older than maxAgeMs lazily, without a timer", async () => {
    const stats = await Effect.runPromise(
      Effect.gen(function* () {
        const store = yield* ErrorStore.make({ maxAgeMs: 1000 })
        yield* store.record({ tag: "A" })
        yield* TestClock.adjust(600)
        yield* store.record({ tag: "B" })
        yield* TestClock.adjust(600)
        return yield* store.stats
      }).pipe(Effect.provide(TestClock.layer())),
    )
    expect(stats.size).toBe(1)
    expect(stats.byTag).toEqual({ B: 1 })
    expect(stats.evicted).toBe(1)
  })

  it("fails at construction naming the invalid option", () => {
    expect(() => ErrorStore.makeUnsafe({ capacity: 0 })).toThrow(/"capacity" must be a positive integer/)
    expect(() => ErrorStore.makeUnsafe({ perKey: 1.5 })).toThrow(/"perKey"/)
    expect(() => ErrorStore.makeUnsafe({ maxAgeMs: -1 })).toThrow(/"maxAgeMs"/)
  })
})

describe("ErrorStore.recordAgentCrashes", () => {
  it("records each crash of a supervised agent with its label and tag, until removed", async () => {
    const { Agent, AgentSystem, Supervisor } = await import("../../src/index.ts")
    const got = await Effect.runPromise(
      Effect.gen(function* () {
        const store = yield* ErrorStore.make()
        const remove = yield* ErrorStore.recordAgentCrashes(store)
        type M = { readonly _tag: "Boom" }
        const W = Agent.behavior<number, M>({
          init: () => 0,
          receive: () => {
            throw new RangeError("bad input")
          },
        })
        const sup = yield* Supervisor.start({ children: [Supervisor.child("w", W)] })
        const w = yield* sup.child<M>("w")
        for (let i = 0; i < 2; i++) {
          yield* w.tell({ _tag: "Boom" })
          while (w.status !== "running" || w.restarts < i + 1) yield* Effect.yieldNow
        }
        remove()
        yield* w.tell({ _tag: "Boom" })
        while (w.restarts < 3) yield* Effect.yieldNow
        const entries = yield* store.query({ agent: "w" })
        return entries.map((e) => `${e.agent}:${e.tag}:${e.message}`)
      }).pipe(Effect.provide(AgentSystem.layer()), Effect.scoped),
    )
    expect(got).toEqual(["w:RangeError:bad input", "w:RangeError:bad input"])
  })
})
