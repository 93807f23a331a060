/**
 * The registry wired into the agent kernel: the `AgentRegistry` service, whose Layer installs a
 * lifecycle hook on the `AgentSystem`.
 *
 * ## Guarantees
 * - **Registration is atomic with the spawn.** `Agent.spawn(behavior, { name, metadata })` registers the
 *   name synchronously, after the ref is allocated and before `init` runs. If the name is taken, the
 *   metadata is invalid or the registry is full, the spawn fails with exactly that error
 *   (`AlreadyRegistered`, `InvalidRegistration`, `RegistryFull`) and nothing starts.
 * - **No stale entries.** When an agent stops for good (stop, crash without restart, failed init, system
 *   close), its entries and index entries are removed in the same tick its status becomes `stopped`.
 *   A restarted agent keeps its ref, so it keeps its name. Registering a stopped agent fails with `AgentNotAlive`.
 * - Only named spawns are registered; unnamed agents can be registered explicitly (`register`).
 * - Everything else is the {@link Registry} contract: lookups never wait, queries are consistent snapshots.
 *
 * This module is the only one of `src/registry/` that depends on the agent kernel.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Agent, AgentSystem } from "../agent/..."
 * import * as AgentRegistry from "./AgentRegistry.ts"
 *
 * const program = Effect.gen(function* () {
 *   yield* Agent.spawn(Worker, { name: "ocr-1", metadata: { capabilities: ["ocr"], resources: { load: 0.1 } } })
 *   yield* AgentRegistry.tell("ocr-1", { _tag: "Job", page: 1 })
 *   const d = yield* AgentRegistry.dispatcher<WorkerMsg>(Dispatcher.leastLoaded)
 *   yield* d.dispatch("ocr", { _tag: "Job", page: 2 })
 * }).pipe(Effect.provide(AgentRegistry.layer().pipe(Layer.provideMerge(AgentSystem.layer()))))
 * ```
 * @module
 */
import { Context, Effect, Layer, type Scope } from "effect"
import type { AgentRef, AskOptions, ReplyFor, RequestsOf } from "../agent/Agent.ts"
import type { AskError, TellError } from "../agent/AgentError.ts"
import { AgentSystem } from "../agent/AgentSystem.ts"
import * as Dispatcher from "./Dispatcher.ts"
import * as Registry from "./Registry.ts"
import type { NoAgentAvailable, NotRegistered } from "./RegistryError.ts"

/**
 * The registry of agents of one `AgentSystem` (unique names).
 * @example
 * ```ts
 * const registry = yield* AgentRegistry.AgentRegistry
 * const ref = registry.lookupUnsafe("ocr-1")?.handle
 * ```
 */
export class AgentRegistry extends Context.Service<AgentRegistry, Registry.Registry<AgentRef<any>>>()(
  "troupe/registry/AgentRegistry",
) {}

/**
 * Options of {@link layer}: those of {@link Registry.make} except the mode and the handle functions.
 * @example
 * ```ts
 * AgentRegistry.layer({ maxEntries: 10_000, resources: ["gpu"], node: "eu-1" })
 * ```
 */
export type Options = Omit<Registry.Options<AgentRef<any>>, "keys" | "handleId" | "isAlive">

const agentOptions = (
  keys: "unique" | "duplicate",
  options: Options | undefined,
): Registry.Options<AgentRef<any>> => ({
  ...options,
  keys,
  handleId: (ref) => ref.id,
  isAlive: (ref) => ref.status !== "stopped",
})

/**
 * Creates a registry hooked into the current `AgentSystem` for the lifetime of the scope:
 * exits remove entries, and with `registerSpawns` named spawns register atomically.
 */
const hooked = (
  keys: "unique" | "duplicate",
  options: Options | undefined,
  registerSpawns: boolean,
): Effect.Effect<Registry.Registry<AgentRef<any>>, never, AgentSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const system = yield* AgentSystem
    // The kernel runs lifecycle hooks first when an agent stops (before waiters, exit listeners and
    // awaitExit resume anyone), so removal in `onExit` is never observed late.
    const registry = Registry.makeUnsafe(agentOptions(keys, options), yield* Effect.context<never>())
    const remove = system.addHook({
      beforeSpawn: registerSpawns
        ? (ref, info) => {
            if (info.name === undefined) return undefined
            const r = registry.registerUnsafe(info.name, ref, info.metadata, { checkAlive: false })
            return "_tag" in r ? r : undefined
          }
        : undefined,
      onExit: (ref) => {
        registry.agentExitedUnsafe(ref)
      },
    })
    yield* Effect.addFinalizer(() => Effect.sync(remove))
    return registry
  })

/**
 * The `AgentRegistry` Layer (in-memory): named spawns register atomically, exits unregister.
 * Requires the `AgentSystem`.
 * @example
 * ```ts
 * const live = AgentRegistry.layer({ maxEntries: 50_000, resources: ["gpu"] }).pipe(
 *   Layer.provideMerge(AgentSystem.layer()),
 * )
 * ```
 */
export const layer = (options?: Options): Layer.Layer<AgentRegistry, never, AgentSystem> =>
  Layer.effect(AgentRegistry, hooked("unique", options, true))

/**
 * A Layer from another backend (any implementation of the {@link Registry.Registry} contract). The
 * backend is responsible for its own lifecycle integration.
 * @example
 * ```ts
 * const live = AgentRegistry.layerFrom(myDistributedRegistry)
 * ```
 */
export const layerFrom = (registry: Registry.Registry<AgentRef<any>>): Layer.Layer<AgentRegistry> =>
  Layer.succeed(AgentRegistry, registry)

/**
 * A duplicate-keys registry of agents (groups, topics) living as long as the scope; an agent leaves
 * every group when it stops.
 * @example
 * ```ts
 * const groups = yield* AgentRegistry.groups()
 * yield* groups.register("topic:prices", ref)
 * ```
 */
export const groups = (
  options?: Options,
): Effect.Effect<Registry.Registry<AgentRef<any>>, never, AgentSystem | Scope.Scope> =>
  hooked("duplicate", options, false)

/**
 * The agent registered under `name`.
 * @example
 * ```ts
 * const ref = yield* AgentRegistry.lookup<CounterMsg>("counter")
 * ```
 */
export const lookup = <M = unknown>(name: string): Effect.Effect<AgentRef<M>, NotRegistered, AgentRegistry> =>
  Effect.gen(function* () {
    const registry = yield* AgentRegistry
    const entry = yield* registry.get(name)
    return entry.handle as AgentRef<M>
  })

/**
 * Sends a message to the agent registered under `name`.
 * @example
 * ```ts
 * yield* AgentRegistry.tell<CounterMsg>("counter", { _tag: "Inc" })
 * ```
 */
export const tell = <M>(
  name: string,
  message: M,
): Effect.Effect<void, NotRegistered | TellError, AgentRegistry> =>
  Effect.flatMap(lookup<M>(name), (ref) => ref.tell(message))

/**
 * Asks the agent registered under `name`.
 * @example
 * ```ts
 * const n = yield* AgentRegistry.ask<CounterMsg>()("counter", { _tag: "Get" }, { timeoutMs: 1000 })
 * ```
 */
export const ask =
  <M>() =>
  <Q extends RequestsOf<M>>(
    name: string,
    message: Q,
    options?: AskOptions,
  ): Effect.Effect<ReplyFor<M, Q>, NotRegistered | AskError, AgentRegistry> =>
    Effect.flatMap(lookup<M>(name), (ref) => ref.ask(message, options))

/**
 * A dispatcher of messages of type `M` to agents of the registry.
 * @example
 * ```ts
 * const d: AgentRegistry.AgentDispatcher<JobMsg> = yield* AgentRegistry.dispatcher(Dispatcher.roundRobin)
 * const total = yield* d.dispatchAsk("ocr", { _tag: "Count" })
 * ```
 */
export interface AgentDispatcher<M> {
  /** The chosen agent for `capability` (and `message`, for consistent hashing). */
  readonly select: (capability: string, message?: M) => Effect.Effect<AgentRef<M>, NoAgentAvailable>
  /** Tells the chosen agent. */
  readonly dispatch: (capability: string, message: M) => Effect.Effect<void, NoAgentAvailable | TellError>
  /** Asks the chosen agent. */
  readonly dispatchAsk: <Q extends RequestsOf<M>>(
    capability: string,
    message: Q,
    options?: AskOptions,
  ) => Effect.Effect<ReplyFor<M, Q>, NoAgentAvailable | AskError>
}

/**
 * A dispatcher over the `AgentRegistry` with a strategy (see {@link Dispatcher}).
 * @example
 * ```ts
 * const d = yield* AgentRegistry.dispatcher<JobMsg>(Dispatcher.roundRobin)
 * yield* d.dispatch("ocr", { _tag: "Job", page: 1 })
 * ```
 */
export const dispatcher = <M>(
  strategy: Dispatcher.Strategy<M>,
  options?: Dispatcher.Options,
): Effect.Effect<AgentDispatcher<M>, never, AgentRegistry> =>
  Effect.gen(function* () {
    const registry = yield* AgentRegistry
    const d = Dispatcher.make<AgentRef<M>, M>(registry as Registry.Registry<AgentRef<M>>, strategy, options)
    const result: AgentDispatcher<M> = {
      select: (capability, message) => Effect.map(d.select(capability, message), (e) => e.handle),
      dispatch: (capability, message) => d.route(capability, message, (ref, m) => ref.tell(m)),
      dispatchAsk: (capability, message, opts) =>
        d.route(capability, message as unknown as M, (ref) => ref.ask(message, opts)) as Effect.Effect<
          any,
          any
        >,
    }
    return result
  })
