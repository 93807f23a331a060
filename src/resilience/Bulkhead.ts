/**
 * A bulkhead: bounded concurrency plus a bounded wait queue, so one slow dependency cannot take every
 * fiber and every byte of memory with it.
 *
 * ## Guarantees
 *
 * - At most `maxConcurrency` tasks run at once; at most `maxQueue` wait (FIFO). A task arriving when both
 *   are full fails at once with `BulkheadFull` (overflow policy: reject the newcomer; nothing queued is
 *   dropped). Admission is one synchronous check-and-count, so concurrent callers cannot overshoot.
 * - A task interrupted while queued leaves the queue; a running task frees its slot however it ends.
 * - `timeoutMs` (per call, or the bulkhead default) bounds the running time only, not the wait in the
 *   queue; on expiry the task is interrupted and the call fails with `TimeoutExceeded`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Bulkhead from "./Bulkhead.ts"
 *
 * const program = Effect.gen(function* () {
 *   const db = yield* Bulkhead.make({ name: "db", maxConcurrency: 8, maxQueue: 32, timeoutMs: 2_000 })
 *   const row = yield* db.run(query("select 1"))
 *   const rows = yield* db.runBatch(ids, (id) => load(id), { maxConcurrency: 4 })
 * })
 * ```
 * @module
 */
import { Effect, type Result, Semaphore } from "effect"
import { withTimeout } from "./internal/timeout.ts"
import { nonNegativeInt, positiveInt } from "./internal/validate.ts"
import { BulkheadFull, type TimeoutExceeded } from "./ResilienceError.ts"

/**
 * Options of {@link make}.
 *
 * @example
 * ```ts
 * const options: Bulkhead.Options = { name: "quotes", maxConcurrency: 8, maxQueue: 32 }
 * ```
 */
export interface Options {
  /** Name in errors (default `"bulkhead"`). */
  readonly name?: string
  /** Tasks running at once (positive integer, default 10). */
  readonly maxConcurrency?: number
  /** Tasks waiting at once (integer >= 0, default 100). */
  readonly maxQueue?: number
  /** Default per-task running-time limit in ms (default: none). */
  readonly timeoutMs?: number
}

/**
 * Options of {@link Bulkhead.runBatch}.
 *
 * @example
 * ```ts
 * yield* bulkhead.runBatch(items, fetchOne, { maxConcurrency: 4, timeoutMs: 1000 } satisfies Bulkhead.BatchOptions)
 * ```
 */
export interface BatchOptions {
  /** Items in flight at once for this batch (default and cap: the bulkhead's `maxConcurrency`). */
  readonly maxConcurrency?: number
  /** Per-item running-time limit in ms (default: the bulkhead's). */
  readonly timeoutMs?: number
}

/**
 * Occupancy figures.
 *
 * @example
 * ```ts
 * const { running, queued } = (yield* bulkhead.stats) as Bulkhead.Stats
 * ```
 */
export interface Stats {
  readonly running: number
  readonly queued: number
  readonly maxConcurrency: number
  readonly maxQueue: number
}

/**
 * A bulkhead.
 *
 * @example
 * ```ts
 * const bulkhead: Bulkhead.Bulkhead = yield* Bulkhead.make({ maxConcurrency: 8, maxQueue: 32 })
 * ```
 */
export interface Bulkhead {
  readonly name: string
  readonly maxConcurrency: number
  readonly maxQueue: number
  /** Runs `task` in a slot (waiting in the queue if needed), or fails with `BulkheadFull`. */
  readonly run: <A, E, R>(
    task: Effect.Effect<A, E, R>,
    options?: { readonly timeoutMs?: number },
  ) => Effect.Effect<A, E | BulkheadFull | TimeoutExceeded, R>
  /**
   * Runs `fn` over `items` through this bulkhead, at most `maxConcurrency` at once for this batch, and
   * returns one `Result` per item in input order (a failing item does not stop the others).
   */
  readonly runBatch: <I, A, E, R>(
    items: Iterable<I>,
    fn: (item: I, index: number) => Effect.Effect<A, E, R>,
    options?: BatchOptions,
  ) => Effect.Effect<Array<Result.Result<A, E | BulkheadFull | TimeoutExceeded>>, never, R>
  /** Current occupancy. */
  readonly stats: Effect.Effect<Stats>
  /** Synchronous `stats`. */
  readonly statsUnsafe: () => Stats
}

const M = "Bulkhead"

/**
 * Validates options and applies defaults (shared with `TaskPool`); throws `RangeError` naming the bad option,
 * prefixed by `where`.
 *
 * @example
 * ```ts
 * Bulkhead.resolveOptions({ maxConcurrency: 4 }) // { name: "bulkhead", maxConcurrency: 4, maxQueue: 100, timeoutMs: undefined }
 * ```
 */
export const resolveOptions = (
  o: Options,
  where = "",
): Required<Omit<Options, "timeoutMs">> & { timeoutMs: number | undefined } => ({
  name: o.name ?? "bulkhead",
  maxConcurrency: positiveInt(M, `${where}maxConcurrency`, o.maxConcurrency ?? 10),
  maxQueue: nonNegativeInt(M, `${where}maxQueue`, o.maxQueue ?? 100),
  timeoutMs: o.timeoutMs === undefined ? undefined : positiveInt(M, `${where}timeoutMs`, o.timeoutMs),
})

/**
 * Makes a bulkhead synchronously (validates options, throws `RangeError` naming the bad one).
 *
 * @example
 * ```ts
 * const pool = Bulkhead.makeUnsafe({ name: "llm", maxConcurrency: 4, maxQueue: 16 })
 * ```
 */
export const makeUnsafe = (options: Options = {}): Bulkhead => {
  const o = resolveOptions(options)
  const sem = Semaphore.makeUnsafe(o.maxConcurrency)
  const capacity = o.maxConcurrency + o.maxQueue
  let running = 0
  let queued = 0
  const full = new BulkheadFull({ name: o.name, maxConcurrency: o.maxConcurrency, maxQueue: o.maxQueue })
  const run = <A, E, R>(
    task: Effect.Effect<A, E, R>,
    options?: { readonly timeoutMs?: number },
  ): Effect.Effect<A, E | BulkheadFull | TimeoutExceeded, R> => {
    const timeoutMs = options?.timeoutMs ?? o.timeoutMs
    if (timeoutMs !== undefined) positiveInt(M, "timeoutMs", timeoutMs)
    const timed = withTimeout(task, timeoutMs, o.name)
    return Effect.suspend((): Effect.Effect<A, E | BulkheadFull | TimeoutExceeded, R> => {
      if (running + queued >= capacity) return Effect.fail(full)
      queued++
      let admitted = false
      const body = Effect.suspend(() => {
        queued--
        admitted = true
        running++
        return Effect.ensuring(
          timed,
          Effect.sync(() => {
            running--
          }),
        )
      })
      return Effect.ensuring(
        sem.withPermit(body),
        Effect.sync(() => {
          if (!admitted) queued--
        }),
      )
    })
  }
  const stats = (): Stats => ({ running, queued, maxConcurrency: o.maxConcurrency, maxQueue: o.maxQueue })
  return {
    name: o.name,
    maxConcurrency: o.maxConcurrency,
    maxQueue: o.maxQueue,
    run,
    runBatch: (items, fn, batch) => {
      const concurrency = Math.min(
        positiveInt(M, "runBatch maxConcurrency", batch?.maxConcurrency ?? o.maxConcurrency),
        o.maxConcurrency,
      )
      const timeoutMs = batch?.timeoutMs ?? o.timeoutMs
      return Effect.forEach(items, (item, i) => Effect.result(run(fn(item, i), { timeoutMs })), {
        concurrency,
      })
    },
    stats: Effect.sync(stats),
    statsUnsafe: stats,
  }
}

/**
 * Makes a bulkhead.
 *
 * @example
 * ```ts
 * const db = yield* Bulkhead.make({ name: "db", maxConcurrency: 8, maxQueue: 32 })
 * const rows = yield* db.run(query, { timeoutMs: 500 })
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<Bulkhead> => {
  const o = resolveOptions(options)
  return Effect.sync(() => makeUnsafe(o))
}
