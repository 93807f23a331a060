/**
 * Expected failures of the resource area (`Cache`, `Pool`, `ResourceManager`), one
 * `Schema.TaggedError` class per failure. Each message states the problem and the fix.
 *
 * Misuse (invalid options) is not an error value: it is a defect raised at construction
 * (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { PoolTimeout } from "./ResourceError.ts"
 *
 * const handled = Effect.catchTag(Effect.fail(new PoolTimeout({ pool: "db", timeoutMs: 50 })), "PoolTimeout", () =>
 *   Effect.succeed("fallback"),
 * )
 * ```
 * @module
 */
import { Schema } from "effect"

/**
 * A pool could not hand out a resource within its `acquireTimeout`.
 *
 * @example
 * ```ts
 * const e = new PoolTimeout({ pool: "db", timeoutMs: 1000 })
 * e.message // 'Pool "db" could not provide a resource within 1000 ms ...'
 * ```
 */
export class PoolTimeout extends Schema.TaggedError<PoolTimeout>()("PoolTimeout", {
  pool: Schema.String,
  timeoutMs: Schema.Number,
}) {
  override get message(): string {
    return `Pool "${this.pool}" could not provide a resource within ${this.timeoutMs} ms (all resources busy). Raise "max", raise "acquireTimeout", or hold resources for less time.`
  }
}

/**
 * A pool's bounded FIFO wait queue was full, so the acquire was refused at once.
 *
 * @example
 * ```ts
 * const e = new PoolQueueFull({ pool: "db", maxWaiters: 64 })
 * ```
 */
export class PoolQueueFull extends Schema.TaggedError<PoolQueueFull>()("PoolQueueFull", {
  pool: Schema.String,
  maxWaiters: Schema.Number,
}) {
  override get message(): string {
    return `Pool "${this.pool}" already has ${this.maxWaiters} callers waiting (maxWaiters). Raise "maxWaiters" or "max", or shed load before acquiring.`
  }
}

/**
 * The pool was shut down (its scope closed) before or while the caller waited.
 *
 * @example
 * ```ts
 * const e = new PoolClosed({ pool: "db" })
 * ```
 */
export class PoolClosed extends Schema.TaggedError<PoolClosed>()("PoolClosed", {
  pool: Schema.String,
}) {
  override get message(): string {
    return `Pool "${this.pool}" is closed (its scope ended). Acquire from a pool whose scope is still open.`
  }
}

/**
 * A `ResourceManager` refused an admission because a budget would be exceeded.
 *
 * @example
 * ```ts
 * const e = new BudgetExceeded({ manager: "agents", budget: "bytes", requested: 10, used: 95, limit: 100 })
 * ```
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  manager: Schema.String,
  budget: Schema.Literals(["entries", "bytes", "operations"]),
  requested: Schema.Number,
  used: Schema.Number,
  limit: Schema.Number,
}) {
  override get message(): string {
    return `ResourceManager "${this.manager}": admitting ${this.requested} ${this.budget} would exceed the budget (${this.used} of ${this.limit} in use). Release tokens first, retry later, or raise budgets.${this.budget}.`
  }
}

/**
 * Every expected failure of the resource area.
 *
 * @example
 * ```ts
 * const describe = (e: ResourceError): string => `${e._tag}: ${e.message}`
 * ```
 */
export type ResourceError = PoolTimeout | PoolQueueFull | PoolClosed | BudgetExceeded
