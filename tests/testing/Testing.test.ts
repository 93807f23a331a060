import { describe, expect, it } from "bun:test"
import { Effect, Exit, Schema } from "effect"
import fc from "fast-check"
import { Agent, AgentSystem, Supervisor } from "../../src/index.ts"
import { Arbitraries, Chaos, Invariants, TestSystem } from "../../src/testing/index.ts"

type Msg = { readonly _tag: "Inc" } | ({ readonly _tag: "Get" } & Agent.Request<number>)

const Counter = Agent.behavior<number, Msg>({
  init: () => 0,
  receive: (n, msg, ctx) => {
    if (msg._tag === "Inc") return n + 1
    ctx.reply(msg, n)
    return n
  },
})

const tagOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isSuccess(exit) ? "ok" : ((exit.cause.reasons[0] as any)?.error?._tag ?? "defect")

describe("troupe/testing TestSystem", () => {
  it("runs on a TestClock: a timer fires only when the test adjusts the clock", async () => {
    type T = { readonly _tag: "Tick" } | ({ readonly _tag: "Count" } & Agent.Request<number>)
    const Ticker = Agent.behavior<number, T>({
      init: (ctx) => {
        ctx.sendInterval({ _tag: "Tick" }, 1000)
        return 0
      },
      receive: (n, msg, ctx) => {
        if (msg._tag === "Tick") return n + 1
        ctx.reply(msg, n)
        return n
      },
    })
    const counts = await TestSystem.run(
      Effect.gen(function* () {
        const ref = yield* Agent.spawn(Ticker)
        const before = yield* ref.ask({ _tag: "Count" })
        yield* TestSystem.adjust(3000)
        return [before, yield* ref.ask({ _tag: "Count" })]
      }),
    )
    expect(counts).toEqual([0, 3])
  })
})

describe("troupe/testing Chaos", () => {
  for (const fault of ["throw", "fail", "die"] as const) {
    for (const delayMs of [0, 1]) {
      it(`an injected "${fault}" (delay ${delayMs} ms) crashes the incarnation and the supervisor restarts it`, async () => {
        const r = await TestSystem.run(
          Effect.gen(function* () {
            const sup = yield* Supervisor.start({ children: [Supervisor.child("w", Chaos.wrap(Counter))] })
            const w = yield* sup.child<Chaos.With<Msg>>("w")
            yield* w.tell({ _tag: "Inc" })
            yield* Chaos.inject(w, fault, { delayMs })
            yield* TestSystem.settle
            yield* TestSystem.adjust(delayMs + 1)
            yield* TestSystem.settle
            const alive = yield* Chaos.probe(w, 100)
            return { alive, restarts: w.restarts, count: yield* w.ask({ _tag: "Get" }) }
          }),
        )
        expect(r).toEqual({ alive: true, restarts: 1, count: 0 })
      })
    }
  }

  it("runPlan reports every step's outcome and the population survives random plans", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        Chaos.plan(3, { faults: ["throw", "fail", "die"] }),
        async (s, steps) => {
          const done = TestSystem.run(
            Effect.gen(function* () {
              const sup = yield* Supervisor.start({
                maxRestarts: 1000,
                children: [0, 1, 2].map((i) => Supervisor.child(`w${i}`, Chaos.wrap(Counter))),
              })
              const refs = [yield* sup.child("w0"), yield* sup.child("w1"), yield* sup.child("w2")]
              const { outcomes } = yield* Chaos.runPlan(refs, steps, {
                scheduler: s,
                whileRunning: TestSystem.adjust(10),
              })
              yield* TestSystem.adjust(10)
              yield* Invariants.noDeafAgents(refs, { timeoutMs: 50 })
              return outcomes
            }),
          )
          const outcomes = await s.waitFor(done)
          expect(outcomes).toHaveLength(steps.length)
          for (const o of outcomes) expect(["ok", "AgentStopped", "AskTimeout", "MailboxFull"]).toContain(o)
        },
      ),
      { numRuns: 40 },
    )
  })
})

describe("troupe/testing Invariants", () => {
  it("noDeafAgents names a running agent that no longer handles its mailbox", async () => {
    type H = { readonly _tag: "Hang" }
    const Hanger = Chaos.wrap(
      Agent.behavior<null, H>({ init: () => null, receive: () => Effect.never as Effect.Effect<null> }),
    )
    const exit = await TestSystem.runExit(
      Effect.gen(function* () {
        const ok = yield* Agent.spawn(Chaos.wrap(Counter), { name: "fine" })
        const stuck = yield* Agent.spawn(Hanger, { name: "stuck", shutdownMs: 0 })
        yield* stuck.tell({ _tag: "Hang" })
        yield* TestSystem.settle
        return yield* Invariants.noDeafAgents([ok, stuck], { timeoutMs: 20 })
      }),
    )
    expect(tagOf(exit)).toBe("DeafAgents")
    expect(Exit.isFailure(exit) && String((exit.cause.reasons[0] as any).error.message)).toContain('"stuck"')
  })

  it("everyAskSettles fails for an ask that never settles and passes for ones that time out", async () => {
    const passing = await TestSystem.runExit(
      Effect.gen(function* () {
        const hang = yield* Agent.spawn(
          Agent.behavior<null, { readonly _tag: "Q" } & Agent.Request<number>>({
            init: () => null,
            receive: (s, msg, ctx) => {
              ctx.deferReply(msg)
              return s
            },
          }),
        )
        yield* Invariants.everyAskSettles([hang.ask({ _tag: "Q" }, { timeoutMs: 30 })], { timeoutMs: 30 })
      }),
    )
    expect(Exit.isSuccess(passing)).toBe(true)
    const failing = await TestSystem.runExit(
      Invariants.everyAskSettles([Effect.never, Effect.succeed(1)], { timeoutMs: 30 }),
    )
    expect(tagOf(failing)).toBe("UnsettledAsks")
  })

  it("nothingLeft passes after close and fails while agents are alive", async () => {
    let system: AgentSystem.Service | undefined
    const whileOpen = await TestSystem.runExit(
      Effect.gen(function* () {
        system = yield* AgentSystem.AgentSystem
        yield* Agent.spawn(Counter)
        return yield* Invariants.nothingLeft(system)
      }),
    )
    expect(tagOf(whileOpen)).toBe("LeftBehind")
    expect(Exit.isSuccess(await Effect.runPromiseExit(Invariants.nothingLeft(system!)))).toBe(true)
  })
})

describe("troupe/testing Arbitraries", () => {
  const Msg = Schema.Union([
    Schema.Struct({
      _tag: Schema.Literal("Add"),
      n: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 9 })),
    }),
    Schema.Struct({ _tag: Schema.Literal("Rename"), name: Schema.String }),
  ])

  it("generates only values of the Schema, both members of a union, reproducibly from the seed", () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(Arbitraries.fromSchema(Msg), (m) => {
        seen.add(m._tag)
        return Schema.is(Msg)(m)
      }),
      { numRuns: 200 },
    )
    expect([...seen].sort()).toEqual(["Add", "Rename"])
    const a = fc.sample(Arbitraries.fromSchema(Msg), { seed: 42, numRuns: 10 })
    const b = fc.sample(Arbitraries.fromSchema(Msg), { seed: 42, numRuns: 10 })
    expect(a).toEqual(b)
  })
})
