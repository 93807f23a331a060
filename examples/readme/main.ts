// The example on the README's first screen, kept runnable (tests/examples/readme.test.ts runs it).
import { Effect } from "effect"
import { Agent, AgentSystem, Supervisor } from "../../src/index.ts"

type Msg = { readonly _tag: "Add"; readonly n: number } | ({ readonly _tag: "Sum" } & Agent.Request<number>)

const Summer = Agent.behavior<number, Msg>({
  init: () => 0,
  receive: (sum, msg, ctx) => {
    if (msg._tag === "Add") return sum + msg.n
    ctx.reply(msg, sum) // answers the ask
    return sum
  },
  mailbox: { capacity: 1024, overflow: "suspend" },
})

export const program = Effect.gen(function* () {
  const sup = yield* Supervisor.start({
    strategy: "oneForOne",
    children: [Supervisor.child("summer", Summer)],
  })
  const summer = yield* sup.child<Msg>("summer")
  yield* summer.tell({ _tag: "Add", n: 40 })
  const sum = yield* summer.ask({ _tag: "Sum" }, { timeoutMs: 100 })
  console.log(sum) // 40
  return sum
})

if ((import.meta as { main?: boolean }).main) {
  await Effect.runPromise(program.pipe(Effect.provide(AgentSystem.layer())))
}
