/**
 * `SqlDriver` over Bun's built-in `bun:sqlite`. Opens (creating if needed) a database file in WAL mode with
 * `synchronous = NORMAL` (durable across process crashes; the last transactions may be lost on power loss; pass
 * `synchronous: "FULL"` to trade speed for that).
 *
 * @example
 * ```ts
 * import { open } from "./runtime/sqlite/bun.ts"
 * import * as EventLog from "./signal/EventLog.ts"
 * const store = yield* EventStore.make({ log: EventLog.sql(open("./events.db")) })
 * ```
 *
 * @module
 */
import { Database } from "bun:sqlite"
import type { SqlDriver, SqlRow, SqlStatement, SqlValue } from "../../signal/SqlDriver.ts"

/**
 * Open options.
 *
 * @example
 * ```ts
 * open("./events.db", { synchronous: "FULL" })
 * ```
 */
export interface OpenOptions {
  /** SQLite `synchronous` pragma. Default `"NORMAL"`. */
  readonly synchronous?: "OFF" | "NORMAL" | "FULL"
}

/**
 * Opens `path` (`":memory:"` for a private in-memory database) as a `SqlDriver`.
 *
 * @example
 * ```ts
 * const driver = open("/tmp/events.db")
 * ```
 */
export const open = (path: string, options: OpenOptions = {}): SqlDriver => {
  const db = new Database(path, { create: true })
  db.exec("PRAGMA journal_mode = WAL")
  db.exec(`PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`)
  db.exec("PRAGMA busy_timeout = 5000")
  // fewer, larger checkpoints (each one syncs) and a 64 MiB page cache keep batch appends fast
  db.exec("PRAGMA wal_autocheckpoint = 10000")
  db.exec("PRAGMA cache_size = -65536")
  return {
    exec: (sql) => {
      db.exec(sql)
    },
    prepare: (sql): SqlStatement => {
      const st = db.prepare<SqlRow, SqlValue[]>(sql)
      return {
        run: (...params) => {
          st.run(...(params as SqlValue[]))
        },
        all: (...params) => st.all(...(params as SqlValue[])),
        get: (...params) => st.get(...(params as SqlValue[])) ?? undefined,
      }
    },
    close: () => db.close(),
  }
}
