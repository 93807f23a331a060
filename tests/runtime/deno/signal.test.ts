import { Effect } from "effect"
import { open } from "../../../src/runtime/sqlite/deno.ts"
import * as EventLog from "../../../src/signal/EventLog.ts"
import * as EventStore from "../../../src/signal/EventStore.ts"
import * as SignalBus from "../../../src/signal/SignalBus.ts"

const assert = (cond: boolean, message: string) => {
  if (!cond) throw new Error(message)
}

Deno.test("signal: bus routes wildcards, drops by policy, rejects bad input", async () => {
  const out = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const all = yield* bus.subscribe("orders.**")
        const created = yield* bus.subscribe("orders.*.created", { capacity: 1, overflow: "dropNewest" })
        for (const region of ["eu", "us"])
          yield* bus.publish({ type: `orders.${region}.created`, data: region })
        const everything = (yield* all.takeBatch(10)).map((s) => s.data)
        const first = (yield* created.takeBatch(10)).map((s) => s.data)
        const dropped = (yield* created.stats).dropped
        const badTopic = (yield* Effect.flip(bus.subscribe("orders..x")))._tag
        const badData = (yield* Effect.flip(bus.publish({ type: "orders.x", data: { f: () => 1 } })))._tag
        return { everything, first, dropped, badTopic, badData }
      }),
    ),
  )
  assert(
    JSON.stringify(out.everything) === '["eu","us"]',
    `wildcard delivery: ${JSON.stringify(out.everything)}`,
  )
  assert(JSON.stringify(out.first) === '["eu"]' && out.dropped === 1, `dropNewest: ${JSON.stringify(out)}`)
  assert(
    out.badTopic === "InvalidTopic" && out.badData === "InvalidSignal",
    `bad input: ${JSON.stringify(out)}`,
  )
})

Deno.test("signal: SQLite event store (node:sqlite) survives a close and reopen", async () => {
  const dir = await Deno.makeTempDir()
  const path = `${dir}/events.db`
  try {
    const written = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* EventStore.make({ log: EventLog.sql(open(path)) })
          yield* store.append([
            { type: "acct.opened", data: { id: "a" }, correlationId: "a" },
            { type: "acct.deposited", data: { amount: 5 }, correlationId: "a" },
          ])
          const c = yield* store.consumer("balances")
          yield* c.ack((yield* c.nextBatch(1))[0].offset)
          return yield* store.read(0)
        }),
      ),
    )
    const reopened = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* EventStore.make({ log: EventLog.sql(open(path)) })
          const events = yield* store.read(0)
          const [next] = yield* store.append([{ type: "acct.closed", data: null }])
          const c = yield* store.consumer("balances")
          const resumed = (yield* c.nextBatch(10)).map((e) => e.offset)
          const byCorrelation = (yield* store.query({ correlationId: "a" })).length
          return { events, next: next.offset, resumed, byCorrelation }
        }),
      ),
    )
    assert(JSON.stringify(reopened.events) === JSON.stringify(written), "events differ after reopen")
    assert(reopened.next === 2, `next offset after reopen: ${reopened.next}`)
    assert(
      JSON.stringify(reopened.resumed) === "[1,2]",
      `consumer resumed at ${JSON.stringify(reopened.resumed)}`,
    )
    assert(reopened.byCorrelation === 2, `correlation query: ${reopened.byCorrelation}`)
  } finally {
    await Deno.remove(dir, { recursive: true })
  }
})
