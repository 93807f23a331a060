/**
 * Event sourcing with agents: one agent per bank account validates commands (no overdraft) and appends the
 * resulting events to a SQLite event store; the events are also published on the SignalBus, where an auditor
 * agent counts them. Then the "process restarts": the store is closed, reopened from the same file, and a
 * projection rebuilds every balance from the log with a durable consumer. The rebuilt balances equal the
 * agents' live state, and the consumer's acknowledged position survives too.
 *
 * Run: `bun examples/event-sourcing/main.ts`
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import * as Agent from "../../src/agent/Agent.ts"
import * as AgentSystem from "../../src/agent/AgentSystem.ts"
import { open } from "../../src/runtime/sqlite/bun.ts"
import * as EventLog from "../../src/signal/EventLog.ts"
import * as EventStore from "../../src/signal/EventStore.ts"
import * as SignalBus from "../../src/signal/SignalBus.ts"

type Command =
  | ({ readonly _tag: "Deposit"; readonly amount: number } & Agent.Request<"ok">)
  | ({ readonly _tag: "Withdraw"; readonly amount: number } & Agent.Request<"ok" | "refused">)
  | ({ readonly _tag: "Balance" } & Agent.Request<number>)

interface Moved {
  readonly account: string
  readonly amount: number
}

/** An account agent: its state is the balance; every accepted command becomes an event in the store. */
const account = (id: string, store: EventStore.EventStore, bus: SignalBus.SignalBus) =>
  Agent.behavior<number, Command>({
    init: () => 0,
    receive: (balance, cmd, ctx) => {
      if (cmd._tag === "Balance") {
        ctx.reply(cmd, balance)
        return balance
      }
      if (cmd._tag === "Withdraw" && cmd.amount > balance) {
        ctx.reply(cmd, "refused")
        return balance
      }
      const type = cmd._tag === "Deposit" ? "account.deposited" : "account.withdrawn"
      const data: Moved = { account: id, amount: cmd.amount }
      return Effect.gen(function* () {
        const [event] = yield* store.append([{ type, data, source: `/accounts/${id}`, correlationId: id }])
        yield* bus.publish(event)
        ctx.reply(cmd, "ok")
        return balance + (cmd._tag === "Deposit" ? cmd.amount : -cmd.amount)
      }).pipe(Effect.orDie)
    },
    mailbox: { capacity: 64, overflow: "suspend" },
  })

/** Counts events seen on the bus. */
const auditor = Agent.behavior<
  number,
  SignalBus.SignalMessage | ({ readonly _tag: "Count" } & Agent.Request<number>)
>({
  init: () => 0,
  receive: (n, msg, ctx) => {
    if (msg._tag === "Signal") return n + 1
    ctx.reply(msg, n)
    return n
  },
  mailbox: { capacity: 1024, overflow: "dropping" },
})

/** The projection: one event applied to the balances. */
const project = (balances: Map<string, number>, e: EventStore.StoredEvent) => {
  const { account, amount } = e.data as Moved
  const sign = e.type === "account.deposited" ? 1 : -1
  return balances.set(account, (balances.get(account) ?? 0) + sign * amount)
}

export interface Result {
  readonly live: Record<string, number>
  readonly rebuilt: Record<string, number>
  readonly events: number
  readonly refused: number
  readonly audited: number
  /** Events the durable consumer still had to read after the restart (it had acknowledged the rest). */
  readonly resumedFrom: number
}

/** Runs the scenario against the SQLite file at `path`. */
export const main = (path: string, log: (line: string) => void = console.log): Effect.Effect<Result> =>
  Effect.gen(function* () {
    const ids = ["alice", "bob", "carol"]
    // --- first "process": agents emit events ---
    const first = yield* Effect.scoped(
      Effect.gen(function* () {
        const store = yield* EventStore.make({ log: EventLog.sql(open(path)) })
        const bus = yield* SignalBus.make({ source: "/bank" })
        const audit = yield* Agent.spawn(auditor, { name: "auditor" })
        yield* bus.subscribeAgent(audit, "account.**", SignalBus.asMessage)
        const refs = new Map<string, Agent.AgentRef<Command>>()
        for (const id of ids) refs.set(id, yield* Agent.spawn(account(id, store, bus), { name: id }))
        let refused = 0
        // a deterministic script of commands, sent concurrently per account
        yield* Effect.forEach(
          ids,
          (id, k) =>
            Effect.gen(function* () {
              const ref = refs.get(id)!
              for (let i = 1; i <= 20; i++) {
                yield* ref.ask({ _tag: "Deposit", amount: i * (k + 1) })
                const r = yield* ref.ask({ _tag: "Withdraw", amount: (i * 7 + k * 13) % 40 })
                if (r === "refused") refused++
              }
            }),
          { concurrency: "unbounded", discard: true },
        )
        const live: Record<string, number> = {}
        for (const id of ids) live[id] = yield* refs.get(id)!.ask({ _tag: "Balance" })
        const audited = yield* audit.ask({ _tag: "Count" })
        // a projection that processed part of the log and acknowledged it before the "crash"
        const consumer = yield* store.consumer("balances")
        const part = yield* consumer.nextBatch(50)
        yield* consumer.ack(part[part.length - 1].offset)
        const info = yield* store.info
        log(`live balances ${JSON.stringify(live)}; ${info.count} events; ${refused} withdrawals refused`)
        return { live, refused, audited, events: info.count }
      }).pipe(Effect.provide(AgentSystem.layer())),
    )
    // --- restart: a fresh store on the same file; rebuild the projection from the log ---
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const store = yield* EventStore.make({ log: EventLog.sql(open(path)) })
        const balances = yield* EventStore.fold(store, new Map<string, number>(), project, { pageSize: 25 })
        const consumer = yield* store.consumer("balances")
        const resumedFrom = yield* consumer.position
        const rebuilt = Object.fromEntries(ids.map((id) => [id, balances.get(id) ?? 0]))
        log(
          `rebuilt after restart ${JSON.stringify(rebuilt)}; durable consumer resumes at offset ${resumedFrom}`,
        )
        return { ...first, rebuilt, resumedFrom }
      }),
    )
  }).pipe(Effect.orDie)

if ((import.meta as { main?: boolean }).main) {
  const dir = mkdtempSync(join(tmpdir(), "troupe-es-"))
  try {
    await Effect.runPromise(main(join(dir, "bank.db")))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
