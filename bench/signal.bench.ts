/**
 * Signal bus and event store figures. `bun bench/run.ts signal`
 * OTP peers: `otpFigures` (live with OTP_LIVE=1, else OTP_RESULTS or the newest results file).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Deferred, Effect } from "effect"
import * as Agent from "../src/agent/Agent.ts"
import * as AgentSystem from "../src/agent/AgentSystem.ts"
import { open } from "../src/runtime/sqlite/bun.ts"
import * as EventLog from "../src/signal/EventLog.ts"
import * as EventStore from "../src/signal/EventStore.ts"
import * as SignalBus from "../src/signal/SignalBus.ts"
import { emit, emitVsOtp, gc, heapUsed, median, note, now, otpFigures } from "./harness.ts"

const run$ = <A>(eff: Effect.Effect<A, any, any>): Promise<A> =>
  Effect.runPromise(Effect.scoped(eff) as Effect.Effect<A>)

/** One publisher, `subs` buffered subscribers (each a fiber taking batches), `m` publishes; deliveries/s. */
const deliveries = (patterns: ReadonlyArray<string>, topics: ReadonlyArray<string>, expected: number) =>
  run$(
    Effect.gen(function* () {
      const bus = yield* SignalBus.make()
      let delivered = 0
      const done = Deferred.makeUnsafe<void>()
      for (const p of patterns) {
        const sub = yield* bus.subscribe(p, { capacity: 4096 })
        yield* Effect.forkChild(
          Effect.forever(
            Effect.map(sub.takeBatch(4096), (b) => {
              delivered += b.length
              if (delivered === expected) Deferred.doneUnsafe(done, Effect.void)
            }),
          ),
        )
      }
      yield* Effect.yieldNow
      gc()
      const t0 = now()
      for (let j = 0; j < topics.length; j++) yield* bus.publish({ type: topics[j], data: j })
      yield* Deferred.await(done)
      const ms = now() - t0
      return expected / (ms / 1000)
    }),
  )

/**
 * The same with `patterns.length` subscribed agents (`subscribeAgent`): each counts what it receives in
 * its handler. Agents are this runtime's subscribers and the analog of the OTP baseline's processes; an
 * idle agent holds no fiber, so waking 10k of them costs a run-queue push each, not a fiber resume.
 */
const deliveriesToAgents = (
  patterns: ReadonlyArray<string>,
  topics: ReadonlyArray<string>,
  expected: number,
) =>
  run$(
    Effect.gen(function* () {
      const bus = yield* SignalBus.make()
      let delivered = 0
      const done = Deferred.makeUnsafe<void>()
      const Counter = Agent.behavior<number, SignalBus.SignalMessage>({
        init: () => 0,
        receive: (n) => {
          if (++delivered === expected) Deferred.doneUnsafe(done, Effect.void)
          return n + 1
        },
        mailbox: { capacity: 4096 },
      })
      for (const p of patterns) {
        const ref = yield* Agent.spawn(Counter)
        yield* bus.subscribeAgent(ref, p, SignalBus.asMessage)
      }
      gc()
      const t0 = now()
      for (let j = 0; j < topics.length; j++) yield* bus.publish({ type: topics[j], data: j })
      yield* Deferred.await(done)
      return expected / ((now() - t0) / 1000)
    }).pipe(Effect.provide(AgentSystem.layer())),
  )

const exactFixture = () => ({
  patterns: Array.from({ length: 1000 }, () => "bench.topic"),
  topics: Array.from({ length: 1000 }, () => "bench.topic"),
})

const exactTopic = (to: typeof deliveries = deliveries) => {
  const { patterns, topics } = exactFixture()
  return to(patterns, topics, 1000 * 1000)
}

/**
 * 10k subscriptions over `org.<o>.<kind>.<id>` with exact, `*` and `**` patterns; 1,000 publishes cycling over
 * 100 distinct topics (`j % 50`, `j % 4` and `j % 20` repeat every 100), so the first 100 publishes of a bus walk
 * the trie and the other 900 hit the route cache.
 */
const wildcardFixture = () => {
  const patterns: string[] = []
  for (let i = 0; i < 10_000; i++) {
    const o = i % 50
    const k = ["created", "updated", "deleted", "moved"][i % 4]
    switch (i % 5) {
      case 0:
        patterns.push(`org.o${o}.${k}.x${i % 20}`)
        break
      case 1:
        patterns.push(`org.o${o}.${k}.*`)
        break
      case 2:
        patterns.push(`org.*.${k}.*`)
        break
      case 3:
        patterns.push(`org.o${o}.**`)
        break
      default:
        patterns.push(`**.x${i % 20}`)
    }
  }
  const topics: string[] = []
  for (let j = 0; j < 1000; j++) {
    topics.push(`org.o${j % 50}.${["created", "updated", "deleted", "moved"][j % 4]}.x${j % 20}`)
  }
  return { patterns, topics }
}

const wildcard = (to: typeof deliveries = deliveries) => {
  const { patterns, topics } = wildcardFixture()
  // count the expected deliveries with a throwaway bus of sinks
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        let n = 0
        for (const p of patterns) yield* bus.subscribeSink(p, () => ++n > 0)
        for (const t of topics) yield* bus.publish({ type: t, data: 0 })
        return n
      }),
    ),
  ).then((expected) => to(patterns, topics, expected).then((rate) => [rate, expected] as const))
}

/** The wildcard fixture routed to 10k synchronous sinks: the cost of matching and routing alone. */
const wildcardRoute = (patterns: ReadonlyArray<string>, topics: ReadonlyArray<string>) =>
  run$(
    Effect.gen(function* () {
      const bus = yield* SignalBus.make()
      let delivered = 0
      for (const p of patterns) yield* bus.subscribeSink(p, () => ++delivered > 0)
      const t0 = now()
      for (let j = 0; j < topics.length; j++) yield* bus.publish({ type: topics[j], data: j })
      return delivered / ((now() - t0) / 1000)
    }),
  )

/** Counts acks of one broadcast; `arm` starts a new round and returns its completion. */
const ackCounter = (k: number) => {
  let acks = 0
  let done = Deferred.makeUnsafe<void>()
  return {
    ack: () => {
      if (++acks === k) Deferred.doneUnsafe(done, Effect.void)
    },
    arm: () => {
      acks = 0
      done = Deferred.makeUnsafe<void>()
      return done
    },
  }
}

const WARMUP = 5

/**
 * Median ms from publishing one signal until all `k` subscribers acknowledged it, over `reps` rounds after
 * `WARMUP` unmeasured ones (JIT warm-up and the garbage of spawning 10k subscribers would otherwise dominate).
 */
const timeBroadcasts = (bus: SignalBus.SignalBus, counter: ReturnType<typeof ackCounter>, reps: number) =>
  Effect.gen(function* () {
    const samples: number[] = []
    for (let r = -WARMUP; r < reps; r++) {
      const done = counter.arm()
      const t0 = now()
      yield* bus.publish({ type: "vars.temperature", data: 0.7 })
      yield* Deferred.await(done)
      if (r >= 0) samples.push(now() - t0)
    }
    if (process.env.SIGNAL_BENCH_SAMPLES) note(`samples: ${samples.map((x) => x.toFixed(2)).join(" ")}`)
    return median(samples)
  })

/** One signal to `k` subscribed agents; each acknowledges by counting. */
const broadcastAgents = (k: number, reps: number) =>
  run$(
    Effect.gen(function* () {
      const bus = yield* SignalBus.make()
      const counter = ackCounter(k)
      const Acker = Agent.behavior<number, SignalBus.SignalMessage>({
        init: () => 0,
        receive: (n) => {
          counter.ack()
          return n + 1
        },
        mailbox: { capacity: 16 },
      })
      for (let i = 0; i < k; i++) {
        const ref = yield* Agent.spawn(Acker)
        yield* bus.subscribeAgent(ref, "vars.temperature", SignalBus.asMessage)
      }
      return yield* timeBroadcasts(bus, counter, reps)
    }).pipe(Effect.provide(AgentSystem.layer())),
  )

/** The same with `k` buffered subscribers, each a fiber waiting in `take`. */
const broadcastFibers = (k: number, reps: number) =>
  run$(
    Effect.gen(function* () {
      const bus = yield* SignalBus.make()
      const counter = ackCounter(k)
      for (let i = 0; i < k; i++) {
        const sub = yield* bus.subscribe("vars.temperature", { capacity: 16 })
        yield* Effect.forkChild(Effect.forever(Effect.map(sub.take, counter.ack)))
      }
      yield* Effect.yieldNow
      return yield* timeBroadcasts(bus, counter, reps)
    }),
  )

const batchOf = (n: number, base: number): EventStore.EventInput[] =>
  Array.from({ length: n }, (_, i) => ({
    type: "account.deposited",
    data: { account: `a${(base + i) % 1000}`, amount: (base + i) % 97 },
    correlationId: `a${(base + i) % 1000}`,
  }))

/** Appends `total` events in batches of 100; events/s. */
const appendRate = (log: () => EventLog.EventLog, total: number, maxEvents: number) =>
  run$(
    Effect.gen(function* () {
      const store = yield* EventStore.make({ log: log(), retention: { maxEvents } })
      const batches = Array.from({ length: total / 100 }, (_, b) => batchOf(100, b * 100))
      const t0 = now()
      for (const b of batches) yield* store.append(b)
      const ms = now() - t0
      return total / (ms / 1000)
    }),
  )

/** Heap growth per appended event after 1M appends with count retention (10k kept). */
const retainedBytes = () =>
  run$(
    Effect.gen(function* () {
      const store = yield* EventStore.make({ retention: { maxEvents: 10_000 } })
      const batch = batchOf(100, 0)
      for (let i = 0; i < 200; i++) yield* store.append(batch) // warm up to the retention bound
      const before = heapUsed()
      const total = 1_000_000
      for (let i = 0; i < total / 100; i++) yield* store.append(batch)
      const after = heapUsed()
      const info = yield* store.info
      if (info.count !== 10_000) throw new Error(`retained ${info.count}`)
      return (after - before) / total
    }),
  )

export const run = async () => {
  const otp = otpFigures(["pubsub_registry", "broadcast_fanout"])
  // The two headline figures use one subscriber fiber (takeBatch) per subscription; the same fixtures
  // with subscribed agents follow as *_agents figures.
  note("signal: exact-topic deliveries (1 publisher, 1,000 subscriber fibers, 1,000 publishes)")
  const exact: number[] = []
  await exactTopic() // warm-up
  for (let r = 0; r < 7; r++) exact.push(await exactTopic())
  const exactFigure = median(exact)
  emitVsOtp(
    { name: "signal.deliveries_per_s", value: exactFigure, unit: "deliveries/s" },
    otp,
    "pubsub_registry.deliveries_per_s",
    true,
  )

  note("signal: wildcard deliveries (10k subscriber fibers with mixed patterns, 1,000 publishes)")
  const wild: number[] = []
  let wildDeliveries = 0
  await wildcard() // warm-up
  for (let r = 0; r < 7; r++) {
    const [rate, n] = await wildcard()
    wild.push(rate)
    wildDeliveries = n
  }
  note(`wildcard run delivers ${wildDeliveries} signals per repetition`)
  emit({
    name: "signal.wildcard_deliveries_per_s",
    value: median(wild),
    unit: "deliveries/s",
    peer: "signal.deliveries_per_s",
    peerValue: exactFigure,
  })

  note("signal: the same two fixtures with subscribed agents (subscribeAgent)")
  const exactA: number[] = []
  await exactTopic(deliveriesToAgents) // warm-up
  for (let r = 0; r < 5; r++) exactA.push(await exactTopic(deliveriesToAgents))
  const exactAgents = median(exactA)
  emit({ name: "signal.deliveries_agents_per_s", value: exactAgents, unit: "deliveries/s" })
  const wildA: number[] = []
  await wildcard(deliveriesToAgents) // warm-up
  for (let r = 0; r < 5; r++) wildA.push((await wildcard(deliveriesToAgents))[0])
  emit({
    name: "signal.wildcard_deliveries_agents_per_s",
    value: median(wildA),
    unit: "deliveries/s",
    peer: "signal.deliveries_agents_per_s",
    peerValue: exactAgents,
  })

  note(
    "signal: the same wildcard fixture routed to synchronous sinks (matching + routing, 100 route-cache misses)",
  )
  const fixture = wildcardFixture()
  const routes: number[] = []
  for (let r = 0; r < 5; r++) routes.push(await wildcardRoute(fixture.patterns, fixture.topics))
  emit({ name: "signal.wildcard_route_per_s", value: median(routes), unit: "deliveries/s" })

  note("signal: broadcast to 10,000 subscribed agents, wait for all acks")
  emitVsOtp(
    { name: "signal.broadcast_10k_acks_ms", value: await broadcastAgents(10_000, 31), unit: "ms" },
    otp,
    "broadcast_fanout.10k_acks",
    false,
    0.001,
  )
  note("signal: broadcast to 10,000 subscriber fibers (take), wait for all acks")
  emitVsOtp(
    { name: "signal.broadcast_10k_acks_fibers_ms", value: await broadcastFibers(10_000, 31), unit: "ms" },
    otp,
    "broadcast_fanout.10k_acks",
    false,
    0.001,
  )

  note("event: append, memory store, batches of 100")
  const mem: number[] = []
  for (let r = 0; r < 5; r++) mem.push(await appendRate(() => EventLog.memory(), 1_000_000, 100_000))
  emit({ name: "event.append_per_s", value: median(mem), unit: "events/s" })

  note("event: append, SQLite store (bun:sqlite, WAL, synchronous=NORMAL), batches of 100")
  const dir = mkdtempSync(join(tmpdir(), "troupe-bench-"))
  try {
    const sql: number[] = []
    for (let r = 0; r < 3; r++) {
      sql.push(await appendRate(() => EventLog.sql(open(join(dir, `bench-${r}.db`))), 200_000, 10_000_000))
    }
    emit({ name: "event.append_sqlite_per_s", value: median(sql), unit: "events/s" })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  note("event: heap growth per event over 1M appends, count retention 10,000")
  emit({ name: "event.retained_bytes_per_op", value: await retainedBytes(), unit: "bytes/op" })
}
