/**
 * A bounded in-memory store of errors with context (agent, correlation id, tag), queryable by agent,
 * tag, correlation id and time range, with exact counts.
 *
 * ## Guarantees
 * - **Bounds.** At most `capacity` entries overall and `perKey` entries per key (the key is the agent,
 *   or `"(none)"` for errors without an agent). When a bound is hit the **oldest** entry of the full scope
 *   (the key's, or the whole store's) is evicted. Entries older than `maxAgeMs` are evicted lazily on the
 *   next `record` or query (no timer). Every index (per-key lists, per-tag counts) holds only live entries,
 *   so it is bounded by `capacity` too.
 * - **Exact counts.** `stats` counts live entries by tag and by agent exactly, plus the lifetime number
 *   recorded and evicted (`clear` counts as eviction); `recorded - evicted === size` at all times.
 * - **Atomicity.** Each `record` is one synchronous section (insert + evictions + counters).
 * - **Ordering.** Query results are in recording order (oldest first); `limit` keeps the newest.
 *
 * ## Caveats
 * In memory, one store per program. `context` values are stored by reference: record plain data.
 *
 * @module
 */
import { Cause, Clock, Context, Effect, Layer } from "effect"
import * as AgentSystem from "../agent/AgentSystem.ts"
import { errorsRecorded } from "./Metrics.ts"

/**
 * A recorded error.
 *
 * @example
 * ```ts
 * const e: ErrorStore.ErrorEntry = { id: 1, at: 0, tag: "AskTimeout", message: "ask timed out", agent: "pricer" }
 * ```
 */
export interface ErrorEntry {
  /** Sequence number, strictly increasing. */
  readonly id: number
  /** Time of recording, epoch milliseconds from the Effect `Clock`. */
  readonly at: number
  readonly tag: string
  readonly message: string
  readonly agent?: string | undefined
  readonly correlationId?: string | undefined
  readonly context?: Readonly<Record<string, unknown>> | undefined
}

/**
 * What to record. `tag` and `message` default from `error` (its `_tag` and `message`) when omitted.
 *
 * @example
 * ```ts
 * yield* store.record({ error: new AskTimeout({...}), agent: "pricer", correlationId: "c-1" })
 * ```
 */
export interface ErrorInput {
  readonly tag?: string | undefined
  readonly message?: string | undefined
  readonly error?: unknown
  readonly agent?: string | undefined
  readonly correlationId?: string | undefined
  readonly context?: Readonly<Record<string, unknown>> | undefined
}

/**
 * Query filter; every field is optional and they combine with AND. `from`/`to` are inclusive epoch ms.
 *
 * @example
 * ```ts
 * yield* store.query({ agent: "pricer", tag: "AskTimeout", from: t0, limit: 10 })
 * ```
 */
export interface ErrorQuery {
  readonly agent?: string | undefined
  readonly tag?: string | undefined
  readonly correlationId?: string | undefined
  readonly from?: number | undefined
  readonly to?: number | undefined
  /** Keep at most this many (the newest). */
  readonly limit?: number | undefined
}

/**
 * Exact counts of the store.
 *
 * @example
 * ```ts
 * const { size, byTag } = yield* store.stats
 * ```
 */
export interface ErrorStats {
  readonly size: number
  readonly recorded: number
  readonly evicted: number
  readonly byTag: Readonly<Record<string, number>>
  readonly byAgent: Readonly<Record<string, number>>
}

/**
 * Options of {@link make}.
 *
 * @example
 * ```ts
 * ErrorStore.make({ capacity: 1000, perKey: 100, maxAgeMs: 86_400_000 })
 * ```
 */
export interface Options {
  /** Entries kept overall. Default 1000. */
  readonly capacity?: number | undefined
  /** Entries kept per agent (key). Default 100. */
  readonly perKey?: number | undefined
  /** Entries older than this are evicted lazily. Default: no age limit. */
  readonly maxAgeMs?: number | undefined
}

/**
 * The error store.
 *
 * @example
 * ```ts
 * const store = yield* ErrorStore.ErrorStore
 * yield* store.record({ tag: "Boom", message: "it broke", agent: "a1" })
 * ```
 */
export interface ErrorStoreService {
  /** Records at the Effect clock's time and counts it in `troupe_errors_recorded_total`. */
  readonly record: (input: ErrorInput) => Effect.Effect<ErrorEntry>
  /** Synchronous record with an explicit timestamp (epoch ms), for non-Effect callers (not counted in the metric). */
  readonly recordUnsafe: (input: ErrorInput, now: number) => ErrorEntry
  readonly query: (filter?: ErrorQuery) => Effect.Effect<ReadonlyArray<ErrorEntry>>
  readonly count: (filter?: Omit<ErrorQuery, "limit">) => Effect.Effect<number>
  readonly stats: Effect.Effect<ErrorStats>
  readonly clear: Effect.Effect<void>
  readonly capacity: number
  readonly perKey: number
}

interface Node {
  readonly entry: ErrorEntry
  readonly key: string
  gPrev: Node | undefined
  gNext: Node | undefined
  kPrev: Node | undefined
  kNext: Node | undefined
}

interface KeyList {
  head: Node | undefined
  tail: Node | undefined
  size: number
}

const NO_AGENT = "(none)"

const positiveInt = (module: string, name: string, value: number | undefined, fallback: number): number => {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${module}: "${name}" must be a positive integer, got ${v}. Pass ${name} >= 1.`)
  }
  return v
}

const bump = (m: Map<string, number>, k: string, d: number) => {
  const n = (m.get(k) ?? 0) + d
  if (n === 0) m.delete(k)
  else m.set(k, n)
}

/**
 * Creates a store. Invalid options throw a `RangeError` naming the option.
 *
 * @example
 * ```ts
 * const store = ErrorStore.makeUnsafe({ capacity: 10 })
 * store.recordUnsafe({ tag: "Boom", message: "x" }, Date.now())
 * ```
 */
export const makeUnsafe = (options?: Options): ErrorStoreService => {
  const capacity = positiveInt("ErrorStore", "capacity", options?.capacity, 1000)
  const perKey = positiveInt("ErrorStore", "perKey", options?.perKey, 100)
  const maxAgeMs = options?.maxAgeMs
  if (maxAgeMs !== undefined && !(maxAgeMs > 0)) {
    throw new RangeError(
      `ErrorStore: "maxAgeMs" must be a positive number, got ${maxAgeMs}. Omit it for no age limit.`,
    )
  }
  let gHead: Node | undefined
  let gTail: Node | undefined
  let size = 0
  let seq = 0
  let recorded = 0
  let evicted = 0
  const keys = new Map<string, KeyList>()
  const byTag = new Map<string, number>()
  const byAgent = new Map<string, number>()

  const unlink = (node: Node) => {
    if (node.gPrev) node.gPrev.gNext = node.gNext
    else gHead = node.gNext
    if (node.gNext) node.gNext.gPrev = node.gPrev
    else gTail = node.gPrev
    const list = keys.get(node.key)!
    if (node.kPrev) node.kPrev.kNext = node.kNext
    else list.head = node.kNext
    if (node.kNext) node.kNext.kPrev = node.kPrev
    else list.tail = node.kPrev
    list.size--
    if (list.size === 0) keys.delete(node.key)
    size--
    bump(byTag, node.entry.tag, -1)
    bump(byAgent, node.key, -1)
  }

  const expire = (now: number) => {
    if (maxAgeMs === undefined) return
    while (gHead !== undefined && gHead.entry.at < now - maxAgeMs) {
      unlink(gHead)
      evicted++
    }
  }

  const recordUnsafe = (input: ErrorInput, now: number): ErrorEntry => {
    expire(now)
    const err = input.error as { _tag?: unknown; message?: unknown } | undefined
    const tag =
      input.tag ??
      (typeof err?._tag === "string"
        ? err._tag
        : err instanceof Error
          ? err.name
          : err === undefined
            ? "Error"
            : "Unknown")
    const message =
      input.message ??
      (typeof err?.message === "string" ? err.message : err === undefined ? tag : String(err))
    const entry: ErrorEntry = {
      id: ++seq,
      at: now,
      tag,
      message,
      agent: input.agent,
      correlationId: input.correlationId,
      context: input.context,
    }
    const key = input.agent ?? NO_AGENT
    let list = keys.get(key)
    if (list !== undefined && list.size >= perKey) {
      unlink(list.head!)
      evicted++
      list = keys.get(key)
    }
    if (size >= capacity) {
      unlink(gHead!)
      evicted++
      list = keys.get(key)
    }
    if (list === undefined) {
      list = { head: undefined, tail: undefined, size: 0 }
      keys.set(key, list)
    }
    const node: Node = { entry, key, gPrev: gTail, gNext: undefined, kPrev: list.tail, kNext: undefined }
    if (gTail) gTail.gNext = node
    else gHead = node
    gTail = node
    if (list.tail) list.tail.kNext = node
    else list.head = node
    list.tail = node
    list.size++
    size++
    recorded++
    bump(byTag, tag, 1)
    bump(byAgent, key, 1)
    return entry
  }

  const matches = (e: ErrorEntry, f: ErrorQuery) =>
    (f.tag === undefined || e.tag === f.tag) &&
    (f.correlationId === undefined || e.correlationId === f.correlationId) &&
    (f.from === undefined || e.at >= f.from) &&
    (f.to === undefined || e.at <= f.to)

  const select = (f: ErrorQuery): Array<ErrorEntry> => {
    const out: Array<ErrorEntry> = []
    if (f.agent !== undefined) {
      for (let n = keys.get(f.agent)?.head; n !== undefined; n = n.kNext)
        if (matches(n.entry, f)) out.push(n.entry)
    } else {
      for (let n = gHead; n !== undefined; n = n.gNext) if (matches(n.entry, f)) out.push(n.entry)
    }
    return f.limit !== undefined && out.length > f.limit ? out.slice(out.length - Math.max(0, f.limit)) : out
  }

  const withNow = <A>(f: (now: number) => A) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        expire(now)
        return f(now)
      }),
    )

  return {
    capacity,
    perKey,
    recordUnsafe,
    record: (input) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.withFiber((fiber) => {
          errorsRecorded.updateUnsafe(1, fiber.context)
          return Effect.succeed(recordUnsafe(input, now))
        }),
      ),
    query: (filter) => withNow(() => select(filter ?? {})),
    count: (filter) =>
      withNow(() => {
        const f = filter ?? {}
        if (f.from === undefined && f.to === undefined && f.correlationId === undefined) {
          if (f.agent === undefined) return f.tag === undefined ? size : (byTag.get(f.tag) ?? 0)
          if (f.tag === undefined) return byAgent.get(f.agent) ?? 0
        }
        return select(f).length
      }),
    stats: withNow(() => ({
      size,
      recorded,
      evicted,
      byTag: Object.fromEntries(byTag),
      byAgent: Object.fromEntries(byAgent),
    })),
    clear: Effect.sync(() => {
      evicted += size
      gHead = gTail = undefined
      size = 0
      keys.clear()
      byTag.clear()
      byAgent.clear()
    }),
  }
}

/**
 * Creates a store as an Effect (options checked when it runs).
 *
 * @example
 * ```ts
 * const store = yield* ErrorStore.make({ capacity: 1000, perKey: 100 })
 * ```
 */
export const make = (options?: Options): Effect.Effect<ErrorStoreService> =>
  Effect.sync(() => makeUnsafe(options))

/**
 * The error store service.
 *
 * @example
 * ```ts
 * const store = yield* ErrorStore.ErrorStore
 * ```
 */
export class ErrorStore extends Context.Service<ErrorStore, ErrorStoreService>()("troupe/ErrorStore") {}

/**
 * In-memory error store layer.
 *
 * @example
 * ```ts
 * Effect.provide(program, ErrorStore.layer({ capacity: 1000 }))
 * ```
 */
export const layer = (options?: Options): Layer.Layer<ErrorStore> => Layer.effect(ErrorStore)(make(options))

/**
 * Records every agent crash of a system in the store (tag from the error's `_tag`, the agent's label,
 * the pretty cause in `context.cause`) until the returned remover is called. A crash that the
 * supervisor then restarts is recorded too: the store sees every incarnation that died.
 *
 * @example
 * ```ts
 * const system = yield* AgentSystem.AgentSystem
 * const store = yield* ErrorStore.make()
 * const stop = yield* ErrorStore.recordAgentCrashes(store)
 * ```
 */
export const recordAgentCrashes = (
  store: ErrorStoreService,
): Effect.Effect<() => void, never, AgentSystem.AgentSystem> =>
  Effect.flatMap(AgentSystem.AgentSystem, (system) =>
    Effect.map(Clock.clockWith(Effect.succeed), (clock) =>
      system.addHook({
        onCrash: (ref, cause) => {
          const error = Cause.squash(cause)
          const tag =
            typeof error === "object" && error !== null && typeof (error as any)._tag === "string"
              ? (error as any)._tag
              : error instanceof Error
                ? error.name
                : "Defect"
          store.recordUnsafe(
            {
              tag,
              message: error instanceof Error ? error.message : String(error),
              error,
              agent: ref.label,
              context: { cause: Cause.pretty(cause) },
            },
            clock.currentTimeMillisUnsafe(),
          )
        },
      }),
    ),
  )
