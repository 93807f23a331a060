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
import { type OpenOptions, pragmas } from "./pragmas.ts"

export type { OpenOptions }

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
  for (const sql of pragmas(options)) db.exec(sql)
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
