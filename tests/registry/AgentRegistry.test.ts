import { describe, expect, it } from "bun:test"
import { Effect, Exit, Fiber, Layer, type Scope } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as Agent from "../../src/agent/Agent.ts"
import * as AgentSystem from "../../src/agent/AgentSystem.ts"
import * as AgentRegistry from "../../src/registry/AgentRegistry.ts"
import * as Dispatcher from "../../src/registry/Dispatcher.ts"
import * as Q from "../../src/registry/Query.ts"

type Msg =
  | { readonly _tag: "Work"; readonly n: number }
  | ({ readonly _tag: "Total" } & Agent.Request<number>)
  | { readonly _tag: "Boom" }

let inits = 0
const Worker = Agent.behavior<number, Msg>({
  init: () => {
    inits++
    return 0
  },
  receive: (s, msg, ctx) => {
    switch (msg._tag) {
      case "Work":
        return s + msg.n
      case "Total":
        ctx.reply(msg, s)
        return s
      case "Boom":
        throw new Error("boom")
    }
  },
})

const FailingInit = Agent.behavior<number, Msg, string>({
  init: () => Effect.fail("no"),
  receive: (s) => s,
})

type Env = AgentRegistry.AgentRegistry | AgentSystem.AgentSystem | Scope.Scope
const live = (options?: AgentRegistry.Options) =>
  AgentRegistry.layer(options).pipe(Layer.provideMerge(AgentSystem.layer()))

const runWith = <A, E>(eff: Effect.Effect<A, E, Env>, options?: AgentRegistry.Options): Promise<A> =>
  Effect.runPromise(
    eff.pipe(
      Effect.provide(live(options)),
      Effect.scoped,
      Effect.provide(TestClock.layer()),
    ) as Effect.Effect<A, E>,
  )

const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

describe("AgentRegistry", () => {
  it("registers a named spawn with its metadata, and tells and asks by name", async () => {
    const result = await runWith(
      Effect.gen(function* () {
        const ref = yield* Agent.spawn(Worker, {
          name: "w1",
          metadata: { capabilities: ["sum"], resources: { load: 0.2 } },
        })
        const found = yield* AgentRegistry.lookup<Msg>("w1")
        yield* AgentRegistry.tell<Msg>("w1", { _tag: "Work", n: 5 })
        const total = yield* AgentRegistry.ask<Msg>()("w1", { _tag: "Total" })
        const registry = yield* AgentRegistry.AgentRegistry
        const byCap = yield* registry.query(Q.where("capabilities", "contains", "sum"))
        return { same: found === ref, total, byCap: byCap.map((e) => e.key) }
      }),
    )
    expect(result).toEqual({ same: true, total: 5, byCap: ["w1"] })
  })

  it("refuses a spawn whose name is taken with AlreadyRegistered, and starts nothing", async () => {
    const result = await runWith(
      Effect.gen(function* () {
        const first = yield* Agent.spawn(Worker, { name: "dup" })
        const before = inits
        const err = yield* Effect.flip(Agent.spawn(Worker, { name: "dup" }))
        return { tag: err._tag, holder: (err as any).holder === first, started: inits - before }
      }),
    )
    expect(result).toEqual({ tag: "AlreadyRegistered", holder: true, started: 0 })
  })

  it("refuses invalid metadata and a full registry, naming the problem", async () => {
    const result = await runWith(
      Effect.gen(function* () {
        const bad = yield* Effect.flip(Agent.spawn(Worker, { name: "x", metadata: { health: "great" } }))
        yield* Agent.spawn(Worker, { name: "a" })
        yield* Agent.spawn(Worker, { name: "b" })
        const full = yield* Effect.flip(Agent.spawn(Worker, { name: "c" }))
        const registry = yield* AgentRegistry.AgentRegistry
        return { bad: [bad._tag, (bad as any).field], full: full._tag, count: yield* registry.count }
      }),
      { maxEntries: 2 },
    )
    expect(result).toEqual({
      bad: ["InvalidRegistration", "metadata.health"],
      full: "RegistryFull",
      count: 2,
    })
  })

  it("lets exactly one of N racing spawns with one name win (fc.scheduler)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 8 }), async (s, n) => {
        const result = await runWith(
          Effect.gen(function* () {
            const attempt = (i: number) =>
              Effect.exit(
                Effect.gen(function* () {
                  yield* Effect.promise(() => s.schedule(Promise.resolve(i)))
                  return yield* Agent.spawn(Worker, { name: "leader" })
                }),
              )
            const exitsFiber = yield* Effect.forkChild(
              Effect.forEach(
                Array.from({ length: n }, (_, i) => i),
                attempt,
                { concurrency: "unbounded" },
              ),
            )
            yield* settle
            yield* Effect.promise(() => s.waitAll())
            const exits = yield* Fiber.join(exitsFiber)
            const registry = yield* AgentRegistry.AgentRegistry
            const holder = registry.lookupUnsafe("leader")?.handle
            const wins = exits.filter(Exit.isSuccess)
            const losers = exits.filter(Exit.isFailure).map((x) => Effect.runSync(Effect.flip(x)) as any)
            return {
              wins: wins.length,
              holderIsWinner: wins.length === 1 && wins[0].value === holder,
              losersOk: losers.every((e) => e._tag === "AlreadyRegistered" && e.holder === holder),
            }
          }),
        )
        expect(result).toEqual({ wins: 1, holderIsWinner: true, losersOk: true })
      }),
      { numRuns: 25 },
    )
  })

  it("removes an agent's entry and index entries when it stops, crashes or fails to start", async () => {
    const result = await runWith(
      Effect.gen(function* () {
        const registry = yield* AgentRegistry.AgentRegistry
        const meta = { capabilities: ["c"], resources: { memory: 1 } }
        const stopped = yield* Agent.spawn(Worker, { name: "stopped", metadata: meta })
        const crashed = yield* Agent.spawn(Worker, { name: "crashed", metadata: meta })
        yield* Agent.spawn(Worker, { name: "alive", metadata: meta })
        yield* stopped.stop()
        const afterStop = registry.lookupUnsafe("stopped")
        yield* crashed.tell({ _tag: "Boom" })
        yield* Agent.awaitExit(crashed)
        const initFailure = yield* Effect.exit(Agent.spawn(FailingInit, { name: "never", metadata: meta }))
        const left = yield* registry.query(
          Q.and(Q.where("capabilities", "contains", "c"), Q.where("resources.memory", "gte", 0)),
        )
        const reuse = yield* Effect.exit(Agent.spawn(Worker, { name: "stopped" }))
        return {
          afterStop,
          crashed: registry.lookupUnsafe("crashed"),
          never: registry.lookupUnsafe("never"),
          initFailed: Exit.isFailure(initFailure),
          left: left.map((e) => e.key),
          reuse: Exit.isSuccess(reuse),
          stats: yield* registry.resourceStats("memory"),
        }
      }),
    )
    expect(result.afterStop).toBeUndefined()
    expect(result.crashed).toBeUndefined()
    expect(result.never).toBeUndefined()
    expect(result.initFailed).toBe(true)
    expect(result.left).toEqual(["alive"])
    expect(result.reuse).toBe(true)
    expect(result.stats.count).toBe(1)
  })

  it("removes the entry in the same synchronous section the agent's status becomes stopped", async () => {
    const seen = await runWith(
      Effect.gen(function* () {
        const registry = yield* AgentRegistry.AgentRegistry
        const ref = yield* Agent.spawn(Worker, { name: "watched" })
        const observed: Array<[string, boolean]> = []
        // any exit listener, and anyone awaiting the exit, already sees the entry gone
        Agent.onExit(ref, () => observed.push([ref.status, registry.lookupUnsafe("watched") !== undefined]))
        yield* ref.tell({ _tag: "Boom" })
        yield* Agent.awaitExit(ref)
        yield* settle
        return observed
      }),
    )
    expect(seen).toEqual([["stopped", false]])
  })

  it("registers a batch of live agents entirely or not at all while one of them crashes (fc.scheduler)", async () => {
    const outcomes = new Set<string>()
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 5 }), fc.nat(8), async (s, k, delay) => {
        const result = await runWith(
          Effect.gen(function* () {
            const registry = yield* AgentRegistry.AgentRegistry
            const refs: Array<Agent.AgentRef<Msg>> = []
            for (let i = 0; i < k; i++) refs.push(yield* Agent.spawn(Worker))
            const victim = refs[0]
            const items = refs.map((ref, i) => ({ key: `job-${i}`, handle: ref }))
            const observations: Array<number> = []
            const observe = () => {
              const present = items.filter((it) => registry.lookupUnsafe(it.key) !== undefined)
              // never an entry of a stopped agent
              for (const it of present) if (it.handle.status === "stopped") observations.push(-1)
              observations.push(present.length)
            }
            const step = (label: string, eff: Effect.Effect<unknown, unknown>) =>
              Effect.forkChild(
                Effect.gen(function* () {
                  yield* Effect.promise(() => s.schedule(Promise.resolve(label)))
                  yield* Effect.exit(eff)
                  observe()
                }),
              )
            // the batch lets a random number of scheduler turns pass after its gate: the crash lands at any
            // point before, during (in flight) or after it
            const turns = Effect.forEach(Array.from({ length: delay }), () => Effect.yieldNow, {
              discard: true,
            })
            const batch = yield* step("registerMany", Effect.andThen(turns, registry.registerMany(items)))
            const crash = yield* step(
              "crash",
              Effect.andThen(victim.tell({ _tag: "Boom" }), Agent.awaitExit(victim)),
            )
            const look = yield* step("observe", Effect.void)
            yield* settle
            yield* Effect.promise(() => s.waitAll())
            yield* Fiber.join(batch)
            yield* Fiber.join(crash)
            yield* Fiber.join(look)
            observe()
            return observations
          }),
        )
        // each observation sees the whole batch, none of it, or the batch minus the crashed agent's entry
        for (const n of result) expect([0, k, k - 1]).toContain(n)
        // in the end the crashed agent holds nothing: the batch is either refused (0) or in minus the victim
        const last = result[result.length - 1]
        expect([0, k - 1]).toContain(last)
        outcomes.add(last === 0 ? "refused" : "registered")
      }),
      { numRuns: 40 },
    )
    // the interleavings covered both orders
    expect([...outcomes].sort()).toEqual(["refused", "registered"])
  })

  it("refuses to register an agent that already stopped", async () => {
    const tag = await runWith(
      Effect.gen(function* () {
        const registry = yield* AgentRegistry.AgentRegistry
        const ref = yield* Agent.spawn(Worker)
        yield* ref.stop()
        return (yield* Effect.flip(registry.register("late", ref)))._tag
      }),
    )
    expect(tag).toBe("AgentNotAlive")
  })

  it("dispatches tells and asks to capable agents and fails with NoAgentAvailable otherwise", async () => {
    const result = await runWith(
      Effect.gen(function* () {
        for (let i = 0; i < 3; i++)
          yield* Agent.spawn(Worker, {
            name: `w${i}`,
            metadata: { capabilities: ["sum"], resources: { load: i } },
          })
        const rr = yield* AgentRegistry.dispatcher<Msg>(Dispatcher.roundRobin)
        for (let i = 0; i < 6; i++) yield* rr.dispatch("sum", { _tag: "Work", n: 1 })
        const totals: Array<number> = []
        for (let i = 0; i < 3; i++) totals.push(yield* AgentRegistry.ask<Msg>()(`w${i}`, { _tag: "Total" }))
        const ll = yield* AgentRegistry.dispatcher<Msg>(Dispatcher.leastLoaded)
        const fromLeast = yield* ll.dispatchAsk("sum", { _tag: "Total" })
        const chosen = yield* ll.select("sum")
        const none = yield* Effect.flip(ll.dispatch("fly", { _tag: "Work", n: 1 }))
        return { totals, fromLeast, chosen: chosen.name, none: none._tag }
      }),
    )
    expect(result).toEqual({ totals: [2, 2, 2], fromLeast: 2, chosen: "w0", none: "NoAgentAvailable" })
  })

  it("keeps groups in a duplicate registry that agents leave when they stop", async () => {
    const result = await runWith(
      Effect.gen(function* () {
        const groups = yield* AgentRegistry.groups()
        const a = yield* Agent.spawn(Worker)
        const b = yield* Agent.spawn(Worker)
        yield* groups.register("topic", a)
        yield* groups.register("topic", b)
        const before = (yield* groups.lookupAll("topic")).length
        yield* a.stop()
        yield* settle
        const after = (yield* groups.lookupAll("topic")).map((e) => e.handle === b)
        return { before, after }
      }),
    )
    expect(result).toEqual({ before: 2, after: [true] })
  })
})
