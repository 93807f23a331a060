/**
 * `protect`: one call through every resilience layer, in one documented order.
 *
 * ## Order (outermost first)
 *
 * ```
 * retry ( rate limit → circuit breaker → bulkhead → timeout ( effect ) )
 * ```
 *
 * 1. **Retry** (outside): each attempt goes through all the layers again, so a retry is rate-limited,
 *    judged by the breaker and bounded by the bulkhead like any call; it honours `retryAfterMs` from
 *    `RateLimited` and `CircuitOpen`, and a shared retry budget keeps a failing dependency from a storm.
 * 2. **Rate limit** first: a refused request costs nothing downstream and is not seen by the breaker.
 * 3. **Circuit breaker**: refuses fast while the dependency is unhealthy; records outcomes of the layers
 *    inside it (timeouts count as failures; `BulkheadFull` is ignored by default).
 * 4. **Bulkhead**: bounds the calls in flight and waiting.
 * 5. **Timeout** (innermost): bounds the effect's running time (not its wait in the bulkhead queue).
 *
 * Every layer is optional; an absent layer is skipped. The key selects the rate-limit key and, when a
 * breaker registry is given, the breaker.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { protect } from "./Protect.ts"
 *
 * const quote = protect("quotes-api", fetchQuote("ACME"), {
 *   rateLimit: limiter,          // a RateLimiter (key = "quotes-api") or { limiter, key, cost }
 *   breaker,                     // a CircuitBreaker, or a CircuitBreaker.Registry (breaker per key)
 *   bulkhead,                    // a Bulkhead
 *   timeoutMs: 2_000,
 *   retry: { maxAttempts: 3, baseDelayMs: 100, budget },
 * })
 * ```
 * @module
 */
import { Effect } from "effect"
import type * as Bulkhead from "./Bulkhead.ts"
import type * as CircuitBreaker from "./CircuitBreaker.ts"
import { withTimeout } from "./internal/timeout.ts"
import { positiveInt } from "./internal/validate.ts"
import type * as RateLimiter from "./RateLimiter.ts"
import type { BulkheadFull, CircuitOpen, RateLimited, TimeoutExceeded } from "./ResilienceError.ts"
import * as Retry from "./Retry.ts"

/**
 * Options of {@link protect}; every layer optional.
 *
 * @example
 * ```ts
 * const options: Protect.Options = { timeoutMs: 2000, retry: { maxAttempts: 3 } }
 * ```
 */
export interface Options<E> {
  /** A limiter (charged `1` for `key`), or a limiter with an explicit key and cost. */
  readonly rateLimit?:
    | RateLimiter.RateLimiter
    | { readonly limiter: RateLimiter.RateLimiter; readonly key?: string; readonly cost?: number }
  /** A breaker, or a registry from which the breaker for `key` is taken. */
  readonly breaker?: CircuitBreaker.CircuitBreaker | CircuitBreaker.Registry
  readonly bulkhead?: Bulkhead.Bulkhead
  /** Running-time limit of one attempt, in ms. */
  readonly timeoutMs?: number
  /** Retry options (see `Retry`); without them there is exactly one attempt. */
  readonly retry?: Retry.Options<E | ProtectError>
}

/**
 * The failures `protect` adds to the effect's own.
 *
 * @example
 * ```ts
 * const describe = (e: Protect.ProtectError) => e._tag
 * ```
 */
export type ProtectError = RateLimited | CircuitOpen | BulkheadFull | TimeoutExceeded

/**
 * Runs `effect` under the layers in `options`, in the order given in the module doc. Options are
 * validated eagerly (a `RangeError` names the bad one).
 *
 * @example
 * ```ts
 * const user = yield* protect(`user:${id}`, loadUser(id), { rateLimit: limiter, timeoutMs: 500 })
 * ```
 */
export const protect = <A, E, R>(
  key: string,
  effect: Effect.Effect<A, E, R>,
  options: Options<E>,
): Effect.Effect<A, E | ProtectError, R> => {
  if (options.timeoutMs !== undefined) positiveInt("protect", "timeoutMs", options.timeoutMs)
  let attempt: Effect.Effect<A, E | ProtectError, R> = options.bulkhead
    ? options.bulkhead.run(effect, { timeoutMs: options.timeoutMs })
    : withTimeout(effect, options.timeoutMs, key)
  const b = options.breaker
  if (b !== undefined) {
    const inner = attempt
    attempt = "run" in b ? b.run(inner) : Effect.flatMap(b.get(key), (breaker) => breaker.run(inner))
  }
  const rl = options.rateLimit
  if (rl !== undefined) {
    const limiter = "limiter" in rl ? rl.limiter : rl
    const rlKey = "limiter" in rl ? (rl.key ?? key) : key
    const cost = "limiter" in rl ? (rl.cost ?? 1) : 1
    const inner = attempt
    attempt = Effect.flatMap(limiter.consume(rlKey, cost), () => inner)
  }
  return options.retry === undefined ? attempt : Retry.retry(attempt, options.retry)
}
