/**
 * Expected failures of the resilience area, as `Schema.TaggedError` values in the error channel.
 * Each message states the problem and the usual fix.
 *
 * - {@link RateLimited}: a rate limiter refused the request; carries `retryAfterMs`, which `Retry` honours.
 * - {@link CircuitOpen}: a circuit breaker is open (or its half-open probes are taken); carries `retryAfterMs`.
 * - {@link BulkheadFull}: both the concurrency slots and the wait queue of a bulkhead are taken.
 * - {@link TimeoutExceeded}: a protected task ran longer than its `timeoutMs` and was interrupted.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimited } from "./ResilienceError.ts"
 *
 * const handled = Effect.fail(new RateLimited({ key: "user:1", policy: "10 per 1000 ms", retryAfterMs: 250 })).pipe(
 *   Effect.catchTag("RateLimited", (e) => Effect.succeed(`retry in ${e.retryAfterMs} ms`)),
 * )
 * ```
 * @module
 */
import { Schema } from "effect"

/**
 * A rate limiter refused the request for `key` under `policy` (e.g. "10 per 1000 ms (token-bucket)"). `retryAfterMs` is the wait after which the same request
 * would be allowed if nothing else consumed in between (`Retry` honours it).
 *
 * @example
 * ```ts
 * const e = new RateLimited({ key: "ip:1.2.3.4", policy: "100 per 60000 ms", retryAfterMs: 1200 })
 * e.message // 'Rate limit exceeded for "ip:1.2.3.4" (100 per 60000 ms). Retry after 1200 ms, ...'
 * ```
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  key: Schema.String,
  policy: Schema.String,
  retryAfterMs: Schema.Number,
}) {
  override get message(): string {
    return `Rate limit exceeded for "${this.key}" (${this.policy}). Retry after ${this.retryAfterMs} ms, lower the request rate, or raise "limit".`
  }
}

/**
 * The circuit breaker `name` refused the call because it is open, isolated, or half-open with all probe
 * slots taken. `retryAfterMs` is the time until it will admit probes again (0 when probes are merely busy).
 *
 * @example
 * ```ts
 * const e = new CircuitOpen({ name: "payments", state: "open", retryAfterMs: 5000 })
 * ```
 */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>()("CircuitOpen", {
  name: Schema.String,
  state: Schema.String,
  retryAfterMs: Schema.Number,
}) {
  override get message(): string {
    return `Circuit breaker "${this.name}" is ${this.state} and refuses calls. Retry after ${this.retryAfterMs} ms, use a fallback, or fix the failing dependency.`
  }
}

/**
 * The bulkhead `name` is saturated: `maxConcurrency` tasks run and `maxQueue` wait.
 *
 * @example
 * ```ts
 * const e = new BulkheadFull({ name: "db", maxConcurrency: 8, maxQueue: 32 })
 * ```
 */
export class BulkheadFull extends Schema.TaggedError<BulkheadFull>()("BulkheadFull", {
  name: Schema.String,
  maxConcurrency: Schema.Number,
  maxQueue: Schema.Number,
}) {
  override get message(): string {
    return `Bulkhead "${this.name}" is full (${this.maxConcurrency} running, ${this.maxQueue} queued). Shed load, retry later, or raise "maxConcurrency"/"maxQueue".`
  }
}

/**
 * The task `operation` did not finish within `timeoutMs` and was interrupted.
 *
 * @example
 * ```ts
 * const e = new TimeoutExceeded({ operation: "fetch-quote", timeoutMs: 2000 })
 * ```
 */
export class TimeoutExceeded extends Schema.TaggedError<TimeoutExceeded>()("TimeoutExceeded", {
  operation: Schema.String,
  timeoutMs: Schema.Number,
}) {
  override get message(): string {
    return `"${this.operation}" did not finish within ${this.timeoutMs} ms and was interrupted. Raise "timeoutMs" or make the task faster.`
  }
}

/**
 * Every expected failure of the resilience area.
 *
 * @example
 * ```ts
 * Protect.protect("k", call, opts).pipe(Effect.catchAll((e) => Effect.log((e as ResilienceError.ResilienceError)._tag)))
 * ```
 */
export type ResilienceError = RateLimited | CircuitOpen | BulkheadFull | TimeoutExceeded
