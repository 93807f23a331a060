/**
 * EventStore: an append-only event log with monotonic offsets, queries, retention, live subscriptions and
 * durable consumers, over a pluggable `EventLog` (in memory by default, SQLite for durability).
 *
 * ## Guarantees
 * - **Atomic batches.** `append` validates the whole batch first (`InvalidEvent` names the first bad event) and
 *   writes it in one step (one SQLite transaction): either every event gets an offset or none does.
 * - **Monotonic offsets.** Offsets are contiguous integers from 0, never reused, also across a SQLite reopen.
 * - **Bounded.** Retention (`maxEvents`, default 100,000 in memory and 10,000,000 on SQLite; `maxAgeMs`;
 *   `maxBytes`) is applied after every append and by `prune`, always removing the oldest events first (the log
 *   stays a contiguous range). Query results are capped by `limit` (default 1,000, at most 100,000).
 * - **Gap-free subscriptions.** A subscription keeps one cursor and reads the log itself, so catching up from an
 *   offset and then following live appends can neither skip nor repeat an event. If retention overtakes a
 *   lagging cursor, the subscription fails with `OffsetEvicted` instead of silently skipping.
 * - **Durable consumers.** `consumer(name)` resumes after the last acknowledged offset, which the log stores
 *   (on SQLite, across restarts). Delivery is at-least-once: events after the last `ack` come again.
 * - **Scoped.** Subscriptions and consumers belong to a Scope; the store closes its log when its Scope ends.
 *
 * ## Caveats
 * The log is synchronous: a large SQLite query blocks the thread while it runs, so keep `limit` moderate.
 * One store per SQLite file (single writer). Times come from the Effect `Clock` unless an event brings its own
 * `time`; age retention assumes times roughly follow offsets.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as EventStore from "./EventStore.ts"
 *
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const store = yield* EventStore.make({ retention: { maxEvents: 10_000 } })
 *   yield* store.append([{ type: "cart.added", data: { sku: "a1" }, correlationId: "cart-7" }])
 *   return yield* store.query({ correlationId: "cart-7" })
 * }))
 * ```
 *
 * @module
 */
import { Context, Effect, Layer, type Scope } from "effect"
import * as Metrics from "../telemetry/Metrics.ts"
import * as EventLog from "./EventLog.ts"
import { makeIdGenerator } from "./internal/ids.ts"
import { measureJson } from "./internal/json.ts"
import { parseTopic } from "./internal/topic.ts"
import type { SignalInput } from "./Signal.ts"
import { InvalidEvent, OffsetEvicted, StorageFailure, SubscriptionClosed } from "./SignalError.ts"

export type { StoredEvent } from "./EventLog.ts"

type StoredEvent<A = unknown> = EventLog.StoredEvent<A>

/**
 * What `append` takes: a signal input (any `Signal` from the bus fits too).
 *
 * @example
 * ```ts
 * const e: EventStore.EventInput = { type: "cart.added", data: { sku: "a1" }, causationId: cmd.id }
 * ```
 */
export type EventInput<A = unknown> = SignalInput<A>

/**
 * Retention limits, applied after every append and by `prune`. Oldest events go first.
 *
 * @example
 * ```ts
 * EventStore.make({ retention: { maxEvents: 50_000, maxAgeMs: 86_400_000, maxBytes: 32 * 1024 * 1024 } })
 * ```
 */
export interface Retention {
  /** Events kept. Default 100,000 for the memory log, 10,000,000 for other logs. */
  readonly maxEvents?: number
  /** Events older than this (by `time`) are removed. Default: no age limit. */
  readonly maxAgeMs?: number
  /** Accounted bytes (JSON data plus envelope strings) kept. Default: no byte limit. */
  readonly maxBytes?: number
}

/**
 * Store options.
 *
 * @example
 * ```ts
 * EventStore.make({ log: EventLog.sql(driver), source: "/orders", retention: { maxEvents: 1_000_000 } })
 * ```
 */
export interface Options {
  /** Storage. Default `EventLog.memory()`. The store closes it when its Scope ends. */
  readonly log?: EventLog.EventLog
  readonly retention?: Retention
  /** `source` of events appended without one. Default `"troupe"`. */
  readonly source?: string
}

/**
 * A query. Filters combine with AND.
 *
 * @example
 * ```ts
 * store.query({ types: ["order.placed"], fromTimeMs: t0, toTimeMs: t1, order: "desc", limit: 20 })
 * ```
 */
export interface Query {
  readonly types?: ReadonlyArray<string>
  /** Inclusive, epoch ms. */
  readonly fromTimeMs?: number
  /** Exclusive, epoch ms. */
  readonly toTimeMs?: number
  readonly correlationId?: string
  /** Events directly caused by this event id. */
  readonly causationId?: string
  /** Inclusive. */
  readonly fromOffset?: number
  /** Exclusive. */
  readonly toOffset?: number
  /** Default 1,000; at most 100,000. */
  readonly limit?: number
  /** By offset. Default `"asc"`. */
  readonly order?: "asc" | "desc"
}

/**
 * Where a subscription or a new consumer starts: an offset, `"start"` (the oldest retained event) or `"end"`
 * (only events appended from now on).
 *
 * @example
 * ```ts
 * store.subscribe({ from: "end" })
 * ```
 */
export type From = number | "start" | "end"

/**
 * A live, ordered view of the log from a cursor.
 *
 * @example
 * ```ts
 * const sub = yield* store.subscribe({ from: 0 })
 * const events = yield* sub.nextBatch(100) // waits until at least one event is there
 * ```
 */
export interface EventSubscription {
  /** Waits for the next event (matching `types`, if given). */
  readonly next: Effect.Effect<StoredEvent, OffsetEvicted | StorageFailure | SubscriptionClosed>
  /** Waits for at least one event and returns up to `max`, in offset order. */
  readonly nextBatch: (
    max: number,
  ) => Effect.Effect<ReadonlyArray<StoredEvent>, OffsetEvicted | StorageFailure | SubscriptionClosed>
  /** The next offset this subscription will read. */
  readonly position: Effect.Effect<number>
}

/**
 * A named subscription whose position survives restarts (on a durable log).
 *
 * @example
 * ```ts
 * const c = yield* store.consumer("projection-balances")
 * for (const e of yield* c.nextBatch(500)) apply(e)
 * yield* c.ack(lastOffset)
 * ```
 */
export interface DurableConsumer extends EventSubscription {
  readonly name: string
  /** Records that every event up to and including `offset` is processed. Never moves backwards. */
  readonly ack: (offset: number) => Effect.Effect<void, StorageFailure>
}

/**
 * Sizes of the retained log.
 *
 * @example
 * ```ts
 * const { firstOffset, nextOffset, count, bytes } = yield* store.info
 * ```
 */
export type Info = EventLog.LogInfo

/**
 * The store.
 *
 * @example
 * ```ts
 * const store = yield* EventStore.make()
 * const [e] = yield* store.append([{ type: "user.created", data: { id: 1 } }])
 * ```
 */
export interface EventStore {
  readonly append: <A>(
    events: ReadonlyArray<EventInput<A>>,
  ) => Effect.Effect<ReadonlyArray<StoredEvent<A>>, InvalidEvent | StorageFailure>
  /** Up to `limit` (default 1,000) events from `fromOffset`, ascending. */
  readonly read: (
    fromOffset: number,
    limit?: number,
  ) => Effect.Effect<ReadonlyArray<StoredEvent>, OffsetEvicted | StorageFailure>
  readonly query: (query?: Query) => Effect.Effect<ReadonlyArray<StoredEvent>, StorageFailure>
  readonly get: (id: string) => Effect.Effect<StoredEvent | undefined, StorageFailure>
  /** The chain of causes of an event, root first and ending with the event (at most 1,000 links). */
  readonly causationChain: (id: string) => Effect.Effect<ReadonlyArray<StoredEvent>, StorageFailure>
  readonly subscribe: (options?: {
    readonly from?: From
    readonly types?: ReadonlyArray<string>
  }) => Effect.Effect<EventSubscription, OffsetEvicted | StorageFailure, Scope.Scope>
  /** A durable consumer; a name never seen before starts at `from` (default `"start"`). */
  readonly consumer: (
    name: string,
    options?: { readonly from?: From; readonly types?: ReadonlyArray<string> },
  ) => Effect.Effect<DurableConsumer, OffsetEvicted | StorageFailure, Scope.Scope>
  /** Applies retention now (useful for age limits when nothing is appended); returns how many were removed. */
  readonly prune: Effect.Effect<number, StorageFailure>
  readonly info: Effect.Effect<Info, StorageFailure>
}

/**
 * The store as a service.
 *
 * @example
 * ```ts
 * Effect.gen(function* () {
 *   const store = yield* EventStore.Service
 * }).pipe(Effect.provide(EventStore.layer()))
 * ```
 */
export class Service extends Context.Service<Service, EventStore>()("troupe/EventStore") {}

const MAX_LIMIT = 100_000
const MAX_CHAIN = 1000
const SCAN_PAGE = 256
const SCAN_PAGES = 16

const checkInt = (name: string, v: number | undefined, min: number): void => {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) {
    throw new RangeError(
      `EventStore: "${name}" must be an integer >= ${min}, got ${v}. Pass ${name} >= ${min}.`,
    )
  }
}

const storage = <A>(operation: string, f: () => A): Effect.Effect<A, StorageFailure> =>
  Effect.try({
    try: f,
    catch: (e) => new StorageFailure({ operation, detail: e instanceof Error ? e.message : String(e) }),
  })

const optionalString = (v: unknown): boolean => v === undefined || typeof v === "string"

/**
 * Makes a store over `options.log` (default in memory). Throws a `RangeError` for invalid options.
 *
 * @example
 * ```ts
 * const store = yield* EventStore.make({ retention: { maxEvents: 1000 } })
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<EventStore, never, Scope.Scope> => {
  const retention = options.retention ?? {}
  checkInt("retention.maxEvents", retention.maxEvents, 0)
  checkInt("retention.maxAgeMs", retention.maxAgeMs, 0)
  checkInt("retention.maxBytes", retention.maxBytes, 0)
  const defaultSource = options.source ?? "troupe"
  return Effect.gen(function* () {
    const log = options.log ?? EventLog.memory()
    const maxEvents = retention.maxEvents ?? (log.kind === "memory" ? 100_000 : 10_000_000)
    const clock = yield* Effect.clockWith(Effect.succeed)
    const appends = Metrics.bindUnsafe(Metrics.eventAppends, yield* Effect.context<never>())
    const { store, shutdown } = makeStore(
      log,
      () => clock.currentTimeMillisUnsafe(),
      defaultSource,
      appends.update,
      {
        maxEvents,
        maxAgeMs: retention.maxAgeMs,
        maxBytes: retention.maxBytes,
      },
    )
    yield* Effect.addFinalizer(() => Effect.sync(shutdown))
    return store
  })
}

const makeStore = (
  log: EventLog.EventLog,
  now: () => number,
  defaultSource: string,
  onAppended: (n: number) => void,
  retention: { maxEvents: number; maxAgeMs: number | undefined; maxBytes: number | undefined },
): { readonly store: EventStore; readonly shutdown: () => void } => {
  let closed = false
  const nextId = makeIdGenerator()

  // fibers waiting for appends; woken together in one microtask after a commit
  const waiters = new Set<() => void>()
  let wakeScheduled = false
  const wake = () => {
    wakeScheduled = false
    const ws = [...waiters]
    waiters.clear()
    for (const w of ws) w()
  }
  const notify = () => {
    if (!wakeScheduled && waiters.size > 0) {
      wakeScheduled = true
      queueMicrotask(wake)
    }
  }

  const limits = (): EventLog.EvictLimits => ({
    maxEvents: retention.maxEvents,
    maxBytes: retention.maxBytes,
    minTimeMs: retention.maxAgeMs === undefined ? undefined : now() - retention.maxAgeMs,
  })

  // validated event types (bounded; emptied when full)
  let knownTypes = new Set<string>()
  let isoMs = Number.NaN
  let iso = ""
  const isoOf = (ms: number) => {
    if (ms !== isoMs) {
      isoMs = ms
      iso = new Date(ms).toISOString()
    }
    return iso
  }

  const toRow = (
    input: EventInput,
    index: number,
    nowMs: number,
    offset: number,
  ): EventLog.EventRow | InvalidEvent => {
    if (input === null || typeof input !== "object") {
      return new InvalidEvent({ index, reason: "expected an object with type and data" })
    }
    const type = input.type
    if (!knownTypes.has(type)) {
      const segs = parseTopic(type, false)
      if (typeof segs === "string")
        return new InvalidEvent({ index, reason: `type ${JSON.stringify(type)}: ${segs}` })
      if (knownTypes.size >= 1024) knownTypes = new Set()
      knownTypes.add(type)
    }
    const size = measureJson(input.data)
    if (typeof size !== "number")
      return new InvalidEvent({ index, reason: `data at ${size.path}: ${size.reason}` })
    const { id, source, subject, correlationId, causationId, time } = input
    if (
      !optionalString(id) ||
      !optionalString(source) ||
      !optionalString(subject) ||
      !optionalString(correlationId) ||
      !optionalString(causationId) ||
      !optionalString(time)
    ) {
      return new InvalidEvent({
        index,
        reason: "id, source, subject, correlationId, causationId and time must be strings",
      })
    }
    let timeMs = nowMs
    if (time !== undefined) {
      timeMs = Date.parse(time)
      if (Number.isNaN(timeMs)) return new InvalidEvent({ index, reason: `time "${time}" is not RFC 3339` })
    }
    const event: StoredEvent = {
      specversion: "1.0",
      id: id ?? nextId(),
      source: source ?? defaultSource,
      type,
      time: time ?? isoOf(timeMs),
      subject,
      datacontenttype: "application/json",
      data: input.data,
      correlationId,
      causationId,
      offset,
    }
    const bytes =
      size +
      event.id.length +
      type.length +
      event.source.length +
      24 +
      (subject?.length ?? 0) +
      (correlationId?.length ?? 0) +
      (causationId?.length ?? 0) +
      16
    return { event, timeMs, bytes }
  }

  const closedFailure = (operation: string) =>
    new StorageFailure({ operation, detail: "the store's Scope has ended and its log is closed" })

  const append = <A>(
    events: ReadonlyArray<EventInput<A>>,
  ): Effect.Effect<ReadonlyArray<StoredEvent<A>>, InvalidEvent | StorageFailure> =>
    Effect.suspend((): Effect.Effect<ReadonlyArray<StoredEvent<A>>, InvalidEvent | StorageFailure> => {
      if (closed) return Effect.fail(closedFailure("append"))
      const nowMs = now()
      const rows: EventLog.EventRow[] = new Array(events.length)
      const out: StoredEvent<A>[] = new Array(events.length)
      try {
        const first = log.info().nextOffset
        for (let i = 0; i < events.length; i++) {
          const r = toRow(events[i], i, nowMs, first + i)
          if (r instanceof InvalidEvent) return Effect.fail(r)
          rows[i] = r
          out[i] = r.event as StoredEvent<A>
        }
        if (rows.length === 0) return Effect.succeed([])
        log.append(rows)
        onAppended(rows.length)
      } catch (e) {
        return Effect.fail(
          new StorageFailure({ operation: "append", detail: e instanceof Error ? e.message : String(e) }),
        )
      }
      notify()
      // retention after the commit: a failure here leaves the (valid) appended events in place
      try {
        log.evict(limits())
      } catch (e) {
        return Effect.fail(
          new StorageFailure({ operation: "retention", detail: e instanceof Error ? e.message : String(e) }),
        )
      }
      return Effect.succeed(out)
    })

  const limitOf = (limit: number | undefined): number => {
    checkInt("limit", limit, 1)
    return Math.min(limit ?? 1000, MAX_LIMIT)
  }

  const guarded = <A>(operation: string, f: () => A): Effect.Effect<A, StorageFailure> =>
    Effect.suspend(() => (closed ? Effect.fail(closedFailure(operation)) : storage(operation, f)))

  // a bad limit is misuse: a defect raised before the storage call (not a StorageFailure)
  const read = (fromOffset: number, limit?: number) =>
    Effect.suspend(() => {
      const n = limitOf(limit)
      return Effect.flatMap(
        guarded("read", () => [log.info(), log.read(fromOffset, n)] as const),
        ([info, events]): Effect.Effect<ReadonlyArray<StoredEvent>, OffsetEvicted> =>
          fromOffset < info.firstOffset
            ? Effect.fail(new OffsetEvicted({ requested: fromOffset, oldest: info.firstOffset }))
            : Effect.succeed(events),
      )
    })

  const query = (q: Query = {}) =>
    Effect.suspend(() => {
      const limit = limitOf(q.limit)
      return guarded("query", () =>
        log.query({
          types: q.types,
          fromTimeMs: q.fromTimeMs,
          toTimeMs: q.toTimeMs,
          correlationId: q.correlationId,
          causationId: q.causationId,
          fromOffset: q.fromOffset,
          toOffset: q.toOffset,
          limit,
          order: q.order ?? "asc",
        }),
      )
    })

  const causationChain = (id: string) =>
    guarded("causationChain", () => {
      const chain: StoredEvent[] = []
      const seen = new Set<string>()
      let e = log.byId(id)
      while (e !== undefined && chain.length < MAX_CHAIN && !seen.has(e.id)) {
        seen.add(e.id)
        chain.push(e)
        e = e.causationId === undefined ? undefined : log.byId(e.causationId)
      }
      return chain.reverse()
    })

  let subscriptionIds = 0

  /** A cursor over the log; `onRead` sees every batch returned (used by consumers). */
  const cursorOver = (
    start: number,
    types: ReadonlyArray<string> | undefined,
    isOpen: () => boolean,
    id: number,
  ): { readonly sub: EventSubscription; readonly position: () => number } => {
    let cursor = start
    const attempt = (max: number) => {
      if (!isOpen() || closed) {
        return Effect.fail(new SubscriptionClosed({ subscriptionId: id, pattern: "events" }))
      }
      // with a type filter, scan pages of SCAN_PAGE; after SCAN_PAGES pages without a match, yield first
      for (let pages = 0; pages < SCAN_PAGES; pages++) {
        const info = log.info()
        if (cursor < info.firstOffset) {
          return Effect.fail(new OffsetEvicted({ requested: cursor, oldest: info.firstOffset }))
        }
        if (cursor >= info.nextOffset) return undefined
        if (types === undefined) {
          const batch = log.read(cursor, max)
          if (batch.length === 0) return undefined
          cursor = batch[batch.length - 1].offset + 1
          return Effect.succeed(batch)
        }
        const page = log.read(cursor, Math.max(max, SCAN_PAGE))
        if (page.length === 0) return undefined
        const kept: StoredEvent[] = []
        for (const e of page) {
          cursor = e.offset + 1
          if (types.includes(e.type) && kept.push(e) === max) break
        }
        if (kept.length > 0) return Effect.succeed(kept)
      }
      return Effect.flatMap(Effect.yieldNow, () => nextBatch(max))
    }
    const nextBatch = (
      max: number,
    ): Effect.Effect<ReadonlyArray<StoredEvent>, OffsetEvicted | StorageFailure | SubscriptionClosed> =>
      Effect.suspend(() => {
        checkInt("max", max, 1)
        let r: ReturnType<typeof attempt>
        try {
          r = attempt(max)
        } catch (e) {
          return Effect.fail(
            new StorageFailure({ operation: "read", detail: e instanceof Error ? e.message : String(e) }),
          )
        }
        if (r !== undefined) return r
        // nothing new: wait for the next append (registered in the same synchronous section as the check)
        return Effect.flatMap(
          Effect.callback<void>((resume) => {
            const w = () => resume(Effect.void)
            waiters.add(w)
            return Effect.sync(() => {
              waiters.delete(w)
            })
          }),
          () => nextBatch(max),
        )
      })
    return {
      sub: {
        next: Effect.map(nextBatch(1), (b) => b[0]),
        nextBatch,
        position: Effect.sync(() => cursor),
      },
      position: () => cursor,
    }
  }

  /** The start offset, failing with OffsetEvicted below the retained range (a bad `from` is a defect). */
  const startOf = (from: From | undefined, info: EventLog.LogInfo): Effect.Effect<number, OffsetEvicted> => {
    if (from === undefined || from === "start") return Effect.succeed(info.firstOffset)
    if (from === "end") return Effect.succeed(info.nextOffset)
    if (!Number.isInteger(from) || from < 0) {
      return Effect.die(
        new RangeError(`EventStore: "from" must be an offset >= 0, "start" or "end", got ${from}.`),
      )
    }
    return from < info.firstOffset
      ? Effect.fail(new OffsetEvicted({ requested: from, oldest: info.firstOffset }))
      : Effect.succeed(from)
  }

  const subscribe = (options: { readonly from?: From; readonly types?: ReadonlyArray<string> } = {}) =>
    Effect.gen(function* () {
      const info = yield* guarded("subscribe", () => log.info())
      const start = yield* startOf(options.from, info)
      let isOpen = true
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          isOpen = false
        }),
      )
      return cursorOver(start, options.types, () => isOpen, ++subscriptionIds).sub
    })

  const consumer = (
    name: string,
    options: { readonly from?: From; readonly types?: ReadonlyArray<string> } = {},
  ) =>
    Effect.gen(function* () {
      if (typeof name !== "string" || name.length === 0 || name.length > 256) {
        return yield* Effect.die(
          new RangeError(`EventStore: consumer "name" must be a non-empty string of at most 256 characters.`),
        )
      }
      const [info, committed] = yield* guarded(
        "consumer",
        () => [log.info(), log.consumerOffset(name)] as const,
      )
      const start = committed ?? (yield* startOf(options.from, info))
      if (start < info.firstOffset)
        return yield* new OffsetEvicted({ requested: start, oldest: info.firstOffset })
      let isOpen = true
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          isOpen = false
        }),
      )
      let acked = committed ?? -1
      const c = cursorOver(start, options.types, () => isOpen, ++subscriptionIds)
      const ack = (offset: number): Effect.Effect<void, StorageFailure> =>
        Effect.suspend(() =>
          !Number.isInteger(offset) || offset < 0 || (!closed && offset >= log.info().nextOffset)
            ? Effect.die(
                new RangeError(
                  `EventStore: ack "offset" must be the offset of an appended event (0 .. next offset - 1), got ${offset}.`,
                ),
              )
            : guarded("ack", () => {
                // one synchronous section: compare and commit together, never moving backwards
                if (offset + 1 > acked) {
                  log.commitConsumer(name, offset + 1)
                  acked = offset + 1
                }
              }),
        )
      const durable: DurableConsumer = { ...c.sub, name, ack }
      return durable
    })

  const store: EventStore = {
    append,
    read,
    query,
    get: (id) => guarded("get", () => log.byId(id)),
    causationChain,
    subscribe,
    consumer,
    prune: guarded("prune", () => log.evict(limits())),
    info: guarded("info", () => log.info()),
  }
  const shutdown = () => {
    if (closed) return
    closed = true
    log.close()
    // waiting subscribers wake up and see SubscriptionClosed
    wake()
  }
  return { store, shutdown }
}

/**
 * A layer providing `EventStore` (the log is closed when the layer's scope ends).
 *
 * @example
 * ```ts
 * Effect.provide(program, EventStore.layer({ retention: { maxEvents: 10_000 } }))
 * ```
 */
export const layer = (options: Options = {}): Layer.Layer<Service> => Layer.effect(Service, make(options))

/**
 * Folds every retained event from `from` (default the oldest) into a value, reading `pageSize` events at a time
 * (default 1,000), so rebuilding a projection never holds more than one page. Stops at the offset that was
 * next when the fold started; later appends are not included.
 *
 * @example
 * ```ts
 * const balances = yield* EventStore.fold(store, new Map<string, number>(), (m, e) => apply(m, e))
 * ```
 */
export const fold = <S>(
  store: EventStore,
  initial: S,
  f: (state: S, event: StoredEvent) => S,
  options: { readonly from?: number; readonly pageSize?: number } = {},
): Effect.Effect<S, OffsetEvicted | StorageFailure> =>
  Effect.gen(function* () {
    const info = yield* store.info
    const end = info.nextOffset
    let cursor = options.from ?? info.firstOffset
    let state = initial
    while (cursor < end) {
      const page = yield* store.read(cursor, Math.min(options.pageSize ?? 1000, end - cursor))
      if (page.length === 0) break
      for (const e of page) state = f(state, e)
      cursor = page[page.length - 1].offset + 1
    }
    return state
  })
