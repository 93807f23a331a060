/**
 * The small synchronous SQL driver interface the SQLite event log is written against. Runtime adapters implement
 * it: `src/runtime/sqlite/bun.ts` (Bun's built-in `bun:sqlite`) and `src/runtime/sqlite/deno.ts` (`node:sqlite`'s
 * `DatabaseSync`, used by Deno, and by Node >= 22.13). Any other synchronous SQLite binding fits in a few lines.
 *
 * Guarantees expected from an implementation: statements run synchronously and in call order on one connection;
 * `exec` accepts several `;`-separated statements; integers come back as JavaScript numbers (offsets stay below
 * 2^53); a missing row from `get` is `undefined`.
 *
 * @module
 */

/**
 * A value bound to or read from a statement.
 *
 * @example
 * ```ts
 * const params: ReadonlyArray<SqlDriver.SqlValue> = [1, "a", null]
 * statement.run(...params)
 * ```
 */
export type SqlValue = string | number | bigint | null | Uint8Array

/**
 * A row as an object keyed by column name.
 *
 * @example
 * ```ts
 * const row = driver.prepare("SELECT COUNT(*) AS n FROM events").get() as SqlDriver.SqlRow
 * ```
 */
export type SqlRow = Record<string, SqlValue>

/**
 * A prepared statement with positional (`?`) parameters.
 *
 * @example
 * ```ts
 * const insert = driver.prepare("INSERT INTO t (a, b) VALUES (?, ?)")
 * insert.run(1, "x")
 * ```
 */
export interface SqlStatement {
  run(...params: ReadonlyArray<SqlValue>): void
  all(...params: ReadonlyArray<SqlValue>): ReadonlyArray<SqlRow>
  get(...params: ReadonlyArray<SqlValue>): SqlRow | undefined
}

/**
 * One open database connection.
 *
 * @example
 * ```ts
 * import { open } from "../runtime/sqlite/bun.ts"
 * const driver: SqlDriver.SqlDriver = open("/tmp/events.db")
 * driver.exec("CREATE TABLE IF NOT EXISTS t (a INTEGER)")
 * ```
 */
export interface SqlDriver {
  /** Runs one or more statements without results. */
  exec(sql: string): void
  prepare(sql: string): SqlStatement
  close(): void
}
