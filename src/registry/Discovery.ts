/**
 * Discovery helpers over any {@link Registry.Registry}: the multi-criteria questions agents ask most,
 * each one indexed query (or an O(indexes) aggregate). They inherit the registry's guarantees: each
 * answer is a consistent snapshot (no write is half-visible), and the result equals the brute-force
 * filter of the same criteria.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Discovery from "./Discovery.ts"
 *
 * const program = Effect.gen(function* () {
 *   const idle = yield* Discovery.leastLoaded(registry, "vision", 3)
 *   const summary = yield* Discovery.healthSummary(registry)
 * })
 * ```
 * @module
 */
import { Effect } from "effect"
import * as Q from "./Query.ts"
import type { Entry, Registry, ResourceStats } from "./Registry.ts"

const run = <H>(registry: Registry<H>, q: Q.Query, options?: Q.QueryOptions) =>
  Effect.orDie(registry.query(q, options))

/**
 * Agents with `capability` whose health is `healthy`.
 * @example
 * ```ts
 * const agents = yield* Discovery.findCapableAndHealthy(registry, "translate")
 * ```
 */
export const findCapableAndHealthy = <H>(
  registry: Registry<H>,
  capability: string,
  options?: Q.QueryOptions,
): Effect.Effect<ReadonlyArray<Entry<H>>> =>
  run(
    registry,
    [Q.where("capabilities", "contains", capability), Q.where("health", "eq", "healthy")],
    options,
  )

/**
 * Resource requirements (all optional; every given bound must hold).
 * @example
 * ```ts
 * Discovery.findByResources(registry, { minMemory: 4096, maxLoad: 0.5 })
 * ```
 */
export interface ResourceRequirements {
  readonly minMemory?: number
  readonly minCpu?: number
  readonly maxLoad?: number
}

const resourceCriteria = (req: ResourceRequirements): Array<Q.Criterion> => {
  const out: Array<Q.Criterion> = []
  if (req.minMemory !== undefined) out.push(Q.where("resources.memory", "gte", req.minMemory))
  if (req.minCpu !== undefined) out.push(Q.where("resources.cpu", "gte", req.minCpu))
  if (req.maxLoad !== undefined) out.push(Q.where("resources.load", "lte", req.maxLoad))
  return out
}

/**
 * Agents with at least `minMemory` memory and `minCpu` cpu (and at most `maxLoad` load), healthy or not.
 * @example
 * ```ts
 * const big = yield* Discovery.findByResources(registry, { minMemory: 8192, minCpu: 4 })
 * ```
 */
export const findByResources = <H>(
  registry: Registry<H>,
  requirements: ResourceRequirements,
  options?: Q.QueryOptions,
): Effect.Effect<ReadonlyArray<Entry<H>>> => run(registry, resourceCriteria(requirements), options)

/**
 * Healthy agents with `capability` that meet the resource requirements.
 * @example
 * ```ts
 * const gpu = yield* Discovery.findCapableWithResources(registry, "train", { minMemory: 16_384 })
 * ```
 */
export const findCapableWithResources = <H>(
  registry: Registry<H>,
  capability: string,
  requirements: ResourceRequirements,
  options?: Q.QueryOptions,
): Effect.Effect<ReadonlyArray<Entry<H>>> =>
  run(
    registry,
    [
      Q.where("capabilities", "contains", capability),
      Q.where("health", "eq", "healthy"),
      ...resourceCriteria(requirements),
    ],
    options,
  )

/**
 * Agents that have **all** of `capabilities` (any health).
 * @example
 * ```ts
 * const both = yield* Discovery.findByCapabilities(registry, ["vision", "ocr"])
 * ```
 */
export const findByCapabilities = <H>(
  registry: Registry<H>,
  capabilities: ReadonlyArray<string>,
  options?: Q.QueryOptions,
): Effect.Effect<ReadonlyArray<Entry<H>>> =>
  run(
    registry,
    capabilities.map((c) => Q.where("capabilities", "contains", c)),
    options,
  )

/**
 * The `n` agents with `capability` and the lowest `resources.load`, excluding unhealthy ones
 * (agents that report no load come last; ties by registration order).
 * @example
 * ```ts
 * const [best] = yield* Discovery.leastLoaded(registry, "vision", 1)
 * ```
 */
export const leastLoaded = <H>(
  registry: Registry<H>,
  capability: string,
  n = 5,
): Effect.Effect<ReadonlyArray<Entry<H>>> =>
  run(registry, [Q.where("capabilities", "contains", capability), Q.where("health", "neq", "unhealthy")], {
    sortBy: "resources.load",
    limit: n,
  })

/**
 * Number of agents per capability.
 * @example
 * ```ts
 * const counts = yield* Discovery.countByCapability(registry) // { vision: 12, ocr: 3 }
 * ```
 */
export const countByCapability = <H>(
  registry: Registry<H>,
): Effect.Effect<Readonly<Record<string, number>>> =>
  Effect.map(registry.countBy("capabilities"), (m) => Object.fromEntries(m))

/**
 * Counts per health status.
 * @example
 * ```ts
 * const { total, unhealthy } = yield* Discovery.healthSummary(registry)
 * ```
 */
export interface HealthSummary {
  readonly total: number
  readonly healthy: number
  readonly degraded: number
  readonly unhealthy: number
}

/**
 * Counts per health status and the total.
 * @example
 * ```ts
 * const { healthy, total } = yield* Discovery.healthSummary(registry)
 * ```
 */
export const healthSummary = <H>(registry: Registry<H>): Effect.Effect<HealthSummary> =>
  Effect.map(registry.countBy("health"), (m) => {
    const healthy = m.get("healthy") ?? 0
    const degraded = m.get("degraded") ?? 0
    const unhealthy = m.get("unhealthy") ?? 0
    return { total: healthy + degraded + unhealthy, healthy, degraded, unhealthy }
  })

/**
 * Count, sum, mean, min and max of every indexed resource attribute (memory, cpu, load and the declared ones).
 * @example
 * ```ts
 * const { memory } = yield* Discovery.resourceSummary(registry)
 * ```
 */
export const resourceSummary = <H>(
  registry: Registry<H>,
): Effect.Effect<Readonly<Record<string, ResourceStats>>> =>
  Effect.map(
    Effect.forEach([...registry.resources], (r) => registry.resourceStats(r)),
    (stats) => Object.fromEntries(stats.map((s) => [s.attribute, s])),
  )
