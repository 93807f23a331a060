/**
 * A supervisor whose children are started on demand, bounded by `maxChildren`. Children default to
 * `temporary`; pass `restart: "permanent"` or `"transient"` to have them restarted (one-for-one, within
 * the restart intensity).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentSystem, DynamicSupervisor } from "troupe"
 *
 * const program = Effect.gen(function* () {
 *   const pool = yield* DynamicSupervisor.start({ name: "workers", maxChildren: 100 })
 *   const w = yield* pool.startChild(Worker, { restart: "transient" })
 *   yield* w.tell({ _tag: "Job", id: 1 })
 * }).pipe(Effect.provide(AgentSystem.layer()))
 * ```
 * @module
 */
import { Effect, type Schedule } from "effect"
import type { AgentRef, Behavior, SpawnError, SpawnOptions } from "./Agent.ts"
import type { MaxChildrenReached } from "./AgentError.ts"
import { AgentSystem } from "./AgentSystem.ts"
import type { Cell } from "./internal/runtime.ts"
import { resolveConfig, supervisorBehavior } from "./internal/supervision.ts"

/**
 * Options of a dynamic supervisor.
 *
 * @example
 * ```ts
 * const options: DynamicSupervisor.Options = { maxChildren: 1000, maxRestarts: 10, withinMs: 1000 }
 * ```
 */
export interface Options {
  /** Default `"dynamic-supervisor"`. */
  readonly name?: string
  /** Children allowed at once; `startChild` fails with `MaxChildrenReached` beyond. Default unbounded. */
  readonly maxChildren?: number
  /** Default 3. */
  readonly maxRestarts?: number
  /** Default 5000 ms. */
  readonly withinMs?: number
  /** Delay before each restart. */
  readonly backoff?: Schedule.Schedule<unknown, unknown>
}

/**
 * A running dynamic supervisor.
 *
 * @example
 * ```ts
 * const ref = yield* pool.startChild(Worker)
 * yield* pool.terminateChild(ref)
 * ```
 */
export interface DynamicSupervisorRef {
  readonly ref: AgentRef<never>
  /** Starts a child (default restart `"temporary"`). */
  readonly startChild: <S, M, E, R>(
    behavior: Behavior<S, M, E, R>,
    options?: SpawnOptions,
  ) => Effect.Effect<AgentRef<M>, SpawnError | MaxChildrenReached, R>
  /** Stops a child for good. */
  readonly terminateChild: (ref: AgentRef<any>) => Effect.Effect<void>
  /** Live children. */
  readonly count: () => number
  readonly children: () => ReadonlyArray<AgentRef<unknown>>
  /** Stops the supervisor and its children. */
  readonly stop: Effect.Effect<void>
}

/**
 * Starts a dynamic supervisor under the system root.
 *
 * @example
 * ```ts
 * const pool = yield* DynamicSupervisor.start({ maxChildren: 10 })
 * ```
 */
export const start = (
  options: Options = {},
  spawnOptions?: SpawnOptions,
): Effect.Effect<DynamicSupervisorRef, SpawnError, AgentSystem> => {
  const config = resolveConfig(options.name ?? "dynamic-supervisor", {
    ...options,
    name: options.name ?? "dynamic-supervisor",
  })
  return Effect.flatMap(AgentSystem, (system) =>
    Effect.withFiber((fiber) =>
      Effect.map(
        system.runtime.root.startChildNow(
          undefined,
          supervisorBehavior(config.name, []),
          fiber.context as any,
          { name: config.name, restart: "temporary", ...spawnOptions },
          "temporary",
          config,
        ),
        (cell) => {
          const core = cell.sup!
          const ref: DynamicSupervisorRef = {
            ref: cell as unknown as AgentRef<never>,
            startChild: (behavior, childOptions) =>
              Effect.withFiber((f) =>
                core.startChildNow(undefined, behavior, f.context as any, childOptions, "temporary"),
              ) as any,
            terminateChild: (child) =>
              Effect.suspend(() =>
                core.children.get(child.id) === (child as unknown as Cell)
                  ? core.terminateChild(child as unknown as Cell)
                  : Effect.void,
              ),
            count: () => core.children.size,
            children: () => [...core.children.values()] as unknown as Array<AgentRef<unknown>>,
            stop: cell.stop(),
          }
          return ref
        },
      ),
    ),
  ) as any
}
