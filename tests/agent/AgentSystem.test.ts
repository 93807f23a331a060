import { describe, expect, it } from "bun:test"
import { Effect, Exit, Fiber, Layer, Schema, Scope, Tracer } from "effect"
import { TestClock } from "effect/testing"
import { Agent, AgentSystem, DynamicSupervisor, type Mailbox, Supervisor } from "../../src/index.ts"
import { adjust, runSystem, settle } from "./support.ts"

type Msg =
  | { readonly _tag: "Tick" }
  | { readonly _tag: "Work" }
  | ({ readonly _tag: "Get" } & Agent.Request<number>)

const Busy = Agent.behavior<number, Msg>({
  init: (ctx) => {
    ctx.sendInterval({ _tag: "Tick" }, 10)
    return 0
  },
  receive: (n, msg, ctx) => {
    if (msg._tag === "Get") {
      ctx.reply(msg, n)
      return n
    }
    if (msg._tag === "Work") return Effect.as(Effect.sleep(1_000_000), n)
    return n + 1
  },
})

class Refused extends Schema.TaggedError<Refused>()("Refused", { name: Schema.String }) {}

describe("AgentSystem", () => {
  it("leaves no fiber, timer or agent behind when it closes (counted)", async () => {
    let system: AgentSystem.Service | undefined
    const during = await Effect.runPromise(
      Effect.gen(function* () {
        system = yield* AgentSystem.AgentSystem
        const refs = []
        for (let i = 0; i < 50; i++) refs.push(yield* Agent.spawn(Busy))
        const sup = yield* Supervisor.start({
          children: [
            Supervisor.child("a", Busy),
            Supervisor.supervisor("inner", { children: [Supervisor.child("b", Busy)] }),
          ],
        })
        const pool = yield* DynamicSupervisor.start()
        for (let i = 0; i < 10; i++) yield* pool.startChild(Busy, { restart: "permanent" })
        for (const r of refs.slice(0, 10)) yield* r.tell({ _tag: "Work" })
        yield* settle
        yield* adjust(25)
        void sup
        return { ...system.stats(), ticks: yield* refs[20].ask({ _tag: "Get" }) }
      }).pipe(Effect.provide(AgentSystem.layer({ defaultShutdownMs: 0 })), Effect.provide(TestClock.layer())),
    )
    expect(during.agents).toBe(52)
    expect(during.fibers).toBeGreaterThanOrEqual(62 + 10) // a timer per agent plus 10 busy workers
    expect(during.ticks).toBe(2)
    expect(system!.stats()).toMatchObject({ agents: 0, fibers: 0 })
    expect(system!.tree().children).toEqual([])
    expect(system!.tree().status).toBe("stopped")
  })

  it("draws the supervision tree with status, mailbox depth and restart counts", async () => {
    const tree = await runSystem(
      Effect.gen(function* () {
        yield* Supervisor.start({
          name: "app",
          children: [
            Supervisor.child("db", Busy),
            Supervisor.supervisor("workers", { children: [Supervisor.child("w1", Busy)] }),
          ],
        })
        const system = yield* AgentSystem.AgentSystem
        return system.tree()
      }),
    )
    const strip = (n: AgentSystem.TreeNode): unknown => ({
      name: n.name,
      kind: n.kind,
      status: n.status,
      children: n.children.map(strip),
    })
    expect(strip(tree)).toEqual({
      name: "root",
      kind: "supervisor",
      status: "running",
      children: [
        {
          name: "app",
          kind: "supervisor",
          status: "running",
          children: [
            { name: "db", kind: "agent", status: "running", children: [] },
            {
              name: "workers",
              kind: "supervisor",
              status: "running",
              children: [{ name: "w1", kind: "agent", status: "running", children: [] }],
            },
          ],
        },
      ],
    })
  })

  it("lets a lifecycle hook refuse a spawn, and reports every final exit to it", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const system = yield* AgentSystem.AgentSystem
        const exits: string[] = []
        const remove = system.addHook({
          beforeSpawn: (_ref, info) => (info.name === "taken" ? new Refused({ name: info.name }) : undefined),
          onExit: (ref, reason) => exits.push(`${ref.label}:${reason._tag}`),
        })
        const refused = yield* Effect.exit(Agent.spawn(Busy, { name: "taken" }))
        const ok = yield* Agent.spawn(Busy, { name: "free" })
        yield* ok.stop()
        remove()
        const later = yield* Agent.spawn(Busy, { name: "later" })
        yield* later.stop()
        return { refused, exits, agents: system.stats().agents }
      }),
    )
    expect(Exit.isFailure(result.refused)).toBe(true)
    expect(result.exits).toEqual(["free:Shutdown"])
    expect(result.agents).toBe(0)
  })

  it("rejects invalid options with a message naming the option", () => {
    expect(() => Effect.runSync(Effect.scoped(Layer.build(AgentSystem.layer({ batchSize: 0 }))))).toThrow(
      '"batchSize" must be an integer >= 1',
    )
  })
})

describe("AgentSystem metrics", () => {
  it("counts restarts, drops, asks by outcome and active agents in the telemetry metrics", async () => {
    const { Metrics } = await import("../../src/index.ts")
    const delta = await runSystem(
      Effect.gen(function* () {
        const read = () =>
          Effect.gen(function* () {
            const value = (m: any) => Effect.map(Metrics.bind(m), (b) => b.value() as any)
            return {
              restarts: (yield* value(Metrics.agentRestarts)).count,
              drops: (yield* value(Metrics.agentMailboxDrops)).count,
              ok: (yield* value(Metrics.agentAsksByOutcome.ok)).count,
              stopped: (yield* value(Metrics.agentAsksByOutcome.stopped)).count,
              active: (yield* value(Metrics.agentsActive)).value,
            }
          })
        const before = yield* read()
        type M =
          | { readonly _tag: "Boom" }
          | ({ readonly _tag: "Get" } & Agent.Request<number>)
          | { readonly _tag: "Park" }
        const W = Agent.behavior<number, M>({
          init: () => 0,
          receive: (n, msg, ctx) => {
            if (msg._tag === "Boom") throw new Error("boom")
            if (msg._tag === "Park") return Effect.as(Effect.never, n)
            ctx.reply(msg, n)
            return n
          },
          mailbox: { capacity: 1, overflow: "dropping" },
        })
        const sup = yield* Supervisor.start({ children: [Supervisor.child("w", W)] })
        const w = yield* sup.child<M>("w")
        yield* w.ask({ _tag: "Get" })
        yield* w.tell({ _tag: "Boom" })
        yield* settle
        const parked = yield* Agent.spawn(W)
        yield* parked.tell({ _tag: "Park" })
        yield* settle
        yield* parked.tell({ _tag: "Park" })
        yield* parked.tell({ _tag: "Park" })
        yield* parked.stop({ deadlineMs: 0 })
        yield* Effect.exit(parked.ask({ _tag: "Get" }))
        const after = yield* read()
        return {
          restarts: after.restarts - before.restarts,
          drops: after.drops - before.drops,
          ok: after.ok - before.ok,
          stopped: after.stopped - before.stopped,
          active: after.active - before.active,
        }
      }),
    )
    expect(delta).toEqual({ restarts: 1, drops: 1, ok: 1, stopped: 1, active: 2 })
  })
})

describe("AgentSystem close during a restart", () => {
  it("finishes closing while a supervisor is in the middle of a one-for-all restart", async () => {
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const system = yield* Scope.provide(AgentSystem.make({ defaultShutdownMs: 100 }), scope)
        type M = { readonly _tag: "Boom" }
        const Crasher = Agent.behavior<number, M>({
          init: () => 0,
          receive: () => {
            throw new Error("boom")
          },
        })
        const SlowStop = Agent.behavior<number, M>({
          init: () => 0,
          receive: (n) => n,
          terminate: () => Effect.sleep(80),
        })
        const sup = yield* Effect.provideService(
          // the supervisor's own deadline (10 ms) is shorter than the restart it is doing (80 ms)
          Supervisor.start(
            {
              strategy: "oneForAll",
              children: [Supervisor.child("slow", SlowStop), Supervisor.child("crasher", Crasher)],
            },
            { shutdownMs: 10 },
          ),
          AgentSystem.AgentSystem,
          system,
        )
        const crasher = yield* sup.child<M>("crasher")
        yield* crasher.tell({ _tag: "Boom" })
        yield* settle // the supervisor is now stopping "slow" (its terminate sleeps 80 ms)
        const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
        for (let i = 0; i < 10; i++) {
          yield* settle
          yield* adjust(50)
        }
        yield* Fiber.join(closing)
        return system.stats()
      }).pipe(Effect.provide(TestClock.layer())),
    )
    expect(result).toMatchObject({ agents: 0, fibers: 0 })
  })
})

describe("AgentSystem traceAsks", () => {
  it("wraps each ask in a troupe.agent.ask client span naming the agent", async () => {
    const spans: Array<{ name: string; attributes: ReadonlyMap<string, unknown> }> = []
    const tracer = Tracer.make({
      span: (options) => {
        const span = new Tracer.NativeSpan(options)
        spans.push(span as any)
        return span
      },
    })
    const reply = await Effect.runPromise(
      Effect.gen(function* () {
        type M = { readonly _tag: "Get" } & Agent.Request<number>
        const ref = yield* Agent.spawn(
          Agent.behavior<number, M>({
            init: () => 7,
            receive: (n, msg, ctx) => {
              ctx.reply(msg, n)
              return n
            },
          }),
          { name: "pricer" },
        )
        return yield* ref.ask({ _tag: "Get" })
      }).pipe(
        Effect.provide(AgentSystem.layer({ traceAsks: true })),
        Effect.scoped,
        Effect.withTracer(tracer),
      ),
    )
    expect(reply).toBe(7)
    expect(spans.map((s) => s.name)).toEqual(["troupe.agent.ask"])
    expect(spans[0].attributes.get("troupe.agent")).toBe("pricer")
  })
})

describe("AgentSystem.layerFromConfig", () => {
  it("takes the default ask timeout and mailbox capacity from the validated Config", async () => {
    const { Config } = await import("../../src/index.ts")
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        type M = ({ readonly _tag: "Never" } & Agent.Request<number>) | { readonly _tag: "Park" }
        const ref = yield* Agent.spawn(
          Agent.behavior<number, M>({
            init: () => 0,
            receive: (n, msg, ctx) => {
              if (msg._tag === "Never") ctx.deferReply(msg)
              return n
            },
          }),
        )
        const fiber = yield* Effect.forkChild(Effect.exit(ref.ask({ _tag: "Never" })))
        yield* settle
        yield* adjust(249)
        const early = fiber.pollUnsafe()
        yield* adjust(1)
        const exit = yield* Fiber.join(fiber)
        const system = yield* AgentSystem.AgentSystem
        return { early, exit, capacity: (system.runtime.defaultMailbox as Mailbox.Resolved).capacity }
      }).pipe(
        Effect.provide(
          AgentSystem.layerFromConfig().pipe(
            Layer.provide(Config.layer({ initial: { agent: { askTimeoutMs: 250, mailboxCapacity: 32 } } })),
          ),
        ),
        Effect.scoped,
        Effect.provide(TestClock.layer()),
      ),
    )
    expect(result.early).toBeUndefined()
    expect(Exit.isFailure(result.exit)).toBe(true)
    expect(result.capacity).toBe(32)
  })
})

describe("AgentSystem mailbox depth metric", () => {
  it("tracks queued messages across enqueue, handling, crash and stop", async () => {
    const { Metrics } = await import("../../src/index.ts")
    const seen = await runSystem(
      Effect.gen(function* () {
        const depth = yield* Metrics.bind(Metrics.agentMailboxDepth)
        const system = yield* AgentSystem.AgentSystem
        system.stats()
        const base = (depth.value() as any).value as number
        const read = () => {
          system.stats() // the gauge is reported per dispatcher turn; stats() reports it now
          return ((depth.value() as any).value as number) - base
        }
        type M = { readonly _tag: "Park" } | { readonly _tag: "X" }
        const W = Agent.behavior<number, M>({
          init: () => 0,
          receive: (n, msg) => (msg._tag === "Park" ? Effect.as(Effect.never, n) : n),
        })
        const ref = yield* Agent.spawn(W, { shutdownMs: 0 })
        yield* ref.tell({ _tag: "Park" })
        yield* settle
        const afterPark = read()
        for (let i = 0; i < 5; i++) yield* ref.tell({ _tag: "X" })
        const queued = read()
        yield* ref.stop({ deadlineMs: 0 })
        return [afterPark, queued, read()]
      }),
    )
    expect(seen).toEqual([0, 5, 0])
  })
})
