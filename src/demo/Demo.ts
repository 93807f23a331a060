/**
 * The live demo `npm start` runs until the HTTP server exists: a supervised pool of pricing agents,
 * a poison message that crashes one of them, the supervisor restarting it, a ticker on a timer, and
 * the supervision tree printed at each step.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Demo } from "troupe"
 *
 * Effect.runPromise(Demo.program((line) => console.log(line)))
 * ```
 * @module
 */
import { Effect } from "effect"
import * as Agent from "../agent/Agent.ts"
import * as AgentSystem from "../agent/AgentSystem.ts"
import * as Supervisor from "../agent/Supervisor.ts"

type PricerMsg =
  | ({ readonly _tag: "Quote"; readonly item: string; readonly qty: number } & Agent.Request<number>)
  | { readonly _tag: "Tick" }

const prices: Record<string, number> = { apple: 3, pear: 4, fig: 9 }

const Pricer = Agent.behavior<{ quotes: number; ticks: number }, PricerMsg>({
  init: (ctx) => {
    ctx.sendInterval({ _tag: "Tick" }, 100)
    return { quotes: 0, ticks: 0 }
  },
  receive: (state, msg, ctx) => {
    if (msg._tag === "Tick") return { ...state, ticks: state.ticks + 1 }
    const unit = prices[msg.item]
    if (unit === undefined) throw new Error(`no price for "${msg.item}"`)
    ctx.reply(msg, unit * msg.qty)
    return { ...state, quotes: state.quotes + 1 }
  },
  mailbox: { capacity: 256, overflow: "suspend" },
})

const drawTree = (node: AgentSystem.TreeNode, depth = 0): Array<string> => [
  `${"  ".repeat(depth)}${node.kind === "supervisor" ? "▣" : "●"} ${node.name} [${node.status}] mailbox=${node.mailboxDepth} restarts=${node.restarts}`,
  ...node.children.flatMap((c) => drawTree(c, depth + 1)),
]

/**
 * Runs the demo, printing each step through `log`.
 *
 * @example
 * ```ts
 * await Effect.runPromise(Demo.program((line) => console.log(line)))
 * ```
 */
export const program = (log: (line: string) => void): Effect.Effect<void> =>
  Effect.gen(function* () {
    const system = yield* AgentSystem.AgentSystem
    log("Troupe demo: a supervised pool of pricing agents")
    const pool = yield* Effect.orDie(
      Supervisor.start({
        name: "pricing",
        strategy: "oneForOne",
        maxRestarts: 5,
        withinMs: 10_000,
        children: ["pricer-a", "pricer-b", "pricer-c"].map((id) => Supervisor.child(id, Pricer)),
      }),
    )
    const pricers = pool.children().map((c) => c.ref as Agent.AgentRef<PricerMsg>)
    for (const line of drawTree(system.tree())) log(line)
    const orders: Array<[string, number]> = [
      ["apple", 3],
      ["fig", 2],
      ["durian", 1],
      ["pear", 5],
    ]
    for (const [i, [item, qty]] of orders.entries()) {
      const pricer = pricers[i % pricers.length]
      const started = performance.now()
      const quote = yield* Effect.result(pricer.ask({ _tag: "Quote", item, qty }, { timeoutMs: 500 }))
      const us = ((performance.now() - started) * 1000).toFixed(1)
      log(
        quote._tag === "Success"
          ? `${pricer.label} quoted ${qty} × ${item} = ${quote.success} (${us} µs)`
          : `${pricer.label} failed on ${item}: ${quote.failure._tag} — ${quote.failure.message}`,
      )
    }
    yield* Effect.sleep(250)
    log("after the crash and 250 ms of timer ticks:")
    for (const line of drawTree(system.tree())) log(line)
    const again = yield* Effect.orDie(pricers[2].ask({ _tag: "Quote", item: "pear", qty: 1 }))
    log(`${pricers[2].label} is back and quotes 1 × pear = ${again}`)
  }).pipe(Effect.scoped, Effect.provide(AgentSystem.layer()))
