/**
 * The root of an agent system: a Layer (or scoped value) that owns every agent, supervisor, timer and
 * worker fiber started in it. Closing it stops everything in reverse start order, each within its
 * shutdown deadline, then interrupts whatever is left: no fiber, timer or subscription survives it.
 *
 * It also keeps the bounded dead-letter record, lifecycle hooks (used by the Registry) and
 * introspection: the tree of supervisors and agents with status, mailbox depth and restart counts.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, AgentSystem } from "troupe"
 *
 * const main = Effect.gen(function* () {
 *   const ref = yield* Agent.spawn(Counter)
 *   const system = yield* AgentSystem.AgentSystem
 *   console.log(system.tree())
 * }).pipe(Effect.provide(AgentSystem.layer({ deadLetterCapacity: 100 })))
 * ```
 * @module
 */
import { Clock, Context, Effect, Layer, Scheduler, type Scope } from "effect"
import * as Config from "../config/Config.ts"
import type { AgentRef, AgentStatus, Behavior, SpawnError, SpawnOptions } from "./Agent.ts"
import { Cell, type LifecycleHook, SupervisorCore, SystemRuntime } from "./internal/runtime.ts"
import { resolveConfig, supervisorBehavior } from "./internal/supervision.ts"
import * as Mailbox from "./Mailbox.ts"

export type { LifecycleHook } from "./internal/runtime.ts"

/**
 * Options of an agent system. All are optional.
 *
 * @example
 * ```ts
 * AgentSystem.layer({ defaultAskTimeoutMs: 1000, deadLetterCapacity: 10_000 })
 * ```
 */
export interface Options {
  /** Mailbox of agents whose behaviour and spawn options set none. Default 1024, `"suspend"`. */
  readonly defaultMailbox?: Mailbox.Options
  /** Wrap every `ask` in a `troupe.agent.ask` client span (see telemetry/Telemetry). Default false. */
  readonly traceAsks?: boolean
  /** Dead letters kept (oldest overwritten). Default 1000; 0 keeps only the count. */
  readonly deadLetterCapacity?: number
  /** Messages the dispatcher handles before yielding to other work. Default 8192. */
  readonly dispatchBudget?: number
  /** Messages one agent handles before the next ready agent gets a turn. Default 64. */
  readonly batchSize?: number
  /** Default `ask` timeout. Default 5000 ms. */
  readonly defaultAskTimeoutMs?: number
  /** Default shutdown deadline per agent. Default 5000 ms. */
  readonly defaultShutdownMs?: number
}

/**
 * A node of the supervision tree.
 *
 * @example
 * ```ts
 * const walk = (n: AgentSystem.TreeNode): number => 1 + n.children.reduce((s, c) => s + walk(c), 0)
 * ```
 */
export interface TreeNode {
  readonly id: number
  readonly name: string
  readonly kind: "supervisor" | "agent"
  readonly status: AgentStatus
  readonly mailboxDepth: number
  readonly restarts: number
  readonly dropped: number
  readonly children: ReadonlyArray<TreeNode>
}

/**
 * The system service.
 *
 * @example
 * ```ts
 * const system = yield* AgentSystem.AgentSystem
 * system.deadLetters().length
 * ```
 */
export interface Service {
  /** Spawns under the root supervisor with the given services, now (used by `Agent.spawn`; run it inside an Effect). */
  readonly spawnWith: <S, M, E, R>(
    behavior: Behavior<S, M, E, R>,
    options: SpawnOptions | undefined,
    services: Context.Context<never>,
  ) => Effect.Effect<AgentRef<M>, SpawnError>
  /** Installs a lifecycle hook; returns its remover. */
  readonly addHook: (hook: LifecycleHook) => () => void
  /** The supervision tree, from the root. */
  readonly tree: () => TreeNode
  /** The most recent dead letters, oldest first (bounded by `deadLetterCapacity`). */
  readonly deadLetters: () => ReadonlyArray<Mailbox.DeadLetter>
  /**
   * Counters: live agents under the root, fibers the system owns, dead letters ever recorded. Also brings
   * the mailbox depth gauge up to date (it is otherwise reported at every dispatcher turn).
   */
  readonly stats: () => { readonly agents: number; readonly fibers: number; readonly deadLetters: number }
  /** Stops everything (what closing the Layer does). */
  readonly close: Effect.Effect<void>
  /** @internal */
  readonly runtime: SystemRuntime
}

/**
 * The service key.
 *
 * @example
 * ```ts
 * const system = yield* AgentSystem.AgentSystem
 * ```
 */
export class AgentSystem extends Context.Service<AgentSystem, Service>()("troupe/AgentSystem") {}

const positiveInt = (name: string, value: number | undefined, dflt: number, min = 1): number => {
  const v = value ?? dflt
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(`AgentSystem: "${name}" must be an integer >= ${min}, got ${String(v)}.`)
  }
  return v
}

const treeOf = (cell: Cell): TreeNode => ({
  id: cell.id,
  name: cell.label,
  kind: cell.sup === undefined ? "agent" : "supervisor",
  status: cell.status,
  mailboxDepth: cell.mailboxDepth,
  restarts: cell.restarts,
  dropped: cell.dropped,
  children: cell.sup === undefined ? [] : [...cell.sup.children.values()].map(treeOf),
})

/**
 * Creates a system in the current scope; closing the scope closes the system.
 *
 * @example
 * ```ts
 * const system = yield* AgentSystem.make()
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.withFiber((fiber) => {
      const services = fiber.context as Context.Context<never>
      const runtime = new SystemRuntime(
        services,
        {
          traceAsks: options.traceAsks ?? false,
          defaultMailbox: Mailbox.resolve(options.defaultMailbox, "AgentSystem defaultMailbox"),
          deadLetterCapacity: positiveInt("deadLetterCapacity", options.deadLetterCapacity, 1000, 0),
          dispatchBudget: positiveInt("dispatchBudget", options.dispatchBudget, 8192),
          batchSize: positiveInt("batchSize", options.batchSize, 64),
          defaultAskTimeoutMs: positiveInt("defaultAskTimeoutMs", options.defaultAskTimeoutMs, 5000, 0),
          defaultShutdownMs: positiveInt("defaultShutdownMs", options.defaultShutdownMs, 5000, 0),
        },
        Context.get(services, Clock.Clock),
        Context.get(services, Scheduler.Scheduler),
      )
      const core = new SupervisorCore(
        runtime,
        resolveConfig("root", { maxRestarts: Number.POSITIVE_INFINITY }),
      )
      const rootCell = new Cell(
        runtime,
        supervisorBehavior("root", []),
        services,
        undefined,
        "permanent",
        0,
        {
          name: "root",
        },
      )
      core.cell = rootCell
      rootCell.sup = core
      runtime.root = core
      rootCell.state = null
      rootCell.status = "running"
      let closing: Effect.Effect<void> | undefined
      const close = Effect.suspend(() => {
        closing ??= Effect.andThen(
          rootCell.shutdown(runtime.options.defaultShutdownMs, true, { _tag: "Shutdown" }),
          Effect.suspend(() => {
            runtime.closed = true
            const left = [...runtime.fibers]
            for (const f of left) f.interruptUnsafe()
            return Effect.forEach(
              left,
              (f) => Effect.callback<void>((resume) => void f.addObserver(() => resume(Effect.void))),
              {
                discard: true,
              },
            )
          }),
        )
        return closing
      })
      const service: Service = {
        runtime,
        spawnWith: (behavior, spawnOptions, spawnServices) =>
          core.startChildNow(undefined, behavior, spawnServices, spawnOptions, "temporary") as any,
        addHook: (hook) => {
          runtime.hooks = [...runtime.hooks, hook]
          return () => {
            runtime.hooks = runtime.hooks.filter((h) => h !== hook)
          }
        },
        tree: () => treeOf(rootCell),
        deadLetters: () => runtime.deadLetterList(),
        stats: () => {
          runtime.flushMetrics()
          return {
            agents: core.children.size,
            fibers: runtime.fibers.size,
            deadLetters: runtime.deadLetterTotal,
          }
        },
        close,
      }
      return Effect.succeed(service)
    }),
    (service) => service.close,
  )

/**
 * The system as a Layer. Closing the Layer's scope stops every agent.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(AgentSystem.layer()))
 * ```
 */
export const layer = (options?: Options): Layer.Layer<AgentSystem> => Layer.effect(AgentSystem, make(options))

/**
 * The system as a Layer whose defaults come from the validated `Config` service: `agent.askTimeoutMs`
 * becomes the default ask timeout and `agent.mailboxCapacity` the default mailbox capacity (overflow
 * `"suspend"`). Explicit `options` win. Read once, when the layer is built.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(AgentSystem.layerFromConfig().pipe(Layer.provide(Config.layer()))))
 * ```
 */
export const layerFromConfig = (options?: Options): Layer.Layer<AgentSystem, never, Config.Config> =>
  Layer.effect(
    AgentSystem,
    Effect.flatMap(Config.Config, (config) =>
      Effect.flatMap(Effect.orDie(config.get("agent")), (agent) =>
        make({
          defaultAskTimeoutMs: agent.askTimeoutMs,
          defaultMailbox: { capacity: agent.mailboxCapacity },
          ...options,
        }),
      ),
    ),
  )
