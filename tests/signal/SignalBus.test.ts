import { describe, expect, it } from "bun:test"
import { Effect, Exit, Fiber, Metric, type Scope } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as Agent from "../../src/agent/Agent.ts"
import * as AgentSystem from "../../src/agent/AgentSystem.ts"
import * as EventStore from "../../src/signal/EventStore.ts"
import { TopicTrie } from "../../src/signal/internal/topicTrie.ts"
import * as Signal from "../../src/signal/Signal.ts"
import * as SignalBus from "../../src/signal/SignalBus.ts"
import * as Metrics from "../../src/telemetry/Metrics.ts"

const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<A> =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())))

/** The reference matcher: one regex per pattern, over the topic with a leading dot. */
const referenceMatch = (pattern: string, topic: string): boolean => {
  const body = pattern
    .split(".")
    .map((seg) => (seg === "**" ? "(?:\\.[^.]+)*" : seg === "*" ? "\\.[^.]+" : `\\.${seg}`))
    .join("")
  return new RegExp(`^${body}$`).test(`.${topic}`)
}

const segment = fc.constantFrom("a", "b", "c")
const topicArb = fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => s.join("."))
const patternArb = fc
  .array(fc.oneof({ weight: 3, arbitrary: segment }, fc.constant("*"), fc.constant("**")), {
    minLength: 1,
    maxLength: 5,
  })
  .map((s) => s.join("."))

describe("SignalBus topic matching", () => {
  it("the trie matches exactly what the reference regex matcher matches, also after removals", () =>
    fc.assert(
      fc.property(
        fc.array(patternArb, { minLength: 1, maxLength: 25 }),
        fc.array(topicArb, { maxLength: 25 }),
        fc.array(fc.boolean(), { minLength: 25, maxLength: 25 }),
        (patterns, topics, removeMask) => {
          const trie = new TopicTrie<{ matchMark: number; trieSlot?: number; i: number }>()
          const values = patterns.map((_, i) => ({ matchMark: 0, i }))
          for (let i = 0; i < patterns.length; i++) trie.insert(patterns[i].split("."), values[i])
          const check = (live: ReadonlyArray<number>) => {
            for (const t of topics) {
              const got = trie
                .match(t.split("."))
                .map((v) => v.i)
                .sort((a, b) => a - b)
              expect(got).toEqual(live.filter((i) => referenceMatch(patterns[i], t)))
            }
          }
          check(patterns.map((_, i) => i))
          patterns.forEach((p, i) => {
            if (removeMask[i]) expect(trie.remove(p.split("."), values[i])).toBe(true)
          })
          check(patterns.map((_, i) => i).filter((i) => !removeMask[i]))
          expect(trie.size).toBe(patterns.filter((_, i) => !removeMask[i]).length)
        },
      ),
      { numRuns: 300 },
    ))

  it("routes published signals to exactly the matching subscriptions (random patterns and topics)", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(patternArb, { minLength: 1, maxLength: 12 }),
        fc.array(topicArb, { maxLength: 20 }),
        (patterns, topics) =>
          run(
            Effect.gen(function* () {
              const bus = yield* SignalBus.make()
              const got: string[][] = patterns.map(() => [])
              for (let i = 0; i < patterns.length; i++) {
                yield* bus.subscribeSink(patterns[i], (s) => got[i].push(s.type) > 0)
              }
              for (const t of topics) yield* bus.publish({ type: t, data: null })
              for (let i = 0; i < patterns.length; i++) {
                expect(got[i]).toEqual(topics.filter((t) => referenceMatch(patterns[i], t)))
              }
            }),
          ),
      ),
      { numRuns: 60 },
    ))

  it('"**" matches zero or more segments and "*" exactly one', () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const hits: Record<string, string[]> = {}
        for (const p of ["a.**", "a.*", "**.c", "a.**.c", "**"]) {
          hits[p] = []
          yield* bus.subscribeSink(p, (s) => hits[p].push(s.type) > 0)
        }
        for (const t of ["a", "a.b", "a.b.c", "c", "x.y"]) yield* bus.publish({ type: t, data: 1 })
        expect(hits["a.**"]).toEqual(["a", "a.b", "a.b.c"])
        expect(hits["a.*"]).toEqual(["a.b"])
        expect(hits["**.c"]).toEqual(["a.b.c", "c"])
        expect(hits["a.**.c"]).toEqual(["a.b.c"])
        expect(hits["**"]).toEqual(["a", "a.b", "a.b.c", "c", "x.y"])
      }),
    ))
})

describe("SignalBus delivery", () => {
  it("stamps a CloudEvents 1.0 envelope from the Clock", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make({ source: "/test" })
        const sub = yield* bus.subscribe("orders.*")
        yield* TestClock.adjust(1500)
        const sent = yield* bus.publish({ type: "orders.created", data: { sku: "a1" }, correlationId: "c-1" })
        const got = yield* sub.take
        expect(got).toBe(sent)
        expect(got).toMatchObject({
          specversion: "1.0",
          source: "/test",
          type: "orders.created",
          time: new Date(1500).toISOString(),
          datacontenttype: "application/json",
          data: { sku: "a1" },
          correlationId: "c-1",
        })
        const follow = Signal.causedBy(got, { type: "payments.requested", data: 1 })
        expect(follow).toMatchObject({ correlationId: "c-1", causationId: got.id })
        const wire = Signal.toCloudEvent(yield* bus.publish(follow))
        expect(wire).toMatchObject({ specversion: "1.0", correlationid: "c-1", causationid: got.id })
        expect(wire).not.toHaveProperty("subject")
        const again = yield* bus.publish({ type: "orders.created", data: 2 })
        expect(again.id).not.toBe(sent.id)
      }),
    ))

  it('"dropNewest" keeps the first signals and counts the rest as dropped', () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const sub = yield* bus.subscribe("t", { capacity: 2, overflow: "dropNewest" })
        for (let i = 0; i < 5; i++) yield* bus.publish({ type: "t", data: i })
        expect((yield* sub.takeBatch(10)).map((s) => s.data)).toEqual([0, 1])
        expect(yield* sub.stats).toMatchObject({ delivered: 2, dropped: 3, deadLettered: 0, buffered: 0 })
      }),
    ))

  it('"dropOldest" keeps the latest signals', () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const sub = yield* bus.subscribe("t", { capacity: 2, overflow: "dropOldest" })
        for (let i = 0; i < 5; i++) yield* bus.publish({ type: "t", data: i })
        expect((yield* sub.takeBatch(10)).map((s) => s.data)).toEqual([3, 4])
        expect((yield* sub.stats).dropped).toBe(3)
      }),
    ))

  it('"fail" delivers what was buffered, dead-letters the overflow, then fails with SubscriberOverflow', () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const sub = yield* bus.subscribe("t", { capacity: 2, overflow: "fail" })
        for (let i = 0; i < 4; i++) yield* bus.publish({ type: "t", data: i })
        expect((yield* sub.takeBatch(10)).map((s) => s.data)).toEqual([0, 1])
        const err = yield* Effect.flip(sub.take)
        expect(err._tag).toBe("SubscriberOverflow")
        expect(err.message).toContain("capacity 2")
        const dead = yield* bus.deadLetters({ reason: "overflow" })
        expect(dead.map((d) => d.signal.data)).toEqual([2])
        expect(yield* sub.stats).toMatchObject({ delivered: 2, deadLettered: 1, state: "failed" })
        expect((yield* bus.stats).subscriptions).toBe(0)
      }),
    ))

  it('"suspend" makes the publisher wait until the subscriber has room', () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const sub = yield* bus.subscribe("t", { capacity: 1, overflow: "suspend" })
        yield* bus.publish({ type: "t", data: 0 })
        const blocked = yield* Effect.forkChild(bus.publish({ type: "t", data: 1 }))
        yield* Effect.yieldNow
        expect(blocked.pollUnsafe()).toBeUndefined()
        expect((yield* sub.take).data).toBe(0)
        yield* Fiber.join(blocked)
        expect((yield* sub.take).data).toBe(1)
        expect(yield* sub.stats).toMatchObject({ delivered: 2, dropped: 0 })
      }),
    ))

  it("withdraws the pending put of an interrupted suspended publisher and counts it dropped", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const sub = yield* bus.subscribe("t", { capacity: 1 })
        yield* bus.publish({ type: "t", data: 0 })
        const blocked = yield* Effect.forkChild(bus.publish({ type: "t", data: 1 }))
        yield* Effect.yieldNow
        yield* Fiber.interrupt(blocked)
        yield* bus.publish({ type: "t", data: 2 }).pipe(Effect.forkChild)
        expect((yield* sub.take).data).toBe(0)
        expect((yield* sub.take).data).toBe(2)
        expect(yield* sub.stats).toMatchObject({ delivered: 2, dropped: 1 })
      }),
    ))

  it("dead-letters refused and throwing sinks as rejected", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        let accepted = 0
        const ok = yield* bus.subscribeSink("t", () => ++accepted > 0)
        const refuse = yield* bus.subscribeSink("t", () => false)
        yield* bus.subscribeSink("t", () => {
          throw new Error("boom")
        })
        yield* bus.publish({ type: "t", data: 1 })
        expect(accepted).toBe(1)
        expect((yield* ok.stats).delivered).toBe(1)
        expect((yield* refuse.stats).deadLettered).toBe(1)
        const dead = yield* bus.deadLetters({ reason: "rejected" })
        expect(dead.length).toBe(2)
        expect(dead[1].detail).toContain("boom")
        expect(yield* Effect.flip(ok.take)).toMatchObject({ _tag: "SubscriptionClosed" })
      }),
    ))

  it("runs handlers in order, dead-lettering failures and going on", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const seen: number[] = []
        const sub = yield* bus.subscribeWith("t", (s) =>
          s.data === 2 ? Effect.fail("bad two") : Effect.sync(() => seen.push(s.data as number)),
        )
        for (let i = 0; i < 5; i++) yield* bus.publish({ type: "t", data: i })
        while ((yield* sub.stats).delivered + (yield* sub.stats).deadLettered < 5) yield* Effect.yieldNow
        expect(seen).toEqual([0, 1, 3, 4])
        const [dead] = yield* bus.deadLetters({ reason: "handlerFailed" })
        expect(dead.signal.data).toBe(2)
        expect(dead.detail).toContain("bad two")
      }),
    ))

  it("closes with its Scope: buffered signals become dead letters and take fails", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const sub = yield* Effect.scoped(
          Effect.gen(function* () {
            const s = yield* bus.subscribe("t")
            yield* bus.publish({ type: "t", data: 1 })
            return s
          }),
        )
        expect(yield* sub.stats).toMatchObject({ state: "closed", deadLettered: 1, buffered: 0 })
        expect((yield* bus.deadLetters({ reason: "unsubscribed" }))[0].signal.data).toBe(1)
        expect(yield* Effect.flip(sub.take)).toMatchObject({ _tag: "SubscriptionClosed" })
        yield* bus.publish({ type: "t", data: 2 })
        expect(yield* bus.stats).toMatchObject({ published: 2, unrouted: 1, subscriptions: 0 })
      }),
    ))

  it("keeps a bounded, queryable dead-letter ring", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make({ deadLetterCapacity: 3, deadLetterUnrouted: true })
        for (let i = 0; i < 5; i++) yield* bus.publish({ type: i % 2 === 0 ? "even.n" : "odd.n", data: i })
        const all = yield* bus.deadLetters()
        expect(all.map((d) => d.signal.data)).toEqual([2, 3, 4])
        expect((yield* bus.deadLetters({ type: "even.*" })).map((d) => d.signal.data)).toEqual([2, 4])
        expect((yield* bus.deadLetters({ limit: 1 })).map((d) => d.signal.data)).toEqual([4])
        expect(yield* bus.stats).toMatchObject({ deadLettered: 5, deadLettersEvicted: 2 })
      }),
    ))
})

describe("SignalBus accounting", () => {
  const policy = fc.constantFrom<SignalBus.OverflowPolicy>("suspend", "dropNewest", "dropOldest", "fail")
  const subscriber = fc.record({
    pattern: fc.constantFrom("p.*", "p.a", "p.**", "**", "p.b"),
    capacity: fc.integer({ min: 1, max: 8 }),
    policy,
    batch: fc.integer({ min: 1, max: 5 }),
    pause: fc.integer({ min: 0, max: 3 }),
  })

  it("delivered + dropped + dead-lettered = published per subscriber, and per-publisher order holds", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(subscriber, { minLength: 1, maxLength: 6 }),
        fc.array(fc.array(fc.constantFrom("p.a", "p.b", "q"), { maxLength: 25 }), {
          minLength: 1,
          maxLength: 3,
        }),
        (subs, publishers) =>
          run(
            Effect.gen(function* () {
              const bus = yield* SignalBus.make({ deadLetterCapacity: 10_000 })
              const received = subs.map(() => [] as Array<{ p: number; i: number }>)
              const handles: SignalBus.Subscription[] = []
              const consumers: Fiber.Fiber<unknown, unknown>[] = []
              for (let k = 0; k < subs.length; k++) {
                const spec = subs[k]
                const sub = yield* bus.subscribe(spec.pattern, {
                  capacity: spec.capacity,
                  overflow: spec.policy,
                })
                handles.push(sub)
                const consume = Effect.gen(function* () {
                  for (;;) {
                    const batch = yield* sub.takeBatch(spec.batch)
                    for (const s of batch) received[k].push(s.data as { p: number; i: number })
                    for (let j = 0; j < spec.pause; j++) yield* Effect.yieldNow
                  }
                })
                consumers.push(yield* Effect.forkChild(Effect.exit(consume)))
              }
              const pubs = yield* Effect.forEach(publishers, (topics, p) =>
                Effect.forkChild(
                  Effect.forEach(topics, (type, i) => bus.publish({ type, data: { p, i } }), {
                    discard: true,
                  }),
                ),
              )
              for (const f of pubs) yield* Fiber.join(f)
              // let consumers catch up a little, then close everything
              for (let j = 0; j < 5; j++) yield* Effect.yieldNow
              for (const h of handles) yield* h.unsubscribe
              for (const c of consumers) yield* Fiber.join(c)
              for (let k = 0; k < subs.length; k++) {
                const st = yield* handles[k].stats
                const matched = publishers.flat().filter((t) => referenceMatch(subs[k].pattern, t)).length
                // a "fail" subscription that overflowed stopped matching at that point: its count is a prefix
                if (subs[k].policy === "fail" && st.deadLettered > 0) {
                  expect(st.delivered + st.dropped + st.deadLettered).toBeLessThanOrEqual(matched)
                } else expect(st.delivered + st.dropped + st.deadLettered).toBe(matched)
                expect(st.delivered).toBe(received[k].length)
                for (let p = 0; p < publishers.length; p++) {
                  const seq = received[k].filter((d) => d.p === p).map((d) => d.i)
                  expect(seq).toEqual([...seq].sort((a, b) => a - b))
                }
                if (subs[k].policy === "suspend") expect(st.dropped).toBe(0)
              }
            }),
          ),
      ),
      { numRuns: 60 },
    ))
})

describe("SignalBus bad input", () => {
  it("rejects invalid patterns with InvalidTopic and registers nothing", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        for (const bad of [
          "",
          "a..b",
          ".a",
          "a.",
          "a.b*",
          "a.***",
          "a b",
          "x".repeat(300),
          "a.**.b.**.c.**.d.**.e.**",
        ]) {
          const err = yield* Effect.flip(bus.subscribe(bad))
          expect(err._tag).toBe("InvalidTopic")
          expect(err.message).toContain("is invalid")
        }
        expect((yield* bus.stats).subscriptions).toBe(0)
      }),
    ))

  it("rejects wildcard or malformed publish topics and non-JSON data, changing nothing", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const sub = yield* bus.subscribe("**")
        for (const type of ["a.*", "a.**", "", "a..b", 42 as unknown as string]) {
          expect((yield* Effect.flip(bus.publish({ type, data: 1 })))._tag).toBe("InvalidTopic")
        }
        const cyclic: Record<string, unknown> = {}
        cyclic.self = cyclic
        const bad: unknown[] = [
          () => 1,
          { a: undefined },
          { when: new Date(0) },
          cyclic,
          Number.NaN,
          [1, Number.POSITIVE_INFINITY],
          10n,
          new Map(),
          Symbol("s"),
        ]
        for (const data of bad) {
          const err = yield* Effect.flip(bus.publish({ type: "ok", data }))
          expect(err._tag).toBe("InvalidSignal")
          expect(err.message).toContain("not JSON-serialisable")
        }
        expect((yield* Effect.flip(bus.publish({ type: "ok", data: 1, time: "soon" })))._tag).toBe(
          "InvalidSignal",
        )
        expect(yield* bus.stats).toMatchObject({ published: 0, unrouted: 0 })
        expect(yield* sub.stats).toMatchObject({ delivered: 0, buffered: 0 })
        yield* bus.publish({ type: "ok", data: { nested: [1, "two", null, true, { x: -0.5 }] } })
        expect((yield* sub.take).data).toEqual({ nested: [1, "two", null, true, { x: -0.5 }] })
      }),
    ))

  it("treats invalid options as defects naming the option", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const exit = yield* Effect.exit(bus.subscribe("t", { capacity: 0 }))
        expect(Exit.isFailure(exit) && String(exit.cause)).toContain('"capacity"')
        const exit2 = yield* Effect.exit(bus.subscribe("t", { overflow: "nope" as SignalBus.OverflowPolicy }))
        expect(Exit.isFailure(exit2) && String(exit2.cause)).toContain('"overflow"')
      }),
    ))
})

describe("SignalBus agents", () => {
  type Msg = SignalBus.SignalMessage | ({ readonly _tag: "Seen" } & Agent.Request<ReadonlyArray<unknown>>)
  const Collector = Agent.behavior<ReadonlyArray<unknown>, Msg>({
    init: () => [],
    receive: (seen, msg, ctx) => {
      if (msg._tag === "Signal") return [...seen, msg.signal.data]
      ctx.reply(msg, seen)
      return seen
    },
    mailbox: { capacity: 2, overflow: "dropping" },
  })

  it("delivers signals to an agent as messages and dead-letters what its mailbox refuses", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const ref = yield* Agent.spawn(Collector)
        const sub = yield* bus.subscribeAgent(ref, "vars.*")
        for (let i = 0; i < 5; i++) yield* bus.publish({ type: "vars.temperature", data: i })
        while (ref.mailboxDepth > 0) yield* Effect.yieldNow
        const seen = yield* ref.ask({ _tag: "Seen" })
        const st = yield* sub.stats
        expect(seen).toEqual([0, 1, 2, 3, 4].slice(0, st.delivered))
        expect(st.delivered + st.deadLettered).toBe(5)
      }).pipe(Effect.provide(AgentSystem.layer())),
    ))
})

describe("SignalBus telemetry", () => {
  it("counts deliveries and drops in troupe_bus_* counters, and appends in troupe_event_appends_total", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const sub = yield* bus.subscribe("t", { capacity: 1, overflow: "dropNewest" })
        yield* bus.subscribeSink("t", () => true)
        for (let i = 0; i < 3; i++) yield* bus.publish({ type: "t", data: i })
        yield* sub.take
        const store = yield* EventStore.make()
        yield* store.append([
          { type: "e", data: 1 },
          { type: "e", data: 2 },
        ])
        const deliveries = yield* Metric.value(Metrics.busDeliveries)
        const drops = yield* Metric.value(Metrics.busDrops)
        const appends = yield* Metric.value(Metrics.eventAppends)
        expect([deliveries.count, drops.count, appends.count]).toEqual([4, 2, 2])
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())),
    ))
})
