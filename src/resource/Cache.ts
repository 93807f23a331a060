/**
 * A bounded in-memory cache with W-TinyLFU admission, TTL expiry, single-flight loading and
 * optional stale-while-revalidate.
 *
 * ## Guarantees
 *
 * - **Bounded**: never more than `maximumSize` entries and never more than `maximumWeight`
 *   total weight, checked after every write (an entry heavier than the whole budget is not
 *   stored). Backing arrays grow by doubling up to that bound and never beyond.
 * - **No expired reads**: every read compares the entry's deadline with the `Clock` (a
 *   `TestClock` in tests); an entry is expired at `writeTime + ttl` exactly. Expired entries
 *   are reclaimed lazily on access, during eviction, and by a clock-hand sweep of two slots per
 *   write; there is no timer per entry. `evictExpired` sweeps everything at once.
 * - **Eviction policy (W-TinyLFU)**: new entries enter a small LRU window (1% of the budget);
 *   window overflow competes for the main segmented LRU (probation + protected, protected at
 *   most 80% of main) against the main region's least recent entry, and the one with the higher
 *   estimated frequency in a count-min sketch (4 counters per key, halved every 10×capacity
 *   increments) stays. This keeps frequently used keys through scans and one-hit bursts, which
 *   is where plain LRU loses. Caveat: a brand-new key can be rejected by admission (its
 *   frequency is low); it will be admitted once requested often enough.
 * - **Single flight**: `getOrCompute` runs at most one load per key at a time however many
 *   fibers ask; the others wait for its result. If the leading caller is interrupted, one
 *   waiter takes over the load. A failed load is not cached unless `failureTtl` is set. A write
 *   or invalidation of the key during a load wins: the load's result is returned to its callers
 *   but not stored.
 * - **Atomicity**: all state changes happen in synchronous sections; no check-then-act spans
 *   an `await`.
 *
 * ## Using the synchronous fast path
 *
 * `getUnsafe`/`setUnsafe`/`deleteUnsafe` run without building an `Effect` (they read
 * `clock.currentTimeMillisUnsafe()` of the Clock captured at `make`). The `Effect` methods wrap
 * them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Cache from "./Cache.ts"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function* () {
 *     const cache = yield* Cache.make<string, number>({ maximumSize: 10_000, ttl: "1 minute" })
 *     const n = yield* cache.getOrCompute("answer", Effect.succeed(42))
 *     return n // 42; later calls within a minute do not recompute
 *   }),
 * )
 * ```
 * @module
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TelemetryMetrics from "../telemetry/Metrics.ts"
import { integerAtLeast, optionalMillis } from "./internal/options.ts"
import { NIL, TinyLfu } from "./internal/tinyLfu.ts"

/**
 * Options of `Cache.make`. At least one of `maximumSize` / `maximumWeight` is required.
 *
 * @example
 * ```ts
 * const options: Cache.Options<string, Uint8Array> = {
 *   maximumWeight: 64 * 1024 * 1024,
 *   weigher: (_key, bytes) => Math.max(1, bytes.byteLength),
 *   ttl: "10 minutes",
 * }
 * ```
 */
export interface Options<K, V> {
  /** Maximum number of entries (integer >= 1). Default: unbounded by count (then `maximumWeight` is required). */
  readonly maximumSize?: number
  /** Maximum total weight (integer >= 1); requires `weigher` unless every entry weighs 1. Default: none. */
  readonly maximumWeight?: number
  /** Weight of an entry, an integer >= 1 (e.g. estimated bytes). Default: every entry weighs 1. */
  readonly weigher?: (key: K, value: V) => number
  /** Default time to live of an entry, from its write. Default: none (entries leave only by eviction). */
  readonly ttl?: Duration.Input
  /**
   * Grace after the TTL during which `getOrCompute` returns the stale value at once and reloads
   * it in the background (one reload per key). `get` never returns stale values. Default: none.
   */
  readonly staleWhileRevalidate?: Duration.Input
  /** When set, a failed `getOrCompute` load is cached for this long and replayed. Default: failures are not cached. */
  readonly failureTtl?: Duration.Input
}

/**
 * Counters since creation.
 *
 * @example
 * ```ts
 * const { hits, misses } = cache.statsUnsafe()
 * ```
 */
export interface Stats {
  readonly hits: number
  readonly misses: number
  /** Successful `getOrCompute` loads. */
  readonly loads: number
  readonly loadFailures: number
  /** Entries removed by the size/weight bound. */
  readonly evictions: number
  readonly expirations: number
  readonly size: number
  readonly weight: number
  /** hits / (hits + misses), 0 when no read yet. */
  readonly hitRatio: number
}

/**
 * Per-write options.
 *
 * @example
 * ```ts
 * yield* cache.set("k", 1, { ttl: "5 seconds" })
 * ```
 */
export interface WriteOptions {
  /** Overrides the cache's default `ttl` for this entry. */
  readonly ttl?: Duration.Input
}

/**
 * A bounded cache. See the module documentation for guarantees.
 *
 * @example
 * ```ts
 * const cache = yield* Cache.make<string, string>({ maximumSize: 1000 })
 * cache.setUnsafe("a", "x")
 * cache.getUnsafe("a") // "x"
 * ```
 */
export interface Cache<K, V> {
  /** The value if present and fresh (records a hit or a miss). Synchronous. */
  getUnsafe(key: K): V | undefined
  /** Inserts or replaces. Returns false if the entry alone exceeds `maximumWeight` (not stored). Synchronous. */
  setUnsafe(key: K, value: V, ttl?: Duration.Input): boolean
  /** Removes `key`; returns whether it was present. Synchronous. */
  deleteUnsafe(key: K): boolean
  /** Whether `key` is present and fresh, without recording an access. Synchronous. */
  hasUnsafe(key: K): boolean
  /** `getUnsafe` as an Effect. */
  get(key: K): Effect.Effect<Option.Option<V>>
  /** `setUnsafe` as an Effect. */
  set(key: K, value: V, options?: WriteOptions): Effect.Effect<boolean>
  /** Removes `key` (and makes an in-flight load of it not store its result). */
  invalidate(key: K): Effect.Effect<boolean>
  /** Removes every entry. */
  readonly invalidateAll: Effect.Effect<void>
  /**
   * The cached value, or the result of `load`, stored with `options.ttl` (default: the cache's).
   * Single flight per key; see the module documentation.
   */
  getOrCompute<E, R>(key: K, load: Effect.Effect<V, E, R>, options?: WriteOptions): Effect.Effect<V, E, R>
  /** Removes every expired entry now; returns how many. */
  readonly evictExpired: Effect.Effect<number>
  /** Counters as an Effect. */
  readonly stats: Effect.Effect<Stats>
  /** Counters, synchronously. */
  statsUnsafe(): Stats
  /** Number of entries (including expired ones not yet reclaimed). */
  readonly size: number
  /** Total weight of the entries. */
  readonly weight: number
}

/** A failed load kept under `failureTtl`. */
class FailedLoad {
  readonly cause: Cause.Cause<unknown>
  constructor(cause: Cause.Cause<unknown>) {
    this.cause = cause
  }
}

/** Marks a flight whose leader was interrupted: waiters retry. */
const RETRY: unique symbol = Symbol("Cache/retry")

interface Flight {
  readonly deferred: Deferred.Deferred<unknown, unknown>
  discard: boolean
}

class CacheImpl<K, V> implements Cache<K, V> {
  readonly core: TinyLfu<K, V | FailedLoad>
  private readonly inflight = new Map<K, Flight>()
  private loads = 0
  private loadFailures = 0
  private readonly ttlMs: number
  private readonly graceMs: number
  private readonly failureTtlMs: number | undefined
  private readonly clock: Clock.Clock
  private readonly scope: Scope.Scope
  /** troupe_cache_hits_total / _misses_total / _evictions_total, bound once (synchronous updates). */
  private readonly m: {
    readonly hits: { readonly add: (n: number) => void }
    readonly misses: { readonly add: (n: number) => void }
  }

  // no parameter properties: Node's type stripping rejects them
  constructor(
    options: Options<K, V>,
    clock: Clock.Clock,
    scope: Scope.Scope,
    context: Context.Context<never> = Context.empty() as Context.Context<never>,
  ) {
    this.clock = clock
    this.scope = scope
    this.m = {
      hits: TelemetryMetrics.batched(TelemetryMetrics.bindUnsafe(TelemetryMetrics.cacheHits, context)),
      misses: TelemetryMetrics.batched(TelemetryMetrics.bindUnsafe(TelemetryMetrics.cacheMisses, context)),
    }
    const evictions = TelemetryMetrics.bindUnsafe(TelemetryMetrics.cacheEvictions, context)
    const maximumSize =
      options.maximumSize === undefined
        ? Infinity
        : integerAtLeast("Cache", "maximumSize", options.maximumSize, 1)
    const maximumWeight =
      options.maximumWeight === undefined
        ? Infinity
        : integerAtLeast("Cache", "maximumWeight", options.maximumWeight, 1)
    if (maximumSize === Infinity && maximumWeight === Infinity) {
      throw new RangeError(
        'Cache: "maximumSize" or "maximumWeight" is required (every cache is bounded). Pass e.g. maximumSize: 10_000.',
      )
    }
    if (options.weigher !== undefined && typeof options.weigher !== "function") {
      throw new RangeError('Cache: "weigher" must be a function (key, value) => integer >= 1.')
    }
    if (options.weigher !== undefined && maximumWeight === Infinity) {
      throw new RangeError(
        'Cache: "weigher" needs "maximumWeight" to bound the total weight. Pass maximumWeight.',
      )
    }
    this.ttlMs = optionalMillis("Cache", "ttl", options.ttl) ?? Infinity
    this.graceMs = optionalMillis("Cache", "staleWhileRevalidate", options.staleWhileRevalidate) ?? 0
    if (this.graceMs > 0 && this.ttlMs === Infinity) {
      throw new RangeError(
        'Cache: "staleWhileRevalidate" needs a "ttl" (nothing goes stale without one). Pass ttl.',
      )
    }
    this.failureTtlMs = optionalMillis("Cache", "failureTtl", options.failureTtl)
    const weigher = options.weigher
    this.core = new TinyLfu<K, V | FailedLoad>({
      maximumSize,
      maximumWeight,
      weigher:
        weigher === undefined
          ? undefined
          : (k: K, v: V | FailedLoad) => (v instanceof FailedLoad ? 1 : weigher(k, v)),
      now: () => clock.currentTimeMillisUnsafe(),
    })
    this.core.onEvict = () => evictions.update(1)
  }

  get size(): number {
    return this.core.count
  }

  get weight(): number {
    return this.core.totalWeight
  }

  getUnsafe(key: K): V | undefined {
    const v = this.core.get(key)
    if (this.failureTtlMs !== undefined && v instanceof FailedLoad) {
      this.core.hits--
      this.core.misses++
      this.m.misses.add(1)
      return undefined
    }
    ;(v === undefined ? this.m.misses : this.m.hits).add(1)
    return v as V | undefined
  }

  setUnsafe(key: K, value: V, ttl?: Duration.Input): boolean {
    if (this.inflight.size > 0) this.discardFlight(key)
    const ttlMs = ttl === undefined ? this.ttlMs : (optionalMillis("Cache", "ttl", ttl) as number)
    return this.core.set(key, value, ttlMs, ttlMs === Infinity ? 0 : this.graceMs)
  }

  deleteUnsafe(key: K): boolean {
    if (this.inflight.size > 0) this.discardFlight(key)
    return this.core.delete(key)
  }

  hasUnsafe(key: K): boolean {
    const i = this.core.find(key, this.clock.currentTimeMillisUnsafe())
    return (
      i !== NIL &&
      !(this.core.values[i] instanceof FailedLoad) &&
      this.clock.currentTimeMillisUnsafe() < this.core.staleAt[i]
    )
  }

  get(key: K): Effect.Effect<Option.Option<V>> {
    return Effect.sync(() => {
      const core = this.core
      const now = this.clock.currentTimeMillisUnsafe()
      const i = core.find(key, now)
      if (i === NIL || now >= core.staleAt[i] || core.values[i] instanceof FailedLoad) {
        core.misses++
        this.m.misses.add(1)
        return Option.none()
      }
      core.hits++
      this.m.hits.add(1)
      core.touch(i)
      return Option.some(core.values[i] as V)
    })
  }

  set(key: K, value: V, options?: WriteOptions): Effect.Effect<boolean> {
    return Effect.sync(() => this.setUnsafe(key, value, options?.ttl))
  }

  invalidate(key: K): Effect.Effect<boolean> {
    return Effect.sync(() => this.deleteUnsafe(key))
  }

  get invalidateAll(): Effect.Effect<void> {
    return Effect.sync(() => {
      for (const flight of this.inflight.values()) flight.discard = true
      this.core.clear()
    })
  }

  get evictExpired(): Effect.Effect<number> {
    return Effect.sync(() => this.core.sweepAll(this.clock.currentTimeMillisUnsafe()))
  }

  get stats(): Effect.Effect<Stats> {
    return Effect.sync(() => this.statsUnsafe())
  }

  statsUnsafe(): Stats {
    const { hits, misses } = this.core
    return {
      hits,
      misses,
      loads: this.loads,
      loadFailures: this.loadFailures,
      evictions: this.core.evictions,
      expirations: this.core.expirations,
      size: this.core.count,
      weight: this.core.totalWeight,
      hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
    }
  }

  getOrCompute<E, R>(key: K, load: Effect.Effect<V, E, R>, options?: WriteOptions): Effect.Effect<V, E, R> {
    // The decision (hit / join a flight / lead a flight) and the installation of the leader's
    // exit handler happen in one uninterruptible step; only the load and the wait are
    // interruptible. So a registered flight always completes.
    return Effect.uninterruptibleMask((restore) =>
      Effect.suspend((): Effect.Effect<V, E, R> => {
        const core = this.core
        const now = this.clock.currentTimeMillisUnsafe()
        const i = core.find(key, now)
        if (i !== NIL) {
          const value = core.values[i]
          core.hits++
          this.m.hits.add(1)
          core.touch(i)
          if (value instanceof FailedLoad) return Effect.failCause(value.cause as Cause.Cause<E>)
          if (now < core.staleAt[i] || this.inflight.has(key)) return Effect.succeed(value as V)
          // stale but within the revalidation grace: serve it, refresh once in the background
          return Effect.as(this.refreshInBackground(key, load, options), value as V)
        }
        core.misses++
        this.m.misses.add(1)
        const flight = this.inflight.get(key)
        if (flight !== undefined) {
          return Effect.flatMap(restore(Deferred.await(flight.deferred)), (result) =>
            result === RETRY ? this.getOrCompute(key, load, options) : Effect.succeed(result as V),
          ) as Effect.Effect<V, E, R>
        }
        return this.lead(key, this.openFlight(key), restore(load), options)
      }),
    )
  }

  /** Registers a flight for `key`; called in the same synchronous section as the miss. */
  private openFlight(key: K): Flight {
    const flight: Flight = { deferred: Deferred.makeUnsafe<unknown, unknown>(), discard: false }
    this.inflight.set(key, flight)
    return flight
  }

  /** Runs `load` as the leader of `flight`, landing it however the load ends. */
  private lead<E, R>(
    key: K,
    flight: Flight,
    load: Effect.Effect<V, E, R>,
    options: WriteOptions | undefined,
  ): Effect.Effect<V, E, R> {
    return Effect.onExit(load, (exit) => Effect.sync(() => this.land(key, flight, exit, options)))
  }

  /** Completes a flight: store the result (unless discarded) and wake the waiters. */
  private land(key: K, flight: Flight, exit: Exit.Exit<V, unknown>, options: WriteOptions | undefined): void {
    if (Deferred.isDoneUnsafe(flight.deferred)) return
    if (this.inflight.get(key) === flight) this.inflight.delete(key)
    if (Exit.isSuccess(exit)) {
      this.loads++
      if (!flight.discard) this.storeLoaded(key, exit.value, options)
      Deferred.doneUnsafe(flight.deferred, exit)
    } else if (Cause.hasInterruptsOnly(exit.cause)) {
      Deferred.doneUnsafe(flight.deferred, Exit.succeed(RETRY))
    } else {
      this.loadFailures++
      if (this.failureTtlMs !== undefined && !flight.discard) {
        this.core.set(key, new FailedLoad(exit.cause), this.failureTtlMs, 0)
      } else if (!flight.discard) {
        this.core.delete(key) // drop a stale value whose refresh failed
      }
      Deferred.doneUnsafe(flight.deferred, exit)
    }
  }

  /**
   * Forks a refresh into the cache's scope. The flight is registered now; if the fiber ends
   * without running its exit handler (interrupted before it started, when the scope closes),
   * the fiber observer lands the flight so that no waiter hangs.
   */
  private refreshInBackground<E, R>(
    key: K,
    load: Effect.Effect<V, E, R>,
    options: WriteOptions | undefined,
  ): Effect.Effect<void, never, R> {
    const flight = this.openFlight(key)
    const run = this.lead(key, flight, load, options)
    return Effect.flatMap(Effect.forkIn(Effect.ignore(run), this.scope), (fiber) =>
      Effect.sync(() => {
        fiber.addObserver(() => this.land(key, flight, Exit.interrupt() as Exit.Exit<V, unknown>, options))
      }),
    )
  }

  private storeLoaded(key: K, value: V, options: WriteOptions | undefined): void {
    const ttlMs =
      options?.ttl === undefined ? this.ttlMs : (optionalMillis("Cache", "ttl", options.ttl) as number)
    this.core.set(key, value, ttlMs, ttlMs === Infinity ? 0 : this.graceMs)
  }

  private discardFlight(key: K): void {
    const flight = this.inflight.get(key)
    if (flight !== undefined) flight.discard = true
  }
}

/**
 * Creates a cache. Time comes from the `Clock` service (a `TestClock` in tests). The scope owns
 * background refreshes (stale-while-revalidate): they are interrupted and the cache is cleared
 * when it closes. Invalid options are a defect (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * const cache = yield* Cache.make<string, User>({ maximumSize: 50_000, ttl: "30 seconds", staleWhileRevalidate: "10 seconds" })
 * const user = yield* cache.getOrCompute(id, fetchUser(id))
 * ```
 */
export const make = <K, V>(options: Options<K, V>): Effect.Effect<Cache<K, V>, never, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) =>
    Clock.clockWith((clock) =>
      Effect.withFiber((fiber) => {
        const cache = new CacheImpl<K, V>(options, clock, scope, fiber.context as Context.Context<never>)
        return Effect.as(
          Scope.addFinalizer(
            scope,
            Effect.sync(() => cache.core.clear()),
          ),
          cache as Cache<K, V>,
        )
      }),
    ),
  )

/**
 * Synchronous constructor for code outside Effect (and benchmarks): `clock` defaults to the
 * system clock and background refreshes run in `scope` (default: a fresh scope never closed;
 * pass your own to own them).
 *
 * @example
 * ```ts
 * const cache = Cache.makeUnsafe<string, number>({ maximumSize: 100 })
 * cache.setUnsafe("a", 1)
 * ```
 */
export const makeUnsafe = <K, V>(
  options: Options<K, V>,
  runtime?: { readonly clock?: Clock.Clock; readonly scope?: Scope.Scope },
): Cache<K, V> =>
  new CacheImpl<K, V>(
    options,
    runtime?.clock ?? (Effect.runSync(Clock.clockWith(Effect.succeed)) as Clock.Clock),
    runtime?.scope ?? Scope.makeUnsafe(),
  )
