/**
 * The in-memory EventLog: parallel arrays from `head` (evicted slots are released and compacted once they make
 * up half the array), an id index, and a bounded consumer map.
 */
import type { EventLog, EventRow, EvictLimits, LogInfo, LogQuery, StoredEvent } from "../EventLog.ts"

export const makeMemoryLog = (maxConsumers: number): EventLog => {
  let events: StoredEvent[] = []
  let times: number[] = []
  let sizes: number[] = []
  let head = 0
  let firstOffset = 0
  let bytes = 0
  const byId = new Map<string, StoredEvent>()
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
    if (byId.get(e.id) === e) byId.delete(e.id)
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
        const s = r.event
        const e: StoredEvent = {
          specversion: "1.0",
          id: s.id,
          source: s.source,
          type: s.type,
          time: s.time,
          subject: s.subject,
          datacontenttype: "application/json",
          data: s.data,
          correlationId: s.correlationId,
          causationId: s.causationId,
          offset: first + i,
        }
        events.push(e)
        times.push(r.timeMs)
        sizes.push(r.bytes)
        bytes += r.bytes
        byId.set(e.id, e)
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
    byId: (id) => byId.get(id),
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
      byId.clear()
    },
  }
}
