/**
 * Where a {@link RateLimiter} keeps its per-key state. The limiter talks only to this interface, so a Redis
 * or SQL store can replace the in-memory default without touching callers.
 *
 * ## The contract every store must honour (checked by `tests/suites/rateLimiterStore.ts`)
 *
 * - **Atomic**: one `decide` reads, decides and writes as one indivisible step; concurrent decisions for a
 *   key never both see the same pre-state (a remote store does it in one script/transaction).
 * - **All-or-none**: with several limits, a request is admitted only if every limit allows it, and then it
 *   is charged to all of them; a refused request is charged to none.
 * - **Exact**: decisions follow the algorithm definitions in `RateLimiter` to the millisecond.
 * - **Bounded**: at most `maxKeys` keys; idle keys (state equal to a fresh key's) may be forgotten at any time.
 *
 * The memory store (`memory`, the default) adds a synchronous `decideUnsafe` fast path: one clock read,
 * then a synchronous decide+write, atomic because JavaScript runs it on one thread.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as RateLimiterStore from "./RateLimiterStore.ts"
 *
 * const program = Effect.gen(function* () {
 *   const store = yield* RateLimiterStore.memory({
 *     limits: [{ algorithm: "fixed-window", limit: 2, windowMs: 1000, burst: 2 }],
 *     maxKeys: 10_000,
 *     overflow: "evict",
 *     epochMs: 0,
 *   })
 *   return yield* store.decide("k", 1, 0, true) // { allowed: true, remaining: 1, ... }
 * })
 * ```
 * @module
 */
import { Effect } from "effect"
import {
  type Band,
  type BandOut,
  FixedWindowBand,
  GcraBand,
  SlidingLogBand,
  SlidingWindowBand,
  TokenBucketBand,
} from "./internal/limiterBands.ts"
import { MemoryStoreState } from "./internal/memoryStore.ts"

/**
 * The rate-limiting algorithms.
 *
 * @example
 * ```ts
 * const algorithm: RateLimiterStore.Algorithm = "gcra"
 * ```
 */
export type Algorithm = "token-bucket" | "gcra" | "fixed-window" | "sliding-window" | "sliding-log"

/**
 * All algorithm names, for validation and iteration.
 *
 * @example
 * ```ts
 * for (const algorithm of RateLimiterStore.algorithms) console.log(algorithm)
 * ```
 */
export const algorithms: ReadonlyArray<Algorithm> = [
  "token-bucket",
  "gcra",
  "fixed-window",
  "sliding-window",
  "sliding-log",
]

/**
 * One fully resolved limit: `limit` units per `windowMs`, bursts up to `burst` (bucket algorithms).
 *
 * @example
 * ```ts
 * const limits: ReadonlyArray<RateLimiterStore.ResolvedLimit> = limiter.limits
 * ```
 */
export interface ResolvedLimit {
  readonly algorithm: Algorithm
  readonly limit: number
  readonly windowMs: number
  readonly burst: number
}

/**
 * The outcome of one decision.
 *
 * - `allowed`: whether the request was (or, for a peek, would be) admitted.
 * - `remaining`: whole units still available right after this decision (minimum over all limits).
 * - `resetAfterMs`: ms until every limit is back to full capacity if nothing else is consumed.
 * - `retryAfterMs`: 0 when allowed; otherwise ms until the same request would be allowed if nothing else
 *   is consumed meanwhile.
 *
 * @example
 * ```ts
 * const d: RateLimiterStore.Decision = yield* limiter.check("user:1")
 * if (!d.allowed) console.log(`retry in ${d.retryAfterMs} ms`)
 * ```
 */
export interface Decision {
  readonly allowed: boolean
  readonly remaining: number
  readonly resetAfterMs: number
  readonly retryAfterMs: number
}

/**
 * What a store is built from.
 *
 * @example
 * ```ts
 * const factory: RateLimiterStore.StoreFactory = (config: RateLimiterStore.StoreConfig) => RateLimiterStore.memory(config)
 * ```
 */
export interface StoreConfig {
  readonly limits: ReadonlyArray<ResolvedLimit>
  /** Most keys held at once. */
  readonly maxKeys: number
  /** At `maxKeys` with no idle key to reclaim: forget the least recently seen key, or refuse new keys. */
  readonly overflow: "evict" | "reject"
  /** A time origin in ms (the clock's time at construction); keeps scaled arithmetic small and exact. */
  readonly epochMs: number
}

/**
 * A rate-limiter state store. See the module doc for the contract.
 *
 * @example
 * ```ts
 * const limiter = yield* RateLimiter.make({ limit: 5, windowMs: 1000, store: RateLimiterStore.memory })
 * ```
 */
export interface RateLimiterStore {
  /** Decides a request of `cost` units for `key` at `nowMs`; charges it when allowed and `commit`. */
  readonly decide: (key: string, cost: number, nowMs: number, commit: boolean) => Effect.Effect<Decision>
  /** Synchronous form of `decide`, present only on stores that need no I/O. */
  readonly decideUnsafe: ((key: string, cost: number, nowMs: number, commit: boolean) => Decision) | undefined
  /** Forgets `key` (it starts fresh). */
  readonly reset: (key: string) => Effect.Effect<void>
  /** Keys currently held. */
  readonly size: Effect.Effect<number>
  /** Forgets every idle key as of `nowMs` and returns how many were forgotten. */
  readonly sweep: (nowMs: number) => Effect.Effect<number>
}

/**
 * Builds a store for one limiter.
 *
 * @example
 * ```ts
 * const store: RateLimiterStore.StoreFactory = RateLimiterStore.memory
 * ```
 */
export type StoreFactory = (config: StoreConfig) => Effect.Effect<RateLimiterStore>

const band = (l: ResolvedLimit, epochMs: number): Band => {
  switch (l.algorithm) {
    case "token-bucket":
      return new TokenBucketBand(l.limit, l.windowMs, l.burst, 0)
    case "gcra":
      return new GcraBand(l.limit, l.windowMs, l.burst, 0, epochMs)
    case "fixed-window":
      return new FixedWindowBand(l.limit, l.windowMs, 0)
    case "sliding-window":
      return new SlidingWindowBand(l.limit, l.windowMs, 0)
    case "sliding-log":
      return new SlidingLogBand(l.limit, l.windowMs, 0)
  }
}

/**
 * Makes the synchronous core of the memory store, for callers that hold no Effect runtime.
 *
 * @example
 * ```ts
 * const core = makeMemoryUnsafe({ limits: [{ algorithm: "gcra", limit: 5, windowMs: 1000, burst: 5 }], maxKeys: 100, overflow: "evict", epochMs: 0 })
 * core.decide("k", 1, 0, true) // { allowed: true, remaining: 4, resetAfterMs: 200, retryAfterMs: 0 }
 * ```
 */
export const makeMemoryUnsafe = (
  config: StoreConfig,
): RateLimiterStore & { readonly decideUnsafe: NonNullable<RateLimiterStore["decideUnsafe"]> } => {
  const state = new MemoryStoreState(
    config.limits.map((l) => band(l, config.epochMs)),
    config.maxKeys,
    config.overflow,
  )
  const out: BandOut = { remaining: 0, resetAfterMs: 0, retryAfterMs: 0 }
  const decideUnsafe = (key: string, cost: number, nowMs: number, commit: boolean): Decision => {
    const allowed = state.decide(key, cost, nowMs, commit, out)
    return {
      allowed,
      remaining: out.remaining,
      resetAfterMs: out.resetAfterMs,
      retryAfterMs: out.retryAfterMs,
    }
  }
  return {
    decide: (key, cost, nowMs, commit) => Effect.sync(() => decideUnsafe(key, cost, nowMs, commit)),
    decideUnsafe,
    reset: (key) => Effect.sync(() => state.reset(key)),
    size: Effect.sync(() => state.size),
    sweep: (nowMs) => Effect.sync(() => state.sweep(nowMs)),
  }
}

/**
 * The in-memory store (the default): a flat key→slot map over typed-array columns, bounded by `maxKeys`,
 * idle keys reclaimed incrementally on insertion (two slots inspected per new key) and fully by `sweep`.
 *
 * @example
 * ```ts
 * const limiter = yield* RateLimiter.make({ limit: 10, windowMs: 1000, store: RateLimiterStore.memory })
 * ```
 */
export const memory: StoreFactory = (config) => Effect.sync(() => makeMemoryUnsafe(config))
