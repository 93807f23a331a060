/**
 * The in-memory EventLog: parallel arrays from `head` (evicted slots are released and compacted once they make
 * up half the array), a lazily built id index, and a bounded consumer map.
 */
import type { EventLog, EventRow, EvictLimits, LogInfo, LogQuery, StoredEvent } from "../EventLog.ts"

export const makeMemoryLog = (maxConsumers: number): EventLog => {
  let events: StoredEvent[] = []
  let times: number[] = []
  let sizes: number[] = []
  let head = 0
  let firstOffset = 0
  let bytes = 0
  // the id index is built on the first `byId` call and maintained from then on, so stores that never look
  // events up by id do not pay for hashing every id on append
  let byId: Map<string, StoredEvent> | undefined
  const consumers = new Map<string, number>()

  const count = () => events.length - head
  const at = (offset: number): StoredEvent => events[head + (offset - firstOffset)]

  const compact = () => {
    if (head > 1024 && head * 2 > events.length) {
      events = events.slice(head)
      times = times.slice(head)
      sizes = sizes.slice(head)
      head = 0
    }
  }

  const removeOne = () => {
    const e = events[head]
    if (byId !== undefined && byId.get(e.id) === e) byId.delete(e.id)
    bytes -= sizes[head]
    events[head] = undefined as unknown as StoredEvent
    head++
    firstOffset++
  }

  const matches = (e: StoredEvent, timeMs: number, q: LogQuery): boolean =>
    (q.types === undefined || q.types.includes(e.type)) &&
    (q.fromTimeMs === undefined || timeMs >= q.fromTimeMs) &&
    (q.toTimeMs === undefined || timeMs < q.toTimeMs) &&
    (q.correlationId === undefined || e.correlationId === q.correlationId) &&
    (q.causationId === undefined || e.causationId === q.causationId)

  return {
    kind: "memory",
    append(rows: ReadonlyArray<EventRow>): number {
      const first = firstOffset + count()
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]
        const e = r.event
        if (e.offset !== first + i)
          throw new Error(`memory log: row ${i} has offset ${e.offset}, expected ${first + i}`)
        events.push(e)
        times.push(r.timeMs)
        sizes.push(r.bytes)
        bytes += r.bytes
        if (byId !== undefined) byId.set(e.id, e)
      }
      return first
    },
    read(fromOffset: number, limit: number): ReadonlyArray<StoredEvent> {
      const start = Math.max(fromOffset, firstOffset)
      const end = Math.min(firstOffset + count(), start + limit)
      const out: StoredEvent[] = []
      for (let o = start; o < end; o++) out.push(at(o))
      return out
    },
    query(q: LogQuery): ReadonlyArray<StoredEvent> {
      const out: StoredEvent[] = []
      const lo = Math.max(firstOffset, q.fromOffset ?? firstOffset)
      const hi = Math.min(firstOffset + count(), q.toOffset ?? Number.POSITIVE_INFINITY)
      if (q.order === "asc") {
        for (let o = lo; o < hi && out.length < q.limit; o++) {
          const i = head + (o - firstOffset)
          if (matches(events[i], times[i], q)) out.push(events[i])
        }
      } else {
        for (let o = hi - 1; o >= lo && out.length < q.limit; o--) {
          const i = head + (o - firstOffset)
          if (matches(events[i], times[i], q)) out.push(events[i])
        }
      }
      return out
    },
    byId: (id) => {
      if (byId === undefined) {
        byId = new Map()
        for (let i = head; i < events.length; i++) byId.set(events[i].id, events[i])
      }
      return byId.get(id)
    },
    info: (): LogInfo => ({ firstOffset, nextOffset: firstOffset + count(), count: count(), bytes }),
    evict(limits: EvictLimits): number {
      let removed = 0
      const { maxEvents, minTimeMs, maxBytes } = limits
      while (count() > 0) {
        const over =
          (maxEvents !== undefined && count() > maxEvents) ||
          (maxBytes !== undefined && bytes > maxBytes) ||
          (minTimeMs !== undefined && times[head] < minTimeMs)
        if (!over) break
        removeOne()
        removed++
      }
      if (removed > 0) compact()
      return removed
    },
    consumerOffset: (name) => consumers.get(name),
    commitConsumer(name, nextOffset) {
      // re-insert so the Map's order is least recently committed first
      consumers.delete(name)
      if (consumers.size >= maxConsumers) consumers.delete(consumers.keys().next().value as string)
      consumers.set(name, nextOffset)
    },
    close() {
      events = []
      times = []
      sizes = []
      head = 0
      byId = undefined
    },
  }
}
