/**
 * The signal smoke scenario, run by `deno test` (node:sqlite through src/runtime/sqlite/deno.ts) and Node's
 * test runner (the same driver): the bus routes wildcards, drops by policy and rejects bad input; a SQLite event
 * store survives a close and reopen, with its durable consumer's position.
 */
import { Effect } from "effect"
import * as EventLog from "../../src/signal/EventLog.ts"
import * as EventStore from "../../src/signal/EventStore.ts"
import * as SignalBus from "../../src/signal/SignalBus.ts"
import type { SqlDriver } from "../../src/signal/SqlDriver.ts"

export const busScenario = () =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make()
        const all = yield* bus.subscribe("orders.**")
        const created = yield* bus.subscribe("orders.*.created", { capacity: 1, overflow: "dropNewest" })
        for (const region of ["eu", "us"]) {
          yield* bus.publish({ type: `orders.${region}.created`, data: region })
        }
        const everything = (yield* all.takeBatch(10)).map((s) => s.data)
        const first = (yield* created.takeBatch(10)).map((s) => s.data)
        const dropped = (yield* created.stats).dropped
        const badTopic = (yield* Effect.flip(bus.subscribe("orders..x")))._tag
        const badData = (yield* Effect.flip(bus.publish({ type: "orders.x", data: { f: () => 1 } })))._tag
        return { everything, first, dropped, badTopic, badData }
      }),
    ),
  )

export const busExpected = {
  everything: ["eu", "us"],
  first: ["eu"],
  dropped: 1,
  badTopic: "InvalidTopic",
  badData: "InvalidSignal",
}

/** Writes, closes, reopens `path` with drivers from `open`. */
export const storeScenario = async (open: (path: string) => SqlDriver, path: string) => {
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
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const store = yield* EventStore.make({ log: EventLog.sql(open(path)) })
        const events = yield* store.read(0)
        const [next] = yield* store.append([{ type: "acct.closed", data: null }])
        const c = yield* store.consumer("balances")
        const resumed = (yield* c.nextBatch(10)).map((e) => e.offset)
        const byCorrelation = (yield* store.query({ correlationId: "a" })).length
        return {
          same: JSON.stringify(events) === JSON.stringify(written),
          next: next.offset,
          resumed,
          byCorrelation,
        }
      }),
    ),
  )
}

export const storeExpected = { same: true, next: 2, resumed: [1, 2], byCorrelation: 2 }
