/**
 * Named bulkheads ("task pools") with shared defaults, as an Effect service: `db`, `llm`, `http` each get
 * their own bounded concurrency and queue, configured in one place.
 *
 * ## Guarantees
 *
 * - A pool is created once per name (first `get`), with the configured options for that name, or the
 *   defaults. Creation is synchronous, so two callers asking for the same new name get the same pool.
 * - Bounded: at most `maxPools` names (default 64). Asking for one more is misuse and dies with a
 *   `RangeError` (pool names are meant to be a small fixed set, not per-request keys).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as TaskPool from "./TaskPool.ts"
 *
 * const program = Effect.gen(function* () {
 *   const pools = yield* TaskPool.TaskPool
 *   const llm = yield* pools.get("llm")
 *   const results = yield* llm.runBatch(prompts, (p) => complete(p), { maxConcurrency: 4, timeoutMs: 30_000 })
 * }).pipe(Effect.provide(TaskPool.layer({ defaults: { maxConcurrency: 8, maxQueue: 64 }, pools: { llm: { maxConcurrency: 4 } } })))
 * ```
 * @module
 */
import { Context, Effect, Layer } from "effect"
import * as Bulkhead from "./Bulkhead.ts"
import { positiveInt } from "./internal/validate.ts"

/**
 * Options of {@link make} and {@link layer}.
 *
 * @example
 * ```ts
 * const options: TaskPool.Options = { defaults: { maxConcurrency: 4, maxQueue: 16 } }
 * ```
 */
export interface Options {
  /** Options for pools not listed in `pools` (default: `Bulkhead` defaults). */
  readonly defaults?: Omit<Bulkhead.Options, "name">
  /** Per-name options, merged over `defaults`. */
  readonly pools?: Readonly<Record<string, Omit<Bulkhead.Options, "name">>>
  /** Most named pools (default 64). */
  readonly maxPools?: number
}

/**
 * Named pools.
 *
 * @example
 * ```ts
 * const pools: TaskPool.TaskPools = yield* TaskPool.TaskPool
 * ```
 */
export interface TaskPools {
  /** The pool called `name`, created on first use. */
  readonly get: (name: string) => Effect.Effect<Bulkhead.Bulkhead>
  /** Names of the pools created so far. */
  readonly names: Effect.Effect<ReadonlyArray<string>>
}

/**
 * The `TaskPool` service.
 *
 * @example
 * ```ts
 * const pools = yield* TaskPool.TaskPool
 * const db = yield* pools.get("db")
 * ```
 */
export class TaskPool extends Context.Service<TaskPool, TaskPools>()("troupe/resilience/TaskPool") {}

/**
 * Makes a set of named pools (validates every listed pool's options eagerly).
 *
 * @example
 * ```ts
 * const pools = TaskPool.make({ pools: { db: { maxConcurrency: 8, maxQueue: 32 } } })
 * ```
 */
export const make = (options: Options = {}): TaskPools => {
  const maxPools = positiveInt("TaskPool", "maxPools", options.maxPools ?? 64)
  const defaults = options.defaults ?? {}
  const configured = options.pools ?? {}
  Bulkhead.resolveOptions(defaults, "defaults.")
  for (const [name, o] of Object.entries(configured))
    Bulkhead.resolveOptions({ ...defaults, ...o }, `pools.${name}.`)
  const pools = new Map<string, Bulkhead.Bulkhead>()
  return {
    get: (name) =>
      Effect.suspend(() => {
        const found = pools.get(name)
        if (found !== undefined) return Effect.succeed(found)
        if (pools.size >= maxPools) {
          return Effect.die(
            new RangeError(
              `TaskPool: more than "maxPools" (${maxPools}) pools; "${name}" was refused. Use a small fixed set of pool names or raise maxPools.`,
            ),
          )
        }
        const pool = Bulkhead.makeUnsafe({ ...defaults, ...configured[name], name })
        pools.set(name, pool)
        return Effect.succeed(pool)
      }),
    names: Effect.sync(() => [...pools.keys()]),
  }
}

/**
 * The `TaskPool` service as a layer (options validated eagerly; each build of the layer has its own pools).
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(TaskPool.layer({ defaults: { maxConcurrency: 4 } })))
 * ```
 */
export const layer = (options: Options = {}): Layer.Layer<TaskPool> => {
  make(options) // validates eagerly: bad options fail here, naming the option, not when the layer is built
  return Layer.sync(TaskPool, () => make(options))
}
