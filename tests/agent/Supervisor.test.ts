import { describe, expect, it } from "bun:test"
import { Cause, Effect, Exit, Schedule } from "effect"
import fc from "fast-check"
import { Agent, AgentSystem, DynamicSupervisor, Supervisor } from "../../src/index.ts"
import { adjust, runSystem, runSystemExit, settle } from "./support.ts"

type Msg =
  | { readonly _tag: "Boom" }
  | { readonly _tag: "Stop" }
  | ({ readonly _tag: "Ping" } & Agent.Request<number>)

const Worker = Agent.behavior<number, Msg>({
  init: () => 0,
  receive: (n, msg, ctx) => {
    switch (msg._tag) {
      case "Boom":
        throw new Error("boom")
      case "Stop":
        ctx.stop()
        return n
      case "Ping":
        ctx.reply(msg, n)
        return n + 1
    }
  },
})

type RestartType = "permanent" | "transient" | "temporary"
type Strategy = "oneForOne" | "oneForAll" | "restForOne"

/** A pure model of OTP supervisor semantics for crash sequences. */
const model = (
  strategy: Strategy,
  types: ReadonlyArray<RestartType>,
  maxRestarts: number,
  withinMs: number,
  events: ReadonlyArray<{ readonly child: number; readonly dt: number }>,
) => {
  const alive = types.map(() => true)
  const restarts = types.map(() => 0)
  let times: number[] = []
  let now = 0
  let escalatedAt = -1
  events.forEach((ev, k) => {
    if (escalatedAt >= 0) return
    now += ev.dt
    const i = ev.child
    if (!alive[i]) return
    if (types[i] === "temporary") {
      alive[i] = false
      return
    }
    times = times.filter((t) => now - t < withinMs)
    times.push(now)
    if (times.length > maxRestarts) {
      escalatedAt = k
      alive.fill(false)
      return
    }
    const order = types.map((_, j) => j).filter((j) => alive[j])
    const affected =
      strategy === "oneForOne" ? [i] : strategy === "oneForAll" ? order : order.filter((j) => j >= i)
    for (const j of affected) {
      if (j !== i && types[j] === "temporary") alive[j] = false
      else restarts[j]++
    }
  })
  return { alive, restarts, escalatedAt }
}

const scenario = fc.record({
  strategy: fc.constantFrom<Strategy>("oneForOne", "oneForAll", "restForOne"),
  types: fc.array(fc.constantFrom<RestartType>("permanent", "transient", "temporary"), {
    minLength: 1,
    maxLength: 5,
  }),
  maxRestarts: fc.integer({ min: 0, max: 4 }),
  withinMs: fc.integer({ min: 10, max: 200 }),
  events: fc.array(fc.record({ child: fc.nat(), dt: fc.integer({ min: 0, max: 120 }) }), { maxLength: 12 }),
})

describe("Supervisor", () => {
  it("restarts exactly what the OTP model says, and escalates at exactly the right crash", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ strategy, types, maxRestarts, withinMs, events: raw }) => {
        const events = raw.map((e) => ({ child: e.child % types.length, dt: e.dt }))
        const expected = model(strategy, types, maxRestarts, withinMs, events)
        const actual = await runSystem(
          Effect.gen(function* () {
            const sup = yield* Supervisor.start({
              strategy,
              maxRestarts,
              withinMs,
              children: types.map((restart, i) => Supervisor.child(`c${i}`, Worker, { restart })),
            })
            const refs = []
            for (let i = 0; i < types.length; i++) refs.push(yield* sup.child<Msg>(`c${i}`))
            let escalatedAt = -1
            for (let k = 0; k < events.length; k++) {
              if (sup.ref.status === "stopped") break
              yield* adjust(events[k].dt)
              const ref = refs[events[k].child]
              if (ref.status !== "running") continue
              yield* ref.tell({ _tag: "Boom" })
              yield* settle
              if ((sup.ref.status as string) === "stopped" && escalatedAt < 0) escalatedAt = k
            }
            const exit = sup.ref.status === "stopped" ? yield* Agent.awaitExit(sup.ref) : undefined
            return {
              alive: refs.map((r) => r.status === "running"),
              restarts: refs.map((r) => r.restarts),
              escalatedAt,
              exit,
            }
          }),
        )
        expect(actual.escalatedAt).toBe(expected.escalatedAt)
        expect(actual.alive).toEqual(expected.alive)
        if (expected.escalatedAt < 0) expect(actual.restarts).toEqual(expected.restarts)
        else {
          expect(actual.exit?._tag).toBe("Failed")
          const err = actual.exit?._tag === "Failed" ? Cause.squash(actual.exit.cause) : undefined
          expect(err).toMatchObject({ _tag: "RestartIntensityExceeded", maxRestarts, withinMs })
        }
      }),
      { numRuns: 120 },
    )
  })

  it("restarts a permanent child after a normal exit, but not a transient or temporary one", async () => {
    const statuses = await runSystem(
      Effect.gen(function* () {
        const sup = yield* Supervisor.start({
          children: [
            Supervisor.child("p", Worker, { restart: "permanent" }),
            Supervisor.child("tr", Worker, { restart: "transient" }),
            Supervisor.child("te", Worker, { restart: "temporary" }),
          ],
        })
        const refs = [yield* sup.child<Msg>("p"), yield* sup.child<Msg>("tr"), yield* sup.child<Msg>("te")]
        for (const r of refs) yield* r.tell({ _tag: "Stop" })
        yield* settle
        return { status: refs.map((r) => r.status), children: sup.children().map((c) => c.id) }
      }),
    )
    expect(statuses.status).toEqual(["running", "stopped", "stopped"])
    expect(statuses.children).toEqual(["p"])
  })

  it("escalates a nested supervisor's intensity failure to its parent, which restarts it with fresh children", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const top = yield* Supervisor.start({
          name: "top",
          maxRestarts: 5,
          children: [
            Supervisor.supervisor("inner", { maxRestarts: 0, children: [Supervisor.child("w", Worker)] }),
          ],
        })
        const inner = yield* top.supervisor("inner")
        const w1 = yield* inner.child<Msg>("w")
        yield* w1.tell({ _tag: "Boom" })
        yield* settle
        const w2 = yield* inner.child<Msg>("w")
        return {
          innerStatus: inner.ref.status,
          innerRestarts: inner.ref.restarts,
          old: w1.status,
          fresh: w2.status,
          same: w1 === w2,
          top: top.ref.status,
        }
      }),
    )
    expect(result).toEqual({
      innerStatus: "running",
      innerRestarts: 1,
      old: "stopped",
      fresh: "running",
      same: false,
      top: "running",
    })
  })

  it("waits for the backoff schedule (on the Clock) before restarting", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const sup = yield* Supervisor.start({
          backoff: Schedule.spaced(100),
          children: [Supervisor.child("w", Worker)],
        })
        const w = yield* sup.child<Msg>("w")
        yield* w.tell({ _tag: "Boom" })
        yield* settle
        const during = w.status
        yield* adjust(99)
        const stillDuring = w.status
        yield* adjust(1)
        yield* settle
        return [during, stillDuring, w.status, w.restarts]
      }),
    )
    expect(result).toEqual(["restarting", "restarting", "running", 1])
  })

  it("does not count restarts older than withinMs towards the intensity", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const sup = yield* Supervisor.start({
          maxRestarts: 1,
          withinMs: 100,
          children: [Supervisor.child("w", Worker)],
        })
        const w = yield* sup.child<Msg>("w")
        for (let i = 0; i < 5; i++) {
          yield* w.tell({ _tag: "Boom" })
          yield* settle
          yield* adjust(100)
        }
        return [sup.ref.status, w.status, w.restarts]
      }),
    )
    expect(result).toEqual(["running", "running", 5])
  })

  it("shuts children down newest first, each running terminate", async () => {
    const order = await runSystem(
      Effect.gen(function* () {
        const log: string[] = []
        const Logged = (id: string) =>
          Agent.behavior<number, never>({
            init: () => 0,
            receive: (n) => n,
            terminate: () => Effect.sync(() => log.push(id)),
          })
        const sup = yield* Supervisor.start({
          children: [
            Supervisor.child("a", Logged("a")),
            Supervisor.child("b", Logged("b")),
            Supervisor.child("c", Logged("c")),
          ],
        })
        yield* sup.stop
        return log
      }),
    )
    expect(order).toEqual(["c", "b", "a"])
  })

  it("stops already started children and fails when a child cannot start", async () => {
    const result = await runSystemExit(
      Effect.gen(function* () {
        const log: string[] = []
        const Ok = Agent.behavior<number, never>({
          init: () => 0,
          receive: (n) => n,
          terminate: () => Effect.sync(() => log.push("ok stopped")),
        })
        const Bad = Agent.behavior<number, never>({
          init: () => {
            throw new Error("cannot start")
          },
          receive: (n) => n,
        })
        const exit = yield* Effect.exit(
          Supervisor.start({ children: [Supervisor.child("ok", Ok), Supervisor.child("bad", Bad)] }),
        )
        const system = yield* AgentSystem.AgentSystem
        return { exit, log, agents: system.stats().agents }
      }),
    )
    expect(Exit.isSuccess(result)).toBe(true)
    if (Exit.isSuccess(result)) {
      expect(Exit.isFailure(result.value.exit)).toBe(true)
      expect(result.value.log).toEqual(["ok stopped"])
      expect(result.value.agents).toBe(0)
    }
  })

  it("raises clear defects for invalid options", () => {
    expect(() => Supervisor.supervisor("s", { strategy: "oneForSome" as any })).toThrow(
      '"strategy" must be one of',
    )
    expect(() => Supervisor.supervisor("s", { maxRestarts: -1 })).toThrow(
      '"maxRestarts" must be an integer >= 0',
    )
    expect(() => Supervisor.supervisor("s", { withinMs: 0 })).toThrow(
      '"withinMs" must be a number of milliseconds > 0',
    )
    expect(() =>
      Supervisor.supervisor("s", {
        children: [Supervisor.child("a", Worker), Supervisor.child("a", Worker)],
      }),
    ).toThrow('already has a child "a"')
  })
})

describe("DynamicSupervisor", () => {
  it("fails with MaxChildrenReached when full, and admits again after a child stops", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const pool = yield* DynamicSupervisor.start({ name: "pool", maxChildren: 2 })
        const a = yield* pool.startChild(Worker)
        yield* pool.startChild(Worker)
        const full = yield* Effect.exit(pool.startChild(Worker))
        yield* pool.terminateChild(a)
        const again = yield* Effect.exit(pool.startChild(Worker))
        return { full, again, count: pool.count() }
      }),
    )
    expect(Exit.isFailure(result.full) && Cause.squash(result.full.cause)).toMatchObject({
      _tag: "MaxChildrenReached",
      maxChildren: 2,
    })
    expect(Exit.isSuccess(result.again)).toBe(true)
    expect(result.count).toBe(2)
  })

  it("restarts permanent children one-for-one", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const pool = yield* DynamicSupervisor.start({ maxRestarts: 10 })
        const a = yield* pool.startChild(Worker, { restart: "permanent" })
        const b = yield* pool.startChild(Worker)
        yield* a.tell({ _tag: "Boom" })
        yield* b.tell({ _tag: "Boom" })
        yield* settle
        return [a.status, a.restarts, b.status, pool.count()]
      }),
    )
    expect(result).toEqual(["running", 1, "stopped", 1])
  })
})
