/**
 * Connection settings shared by the SQLite drivers: WAL journal, `synchronous` (default NORMAL: durable across
 * process crashes, the last transactions may be lost on power loss), a busy timeout, fewer and larger WAL
 * checkpoints (each one syncs) and a 64 MiB page cache, which keep batch appends fast.
 *
 * @module
 */

/**
 * Open options of the SQLite drivers.
 *
 * @example
 * ```ts
 * open("./events.db", { synchronous: "FULL" })
 * ```
 */
export interface OpenOptions {
  /**
   * SQLite `synchronous` pragma (WAL mode). Default `"NORMAL"`: a committed transaction survives a crash of the
   * process, but the last ones may roll back after a power loss or OS crash (the file stays consistent).
   * `"FULL"`: every commit also survives power loss (one fsync per commit, slower). `"OFF"`: no fsync at all;
   * a power loss or OS crash may corrupt the file.
   */
  readonly synchronous?: "OFF" | "NORMAL" | "FULL"
}

/**
 * The statements run right after opening a connection.
 *
 * @example
 * ```ts
 * for (const sql of pragmas({})) db.exec(sql)
 * ```
 */
export const pragmas = (options: OpenOptions): ReadonlyArray<string> => [
  "PRAGMA journal_mode = WAL",
  `PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`,
  "PRAGMA busy_timeout = 5000",
  "PRAGMA wal_autocheckpoint = 10000",
  "PRAGMA cache_size = -65536",
]
