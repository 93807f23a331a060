/**
 * Retrying failed effects with backoff, jitter, attempt and time caps, `retryAfterMs` hints and a retry
 * budget that stops retry storms.
 *
 * ## Delay of retry `n` (n = 1 for the first retry)
 *
 * - `"exponential"` (default): `baseDelayMs * factor^(n-1)`; `"linear"`: `baseDelayMs * n`;
 *   `"fixed"`: `baseDelayMs`; `"immediate"`: 0. Capped at `maxDelayMs`.
 * - Jitter: `"full"` (default) uniform in `[0, d)`; `"equal"` `d/2` plus uniform in `[0, d/2)`;
 *   `"decorrelated"` uniform in `[baseDelayMs, 3 * previous)` capped at `maxDelayMs` (AWS style; ignores
 *   `backoff`); `"none"`.
 * - If the error carries a numeric `retryAfterMs` (as `RateLimited` and `CircuitOpen` do) the delay is at
 *   least that.
 *
 * ## When it stops
 *
 * On success; on a defect or interruption (never retried); when `retryOn(error)` is false; after
 * `maxAttempts` attempts in all (default 3); when the next delay would end beyond `maxElapsedMs` since the
 * first attempt; when the `budget` refuses. It then fails with the last error.
 *
 * ## Retry budget
 *
 * A {@link Budget} shared by all callers of a dependency caps retries at `ratio` of calls (plus a small
 * floor `minRetriesPerSecond`) over the last `ttlMs`, as Finagle's RetryBudget does: when a dependency fails
 * everything, callers see their first error quickly instead of multiplying the load by `maxAttempts`.
 * Bounded: 10 time buckets.
 *
 * Randomness comes from Effect's `Random` (seed it with `Random.withSeed` for reproducible runs) and time
 * from `Clock` (sleeps follow `TestClock`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Retry from "./Retry.ts"
 *
 * const budget = yield* Retry.makeBudget({ ratio: 0.1 })
 * const quote = fetchQuote("ACME").pipe(
 *   Retry.retry({ maxAttempts: 4, baseDelayMs: 50, jitter: "full", budget, retryOn: (e) => e._tag !== "NotFound" }),
 * )
 * ```
 * @module
 */
import { Cause, Clock, Effect, Exit, Random } from "effect"
import { nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, positiveNumber } from "./internal/validate.ts"

/**
 * Backoff shapes.
 *
 * @example
 * ```ts
 * const backoff: Retry.Backoff = "exponential"
 * ```
 */
export type Backoff = "exponential" | "linear" | "fixed" | "immediate"
/**
 * Jitter kinds.
 *
 * @example
 * ```ts
 * const jitter: Retry.Jitter = "decorrelated"
 * ```
 */
export type Jitter = "none" | "full" | "equal" | "decorrelated"

/**
 * What `onRetry` hears before each retry.
 *
 * @example
 * ```ts
 * const onRetry = (info: Retry.RetryInfo) => console.log(`attempt ${info.attempt}`)
 * ```
 */
export interface RetryInfo {
  /** The attempt that just failed (1 = the first call). */
  readonly attempt: number
  readonly delayMs: number
  readonly error: unknown
}

/**
 * Options of {@link retry}; every field optional.
 *
 * @example
 * ```ts
 * const options: Retry.Options = { maxAttempts: 4, baseDelayMs: 50, jitter: "full" }
 * ```
 */
export interface Options<E = unknown> {
  /** Default `"exponential"`. */
  readonly backoff?: Backoff
  /** Base delay in ms (default 100). */
  readonly baseDelayMs?: number
  /** Largest delay in ms (default 30,000). */
  readonly maxDelayMs?: number
  /** Exponential factor (>= 1, default 2). */
  readonly factor?: number
  /** Default `"full"`. */
  readonly jitter?: Jitter
  /** Attempts in all, the first included (default 3). */
  readonly maxAttempts?: number
  /** Stop when the next retry would start later than this after the first attempt (default: no cap). */
  readonly maxElapsedMs?: number
  /** Which typed failures to retry (default: all). */
  readonly retryOn?: (error: E) => boolean
  /** Honour a numeric `retryAfterMs` on the error (default true). */
  readonly honorRetryAfter?: boolean
  /** A shared retry budget (default: none). */
  readonly budget?: Budget
  /** Called before each retry sleeps. */
  readonly onRetry?: (info: RetryInfo) => Effect.Effect<void>
}

const M = "Retry"

interface Resolved<E> {
  readonly backoff: Backoff
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  readonly factor: number
  readonly jitter: Jitter
  readonly maxAttempts: number
  readonly maxElapsedMs: number
  readonly retryOn: ((error: E) => boolean) | undefined
  readonly honorRetryAfter: boolean
  readonly budget: Budget | undefined
  readonly onRetry: ((info: RetryInfo) => Effect.Effect<void>) | undefined
}

const resolve = <E>(o: Options<E>): Resolved<E> => {
  const factor = positiveNumber(M, "factor", o.factor ?? 2)
  if (factor < 1) throw new RangeError(`${M}: "factor" must be >= 1, got ${factor}. Pass factor >= 1.`)
  return {
    backoff: oneOf(M, "backoff", o.backoff ?? "exponential", [
      "exponential",
      "linear",
      "fixed",
      "immediate",
    ] as const),
    baseDelayMs: nonNegativeInt(M, "baseDelayMs", o.baseDelayMs ?? 100),
    maxDelayMs: nonNegativeInt(M, "maxDelayMs", o.maxDelayMs ?? 30_000),
    factor,
    jitter: oneOf(M, "jitter", o.jitter ?? "full", ["none", "full", "equal", "decorrelated"] as const),
    maxAttempts: positiveInt(M, "maxAttempts", o.maxAttempts ?? 3),
    maxElapsedMs:
      o.maxElapsedMs === undefined
        ? Number.POSITIVE_INFINITY
        : nonNegativeNumber(M, "maxElapsedMs", o.maxElapsedMs),
    retryOn: o.retryOn,
    honorRetryAfter: o.honorRetryAfter ?? true,
    budget: o.budget,
    onRetry: o.onRetry,
  }
}

/**
 * The un-jittered delay of retry `n` (1 = first retry), capped at `maxDelayMs`.
 *
 * @example
 * ```ts
 * Retry.baseDelay("exponential", 100, 2, 30_000, 3) // 400
 * ```
 */
export const baseDelay = (
  backoff: Backoff,
  baseDelayMs: number,
  factor: number,
  maxDelayMs: number,
  n: number,
): number => {
  const d =
    backoff === "exponential"
      ? baseDelayMs * factor ** (n - 1)
      : backoff === "linear"
        ? baseDelayMs * n
        : backoff === "fixed"
          ? baseDelayMs
          : 0
  return Math.min(d, maxDelayMs)
}

const retryAfterOf = (error: unknown): number => {
  if (typeof error === "object" && error !== null && "retryAfterMs" in error) {
    const r = (error as { retryAfterMs: unknown }).retryAfterMs
    if (typeof r === "number" && Number.isFinite(r) && r > 0) return r
  }
  return 0
}

/**
 * Retries `effect` on typed failures according to `options` (validated eagerly). Data-first, or data-last
 * for `pipe` (then annotate `retryOn`'s parameter, or get `unknown`).
 *
 * @example
 * ```ts
 * const a = Retry.retry(callDownstream, { retryOn: (e) => e._tag === "Unavailable" }) // e is typed from the effect
 * const b = callDownstream.pipe(Retry.retry({ backoff: "linear", baseDelayMs: 200, maxAttempts: 5, maxElapsedMs: 2_000 }))
 * ```
 */
export const retry: {
  <E = unknown>(
    options?: Options<E>,
  ): <A, E2 extends E, R>(effect: Effect.Effect<A, E2, R>) => Effect.Effect<A, E2, R>
  <A, E, R>(effect: Effect.Effect<A, E, R>, options?: Options<E>): Effect.Effect<A, E, R>
} = function (this: unknown, ...args: ReadonlyArray<unknown>): any {
  if (Effect.isEffect(args[0])) return retryWith(resolve((args[1] ?? {}) as Options<unknown>))(args[0])
  return retryWith(resolve((args[0] ?? {}) as Options<unknown>))
} as any

const retryWith =
  <E>(o: Resolved<E>) =>
  <A, E2 extends E, R>(effect: Effect.Effect<A, E2, R>): Effect.Effect<A, E2, R> =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      const random = yield* Random.Random
      const started = clock.currentTimeMillisUnsafe()
      o.budget?.depositUnsafe(started)
      let prev = o.baseDelayMs
      for (let attempt = 1; ; attempt++) {
        const exit = yield* Effect.exit(effect)
        if (Exit.isSuccess(exit)) return exit.value
        const found = Cause.findErrorOption(exit.cause)
        if (found._tag === "None" || Cause.hasDies(exit.cause) || Cause.hasInterrupts(exit.cause))
          return yield* exit
        const error = found.value
        if (attempt >= o.maxAttempts || (o.retryOn !== undefined && !o.retryOn(error))) return yield* exit
        let delay: number
        if (o.jitter === "decorrelated") {
          const hi = Math.max(o.baseDelayMs, prev * 3)
          delay = Math.min(o.maxDelayMs, o.baseDelayMs + random.nextDoubleUnsafe() * (hi - o.baseDelayMs))
          prev = delay
        } else {
          const d = baseDelay(o.backoff, o.baseDelayMs, o.factor, o.maxDelayMs, attempt)
          delay =
            o.jitter === "full"
              ? random.nextDoubleUnsafe() * d
              : o.jitter === "equal"
                ? d / 2 + (random.nextDoubleUnsafe() * d) / 2
                : d
        }
        delay = Math.floor(delay)
        if (o.honorRetryAfter) delay = Math.max(delay, Math.ceil(retryAfterOf(error)))
        const now = clock.currentTimeMillisUnsafe()
        if (now + delay - started > o.maxElapsedMs) return yield* exit
        if (o.budget !== undefined && !o.budget.withdrawUnsafe(now)) return yield* exit
        if (o.onRetry !== undefined) yield* o.onRetry({ attempt, delayMs: delay, error })
        if (delay > 0) yield* Effect.sleep(delay)
      }
    })

/**
 * Options of {@link makeBudget}.
 *
 * @example
 * ```ts
 * const budget = yield* Retry.makeBudget({ ratio: 0.2 } satisfies Retry.BudgetOptions)
 * ```
 */
export interface BudgetOptions {
  /** Retries allowed per call over the window (default 0.2, i.e. at most 20% extra load). */
  readonly ratio?: number
  /** A floor of retries per second allowed regardless of traffic (default 10). */
  readonly minRetriesPerSecond?: number
  /** The window over which calls and retries are counted, in ms (default 10,000; a multiple of 10). */
  readonly ttlMs?: number
}

/**
 * A retry budget shared by the callers of one dependency.
 *
 * @example
 * ```ts
 * const budget: Retry.Budget = yield* Retry.makeBudget({ ratio: 0.2 })
 * ```
 */
export interface Budget {
  /** Records a call (done by `retry` for each first attempt). */
  readonly depositUnsafe: (nowMs: number) => void
  /** Takes one retry if the budget allows it; returns whether it did. */
  readonly withdrawUnsafe: (nowMs: number) => boolean
  /** Retries currently available. */
  readonly available: Effect.Effect<number>
}

const BUCKETS = 10

/**
 * Makes a retry budget: over the last `ttlMs`, retries <= `ratio * calls + minRetriesPerSecond * ttlMs/1000`.
 * Check-and-withdraw is one synchronous step. Time comes from the `Clock` where it is made.
 *
 * @example
 * ```ts
 * const budget = yield* Retry.makeBudget({ ratio: 0.1, minRetriesPerSecond: 5 })
 * const call = downstream.pipe(Retry.retry({ maxAttempts: 5, budget }))
 * ```
 */
export const makeBudget = (options: BudgetOptions = {}): Effect.Effect<Budget> => {
  const ratio = nonNegativeNumber(M, "ratio", options.ratio ?? 0.2)
  const minPerSecond = nonNegativeNumber(M, "minRetriesPerSecond", options.minRetriesPerSecond ?? 10)
  const ttlMs = positiveInt(M, "ttlMs", options.ttlMs ?? 10_000)
  if (ttlMs % BUCKETS !== 0) {
    throw new RangeError(
      `${M}: "ttlMs" must be a multiple of ${BUCKETS}, got ${ttlMs}. Pass e.g. ttlMs: 10_000.`,
    )
  }
  const bucketMs = ttlMs / BUCKETS
  const floor = (minPerSecond * ttlMs) / 1000
  return Effect.clockWith((clock) =>
    Effect.sync(() => {
      const start = new Float64Array(BUCKETS).fill(Number.NEGATIVE_INFINITY)
      const calls = new Float64Array(BUCKETS)
      const retries = new Float64Array(BUCKETS)
      const slot = (now: number): number => {
        const b = Math.floor(now / bucketMs)
        const i = ((b % BUCKETS) + BUCKETS) % BUCKETS
        if (start[i] !== b * bucketMs) {
          start[i] = b * bucketMs
          calls[i] = 0
          retries[i] = 0
        }
        return i
      }
      const availableAt = (now: number): number => {
        let c = 0
        let r = 0
        for (let i = 0; i < BUCKETS; i++) {
          if (start[i] > now - ttlMs && start[i] <= now) {
            c += calls[i]
            r += retries[i]
          }
        }
        return Math.floor(ratio * c + floor - r)
      }
      return {
        depositUnsafe: (now) => {
          calls[slot(now)]++
        },
        withdrawUnsafe: (now) => {
          if (availableAt(now) < 1) return false
          retries[slot(now)]++
          return true
        },
        available: Effect.sync(() => Math.max(0, availableAt(clock.currentTimeMillisUnsafe()))),
      }
    }),
  )
}
