/**
 * The kernel smoke scenario, run unchanged by `bun test`, `deno test` and Node's test runner:
 * a supervised counter is told and asked, crashes, is restarted, and the system closes clean.
 */
import { Effect } from "effect"
import { Agent, AgentSystem, Supervisor } from "../../src/index.ts"

type Msg =
  | { readonly _tag: "Inc" }
  | { readonly _tag: "Crash" }
  | ({ readonly _tag: "Get" } & Agent.Request<number>)

const Counter = Agent.behavior<number, Msg>({
  init: () => 0,
  receive: (n, msg, ctx) => {
    switch (msg._tag) {
      case "Inc":
        return n + 1
      case "Crash":
        throw new Error("crash on purpose")
      case "Get":
        ctx.reply(msg, n)
        return n
    }
  },
  mailbox: { capacity: 64, overflow: "suspend" },
})

export interface ScenarioResult {
  readonly before: number
  readonly after: number
  readonly restarts: number
  readonly fibersAfterClose: number
  readonly agentsAfterClose: number
}

export const kernelScenario = (): Promise<ScenarioResult> => {
  let system: AgentSystem.Service | undefined
  return Effect.runPromise(
    Effect.gen(function* () {
      system = yield* AgentSystem.AgentSystem
      const sup = yield* Supervisor.start({
        strategy: "oneForOne",
        children: [Supervisor.child("counter", Counter)],
      })
      const counter = yield* sup.child<Msg>("counter")
      for (let i = 0; i < 10; i++) yield* counter.tell({ _tag: "Inc" })
      const before = yield* counter.ask({ _tag: "Get" })
      yield* counter.tell({ _tag: "Crash" })
      const after = yield* Effect.retry(counter.ask({ _tag: "Get" }), { times: 5 })
      return { before, after, restarts: counter.restarts }
    }).pipe(Effect.provide(AgentSystem.layer())),
  ).then((r) => ({
    ...r,
    fibersAfterClose: system!.stats().fibers,
    agentsAfterClose: system!.stats().agents,
  }))
}

export const expected: ScenarioResult = {
  before: 10,
  after: 0,
  restarts: 1,
  fibersAfterClose: 0,
  agentsAfterClose: 0,
}
