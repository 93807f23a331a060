/**
 * Chooses one registered agent for a capability and hands it work.
 *
 * Candidates are the entries with the capability whose health is not `unhealthy`; healthy ones are
 * preferred, degraded ones are used only when no healthy one exists. The strategy then picks one:
 *
 * - `roundRobin`: in registration order, the next candidate after the previous pick for this capability
 *   (stable while agents come and go; per-capability cursors are bounded, see `maxCursors`).
 * - `leastLoaded`: the lowest `resources.load` (agents reporting no load last; ties by registration order).
 * - `capabilityMatch(require)`: candidates that also have every capability in `require`; the most
 *   specialised one (fewest capabilities) wins, then the lowest load.
 * - `weightedRandom(weight?)`: random in proportion to `weight(entry)` (default `1 / (1 + load)`), using
 *   Effect's `Random` service, so tests can seed it.
 * - `consistentHash(keyOf)`: rendezvous hashing of `keyOf(message)` over the candidates' keys: a message
 *   key keeps going to the same agent while it is available, and removing an agent only moves its own keys.
 *
 * A selection is one synchronous read of the registry (a consistent snapshot); no candidate list is cached.
 * Fails with `NoAgentAvailable` when no candidate exists.
 *
 * @example
 * ```ts
 * import * as Dispatcher from "./Dispatcher.ts"
 *
 * const d = Dispatcher.make(registry, Dispatcher.leastLoaded)
 * yield* d.route("vision", job, (ref, msg) => ref.tell(msg))
 * ```
 * @module
 */
import { Effect, Random } from "effect"
import * as Q from "./Query.ts"
import type { Entry, Registry } from "./Registry.ts"
import { NoAgentAvailable } from "./RegistryError.ts"

/**
 * How a dispatcher picks among candidates.
 * @example
 * ```ts
 * const s: Dispatcher.Strategy<Job> = Dispatcher.consistentHash((job: Job) => job.tenant)
 * ```
 */
export type Strategy<M = unknown> =
  | { readonly _tag: "roundRobin" }
  | { readonly _tag: "leastLoaded" }
  | { readonly _tag: "capabilityMatch"; readonly require: ReadonlyArray<string> }
  | { readonly _tag: "weightedRandom"; readonly weight: (entry: Entry<unknown>) => number }
  | { readonly _tag: "consistentHash"; readonly keyOf: (message: M) => string }

/**
 * Round robin in registration order.
 * @example
 * ```ts
 * Dispatcher.make(registry, Dispatcher.roundRobin)
 * ```
 */
export const roundRobin: { readonly _tag: "roundRobin" } = { _tag: "roundRobin" }
/**
 * Lowest `resources.load`.
 * @example
 * ```ts
 * Dispatcher.make(registry, Dispatcher.leastLoaded)
 * ```
 */
export const leastLoaded: { readonly _tag: "leastLoaded" } = { _tag: "leastLoaded" }
/**
 * Candidates must also have every capability in `require`; the most specialised wins.
 * @example
 * ```ts
 * Dispatcher.capabilityMatch(["gpu", "fp16"])
 * ```
 */
export const capabilityMatch = (
  require: ReadonlyArray<string> = [],
): { readonly _tag: "capabilityMatch"; readonly require: ReadonlyArray<string> } => ({
  _tag: "capabilityMatch",
  require,
})
/**
 * Random in proportion to a weight (default `1 / (1 + load)`; negative or non-finite weights count as 0).
 * @example
 * ```ts
 * Dispatcher.weightedRandom((e) => e.metadata.resources.cpu ?? 1)
 * ```
 */
export const weightedRandom = (
  weight: (entry: Entry<unknown>) => number = (e) => 1 / (1 + (e.metadata.resources.load ?? 0)),
): { readonly _tag: "weightedRandom"; readonly weight: (entry: Entry<unknown>) => number } => ({
  _tag: "weightedRandom",
  weight,
})
/**
 * Rendezvous hashing of a key taken from the message.
 * @example
 * ```ts
 * Dispatcher.consistentHash((msg: { userId: string }) => msg.userId)
 * ```
 */
export const consistentHash = <M>(keyOf: (message: M) => string): Strategy<M> => ({
  _tag: "consistentHash",
  keyOf,
})

/**
 * A dispatcher over one registry.
 * @example
 * ```ts
 * const d = Dispatcher.make(registry, Dispatcher.leastLoaded)
 * yield* d.route("ocr", job, (ref, msg) => ref.tell(msg))
 * ```
 */
export interface Dispatcher<H, M> {
  readonly strategy: Strategy<M>
  /** The entry the strategy picks for `capability` (and `message`, for `consistentHash`). */
  readonly select: (capability: string, message?: M) => Effect.Effect<Entry<H>, NoAgentAvailable>
  /** Picks an agent and runs `send` with it (e.g. `(ref, m) => ref.tell(m)` or an ask). */
  readonly route: <A, E, R>(
    capability: string,
    message: M,
    send: (handle: H, message: M) => Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E | NoAgentAvailable, R>
}

/**
 * Options of {@link make}.
 * @example
 * ```ts
 * Dispatcher.make(registry, Dispatcher.roundRobin, { maxCursors: 1024 })
 * ```
 */
export interface Options {
  /** Bound on per-capability round-robin cursors; the oldest cursor is dropped beyond it. Default 4096. */
  readonly maxCursors?: number
}

const fnv = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  // final avalanche (murmur3 fmix32)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const load = (e: Entry<unknown>) => e.metadata.resources.load

/**
 * Creates a dispatcher.
 * @example
 * ```ts
 * const d = Dispatcher.make(registry, Dispatcher.roundRobin)
 * const entry = yield* d.select("ocr")
 * ```
 */
export const make = <H, M = unknown>(
  registry: Registry<H>,
  strategy: Strategy<M>,
  options: Options = {},
): Dispatcher<H, M> => {
  const maxCursors = options.maxCursors ?? 4096
  if (!Number.isSafeInteger(maxCursors) || maxCursors < 1)
    throw new RangeError(`Dispatcher: "maxCursors" must be a positive integer, got ${maxCursors}.`)
  const cursors = new Map<string, number>()
  const name = strategy._tag

  const candidates = (capability: string): ReadonlyArray<Entry<H>> => {
    const criteria: Array<Q.Criterion> = [
      Q.where("capabilities", "contains", capability),
      Q.where("health", "neq", "unhealthy"),
    ]
    if (strategy._tag === "capabilityMatch")
      for (const c of strategy.require) criteria.push(Q.where("capabilities", "contains", c))
    const all = registry.queryUnsafe(criteria)
    let healthy = 0
    for (const e of all) if (e.metadata.health === "healthy") healthy++
    return healthy === 0 || healthy === all.length ? all : all.filter((e) => e.metadata.health === "healthy")
  }

  const pick = (capability: string, message: M | undefined, random: number): Entry<H> | undefined => {
    const cs = candidates(capability)
    if (cs.length === 0) return undefined
    switch (strategy._tag) {
      case "roundRobin": {
        const last = cursors.get(capability) ?? 0
        let next: Entry<H> | undefined
        let first = cs[0]
        for (const e of cs) {
          if (e.seq < first.seq) first = e
          if (e.seq > last && (next === undefined || e.seq < next.seq)) next = e
        }
        const chosen = next ?? first
        cursors.delete(capability)
        cursors.set(capability, chosen.seq)
        if (cursors.size > maxCursors) cursors.delete(cursors.keys().next().value!)
        return chosen
      }
      case "leastLoaded":
      case "capabilityMatch": {
        let best = cs[0]
        for (const e of cs) {
          if (strategy._tag === "capabilityMatch") {
            const d = e.metadata.capabilities.length - best.metadata.capabilities.length
            if (d < 0) {
              best = e
              continue
            }
            if (d > 0) continue
          }
          const le = load(e)
          const lb = load(best)
          if (le !== undefined && (lb === undefined || le < lb || (le === lb && e.seq < best.seq))) best = e
          else if (le === undefined && lb === undefined && e.seq < best.seq) best = e
        }
        return best
      }
      case "weightedRandom": {
        const ws = cs.map((e) => {
          const w = strategy.weight(e as Entry<unknown>)
          return Number.isFinite(w) && w > 0 ? w : 0
        })
        const total = ws.reduce((a, b) => a + b, 0)
        if (total === 0) return cs[Math.floor(random * cs.length)]
        let x = random * total
        for (let i = 0; i < cs.length; i++) {
          x -= ws[i]
          if (x < 0) return cs[i]
        }
        return cs[cs.length - 1]
      }
      case "consistentHash": {
        const key = message === undefined ? "" : strategy.keyOf(message)
        let best = cs[0]
        let bestScore = -1
        for (const e of cs) {
          const s = fnv(`${key}\u0000${e.key}`)
          if (s > bestScore || (s === bestScore && e.seq < best.seq)) {
            best = e
            bestScore = s
          }
        }
        return best
      }
    }
  }

  const select = (capability: string, message?: M): Effect.Effect<Entry<H>, NoAgentAvailable> =>
    Effect.flatMap(strategy._tag === "weightedRandom" ? Random.next : Effect.succeed(0), (r) => {
      const e = pick(capability, message, r)
      return e === undefined
        ? Effect.fail(new NoAgentAvailable({ capability, strategy: name }))
        : Effect.succeed(e)
    })

  return {
    strategy,
    select,
    route: (capability, message, send) =>
      Effect.flatMap(select(capability, message), (e) => send(e.handle, message)),
  }
}
