/**
 * A property test of your own agents with `troupe/testing`: a supervised pool of account agents
 * (protocol described by a Schema, so fast-check generates the messages) is driven by random deposits and
 * withdrawals while faults, stops and probes hit it in every interleaving fast-check's scheduler picks.
 *
 * The properties are the ones a user of a supervised system relies on:
 * - every ask settles within its timeout (a reply or a typed error, never a hang);
 * - no agent is left `running` but deaf;
 * - a restarted account starts from its initial state (0), and balances never go negative;
 * - after close, nothing is left.
 *
 * Run: `npm run example -- property-test` (or `npx bun examples/property-test/main.ts`).
 */
import { Effect, Schema } from "effect"
import fc from "fast-check"
import { Agent, AgentSystem, Supervisor } from "../../src/index.ts"
import { Arbitraries, Chaos, Invariants, TestSystem } from "../../src/testing/index.ts"

const Deposit = Schema.Struct({
  _tag: Schema.Literal("Deposit"),
  amount: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })),
})
const Withdraw = Schema.Struct({
  _tag: Schema.Literal("Withdraw"),
  amount: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })),
})
/** The messages a client may send, as a Schema: fast-check derives them from it. */
export const Command = Schema.Union([Deposit, Withdraw])
type Command = typeof Command.Type
type Msg = Command | ({ readonly _tag: "Balance" } & Agent.Request<number>)

const Account = Agent.behavior<number, Msg>({
  init: () => 0,
  receive: (balance, msg, ctx) => {
    switch (msg._tag) {
      case "Deposit":
        return balance + msg.amount
      case "Withdraw":
        return msg.amount <= balance ? balance - msg.amount : balance // refused, not overdrawn
      case "Balance":
        ctx.reply(msg, balance)
        return balance
    }
  },
})

/** Runs the property `runs` times; resolves with how many passed (fast-check throws on a failure). */
export const main = async (runs = 30, log: (line: string) => void = console.log) => {
  let passed = 0
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(fc.tuple(fc.nat({ max: 2 }), Arbitraries.fromSchema(Command)), { maxLength: 20 }),
      Chaos.plan(3, { faults: ["throw", "fail", "die"], maxLength: 8 }),
      async (s, commands, chaos) => {
        let system: AgentSystem.Service | undefined
        const done = TestSystem.run(
          Effect.gen(function* () {
            system = yield* AgentSystem.AgentSystem
            const sup = yield* Supervisor.start({
              maxRestarts: 1000,
              children: [0, 1, 2].map((i) => Supervisor.child(`account-${i}`, Chaos.wrap(Account))),
            })
            const refs = [0, 1, 2].map((i) => sup.child<Chaos.With<Msg>>(`account-${i}`))
            const accounts = yield* Effect.all(refs)
            for (const [i, c] of commands) accounts[i].tellUnsafe(c)
            yield* Chaos.runPlan(accounts, chaos, { scheduler: s, whileRunning: TestSystem.adjust(10) })
            yield* TestSystem.adjust(10)
            yield* Invariants.everyAskSettles(
              accounts.map((a) => a.ask({ _tag: "Balance" }, { timeoutMs: 50 })),
              { timeoutMs: 50 },
            )
            yield* Invariants.noDeafAgents(accounts, { timeoutMs: 50 })
            const balances = []
            for (const a of accounts)
              if (a.status === "running") balances.push(yield* a.ask({ _tag: "Balance" }, { timeoutMs: 50 }))
            return balances
          }),
        )
        const balances = await s.waitFor(done)
        for (const b of balances) if (b < 0) throw new Error(`negative balance ${b}`)
        await Effect.runPromise(Invariants.nothingLeft(system!))
        passed++
      },
    ),
    { numRuns: runs },
  )
  log(`${passed} of ${runs} random schedules kept every invariant`)
  return { passed, runs }
}

if (import.meta.main) await main()
