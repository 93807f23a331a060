/**
 * `SqlDriver` over `node:sqlite`'s `DatabaseSync`: the SQLite binding built into Deno (2.2+) and Node (22.13+,
 * where it may print an "experimental" warning). Opens (creating if needed) a database file with the settings of `pragmas.ts` (WAL, `synchronous = NORMAL`).
 *
 * @example
 * ```ts
 * import { open } from "./runtime/sqlite/deno.ts"
 * import * as EventLog from "./signal/EventLog.ts"
 * const store = yield* EventStore.make({ log: EventLog.sql(open(`${dir}/events.db`)) })
 * ```
 *
 * @module
 */
import { DatabaseSync, type SQLInputValue } from "node:sqlite"
import type { SqlDriver, SqlRow, SqlStatement } from "../../signal/SqlDriver.ts"
import { type OpenOptions, pragmas } from "./pragmas.ts"

export type { OpenOptions }

/**
 * Opens `path` (`":memory:"` for a private in-memory database) as a `SqlDriver`.
 *
 * @example
 * ```ts
 * const driver = open(`${await Deno.makeTempDir()}/events.db`)
 * ```
 */
export const open = (path: string, options: OpenOptions = {}): SqlDriver => {
  const db = new DatabaseSync(path)
  for (const sql of pragmas(options)) db.exec(sql)
  return {
    exec: (sql) => db.exec(sql),
    prepare: (sql): SqlStatement => {
      const st = db.prepare(sql)
      return {
        run: (...params) => {
          st.run(...(params as SQLInputValue[]))
        },
        all: (...params) => st.all(...(params as SQLInputValue[])) as unknown as ReadonlyArray<SqlRow>,
        get: (...params) => (st.get(...(params as SQLInputValue[])) as SqlRow | undefined) ?? undefined,
      }
    },
    close: () => db.close(),
  }
}
