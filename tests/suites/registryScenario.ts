/**
 * The registry smoke scenario, run unchanged by bun test, deno test and Node's test runner: named
 * spawns register, queries use indexes, dispatch works, stopped agents leave.
 */
import { Effect, Layer } from "effect"
import * as Agent from "../../src/agent/Agent.ts"
import * as AgentSystem from "../../src/agent/AgentSystem.ts"
import * as AgentRegistry from "../../src/registry/AgentRegistry.ts"
import * as Discovery from "../../src/registry/Discovery.ts"
import * as Dispatcher from "../../src/registry/Dispatcher.ts"
import * as Query from "../../src/registry/Query.ts"

const check = (cond: boolean, what: string) => {
  if (!cond) throw new Error(`registry smoke: ${what}`)
}

type Msg = { readonly _tag: "Job" } | ({ readonly _tag: "Count" } & Agent.Request<number>)
const Worker = Agent.behavior<number, Msg>({
  init: () => 0,
  receive: (n, msg, ctx) => {
    if (msg._tag === "Job") return n + 1
    ctx.reply(msg, n)
    return n
  },
})

export const registryScenario = async (): Promise<void> => {
  const result = await Effect.runPromise(
    Effect.gen(function* () {
      const refs = []
      for (let i = 0; i < 50; i++)
        refs.push(
          yield* Agent.spawn(Worker, {
            name: `w${i}`,
            metadata: {
              capabilities: [i % 2 === 0 ? "even" : "odd"],
              resources: { memory: i, load: (i % 10) / 10 },
            },
          }),
        )
      const taken = yield* Effect.flip(Agent.spawn(Worker, { name: "w0" }))
      const registry = yield* AgentRegistry.AgentRegistry
      const evens = yield* registry.query([
        Query.where("capabilities", "contains", "even"),
        Query.where("resources.memory", "gte", 40),
      ])
      const plan = yield* registry.explain(Query.where("capabilities", "contains", "even"))
      const d = yield* AgentRegistry.dispatcher<Msg>(Dispatcher.roundRobin)
      for (let i = 0; i < 50; i++) yield* d.dispatch("odd", { _tag: "Job" })
      const count = yield* AgentRegistry.ask<Msg>()("w1", { _tag: "Count" })
      yield* refs[0].stop()
      const summary = yield* Discovery.healthSummary(registry)
      return {
        taken: taken._tag,
        evens: evens.length,
        plan,
        count,
        gone: registry.lookupUnsafe("w0"),
        summary,
      }
    }).pipe(
      Effect.provide(AgentRegistry.layer().pipe(Layer.provideMerge(AgentSystem.layer()))),
      Effect.scoped,
    ),
  )
  check(result.taken === "AlreadyRegistered", `duplicate name refused, got ${result.taken}`)
  check(result.evens === 5, `5 even agents with memory >= 40, got ${result.evens}`)
  check(result.plan.startsWith("index capability"), `planned from the capability index, got ${result.plan}`)
  check(result.count === 2, `round robin spread 50 jobs over 25 agents, got ${result.count}`)
  check(result.gone === undefined, "a stopped agent is unregistered")
  check(result.summary.total === 49, `49 left, got ${result.summary.total}`)
}
