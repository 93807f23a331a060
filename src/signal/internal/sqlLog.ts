/**
 * The SQLite EventLog, written once against `SqlDriver`. One `events` row per event (offset as INTEGER PRIMARY
 * KEY), a `meta` row holding the next offset (so offsets are never reused after retention empties the table),
 * and a `consumers` table for durable consumer positions. Count and byte totals are read once at open and then
 * maintained in memory (single-writer assumption).
 *
 * Correlation ids are indexed in bulk, not per row: an index on `correlation_id` kept up to date by every
 * append scatters each batch over as many index pages as it has distinct ids, and every commit writes all those
 * pages to the WAL (it was the largest cost of an append). Instead, the `correlations` table (clustered on
 * `(correlation_id, seq)`) covers the rows below a watermark kept in `meta`; once `correlationBatch` rows are past
 * it, the append that crosses the threshold indexes them in one sorted `INSERT ... SELECT` inside its
 * transaction. A query by correlation id reads the indexed rows through that table and scans the (at most
 * `correlationBatch`) newer rows by offset. Entries of evicted rows are deleted lazily, in one pass once as many
 * rows were evicted as are retained, so the table stays below twice the retained rows (plus one batch).
 */
import type { EventLog, EventRow, EvictLimits, LogInfo, LogQuery, StoredEvent } from "../EventLog.ts"
import type { SqlDriver, SqlRow, SqlStatement, SqlValue } from "../SqlDriver.ts"

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  source TEXT NOT NULL,
  subject TEXT,
  time TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  correlation_id TEXT,
  causation_id TEXT,
  data TEXT NOT NULL,
  size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, seq);
CREATE INDEX IF NOT EXISTS events_by_time ON events (time_ms);
CREATE INDEX IF NOT EXISTS events_by_id ON events (id);
DROP INDEX IF EXISTS events_by_correlation;
CREATE TABLE IF NOT EXISTS correlations (
  correlation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (correlation_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_causation ON events (causation_id) WHERE causation_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS consumers (name TEXT PRIMARY KEY, next_offset INTEGER NOT NULL, stamp INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`

const COLUMNS = "seq, id, type, source, subject, time, correlation_id, causation_id, data"

const num = (v: SqlValue | undefined): number => (v === null || v === undefined ? 0 : Number(v))
const str = (v: SqlValue | undefined): string | undefined =>
  v === null || v === undefined ? undefined : String(v)

const toEvent = (r: SqlRow): StoredEvent => ({
  specversion: "1.0",
  id: String(r.id),
  source: String(r.source),
  type: String(r.type),
  time: String(r.time),
  subject: str(r.subject),
  datacontenttype: "application/json",
  data: JSON.parse(String(r.data)),
  correlationId: str(r.correlation_id),
  causationId: str(r.causation_id),
  offset: num(r.seq),
})

const STATEMENT_CACHE = 64
const COLUMN_COUNT = 11

export const makeSqlLog = (db: SqlDriver, maxConsumers: number, correlationBatch: number): EventLog => {
  db.exec(SCHEMA)
  // multi-row inserts: a batch is written in chunks of 64, 16, 4 and 1 rows (one statement call per chunk
  // instead of one per row; 64 rows x 11 columns stays below SQLite's historical 999-parameter limit)
  const inserts = new Map<number, SqlStatement>()
  const insertOf = (rows: number): SqlStatement => {
    let st = inserts.get(rows)
    if (st === undefined) {
      st = db.prepare(
        "INSERT INTO events (seq, id, type, source, subject, time, time_ms, correlation_id, causation_id, data, size) VALUES " +
          Array.from({ length: rows }, () => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", "),
      )
      inserts.set(rows, st)
    }
    return st
  }
  const params: SqlValue[] = []
  const setNext = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('next_offset', ?)")
  const begin = db.prepare("BEGIN")
  const commit = db.prepare("COMMIT")
  const rollback = db.prepare("ROLLBACK")
  const readFrom = db.prepare(`SELECT ${COLUMNS} FROM events WHERE seq >= ? ORDER BY seq LIMIT ?`)
  const selectById = db.prepare(`SELECT ${COLUMNS} FROM events WHERE id = ? ORDER BY seq DESC LIMIT 1`)
  const oldest = db.prepare("SELECT seq, time_ms, size FROM events WHERE seq >= ? ORDER BY seq LIMIT 256")
  const deleteBefore = db.prepare("DELETE FROM events WHERE seq < ?")
  const getConsumer = db.prepare("SELECT next_offset FROM consumers WHERE name = ?")
  const countConsumers = db.prepare("SELECT COUNT(*) AS n FROM consumers")
  const dropStalest = db.prepare(
    "DELETE FROM consumers WHERE name = (SELECT name FROM consumers ORDER BY stamp LIMIT 1)",
  )
  const putConsumer = db.prepare(
    "INSERT OR REPLACE INTO consumers (name, next_offset, stamp) VALUES (?, ?, ?)",
  )
  const maxStamp = db.prepare("SELECT COALESCE(MAX(stamp), 0) AS s FROM consumers")
  const indexCorrelations = db.prepare(
    "INSERT OR IGNORE INTO correlations (correlation_id, seq) SELECT correlation_id, seq FROM events " +
      "WHERE seq >= ? AND correlation_id IS NOT NULL ORDER BY correlation_id, seq",
  )
  const setIndexed = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('correlations_indexed', ?)")
  const pruneCorrelations = db.prepare("DELETE FROM correlations WHERE seq < ?")

  const totals = db
    .prepare("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b, MIN(seq) AS lo, MAX(seq) AS hi FROM events")
    .get()!
  const meta = db.prepare("SELECT value FROM meta WHERE key = 'next_offset'").get()
  let count = num(totals.n)
  let bytes = num(totals.b)
  let nextOffset = Math.max(num(meta?.value), totals.hi === null ? 0 : num(totals.hi) + 1)
  let firstOffset = totals.lo === null ? nextOffset : num(totals.lo)
  let stamp = num(maxStamp.get()!.s)
  // rows with seq >= indexedUpTo are not in `correlations` yet; entries below prunedBelow were deleted
  let indexedUpTo = num(db.prepare("SELECT value FROM meta WHERE key = 'correlations_indexed'").get()?.value)
  let prunedBelow = 0

  const transaction = <A>(body: () => A): A => {
    begin.run()
    try {
      const a = body()
      commit.run()
      return a
    } catch (e) {
      rollback.run()
      throw e
    }
  }

  // a file from before the bulk index (or one closed with a long tail): index its rows now, so a query by
  // correlation id never scans more than `correlationBatch` rows
  if (nextOffset - indexedUpTo >= correlationBatch) {
    transaction(() => {
      indexCorrelations.run(indexedUpTo)
      setIndexed.run(nextOffset)
    })
    indexedUpTo = nextOffset
  }

  // query statements differ by which filters are present: prepare each shape once (bounded cache)
  const shapes = new Map<string, SqlStatement>()
  const prepared = (sqlText: string): SqlStatement => {
    let st = shapes.get(sqlText)
    if (st === undefined) {
      if (shapes.size >= STATEMENT_CACHE) shapes.delete(shapes.keys().next().value as string)
      st = db.prepare(sqlText)
      shapes.set(sqlText, st)
    }
    return st
  }

  return {
    kind: "sqlite",
    append(rows: ReadonlyArray<EventRow>): number {
      const first = nextOffset
      const next = first + rows.length
      const indexNow = next - indexedUpTo >= correlationBatch
      let added = 0
      transaction(() => {
        let i = 0
        while (i < rows.length) {
          const left = rows.length - i
          const chunk = left >= 64 ? 64 : left >= 16 ? 16 : left >= 4 ? 4 : 1
          params.length = chunk * COLUMN_COUNT
          for (let k = 0, p = 0; k < chunk; k++, i++) {
            const r = rows[i]
            const e = r.event
            if (e.offset !== first + i)
              throw new Error(`sqlite log: row ${i} has offset ${e.offset}, expected ${first + i}`)
            params[p++] = first + i
            params[p++] = e.id
            params[p++] = e.type
            params[p++] = e.source
            params[p++] = e.subject ?? null
            params[p++] = e.time
            params[p++] = r.timeMs
            params[p++] = e.correlationId ?? null
            params[p++] = e.causationId ?? null
            params[p++] = JSON.stringify(e.data)
            params[p++] = r.bytes
            added += r.bytes
          }
          insertOf(chunk).run(...params)
        }
        setNext.run(next)
        if (indexNow) {
          indexCorrelations.run(indexedUpTo)
          setIndexed.run(next)
        }
      })
      if (indexNow) indexedUpTo = next
      if (count === 0) firstOffset = first
      nextOffset = next
      count += rows.length
      bytes += added
      return first
    },
    read(fromOffset: number, limit: number): ReadonlyArray<StoredEvent> {
      return readFrom.all(fromOffset, limit).map(toEvent)
    },
    query(q: LogQuery): ReadonlyArray<StoredEvent> {
      const where: string[] = []
      const params: SqlValue[] = []
      if (q.types !== undefined) {
        if (q.types.length === 0) return []
        where.push(`type IN (${q.types.map(() => "?").join(", ")})`)
        params.push(...q.types)
      }
      if (q.fromTimeMs !== undefined) where.push("time_ms >= ?") && params.push(q.fromTimeMs)
      if (q.toTimeMs !== undefined) where.push("time_ms < ?") && params.push(q.toTimeMs)
      if (q.correlationId !== undefined) {
        // offsets of the indexed rows from `correlations`, of the newer ones by a rowid range (an OR here
        // would let the planner pick a full scan)
        where.push(
          "seq IN (SELECT seq FROM correlations WHERE correlation_id = ? " +
            "UNION ALL SELECT seq FROM events WHERE seq >= ? AND correlation_id = ?)",
        )
        params.push(q.correlationId, indexedUpTo, q.correlationId)
      }
      if (q.causationId !== undefined) where.push("causation_id = ?") && params.push(q.causationId)
      if (q.fromOffset !== undefined) where.push("seq >= ?") && params.push(q.fromOffset)
      if (q.toOffset !== undefined) where.push("seq < ?") && params.push(q.toOffset)
      const clause = where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`
      const sqlText = `SELECT ${COLUMNS} FROM events${clause} ORDER BY seq ${q.order === "asc" ? "ASC" : "DESC"} LIMIT ?`
      params.push(q.limit)
      return prepared(sqlText)
        .all(...params)
        .map(toEvent)
    },
    byId(id: string): StoredEvent | undefined {
      const r = selectById.get(id)
      return r === undefined ? undefined : toEvent(r)
    },
    info: (): LogInfo => ({ firstOffset, nextOffset, count, bytes }),
    evict(limits: EvictLimits): number {
      const { maxEvents, minTimeMs, maxBytes } = limits
      const needed = () =>
        count > 0 &&
        ((maxEvents !== undefined && count > maxEvents) ||
          (maxBytes !== undefined && bytes > maxBytes) ||
          minTimeMs !== undefined)
      if (!needed()) return 0
      // walk from the oldest row, deciding the cut in memory, then delete the prefix in one statement
      let cut = firstOffset
      let left = count
      let leftBytes = bytes
      let done = false
      while (!done && left > 0) {
        const batch = oldest.all(cut)
        if (batch.length === 0) break
        for (const r of batch) {
          const over =
            (maxEvents !== undefined && left > maxEvents) ||
            (maxBytes !== undefined && leftBytes > maxBytes) ||
            (minTimeMs !== undefined && num(r.time_ms) < minTimeMs)
          if (!over) {
            done = true
            break
          }
          cut = num(r.seq) + 1
          left--
          leftBytes -= num(r.size)
        }
      }
      const removed = count - left
      if (removed === 0) return 0
      // entries of evicted rows match no event: delete them once as many rows were evicted as are kept
      const prune = cut - prunedBelow >= Math.max(left, correlationBatch)
      transaction(() => {
        deleteBefore.run(cut)
        if (prune) pruneCorrelations.run(cut)
      })
      if (prune) prunedBelow = cut
      count = left
      bytes = leftBytes
      firstOffset = count === 0 ? nextOffset : cut
      return removed
    },
    consumerOffset(name: string): number | undefined {
      const r = getConsumer.get(name)
      return r === undefined ? undefined : num(r.next_offset)
    },
    commitConsumer(name: string, offset: number): void {
      transaction(() => {
        if (getConsumer.get(name) === undefined && num(countConsumers.get()!.n) >= maxConsumers)
          dropStalest.run()
        putConsumer.run(name, offset, ++stamp)
      })
    },
    close(): void {
      db.close()
    },
  }
}
