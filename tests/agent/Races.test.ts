import { describe, expect, it } from "bun:test"
import { Cause, Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { Agent, AgentSystem, Supervisor } from "../../src/index.ts"
import { gate, runSystem, settle } from "./support.ts"

type Msg = ({ readonly _tag: "Get" } & Agent.Request<number>) | { readonly _tag: "Boom" }

const settledAs = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit) ? "ok" : ((Cause.squash(exit.cause) as any)?._tag ?? "defect")

describe("Races (fc.scheduler)", () => {
  it("stop while asking: every ask settles with a reply or AgentStopped", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 4 }), async (s, asks) => {
        const outcome = runSystem(
          Effect.gen(function* () {
            const Gated = Agent.behavior<number, Msg>({
              init: () => 0,
              receive: (n, msg, ctx) =>
                Effect.andThen(
                  gate(s, "handle"),
                  Effect.sync(() => {
                    if (msg._tag === "Get") ctx.reply(msg, n)
                    return n + 1
                  }),
                ),
            })
            const ref = yield* Agent.spawn(Gated, { shutdownMs: 0 })
            const askers = []
            for (let i = 0; i < asks; i++) {
              askers.push(
                yield* Effect.forkChild(
                  Effect.andThen(gate(s, `ask${i}`), Effect.exit(ref.ask({ _tag: "Get" }))),
                ),
              )
            }
            const stopper = yield* Effect.forkChild(
              Effect.andThen(gate(s, "stop"), ref.stop({ deadlineMs: 0 })),
            )
            const exits = yield* Fiber.joinAll(askers)
            yield* Fiber.join(stopper)
            return { exits: exits.map(settledAs), status: ref.status }
          }),
        )
        const result = await s.waitFor(outcome)
        expect(result.status).toBe("stopped")
        for (const e of result.exits) expect(["ok", "AgentStopped"]).toContain(e)
      }),
      { numRuns: 100 },
    )
  })

  it("crash while restarting: asks settle, the child ends up running, nothing leaks", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 3 }), async (s, crashes) => {
        const outcome = runSystem(
          Effect.gen(function* () {
            const Slow = Agent.behavior<number, Msg>({
              init: () => Effect.as(gate(s, "init"), 0),
              receive: (n, msg, ctx) => {
                if (msg._tag === "Boom") throw new Error("boom")
                ctx.reply(msg, n)
                return n
              },
            })
            const sup = yield* Supervisor.start({ maxRestarts: 100, children: [Supervisor.child("w", Slow)] })
            const w = yield* sup.child<Msg>("w")
            const actors = []
            for (let i = 0; i < crashes; i++) {
              actors.push(
                yield* Effect.forkChild(
                  Effect.andThen(gate(s, `boom${i}`), Effect.exit(w.tell({ _tag: "Boom" }))),
                ),
              )
              actors.push(
                yield* Effect.forkChild(
                  Effect.andThen(gate(s, `ask${i}`), Effect.exit(w.ask({ _tag: "Get" }))),
                ),
              )
            }
            const exits = yield* Fiber.joinAll(actors)
            // let restarts triggered by the last crash finish
            while (w.status !== "running") yield* settle
            // a Boom may still sit ahead of this ask in the mailbox: retry as a caller would
            const final = yield* Effect.retry(
              Effect.tapError(w.ask({ _tag: "Get" }), () => settle),
              { times: 10 },
            )
            const system = yield* AgentSystem.AgentSystem
            return { exits: exits.map(settledAs), final, restarts: w.restarts, system }
          }),
        )
        const result = await s.waitFor(outcome)
        for (const e of result.exits) expect(["ok", "AgentStopped"]).toContain(e)
        expect(result.final).toBe(0)
        expect(result.restarts).toBeGreaterThanOrEqual(1)
        expect(result.restarts).toBeLessThanOrEqual(crashes)
        expect(result.system.stats().fibers).toBe(0)
      }),
      { numRuns: 60 },
    )
  })

  it("watch after (or during) death: exactly one Down per watch, whatever the order, and no leak", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const outcome = runSystem(
          Effect.gen(function* () {
            const downs: string[] = []
            type W = { readonly _tag: "Watch"; readonly ref: Agent.AgentRef<any> } | Agent.Down
            const Watcher = Agent.behavior<number, W>({
              init: () => 0,
              receive: (n, msg, ctx) => {
                if (msg._tag === "Watch") ctx.watch(msg.ref)
                else downs.push(msg.reason._tag)
                return n
              },
            })
            const Target = Agent.behavior<number, Msg>({ init: () => 0, receive: (n) => n })
            const target = yield* Agent.spawn(Target)
            const watcher = yield* Agent.spawn(Watcher)
            const a = yield* Effect.forkChild(
              Effect.andThen(gate(s, "watch"), watcher.tell({ _tag: "Watch", ref: target })),
            )
            const c = yield* Effect.forkChild(Effect.andThen(gate(s, "stop"), target.stop()))
            yield* Fiber.joinAll([a, c])
            yield* settle
            return { downs, listeners: (target as any).exitListeners?.size ?? 0 }
          }),
        )
        const result = await s.waitFor(outcome)
        expect(result.downs).toEqual(["Shutdown"])
        expect(result.listeners).toBe(0)
      }),
      { numRuns: 100 },
    )
  })
})
