import { afterAll, describe, expect, it } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Effect, Exit } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { open } from "../../src/runtime/sqlite/bun.ts"
import * as EventLog from "../../src/signal/EventLog.ts"
import * as EventStore from "../../src/signal/EventStore.ts"
import { eventStoreSuite, runTest } from "../suites/eventStoreSuite.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-events-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const freshFile = () => join(dir, `events-${files++}.db`)

eventStoreSuite("memory", () => EventLog.memory())
eventStoreSuite("sqlite (bun:sqlite; node:sqlite under Deno)", () => EventLog.sql(open(freshFile())))
eventStoreSuite("sqlite, correlation ids indexed every 2 rows", () =>
  EventLog.sql(open(freshFile()), { correlationBatch: 2 }),
)

describe("EventStore (sqlite migration)", () => {
  it("migrates a file with the old per-row correlation index and answers correlation queries", async () => {
    const path = freshFile()
    await runTest(
      Effect.gen(function* () {
        const s = yield* EventStore.make({ log: EventLog.sql(open(path)) })
        yield* s.append(
          Array.from({ length: 30 }, (_, i) => ({ type: "t", data: i, correlationId: `c${i % 3}` })),
        )
      }),
    )
    // turn it into the old layout: no bulk index, a per-row index on correlation_id
    // through the project's driver (bun:sqlite under Bun, node:sqlite under Deno)
    const raw = open(path)
    raw.exec("DELETE FROM correlations; DELETE FROM meta WHERE key = 'correlations_indexed'")
    raw.exec("CREATE INDEX events_by_correlation ON events (correlation_id) WHERE correlation_id IS NOT NULL")
    raw.close()
    await runTest(
      Effect.gen(function* () {
        const s = yield* EventStore.make({ log: EventLog.sql(open(path), { correlationBatch: 8 }) })
        const c1 = yield* s.query({ correlationId: "c1", order: "asc", limit: 100 })
        expect(c1.map((e) => e.offset)).toEqual(Array.from({ length: 10 }, (_, i) => 3 * i + 1))
      }),
    )
    const check = open(path)
    const indexes = check.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all()
    const entries = check.prepare("SELECT COUNT(*) AS n FROM correlations").get() as { n: number }
    check.close()
    expect(indexes.map((r) => (r as { name: string }).name)).not.toContain("events_by_correlation")
    expect(entries.n).toBe(30)
  })
})

describe("EventStore (sqlite batches)", () => {
  it("writes large batches (multi-row chunks of 64, 16, 4 and 1) in order with contiguous offsets", () =>
    runTest(
      Effect.gen(function* () {
        const s = yield* EventStore.make({ log: EventLog.sql(open(freshFile())) })
        for (const n of [100, 37, 64, 1, 3]) {
          const events = Array.from({ length: n }, (_, i) => ({
            type: `t.n${n}`,
            data: { i },
            subject: `s${i}`,
          }))
          const stored = yield* s.append(events)
          const back = yield* s.read(stored[0].offset, 1000)
          expect(back).toEqual(stored)
          expect(back.map((e) => e.data)).toEqual(events.map((e) => e.data))
        }
        expect(yield* s.info).toMatchObject({ firstOffset: 0, nextOffset: 205, count: 205 })
      }),
    ))
})

describe("EventStore (sqlite correlations)", () => {
  it("answers correlation queries like the memory log, across bulk indexing, retention and reopen", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.array(fc.option(fc.constantFrom("a", "b", "c")), { minLength: 1, maxLength: 9 }), {
          maxLength: 12,
        }),
        (correlationBatch, maxEvents, batches) =>
          runTest(
            Effect.gen(function* () {
              const path = freshFile()
              const mem = yield* EventStore.make({ log: EventLog.memory(), retention: { maxEvents } })
              const sqlStore = (log: EventLog.EventLog) => EventStore.make({ log, retention: { maxEvents } })
              let sql = yield* sqlStore(EventLog.sql(open(path), { correlationBatch }))
              for (const [i, batch] of batches.entries()) {
                const events = batch.map((c, j) => ({ type: "t", data: j, correlationId: c ?? undefined }))
                yield* mem.append(events)
                yield* sql.append(events)
                if (i === batches.length >> 1) {
                  // reopen half-way (the log is closed with the store's own Scope only at the end)
                  sql = yield* sqlStore(EventLog.sql(open(path), { correlationBatch }))
                }
                for (const correlationId of ["a", "b", "c"]) {
                  for (const order of ["asc", "desc"] as const) {
                    const q = { correlationId, order, limit: 5 }
                    const want = (yield* mem.query(q)).map((e) => e.offset)
                    expect((yield* sql.query(q)).map((e) => e.offset)).toEqual(want)
                  }
                }
              }
            }),
          ),
      ),
      { numRuns: 25 },
    ))
})

describe("EventStore (sqlite)", () => {
  it("keeps events, offsets and consumer positions across a close and reopen", async () => {
    const path = freshFile()
    const written = await runTest(
      Effect.gen(function* () {
        const s = yield* EventStore.make({ log: EventLog.sql(open(path)) })
        const [root] = yield* s.append([{ type: "acct.opened", data: { id: "a" }, correlationId: "a" }])
        yield* s.append([
          { type: "acct.deposited", data: { amount: 5 }, correlationId: "a", causationId: root.id },
          { type: "acct.deposited", data: { amount: 7.5, note: "ünïcode ✓" }, correlationId: "a" },
        ])
        const c = yield* s.consumer("balances")
        yield* c.ack((yield* c.nextBatch(2))[1].offset)
        return yield* s.read(0)
      }),
    )
    const reopened = await runTest(
      Effect.gen(function* () {
        const s = yield* EventStore.make({ log: EventLog.sql(open(path)) })
        const events = yield* s.read(0)
        const [next] = yield* s.append([{ type: "acct.closed", data: null }])
        const c = yield* s.consumer("balances")
        const resumed = (yield* c.nextBatch(10)).map((e) => e.offset)
        const chain = yield* s.causationChain(written[1].id)
        return { events, next: next.offset, resumed, chain: chain.map((e) => e.offset) }
      }),
    )
    expect(reopened.events).toEqual(written)
    expect(reopened.next).toBe(3)
    expect(reopened.resumed).toEqual([2, 3])
    expect(reopened.chain).toEqual([0, 1])
  })

  it("keeps the next offset across a reopen after retention emptied the table", async () => {
    const path = freshFile()
    await runTest(
      Effect.gen(function* () {
        const s = yield* EventStore.make({ log: EventLog.sql(open(path)), retention: { maxEvents: 0 } })
        yield* s.append([
          { type: "t", data: 1 },
          { type: "t", data: 2 },
        ])
      }),
    )
    const info = await runTest(
      Effect.gen(function* () {
        const s = yield* EventStore.make({ log: EventLog.sql(open(path)) })
        return yield* s.info
      }),
    )
    expect(info).toEqual({ firstOffset: 2, nextOffset: 2, count: 0, bytes: 0 })
  })

  it("fails with StorageFailure after its Scope has closed", async () => {
    const s = await Effect.runPromise(
      Effect.scoped(EventStore.make({ log: EventLog.sql(open(freshFile())) })).pipe(
        Effect.provide(TestClock.layer()),
      ),
    )
    const err = await Effect.runPromise(Effect.flip(s.append([{ type: "t", data: 1 }])))
    expect(err._tag).toBe("StorageFailure")
  })
})

describe("EventStore misuse", () => {
  it("treats invalid limits and retention options as defects naming the option", async () => {
    const out = await runTest(
      Effect.gen(function* () {
        const s = yield* EventStore.make()
        const read = yield* Effect.exit(s.read(0, 0))
        const query = yield* Effect.exit(s.query({ limit: -1 }))
        return [read, query].map((e) =>
          Exit.isFailure(e) && Cause.hasDies(e.cause) ? String(e.cause) : "no defect",
        )
      }),
    )
    expect(out[0]).toContain('"limit"')
    expect(out[1]).toContain('"limit"')
    expect(() => EventStore.make({ retention: { maxEvents: -1 } })).toThrow('"retention.maxEvents"')
  })
})

describe("EventStore retention", () => {
  it("count, age and byte bounds hold after any sequence of appends (memory and sqlite)", () =>
    fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.record({
          maxEvents: fc.integer({ min: 0, max: 30 }),
          maxAgeMs: fc.integer({ min: 0, max: 5000 }),
          maxBytes: fc.integer({ min: 0, max: 3000 }),
        }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 2000 }), fc.nat(80)), {
          maxLength: 15,
        }),
        (useSql, retention, steps) =>
          runTest(
            Effect.gen(function* () {
              const log = useSql ? EventLog.sql(open(freshFile())) : EventLog.memory()
              const s = yield* EventStore.make({ log, retention })
              let appended = 0
              for (const [k, dt, len] of steps) {
                yield* TestClock.adjust(dt)
                yield* s.append(Array.from({ length: k }, () => ({ type: "t", data: "y".repeat(len) })))
                appended += k
                const info = yield* s.info
                const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
                expect(info.count).toBeLessThanOrEqual(retention.maxEvents)
                expect(info.bytes).toBeLessThanOrEqual(retention.maxBytes)
                expect(info.nextOffset).toBe(appended)
                expect(info.firstOffset + info.count).toBe(info.nextOffset)
                const kept = yield* s.read(info.firstOffset, 1000)
                expect(kept.length).toBe(info.count)
                for (const e of kept)
                  expect(Date.parse(e.time)).toBeGreaterThanOrEqual(now - retention.maxAgeMs)
              }
            }),
          ),
      ),
      { numRuns: 30 },
    ))
})
