/**
 * Supervisors: ordered child specs restarted by a strategy, with restart intensity and backoff.
 *
 * - Strategies: `oneForOne` restarts only the child that ended; `oneForAll` stops the other children
 *   (newest first) and restarts all; `restForOne` does that for the children started after it.
 * - Restart types: `permanent` (always restarted), `transient` (restarted only after a failure),
 *   `temporary` (never restarted; removed when it ends).
 * - Intensity: more than `maxRestarts` restarts within `withinMs` ends the supervisor with
 *   `RestartIntensityExceeded` after stopping its children; its parent then applies its own strategy.
 * - Backoff: an optional Effect `Schedule` whose delays are slept (on the Clock) before each restart.
 * - Shutdown stops children newest first, each within its `shutdownMs`, then interrupts.
 *
 * A restarted child keeps its `AgentRef`. A restarted supervisor starts fresh children: look them up
 * again with `child(id)`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentSystem, Supervisor } from "troupe"
 *
 * const program = Effect.gen(function* () {
 *   const sup = yield* Supervisor.start({
 *     strategy: "oneForOne",
 *     maxRestarts: 3,
 *     withinMs: 5000,
 *     children: [Supervisor.child("db", Db), Supervisor.child("cache", Cache, { restart: "transient" })],
 *   })
 *   const db = yield* sup.child<DbMsg>("db")
 *   return yield* db.ask({ _tag: "Query", sql: "select 1" })
 * }).pipe(Effect.provide(AgentSystem.layer()))
 * ```
 * @module
 */
import type { Effect as EffectType, Schedule } from "effect"
import { Effect } from "effect"
import type { AgentRef, Behavior, SpawnError, SpawnOptions } from "./Agent.ts"
import { ChildNotFound, DuplicateChild } from "./AgentError.ts"
import { AgentSystem } from "./AgentSystem.ts"
import type { Cell } from "./internal/runtime.ts"
import { type ChildSpecInternal, resolveConfig, supervisorBehavior } from "./internal/supervision.ts"

/**
 * Restart strategy.
 *
 * @example
 * ```ts
 * const strategy: Supervisor.Strategy = "restForOne"
 * ```
 */
export type Strategy = "oneForOne" | "oneForAll" | "restForOne"

/**
 * Options of a supervisor.
 *
 * @example
 * ```ts
 * const options: Supervisor.Options = { strategy: "restForOne", maxRestarts: 5, withinMs: 10_000 }
 * ```
 */
export interface Options {
  /** Name in the tree and in errors. Default `"supervisor"`. */
  readonly name?: string
  /** Default `"oneForOne"`. */
  readonly strategy?: Strategy
  /** Restarts allowed within `withinMs` before giving up. Default 3. */
  readonly maxRestarts?: number
  /** The intensity window. Default 5000 ms. */
  readonly withinMs?: number
  /** Delay before each restart, as a Schedule (e.g. `Schedule.exponential("10 millis")`). Default none. */
  readonly backoff?: Schedule.Schedule<unknown, unknown>
  /** The children, started in order. */
  readonly children?: ReadonlyArray<ChildSpec>
}

/**
 * A child specification.
 *
 * @example
 * ```ts
 * Supervisor.child("worker", Worker, { restart: "transient", shutdownMs: 1000 })
 * ```
 */
export interface ChildSpec {
  readonly id: string
  /** @internal */
  readonly internal: ChildSpecInternal
}

/**
 * Options of a child: spawn options whose `restart` defaults to `"permanent"`.
 *
 * @example
 * ```ts
 * Supervisor.child("cache", Cache, { restart: "transient", shutdownMs: 1000 } satisfies Supervisor.ChildOptions)
 * ```
 */
export type ChildOptions = SpawnOptions

/**
 * A child agent spec.
 *
 * @example
 * ```ts
 * Supervisor.child("pricer", Pricer, { mailbox: { capacity: 128, overflow: "fail" } })
 * ```
 */
export const child = <S, M, E, R>(
  id: string,
  behavior: Behavior<S, M, E, R>,
  options?: ChildOptions,
): ChildSpec => ({
  id,
  internal: { id, behavior, options: { name: id, ...options }, supervisor: undefined },
})

/**
 * A nested supervisor spec.
 *
 * @example
 * ```ts
 * Supervisor.supervisor("workers", { strategy: "oneForAll", children: [Supervisor.child("w1", W)] })
 * ```
 */
export const supervisor = (id: string, options: Options, childOptions?: ChildOptions): ChildSpec => {
  const config = resolveConfig(id, { ...options, name: options.name ?? id })
  const specs = validateChildren(config.name, options.children ?? [])
  return {
    id,
    internal: {
      id,
      behavior: supervisorBehavior(config.name, specs),
      options: { name: config.name, ...childOptions },
      supervisor: config,
    },
  }
}

const validateChildren = (
  name: string,
  children: ReadonlyArray<ChildSpec>,
): ReadonlyArray<ChildSpecInternal> => {
  const seen = new Set<string>()
  for (const c of children) {
    if (seen.has(c.id)) throw new DuplicateChild({ supervisor: name, child: c.id })
    seen.add(c.id)
  }
  return children.map((c) => c.internal)
}

/**
 * A running supervisor.
 *
 * @example
 * ```ts
 * const refs = sup.children().map((c) => c.ref)
 * ```
 */
export interface SupervisorRef {
  /** The supervisor agent itself (status, restarts, `Agent.awaitExit`). */
  readonly ref: AgentRef<never>
  /** The current ref of child `id` (it changes only when this supervisor itself restarts). */
  readonly child: <M = unknown>(id: string) => EffectType.Effect<AgentRef<M>, ChildNotFound>
  /** A nested supervisor child, as a SupervisorRef. */
  readonly supervisor: (id: string) => EffectType.Effect<SupervisorRef, ChildNotFound>
  /** The live children in start order. */
  readonly children: () => ReadonlyArray<{ readonly id: string; readonly ref: AgentRef<unknown> }>
  /** Stops the supervisor and all its children (newest first). */
  readonly stop: EffectType.Effect<void>
}

/**
 * @internal wraps a supervisor cell.
 *
 * @example
 * ```ts
 * // internal: wraps a supervisor cell as a SupervisorRef (used by Supervisor.start)
 * ```
 */
export const refOf = (cell: Cell): SupervisorRef => {
  const core = cell.sup!
  return {
    ref: cell as unknown as AgentRef<never>,
    child: <M>(id: string) =>
      Effect.suspend(() => {
        const c = core.byKey.get(id)
        return c === undefined || c.status === "stopped"
          ? Effect.fail(new ChildNotFound({ supervisor: core.config.name, child: id }))
          : Effect.succeed(c as unknown as AgentRef<M>)
      }),
    supervisor: (id: string) =>
      Effect.suspend(() => {
        const c = core.byKey.get(id)
        return c === undefined || c.status === "stopped" || c.sup === undefined
          ? Effect.fail(new ChildNotFound({ supervisor: core.config.name, child: id }))
          : Effect.succeed(refOf(c))
      }),
    children: () =>
      [...core.children.values()].map((c) => ({
        id: c.childKey ?? String(c.id),
        ref: c as unknown as AgentRef<unknown>,
      })),
    stop: cell.stop(),
  }
}

/**
 * Starts a supervisor (under the system root) and its children, in order. If a child fails to start,
 * the ones already started are stopped and `start` fails with that child's error.
 *
 * @example
 * ```ts
 * const sup = yield* Supervisor.start({ children: [Supervisor.child("a", A)] })
 * ```
 */
export const start = (
  options: Options,
  spawnOptions?: ChildOptions,
): EffectType.Effect<SupervisorRef, SpawnError, AgentSystem> => {
  const spec = supervisor(options.name ?? "supervisor", options, spawnOptions)
  return Effect.flatMap(AgentSystem, (system) =>
    Effect.withFiber((fiber) =>
      Effect.map(
        system.runtime.root.startChildNow(
          undefined,
          spec.internal.behavior,
          fiber.context as any,
          { restart: "temporary", ...spec.internal.options },
          "temporary",
          spec.internal.supervisor,
        ),
        refOf,
      ),
    ),
  ) as any
}
