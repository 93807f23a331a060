/**
 * Kernel figures (issue: agent kernel). Names mirror ../shared/anchors/otp-baseline.
 * `npm run --silent bench -- kernel`
 */
import { Deferred, Effect, Fiber } from "effect"
import { Agent, AgentSystem } from "../src/index.ts"
import { emitVsOtp, gc, heapUsed, median, note, now, otpFigures, quantile } from "./harness.ts"

type Idle = { readonly _tag: "Ping" }
const IdleAgent = Agent.behavior<number, Idle>({ init: () => 0, receive: (n) => n + 1 })

type CountMsg = { readonly _tag: "Inc" } | ({ readonly _tag: "Get" } & Agent.Request<number>)
const Counter = Agent.behavior<number, CountMsg>({
  init: () => 0,
  receive: (n, msg, ctx) => {
    if (msg._tag === "Inc") return n + 1
    ctx.reply(msg, n)
    return n
  },
  mailbox: { capacity: 4096 },
})

type Ping = { readonly _tag: "Ping" } & Agent.Request<number>
const Pong = Agent.behavior<number, Ping>({
  init: () => 0,
  receive: (n, msg, ctx) => {
    ctx.reply(msg, n)
    return n + 1
  },
  mailbox: { capacity: 2048 },
})

const run$ = <A>(eff: Effect.Effect<A, any, AgentSystem.AgentSystem>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.provide(eff, AgentSystem.layer())) as Effect.Effect<A>)

/** Spawns n idle agents; returns [ms, bytes per agent]. Refs are kept alive until measured. */
const spawnIdle = (n: number) =>
  run$(
    Effect.gen(function* () {
      const refs: Array<Agent.AgentRef<Idle>> = new Array(n)
      const before = heapUsed()
      const t0 = now()
      for (let i = 0; i < n; i++) refs[i] = yield* Agent.spawn(IdleAgent)
      const ms = now() - t0
      const bytes = (heapUsed() - before) / n
      if (refs[n - 1].status !== "running") throw new Error("not running")
      return [ms, bytes] as const
    }),
  )

const tellThroughput = (n: number) =>
  run$(
    Effect.gen(function* () {
      const ref = yield* Agent.spawn(Counter)
      const t0 = now()
      for (let i = 0; i < n; i++) yield* ref.tell({ _tag: "Inc" })
      const got = yield* ref.ask({ _tag: "Get" })
      const ms = now() - t0
      if (got !== n) throw new Error(`counted ${got}`)
      return n / (ms / 1000)
    }),
  )

const askSequential = (n: number) =>
  run$(
    Effect.gen(function* () {
      const ref = yield* Agent.spawn(Pong)
      const msg: Ping = { _tag: "Ping" }
      const t0 = now()
      for (let i = 0; i < n; i++) yield* ref.ask(msg)
      const rate = n / ((now() - t0) / 1000)
      const lat = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        const s = now()
        yield* ref.ask(msg)
        lat[i] = (now() - s) * 1000
      }
      return [rate, quantile(Array.from(lat), 0.5), quantile(Array.from(lat), 0.99)] as const
    }),
  )

const askConcurrent = (callers: number, each: number) =>
  run$(
    Effect.gen(function* () {
      const ref = yield* Agent.spawn(Pong)
      const msg: Ping = { _tag: "Ping" }
      const lat = new Float64Array(callers * each)
      const gate = yield* Deferred.make<void>()
      const fibers = []
      for (let c = 0; c < callers; c++) {
        fibers.push(
          yield* Effect.forkChild(
            Effect.gen(function* () {
              yield* Deferred.await(gate)
              for (let i = 0; i < each; i++) {
                const s = now()
                yield* ref.ask(msg)
                lat[c * each + i] = (now() - s) * 1000
              }
            }),
          ),
        )
      }
      const t0 = now()
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
      const ms = now() - t0
      return [(callers * each) / (ms / 1000), quantile(Array.from(lat), 0.99)] as const
    }),
  )

type Sync = { readonly _tag: "Sync"; readonly value: number }
type Ack = { readonly _tag: "Ack" }

const broadcast = (n: number) =>
  run$(
    Effect.gen(function* () {
      let acks = 0
      let done: (() => void) | undefined
      const Collector = Agent.behavior<number, Ack>({
        init: () => 0,
        receive: (k) => {
          acks++
          if (acks === n) done?.()
          return k + 1
        },
        mailbox: { capacity: n },
      })
      const collector = yield* Agent.spawn(Collector)
      const Subscriber = Agent.behavior<number, Sync>({
        init: () => 0,
        receive: (_v, msg) => {
          collector.tellUnsafe({ _tag: "Ack" })
          return msg.value
        },
      })
      const subs: Array<Agent.AgentRef<Sync>> = []
      for (let i = 0; i < n; i++) subs.push(yield* Agent.spawn(Subscriber))
      const samples: number[] = []
      // five warm-up rounds (JIT), then the median of fifteen (each round is a few ms, so one GC pause or
      // a descheduled slice on a shared machine would otherwise decide the figure)
      for (let rep = 0; rep < 20; rep++) {
        acks = 0
        const finished = new Promise<void>((r) => {
          done = r
        })
        const t0 = now()
        for (let i = 0; i < n; i++) yield* subs[i].tell({ _tag: "Sync", value: rep })
        yield* Effect.promise(() => finished)
        if (rep >= 5) samples.push(now() - t0)
      }
      return median(samples)
    }),
  )

export const run = async (): Promise<void> => {
  const otp = otpFigures([
    "spawn_idle",
    "spawn_1m",
    "send_throughput",
    "call_roundtrip",
    "call_concurrent",
    "broadcast_fanout",
  ])
  const vs = (
    name: string,
    value: number,
    unit: string,
    otpName: string,
    higherIsBetter: boolean,
    scale = 1,
  ) => emitVsOtp({ name, value, unit }, otp, otpName, higherIsBetter, scale)
  note("kernel: warming up (JIT)")
  await spawnIdle(100_000)
  await tellThroughput(1_000_000)
  await tellThroughput(1_000_000)
  await askSequential(100_000)
  await askConcurrent(1000, 100)
  note("kernel: spawning 100k idle agents")
  const spawnSamples: number[] = []
  const bytesSamples: number[] = []
  for (let i = 0; i < 3; i++) {
    const [ms, bytes] = await spawnIdle(100_000)
    spawnSamples.push(100_000 / (ms / 1000))
    bytesSamples.push(bytes)
  }
  vs("kernel.idle_bytes", median(bytesSamples), "bytes", "spawn_idle.bytes_per_proc", false)
  vs("kernel.spawn_rate", median(spawnSamples), "agents/s", "spawn_idle.spawn_rate", true)
  note("kernel: spawning 1M idle agents")
  const [ms1m, bytes1m] = await spawnIdle(1_000_000)
  vs("kernel.spawn_1m_ms", ms1m, "ms", "spawn_1m.spawn_time", false)
  vs("kernel.spawn_1m_bytes", bytes1m, "bytes", "spawn_1m.bytes_per_proc", false)
  gc()
  note("kernel: tell throughput")
  const tells: number[] = []
  for (let i = 0; i < 5; i++) tells.push(await tellThroughput(1_000_000))
  vs("kernel.tell_msgs_per_s", median(tells), "msgs/s", "send_throughput.msgs_per_s", true)
  gc()
  note("kernel: sequential asks")
  const asks: Array<readonly [number, number, number]> = []
  for (let i = 0; i < 5; i++) asks.push(await askSequential(100_000))
  vs("kernel.ask_calls_per_s", median(asks.map((a) => a[0])), "calls/s", "call_roundtrip.calls_per_s", true)
  vs("kernel.ask_p50_us", median(asks.map((a) => a[1])), "us", "call_roundtrip.p50", false)
  vs("kernel.ask_p99_us", median(asks.map((a) => a[2])), "us", "call_roundtrip.p99", false)
  gc()
  note("kernel: concurrent asks")
  const conc: Array<readonly [number, number]> = []
  for (let i = 0; i < 5; i++) conc.push(await askConcurrent(1000, 100))
  vs(
    "kernel.ask_concurrent_calls_per_s",
    median(conc.map((a) => a[0])),
    "calls/s",
    "call_concurrent.calls_per_s",
    true,
  )
  vs("kernel.ask_concurrent_p99_us", median(conc.map((a) => a[1])), "us", "call_concurrent.p99", false)
  gc()
  note("kernel: broadcast to 10k agents")
  vs("kernel.broadcast_10k_acks_ms", await broadcast(10_000), "ms", "broadcast_fanout.10k_acks", false, 0.001)
}
