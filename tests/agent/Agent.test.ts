import { describe, expect, it } from "bun:test"
import { Cause, Effect, Exit, Fiber, Schema } from "effect"
import fc from "fast-check"
import { Agent, AgentSystem, Supervisor } from "../../src/index.ts"
import { adjust, runSystem, runSystemExit, settle } from "./support.ts"

type Msg =
  | { readonly _tag: "Add"; readonly n: number }
  | ({ readonly _tag: "Sum" } & Agent.Request<number>)
  | ({ readonly _tag: "Silent" } & Agent.Request<number>)
  | ({ readonly _tag: "Later" } & Agent.Request<number>)
  | { readonly _tag: "Release" }
  | { readonly _tag: "Boom" }

const Summer = Agent.behavior<{ sum: number; pending: Array<Agent.Replier<number>> }, Msg>({
  init: () => ({ sum: 0, pending: [] }),
  receive: (s, msg, ctx) => {
    switch (msg._tag) {
      case "Add":
        return { ...s, sum: s.sum + msg.n }
      case "Sum":
        ctx.reply(msg, s.sum)
        return s
      case "Silent":
        return s
      case "Later":
        return { ...s, pending: [...s.pending, ctx.deferReply(msg)] }
      case "Release":
        for (const r of s.pending) r.succeed(s.sum)
        return { ...s, pending: [] }
      case "Boom":
        throw new Error("boom")
    }
  },
})

describe("Agent", () => {
  it("handles tells in order and answers asks with ctx.reply", async () => {
    const sum = await runSystem(
      Effect.gen(function* () {
        const ref = yield* Agent.spawn(Summer)
        for (let i = 1; i <= 100; i++) yield* ref.tell({ _tag: "Add", n: i })
        return yield* ref.ask({ _tag: "Sum" })
      }),
    )
    expect(sum).toBe(5050)
  })

  it("runs effectful handlers one at a time, in mailbox order", async () => {
    const log = await runSystem(
      Effect.gen(function* () {
        const seen: number[] = []
        let inFlight = 0
        let maxInFlight = 0
        const Slow = Agent.behavior<
          number,
          { readonly _tag: "N"; readonly n: number } | ({ readonly _tag: "Done" } & Agent.Request<number[]>)
        >({
          init: () => 0,
          receive: (s, msg, ctx) =>
            Effect.gen(function* () {
              if (msg._tag === "Done") {
                ctx.reply(msg, seen)
                return s
              }
              inFlight++
              maxInFlight = Math.max(maxInFlight, inFlight)
              yield* Effect.sleep(msg.n % 3)
              seen.push(msg.n)
              inFlight--
              return s + 1
            }),
        })
        const ref = yield* Agent.spawn(Slow)
        for (let i = 0; i < 30; i++) yield* ref.tell({ _tag: "N", n: i })
        const fiber = yield* Effect.forkChild(ref.ask({ _tag: "Done" }))
        yield* adjust(100)
        const result = yield* Fiber.join(fiber)
        return { result, maxInFlight }
      }),
    )
    expect(log.result).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect(log.maxInFlight).toBe(1)
  })

  it("fails an unanswered request with NoReply", async () => {
    const exit = await runSystemExit(
      Effect.gen(function* () {
        const ref = yield* Agent.spawn(Summer)
        return yield* ref.ask({ _tag: "Silent" })
      }),
    )
    expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ _tag: "NoReply" })
  })

  it("answers deferred replies later, from another message", async () => {
    const got = await runSystem(
      Effect.gen(function* () {
        const ref = yield* Agent.spawn(Summer)
        const a = yield* Effect.forkChild(ref.ask({ _tag: "Later" }))
        const b = yield* Effect.forkChild(ref.ask({ _tag: "Later" }))
        yield* settle
        yield* ref.tell({ _tag: "Add", n: 7 })
        yield* ref.tell({ _tag: "Release" })
        return [yield* Fiber.join(a), yield* Fiber.join(b)]
      }),
    )
    expect(got).toEqual([7, 7])
  })

  it("times out an ask with AskTimeout on the TestClock and withdraws it", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const ref = yield* Agent.spawn(Summer)
        const fiber = yield* Effect.forkChild(Effect.exit(ref.ask({ _tag: "Later" }, { timeoutMs: 100 })))
        yield* settle
        yield* adjust(99)
        const early = fiber.pollUnsafe()
        yield* adjust(1)
        const exit = yield* Fiber.join(fiber)
        return { early, exit }
      }),
    )
    expect(result.early).toBeUndefined()
    expect(Exit.isFailure(result.exit) && Cause.squash(result.exit.cause)).toMatchObject({
      _tag: "AskTimeout",
      timeoutMs: 100,
    })
  })

  it("fails asks to a stopped agent with AgentStopped, never hanging", async () => {
    const exit = await runSystemExit(
      Effect.gen(function* () {
        const ref = yield* Agent.spawn(Summer)
        yield* ref.stop()
        expect(ref.status).toBe("stopped")
        return yield* ref.ask({ _tag: "Sum" })
      }),
    )
    expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({
      _tag: "AgentStopped",
      reason: "stopped",
    })
  })

  it("fails pending asks with AgentStopped when the agent crashes", async () => {
    const exit = await runSystemExit(
      Effect.gen(function* () {
        const Blocking = Agent.behavior<
          number,
          ({ readonly _tag: "Wait" } & Agent.Request<number>) | { readonly _tag: "Boom" }
        >({
          init: () => 0,
          receive: (s, msg, ctx) => {
            if (msg._tag === "Boom") throw new Error("boom")
            ctx.deferReply(msg)
            return s
          },
        })
        const ref = yield* Agent.spawn(Blocking)
        const fiber = yield* Effect.forkChild(ref.ask({ _tag: "Wait" }))
        yield* settle
        yield* ref.tell({ _tag: "Boom" })
        return yield* Fiber.join(fiber)
      }),
    )
    expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ _tag: "AgentStopped" })
  })

  it("reports a crash of an unsupervised (temporary) agent through awaitExit", async () => {
    const reason = await runSystem(
      Effect.gen(function* () {
        const ref = yield* Agent.spawn(Summer)
        yield* ref.tell({ _tag: "Boom" })
        return yield* Agent.awaitExit(ref)
      }),
    )
    expect(reason._tag).toBe("Failed")
  })

  it("resumes with the old state on a typed failure when onFailure is resume", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const Resumer = Agent.behavior<
          number,
          { readonly _tag: "Try"; readonly ok: boolean } & Agent.Request<number>,
          string
        >({
          init: () => 0,
          receive: (n, msg, ctx) =>
            msg.ok
              ? Effect.sync(() => {
                  ctx.reply(msg, n + 1)
                  return n + 1
                })
              : Effect.fail("nope"),
          onFailure: "resume",
        })
        const ref = yield* Agent.spawn(Resumer)
        yield* ref.ask({ _tag: "Try", ok: true })
        const failed = yield* Effect.exit(ref.ask({ _tag: "Try", ok: false }))
        const after = yield* ref.ask({ _tag: "Try", ok: true })
        return { failed, after, restarts: ref.restarts, status: ref.status }
      }),
    )
    expect(Exit.isFailure(result.failed) && Cause.squash(result.failed.cause)).toMatchObject({
      _tag: "HandlerFailed",
      error: "nope",
    })
    expect(result.after).toBe(2)
    expect(result.status).toBe("running")
  })

  it("fails spawn with InitFailed when init fails, and nothing is left running", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const Bad = Agent.behavior<number, never, string>({
          init: () => Effect.fail("no db"),
          receive: (n) => n,
        })
        const exit = yield* Effect.exit(Agent.spawn(Bad))
        const system = yield* AgentSystem.AgentSystem
        return { exit, agents: system.stats().agents }
      }),
    )
    expect(Exit.isFailure(result.exit) && Cause.squash(result.exit.cause)).toMatchObject({
      _tag: "InitFailed",
    })
    expect(result.agents).toBe(0)
  })

  it("stops gracefully: the running handler may finish within the deadline, then terminate runs", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const events: string[] = []
        const Worker = Agent.behavior<number, { readonly _tag: "Work"; readonly ms: number }>({
          init: () => 0,
          receive: (n, msg) =>
            Effect.sleep(msg.ms).pipe(
              Effect.andThen(Effect.sync(() => events.push(`done ${msg.ms}`))),
              Effect.onInterrupt(() => Effect.sync(() => events.push(`interrupted ${msg.ms}`))),
              Effect.as(n + 1),
            ),
          terminate: (n) => Effect.sync(() => events.push(`terminate ${n}`)),
        })
        const a = yield* Agent.spawn(Worker)
        yield* a.tell({ _tag: "Work", ms: 50 })
        yield* settle
        const stopA = yield* Effect.forkChild(a.stop({ deadlineMs: 100 }))
        yield* adjust(60)
        yield* Fiber.join(stopA)
        const b = yield* Agent.spawn(Worker)
        yield* b.tell({ _tag: "Work", ms: 500 })
        yield* settle
        const stopB = yield* Effect.forkChild(b.stop({ deadlineMs: 100 }))
        yield* adjust(100)
        yield* Fiber.join(stopB)
        return { events, a: a.status, b: b.status }
      }),
    )
    expect(result.events).toEqual(["done 50", "terminate 1", "interrupted 500", "terminate 0"])
    expect(result.a).toBe("stopped")
    expect(result.b).toBe("stopped")
  })

  it("fires sendAfter and sendInterval on the TestClock and cancels them on stop", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const ticks: number[] = []
        const Ticker = Agent.behavior<
          number,
          { readonly _tag: "Start" } | { readonly _tag: "Tick" } | { readonly _tag: "Once" }
        >({
          init: () => 0,
          receive: (n, msg, ctx) => {
            if (msg._tag === "Start") {
              ctx.sendInterval({ _tag: "Tick" }, 10)
              ctx.sendAfter({ _tag: "Once" }, 25)
            } else ticks.push(msg._tag === "Tick" ? 1 : 100)
            return n
          },
        })
        const ref = yield* Agent.spawn(Ticker)
        yield* ref.tell({ _tag: "Start" })
        yield* settle
        yield* adjust(35)
        const before = [...ticks]
        const system = yield* AgentSystem.AgentSystem
        const fibersBefore = system.stats().fibers
        yield* ref.stop()
        yield* adjust(100)
        return { before, after: ticks, fibersBefore, fibersAfter: system.stats().fibers }
      }),
    )
    expect(result.before).toEqual([1, 1, 100, 1])
    expect(result.after).toEqual([1, 1, 100, 1])
    expect(result.fibersBefore).toBe(1)
    expect(result.fibersAfter).toBe(0)
  })

  it("delivers one Down to a watcher, also when watching an agent that is already gone", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const downs: string[] = []
        type W = { readonly _tag: "Watch"; readonly ref: Agent.AgentRef<any> } | Agent.Down
        const Watcher = Agent.behavior<number, W>({
          init: () => 0,
          receive: (n, msg, ctx) => {
            if (msg._tag === "Watch") ctx.watch(msg.ref)
            else downs.push(`${msg.ref.label}:${msg.reason._tag}`)
            return n
          },
        })
        const w = yield* Agent.spawn(Watcher)
        const a = yield* Agent.spawn(Summer, { name: "a" })
        const b = yield* Agent.spawn(Summer, { name: "b" })
        yield* w.tell({ _tag: "Watch", ref: a })
        yield* w.tell({ _tag: "Watch", ref: a })
        yield* settle
        yield* a.tell({ _tag: "Boom" })
        yield* settle
        yield* b.stop()
        yield* w.tell({ _tag: "Watch", ref: b })
        yield* settle
        return downs
      }),
    )
    expect(result).toEqual(["a:Failed", "b:Shutdown"])
  })

  it("leaves nothing behind on the target when the watcher ends first", async () => {
    const listeners = await runSystem(
      Effect.gen(function* () {
        type W = { readonly _tag: "Watch"; readonly ref: Agent.AgentRef<any> } | Agent.Down
        const Watcher = Agent.behavior<number, W>({
          init: () => 0,
          receive: (n, msg, ctx) => {
            if (msg._tag === "Watch") ctx.watch(msg.ref)
            return n
          },
        })
        const target = yield* Agent.spawn(Summer)
        const w = yield* Agent.spawn(Watcher)
        yield* w.tell({ _tag: "Watch", ref: target })
        yield* settle
        const during = (target as any).exitListeners?.size ?? 0
        yield* w.stop()
        return [during, (target as any).exitListeners?.size ?? 0]
      }),
    )
    expect(listeners).toEqual([1, 0])
  })

  it("rejects a message that fails the protocol schema with InvalidMessage and leaves the agent unaffected", async () => {
    const result = await runSystem(
      Effect.gen(function* () {
        const Proto = Schema.Union([
          Schema.Struct({ _tag: Schema.Literal("Add"), n: Schema.Number }),
          Schema.Struct({ _tag: Schema.Literal("Sum") }),
        ])
        const Typed = Agent.behavior<
          number,
          { readonly _tag: "Add"; readonly n: number } | ({ readonly _tag: "Sum" } & Agent.Request<number>)
        >({
          init: () => 0,
          receive: (s, msg, ctx) => {
            if (msg._tag === "Add") return s + msg.n
            ctx.reply(msg, s)
            return s
          },
          schema: Proto as any,
        })
        const ref = yield* Agent.spawn(Typed)
        yield* Agent.tellUnknown(ref, { _tag: "Add", n: 2 })
        const bad = yield* Effect.exit(Agent.tellUnknown(ref, { _tag: "Add", n: "two" }))
        const sum = yield* Agent.askUnknown(ref, { _tag: "Sum" })
        return { bad, sum, status: ref.status }
      }),
    )
    expect(Exit.isFailure(result.bad) && Cause.squash(result.bad.cause)).toMatchObject({
      _tag: "InvalidMessage",
    })
    expect(result.sum).toBe(2)
    expect(result.status).toBe("running")
  })

  it("raises a clear defect at construction for invalid mailbox options", async () => {
    const bad = (mailbox: any) =>
      runSystemExit(Agent.spawn(Agent.behavior<number, never>({ init: () => 0, receive: (n) => n, mailbox })))
    const zero = await bad({ capacity: 0 })
    const odd = await bad({ capacity: 8, overflow: "explode" })
    expect(Exit.isFailure(zero) && String(Cause.squash(zero.cause))).toContain(
      'mailbox "capacity" must be an integer >= 1',
    )
    expect(Exit.isFailure(odd) && String(Cause.squash(odd.cause))).toContain(
      'mailbox "overflow" must be one of',
    )
  })

  it("lets no timer or self-sent message of a dead incarnation reach its restarted successor", async () => {
    const seen = await runSystem(
      Effect.gen(function* () {
        const log: string[] = []
        type T =
          | { readonly _tag: "Arm" }
          | { readonly _tag: "Late"; readonly from: number }
          | { readonly _tag: "Boom" }
        let incarnation = 0
        const Timed = Agent.behavior<number, T>({
          init: () => ++incarnation,
          receive: (inc, msg, ctx) => {
            switch (msg._tag) {
              case "Arm":
                ctx.sendAfter({ _tag: "Late", from: inc }, 50)
                ctx.sendInterval({ _tag: "Late", from: inc }, 20)
                return inc
              case "Late":
                log.push(`incarnation ${inc} got Late from ${msg.from}`)
                return inc
              case "Boom":
                ctx.self.tellUnsafe({ _tag: "Late", from: inc })
                throw new Error("boom")
            }
          },
        })
        const sup = yield* Supervisor.start({ children: [Supervisor.child("t", Timed)] })
        const t = yield* sup.child<T>("t")
        yield* t.tell({ _tag: "Arm" })
        yield* settle
        yield* adjust(20)
        yield* t.tell({ _tag: "Boom" })
        yield* settle
        yield* adjust(200)
        return { log, restarts: t.restarts }
      }),
    )
    expect(seen.restarts).toBe(1)
    expect(seen.log).toEqual(["incarnation 1 got Late from 1"])
  })

  it("settles every ask (reply, AskTimeout or AgentStopped) for random operation sequences", async () => {
    const op = fc.constantFrom("tell", "ask", "askLater", "release", "boom", "stop", "tick")
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const outcomes = await runSystem(
          Effect.gen(function* () {
            const sup = yield* Supervisor.start({
              maxRestarts: 1000,
              children: [Supervisor.child("s", Summer)],
            })
            const ref = yield* sup.child<Msg>("s")
            const asks: Array<Fiber.Fiber<number, unknown>> = []
            for (const o of ops) {
              if (o === "tell") yield* Effect.ignore(ref.tell({ _tag: "Add", n: 1 }))
              else if (o === "ask")
                asks.push(yield* Effect.forkChild(ref.ask({ _tag: "Sum" }, { timeoutMs: 30 })))
              else if (o === "askLater")
                asks.push(yield* Effect.forkChild(ref.ask({ _tag: "Later" }, { timeoutMs: 30 })))
              else if (o === "release") yield* Effect.ignore(ref.tell({ _tag: "Release" }))
              else if (o === "boom") yield* Effect.ignore(ref.tell({ _tag: "Boom" }))
              else if (o === "stop") yield* ref.stop({ deadlineMs: 0 })
              else yield* adjust(10)
              yield* settle
            }
            yield* adjust(100)
            return yield* Effect.forEach(asks, (f) =>
              Effect.map(Fiber.await(f), (e) =>
                Exit.isSuccess(e) ? "ok" : (Cause.squash(e.cause) as any)._tag,
              ),
            )
          }),
        )
        for (const o of outcomes) expect(["ok", "AskTimeout", "AgentStopped"]).toContain(o)
      }),
      { numRuns: 80 },
    )
  })
})
