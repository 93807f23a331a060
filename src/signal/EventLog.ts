/**
 * EventLog: the storage interface behind `EventStore`, and its two implementations.
 *
 * An event log is a synchronous, single-writer, append-only sequence of events with contiguous offsets
 * (`firstOffset .. nextOffset - 1`). Retention only ever removes a prefix, so the retained log stays contiguous
 * and offsets are never reused (the next offset survives even when every event has been removed).
 *
 * - `memory()`: arrays in the heap (the default). Fast; gone when the program exits.
 * - `sql(driver)`: SQLite through a `SqlDriver` (`bun:sqlite` on Bun, `node:sqlite` on Deno/Node). Durable;
 *   batch appends are one transaction with prepared statements; reopening the same file resumes the log and the
 *   durable consumers' positions.
 *
 * Both pass the same behaviour suite (`tests/suites/eventStoreSuite.ts`). Implementations may throw from any
 * method on storage errors; `EventStore` turns that into `StorageFailure`.
 *
 * Caveat: a log assumes it is the only writer of its storage (one process per SQLite file).
 *
 * @module
 */

import { makeMemoryLog } from "./internal/memoryLog.ts"
import { makeSqlLog } from "./internal/sqlLog.ts"
import type { Signal } from "./Signal.ts"
import type { SqlDriver } from "./SqlDriver.ts"

/**
 * An event as stored: a signal envelope plus its offset in the log.
 *
 * @example
 * ```ts
 * const [e] = yield* store.append([{ type: "cart.added", data: { sku: "a1" } }])
 * e.offset // 0 for the first event ever appended
 * ```
 */
export interface StoredEvent<A = unknown> extends Signal<A> {
  readonly offset: number
}

/**
 * A validated event ready to be written (what `EventStore.append` hands to the log). Offsets are assigned by
 * the store from `info().nextOffset`, so the rows of one append are contiguous from there.
 *
 * @example
 * ```ts
 * const row: EventLog.EventRow = { event, timeMs: 1_700_000_000_000, bytes: 120 }
 * ```
 */
export interface EventRow {
  /** The complete stored event (the log keeps or serialises it as is). */
  readonly event: StoredEvent
  /** `event.time` in epoch milliseconds. */
  readonly timeMs: number
  /** Accounted size of the event (approximate JSON size of data plus envelope strings), for byte retention. */
  readonly bytes: number
}

/**
 * A normalised query. `undefined` filters are absent.
 *
 * @example
 * ```ts
 * log.query({ types: ["cart.added"], limit: 10, order: "desc" })
 * ```
 */
export interface LogQuery {
  readonly types?: ReadonlyArray<string> | undefined
  /** Inclusive lower bound on `time`, epoch ms. */
  readonly fromTimeMs?: number | undefined
  /** Exclusive upper bound on `time`, epoch ms. */
  readonly toTimeMs?: number | undefined
  readonly correlationId?: string | undefined
  readonly causationId?: string | undefined
  /** Inclusive lower bound on the offset. */
  readonly fromOffset?: number | undefined
  /** Exclusive upper bound on the offset. */
  readonly toOffset?: number | undefined
  readonly limit: number
  readonly order: "asc" | "desc"
}

/**
 * Sizes and bounds of the retained log.
 *
 * @example
 * ```ts
 * const { firstOffset, nextOffset, count, bytes } = log.info()
 * ```
 */
export interface LogInfo {
  readonly firstOffset: number
  readonly nextOffset: number
  readonly count: number
  readonly bytes: number
}

/**
 * Retention limits handed to `evict`; each is optional.
 *
 * @example
 * ```ts
 * log.evict({ maxEvents: 10_000, minTimeMs: now - 3_600_000, maxBytes: 64 * 1024 * 1024 })
 * ```
 */
export interface EvictLimits {
  readonly maxEvents?: number | undefined
  /** Events whose time is below this are removed (from the oldest, up to the first younger one). */
  readonly minTimeMs?: number | undefined
  readonly maxBytes?: number | undefined
}

/**
 * The storage interface. Every method is synchronous and either completes or throws with no effect.
 *
 * @example
 * ```ts
 * const log: EventLog.EventLog = EventLog.memory()
 * const first = log.append(rows) // offsets first .. first + rows.length - 1
 * ```
 */
export interface EventLog {
  readonly kind: string
  /** Appends all rows atomically (their offsets continue `info().nextOffset`); returns the first offset. */
  append(rows: ReadonlyArray<EventRow>): number
  /** Up to `limit` events with offset >= `fromOffset`, ascending. */
  read(fromOffset: number, limit: number): ReadonlyArray<StoredEvent>
  query(query: LogQuery): ReadonlyArray<StoredEvent>
  /** The most recent retained event with this id. */
  byId(id: string): StoredEvent | undefined
  info(): LogInfo
  /** Removes the oldest events until every limit holds; returns how many were removed. */
  evict(limits: EvictLimits): number
  /** The next offset a durable consumer should read, if it ever committed. */
  consumerOffset(name: string): number | undefined
  /** Stores a durable consumer's next offset (keeps at most `maxConsumers` names, evicting the stalest). */
  commitConsumer(name: string, nextOffset: number): void
  close(): void
}

/**
 * Options of the logs.
 *
 * @example
 * ```ts
 * EventLog.memory({ maxConsumers: 64 })
 * ```
 */
export interface LogOptions {
  /** Durable consumer names remembered; committing a new name beyond it forgets the least recently committed. Default 1,024. */
  readonly maxConsumers?: number
  /**
   * SQLite only: rows appended before their correlation ids are indexed, in one bulk insert (much cheaper than
   * indexing every row as it is appended). A query by correlation id scans at most this many recent rows by
   * offset. Default 4,096.
   */
  readonly correlationBatch?: number
}

const positiveOption = (name: "maxConsumers" | "correlationBatch", n: number): number => {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`EventLog: "${name}" must be an integer >= 1, got ${n}. Pass ${name} >= 1.`)
  }
  return n
}

const maxConsumersOf = (options: LogOptions | undefined): number =>
  positiveOption("maxConsumers", options?.maxConsumers ?? 1024)

/**
 * The in-memory log (the default of `EventStore.make`).
 *
 * @example
 * ```ts
 * const store = yield* EventStore.make({ log: EventLog.memory(), retention: { maxEvents: 100_000 } })
 * ```
 */
export const memory = (options?: LogOptions): EventLog => makeMemoryLog(maxConsumersOf(options))

/**
 * A SQLite log over `driver`, creating its tables if needed (`events`, `correlations`, `consumers`, `meta`).
 * Closing the log closes the driver. Correlation ids are indexed in bulk every `correlationBatch` rows (see
 * `LogOptions`); a file written by an earlier version (per-row correlation index) is migrated on open.
 *
 * @example
 * ```ts
 * import { open } from "../runtime/sqlite/bun.ts"
 * const store = yield* EventStore.make({ log: EventLog.sql(open("/var/lib/app/events.db")) })
 * ```
 */
export const sql = (driver: SqlDriver, options?: LogOptions): EventLog =>
  makeSqlLog(
    driver,
    maxConsumersOf(options),
    positiveOption("correlationBatch", options?.correlationBatch ?? 4096),
  )
