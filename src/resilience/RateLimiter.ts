/**
 * Per-key rate limiting with five algorithms, atomic multi-limits and a bounded key space.
 *
 * ## Algorithms (`limit` units per `windowMs`)
 *
 * - `"token-bucket"` (default): a bucket of `burst` tokens (default `limit`) refilled continuously at
 *   `limit / windowMs`. Smooth; allows bursts up to `burst`.
 * - `"gcra"`: the generic cell rate algorithm; same admissions as the token bucket, one number per key.
 * - `"fixed-window"`: at most `limit` per aligned window `[k*windowMs, (k+1)*windowMs)`. Cheapest; allows up
 *   to `2*limit` across a window boundary.
 * - `"sliding-window"`: weighted counter, `previous * (windowMs - elapsed) / windowMs + current <= limit`.
 *   An approximation of a true sliding window with two numbers per key.
 * - `"sliding-log"`: exact sliding window: at most `limit` units in any interval of `windowMs`; keeps one
 *   timestamp per admitted unit (`8 * limit` bytes per active key).
 *
 * ## Guarantees
 *
 * - **Atomic**: each decision is one read-decide-write step in the store (no check-then-act across an
 *   await). Concurrent callers can never together exceed a limit.
 * - **Multi-limits are all-or-none**: `limits: [{ limit: 10, windowMs: 1000 }, { limit: 1000, windowMs: 3_600_000 }]`
 *   admits a request only when every limit allows it and then charges all of them.
 * - **Bounded**: at most `maxKeys` keys (default 100,000). Idle keys (whose state equals a fresh key's, so
 *   forgetting them changes no decision) are reclaimed as new keys arrive and by `sweep`; no timer per key.
 *   Overflow with no idle key: `"evict"` (default) forgets the least recently seen of a 64-key sample, which
 *   lets that key start fresh; `"reject"` refuses requests for new keys until one goes idle.
 * - **Time** comes from the Effect `Clock` of the context where the limiter was made (so `TestClock` in
 *   tests), read once per decision, when the decision's effect runs, in whole milliseconds.
 * - **Cost** (memory store): `check`, `peek` and `consume` are one primitive each, without a closure; under
 *   `yield*` in `Effect.gen` the decision is made inline, with no interpreter step.
 *
 * ## Caveats
 *
 * - A request whose `cost` exceeds a limit's capacity (`burst`, or `limit` for window algorithms) can never
 *   be admitted; it is misuse and dies with a `RangeError`.
 * - Decisions are exact integer arithmetic; GCRA stays exact while `(now - start) * limit / gcd(limit,
 *   windowMs)` stays below 2^53 ms (centuries for usual settings).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as RateLimiter from "./RateLimiter.ts"
 *
 * const program = Effect.gen(function* () {
 *   const limiter = yield* RateLimiter.make({ limits: [{ limit: 10, windowMs: 1000 }, { limit: 1000, windowMs: 3_600_000 }] })
 *   const d = yield* limiter.check("user:42")          // { allowed, remaining, resetAfterMs, retryAfterMs }
 *   yield* limiter.consume("user:42")                   // fails with RateLimited { retryAfterMs } when over
 *   return yield* callApi.pipe(RateLimiter.withRateLimit(limiter, "user:42"))
 * })
 * ```
 * @module
 */
import { Clock, Effect, Effectable, Exit, type Scope } from "effect"
import * as TelemetryMetrics from "../telemetry/Metrics.ts"
import { oneOf, positiveInt } from "./internal/validate.ts"
import {
  type Algorithm,
  algorithms,
  type Decision,
  memory,
  type RateLimiterStore,
  type ResolvedLimit,
  type StoreFactory,
} from "./RateLimiterStore.ts"
import { RateLimited } from "./ResilienceError.ts"

export type { Algorithm, Decision, RateLimiterStore, StoreFactory } from "./RateLimiterStore.ts"

/**
 * One limit: `limit` units per `windowMs` with `algorithm` (default `"token-bucket"`).
 *
 * @example
 * ```ts
 * const perSecond: RateLimiter.Limit = { limit: 10, windowMs: 1000, algorithm: "tokenBucket" }
 * ```
 */
export interface Limit {
  readonly algorithm?: Algorithm
  /** Units admitted per window (positive integer). */
  readonly limit: number
  /** Window length in ms (positive integer). */
  readonly windowMs: number
  /** Bucket capacity for `"token-bucket"` and `"gcra"` (positive integer, default `limit`). */
  readonly burst?: number
}

/**
 * Options of {@link make}. Either one limit inline (`limit`, `windowMs`, ...) or several in `limits`.
 *
 * @example
 * ```ts
 * const options: RateLimiter.Options = { limits: [{ limit: 10, windowMs: 1000 }, { limit: 1000, windowMs: 3_600_000 }] }
 * ```
 */
export interface Options extends Partial<Limit> {
  /** Several limits enforced together, all-or-none. */
  readonly limits?: ReadonlyArray<Limit>
  /** Name shown in errors (default `"rate-limiter"`). */
  readonly name?: string
  /** Most keys held at once (default 100,000). */
  readonly maxKeys?: number
  /** Policy at `maxKeys` with no idle key: `"evict"` (default) or `"reject"`. */
  readonly overflow?: "evict" | "reject"
  /** State store (default {@link RateLimiterStore.memory}). */
  readonly store?: StoreFactory
}

/**
 * A per-key rate limiter.
 *
 * @example
 * ```ts
 * const limiter: RateLimiter.RateLimiter = yield* RateLimiter.make({ limit: 5, windowMs: 1000 })
 * ```
 */
export interface RateLimiter {
  readonly name: string
  readonly limits: ReadonlyArray<ResolvedLimit>
  /** Human-readable policy, e.g. `"10 per 1000 ms (token-bucket)"`. */
  readonly policy: string
  /** Takes `cost` units (default 1) for `key` when allowed and reports the decision; never fails. */
  readonly check: (key: string, cost?: number) => Effect.Effect<Decision>
  /** Like `check` but fails with `RateLimited` (carrying `retryAfterMs`) when refused. */
  readonly consume: (key: string, cost?: number) => Effect.Effect<Decision, RateLimited>
  /** Reports what `check` would decide, without taking anything. */
  readonly peek: (key: string, cost?: number) => Effect.Effect<Decision>
  /** Forgets `key`: it starts fresh. */
  readonly reset: (key: string) => Effect.Effect<void>
  /** Keys currently held. */
  readonly size: Effect.Effect<number>
  /** Forgets all idle keys now (and compacts memory); returns how many were forgotten. */
  readonly sweep: Effect.Effect<number>
  /**
   * Synchronous `check` (memory store only, else `undefined`): one clock read, then decide+write.
   * Throws `RangeError` on an invalid cost.
   */
  readonly checkUnsafe: ((key: string, cost?: number) => Decision) | undefined
}

const M = "RateLimiter"

const resolve = (l: Limit, where: string): ResolvedLimit => {
  const algorithm = oneOf(M, `${where}algorithm`, l.algorithm ?? "token-bucket", algorithms)
  const limit = positiveInt(M, `${where}limit`, l.limit)
  const windowMs = positiveInt(M, `${where}windowMs`, l.windowMs)
  const burst = positiveInt(M, `${where}burst`, l.burst ?? limit)
  if (burst !== limit && algorithm !== "token-bucket" && algorithm !== "gcra") {
    throw new RangeError(
      `${M}: "${where}burst" applies to "token-bucket" and "gcra" only, got burst ${burst} with "${algorithm}". Remove "burst" or change "algorithm".`,
    )
  }
  return { algorithm, limit, windowMs, burst }
}

/**
 * Validates options and resolves the limits (throws `RangeError` naming the bad option).
 *
 * @example
 * ```ts
 * RateLimiter.resolveOptions({ limit: 5, windowMs: 1000 }) // [{ algorithm: "token-bucket", limit: 5, windowMs: 1000, burst: 5 }]
 * ```
 */
export const resolveOptions = (options: Options): ReadonlyArray<ResolvedLimit> => {
  if (options.limits !== undefined) {
    if (options.limits.length === 0) {
      throw new RangeError(
        `${M}: "limits" must hold at least one limit, got []. Pass limits: [{ limit, windowMs }].`,
      )
    }
    return options.limits.map((l, i) => resolve(l, `limits[${i}].`))
  }
  return [resolve(options as Limit, "")]
}

const capacityOf = (l: ResolvedLimit): number =>
  l.algorithm === "token-bucket" || l.algorithm === "gcra" ? l.burst : l.limit

const costError = (name: string, cost: number, max: number): RangeError =>
  new RangeError(
    `${M} "${name}": "cost" must be an integer in [0, ${max}] (the smallest capacity of its limits), got ${cost}. Split the request or raise "limit"/"burst".`,
  )

const CHECK = 0
const PEEK = 1
const CONSUME = 2
type Mode = typeof CHECK | typeof PEEK | typeof CONSUME

/** What a synchronous decision needs from its limiter (memory store). */
interface SyncCore {
  readonly decide: (key: string, cost: number, nowMs: number, commit: boolean) => Decision
  readonly now: () => number
  readonly policy: string
}

const refusal = (key: string, policy: string, d: Decision): Exit.Exit<never, RateLimited> =>
  Exit.fail(new RateLimited({ key, policy, retryAfterMs: d.retryAfterMs }))

/**
 * One `check`, `peek` or `consume` on a synchronous store, as one primitive (no closure). The clock is read
 * and the decision made when the effect runs. `evaluate` serves combinators; `yield*` in `Effect.gen` goes
 * through {@link DecideIterator}, which decides inline, without an interpreter step.
 */
interface Decide extends Effect.Effect<Decision, RateLimited> {
  readonly core: SyncCore
  readonly key: string
  readonly cost: number
  readonly mode: Mode
}

const decideNow = (c: Decide): Decision => c.core.decide(c.key, c.cost, c.core.now(), c.mode !== PEEK)

const decideProto = Effectable.Prototype<Decide>({
  label: "RateLimiter.decide",
  evaluate() {
    const d = decideNow(this)
    return this.mode === CONSUME && !d.allowed ? refusal(this.key, this.core.policy, d) : Exit.succeed(d)
  },
})

/**
 * `yield*` of a decision: the first `next` runs when the generator reaches it, decides, and hands the
 * decision straight back; a refused `consume` yields its `RateLimited` failure instead.
 */
class DecideIterator {
  value: unknown
  done = false
  constructor(call: Decide) {
    this.value = call
  }
  next(a: unknown): IteratorResult<unknown, unknown> {
    if (this.done) {
      this.value = a
      return this as IteratorReturnResult<unknown>
    }
    this.done = true
    const c = this.value as Decide
    const d = decideNow(c)
    if (c.mode === CONSUME && !d.allowed) return { value: refusal(c.key, c.core.policy, d), done: false }
    this.value = d
    return this as IteratorReturnResult<unknown>
  }
}
;(decideProto as any)[Symbol.iterator] = function (this: Decide) {
  return new DecideIterator(this)
}

const DecideImpl = function (
  this: { core: SyncCore; key: string; cost: number; mode: Mode },
  core: SyncCore,
  key: string,
  cost: number,
  mode: Mode,
) {
  this.core = core
  this.key = key
  this.cost = cost
  this.mode = mode
} as unknown as new (
  core: SyncCore,
  key: string,
  cost: number,
  mode: Mode,
) => Decide
DecideImpl.prototype = decideProto

/**
 * Makes a rate limiter. Validates options eagerly (throws `RangeError` naming the option).
 *
 * @example
 * ```ts
 * const limiter = yield* RateLimiter.make({ algorithm: "sliding-log", limit: 100, windowMs: 60_000, maxKeys: 50_000 })
 * ```
 */
export const make = (options: Options): Effect.Effect<RateLimiter> => {
  const limits = resolveOptions(options)
  const name = options.name ?? "rate-limiter"
  const maxKeys = positiveInt(M, "maxKeys", options.maxKeys ?? 100_000)
  const overflow = oneOf(M, "overflow", options.overflow ?? "evict", ["evict", "reject"] as const)
  const factory = options.store ?? memory
  const maxCost = Math.min(...limits.map(capacityOf))
  const policy = limits.map((l) => `${l.limit} per ${l.windowMs} ms (${l.algorithm})`).join(" and ")
  return Effect.gen(function* () {
    const clock = yield* Clock.Clock
    // The live clock's reading is `Date.now()`, whole ms already: call that directly, without the service's
    // method dispatch or a `Math.floor`. Any other clock (a `TestClock`, a custom one) is read through the service.
    const now: () => number =
      clock.currentTimeMillisUnsafe === Clock.Clock.defaultValue().currentTimeMillisUnsafe
        ? () => Date.now()
        : () => Math.floor(clock.currentTimeMillisUnsafe())
    const store: RateLimiterStore = yield* factory({ limits, maxKeys, overflow, epochMs: now() })
    const badCost = (cost: number): boolean => !(Number.isInteger(cost) && cost >= 0 && cost <= maxCost)
    // every committed decision (check/consume, not peek) counts in troupe_limiter_decisions_total{decision}
    const context = yield* Effect.context<never>()
    const allowed = TelemetryMetrics.batched(
      TelemetryMetrics.bindUnsafe(TelemetryMetrics.limiterDecisions.allowed, context),
    )
    const denied = TelemetryMetrics.batched(
      TelemetryMetrics.bindUnsafe(TelemetryMetrics.limiterDecisions.denied, context),
    )
    const count = (d: Decision): Decision => {
      ;(d.allowed ? allowed : denied).add(1)
      return d
    }
    const storeSync = store.decideUnsafe
    const sync: typeof storeSync =
      storeSync === undefined
        ? undefined
        : (key, cost, t, commit) =>
            commit ? count(storeSync(key, cost, t, commit)) : storeSync(key, cost, t, commit)
    const core: SyncCore | undefined = sync === undefined ? undefined : { decide: sync, now, policy }
    const decide = (key: string, cost: number, mode: Mode): Effect.Effect<Decision, RateLimited> => {
      if (badCost(cost)) return Effect.die(costError(name, cost, maxCost))
      if (core !== undefined) return new DecideImpl(core, key, cost, mode)
      const decision = Effect.suspend(() =>
        mode === PEEK
          ? store.decide(key, cost, now(), false)
          : Effect.map(store.decide(key, cost, now(), true), count),
      )
      return mode === CONSUME
        ? Effect.flatMap(decision, (d) => (d.allowed ? Effect.succeed(d) : refusal(key, policy, d)))
        : decision
    }
    const limiter: RateLimiter = {
      name,
      limits,
      policy,
      check: (key, cost = 1) => decide(key, cost, CHECK) as Effect.Effect<Decision>,
      peek: (key, cost = 1) => decide(key, cost, PEEK) as Effect.Effect<Decision>,
      consume: (key, cost = 1) => decide(key, cost, CONSUME),
      reset: (key) => store.reset(key),
      size: store.size,
      sweep: Effect.suspend(() => store.sweep(now())),
      checkUnsafe:
        sync === undefined
          ? undefined
          : (key, cost = 1) => {
              if (cost !== 1 && badCost(cost)) throw costError(name, cost, maxCost)
              return sync(key, cost, now(), true)
            },
    }
    return limiter
  })
}

/**
 * Runs `effect` only if `key` may take `cost` units (default 1) from `limiter`; otherwise fails with
 * `RateLimited` without running it. Pipeable.
 *
 * @example
 * ```ts
 * const guarded = fetchQuote(symbol).pipe(RateLimiter.withRateLimit(limiter, `user:${userId}`))
 * ```
 */
export const withRateLimit =
  (limiter: RateLimiter, key: string, cost = 1) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | RateLimited, R> =>
    Effect.flatMap(limiter.consume(key, cost), () => effect)

/**
 * Sweeps `limiter` every `everyMs` for the lifetime of the enclosing scope: one fiber per limiter, never one
 * timer per key. Optional; without it idle keys are still reclaimed as new keys arrive.
 *
 * @example
 * ```ts
 * yield* RateLimiter.sweepEvery(limiter, 60_000) // inside Effect.scoped or a Layer
 * ```
 */
export const sweepEvery = (
  limiter: RateLimiter,
  everyMs: number,
): Effect.Effect<void, never, Scope.Scope> => {
  positiveInt(M, "everyMs", everyMs)
  return Effect.asVoid(
    Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(everyMs), limiter.sweep))),
  )
}
