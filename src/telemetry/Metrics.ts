/**
 * Ready-made Effect `Metric` values for every Troupe subsystem (names from `MetricNames.ts`), and a
 * synchronous fast path that updates the very same metric state.
 *
 * ## Using from Effect code
 * `yield* Metric.update(Metrics.busDeliveries, 1)`: the standard Effect API. State lives in the
 * `Metric.MetricRegistry` of the running context, so Prometheus/OTLP exporters see it.
 *
 * ## Using on a hot path
 * `const deliveries = yield* Metrics.bind(Metrics.busDeliveries)` captures the current context once;
 * `deliveries.update(1)` is then a plain synchronous call on the series' own hook (resolved once from the
 * captured context's `MetricRegistry`) that feeds the same series as `Metric.update` in that context. It
 * skips the fiber step and the per-call registry lookup of the Effect API (see bench/README.md "Telemetry").
 *
 * ## Guarantees and caveats
 * - Updates are synchronous and never fail. JavaScript runs one fiber at a time, so counter updates are
 *   never lost.
 * - A bound metric keeps writing to the registry captured at `bind` time, even if the caller later runs
 *   under another `MetricRegistry`.
 * - Cardinality: each distinct attribute set is one series, kept for the registry's lifetime. Attributes
 *   used here are from small fixed sets; never add agent or correlation ids.
 *
 * @module
 */
import { Context, Effect, Metric } from "effect"
import * as MetricNames from "./MetricNames.ts"

/** Ask latency buckets in milliseconds: 0.01 ms .. ~5 s, doubling. */
const latencyBoundaries = Metric.exponentialBoundaries({ start: 0.01, factor: 2, count: 20 })

/** @example Metric.modify(Metrics.agentMailboxDepth, 1) */
export const agentMailboxDepth = Metric.gauge(MetricNames.agentMailboxDepth, {
  description: "Messages waiting in agent mailboxes",
})
/** @example Metric.update(Metrics.agentMailboxDrops, 1) */
export const agentMailboxDrops = Metric.counter(MetricNames.agentMailboxDrops, {
  description: "Messages refused or dropped by full mailboxes",
  incremental: true,
})
/** @example Metric.update(Metrics.agentRestarts, 1) */
export const agentRestarts = Metric.counter(MetricNames.agentRestarts, {
  description: "Agent restarts performed by supervisors",
  incremental: true,
})
/** @example Metric.update(Metrics.agentAsks, 1) */
export const agentAsks = Metric.counter(MetricNames.agentAsks, {
  description: "Asks issued",
  incremental: true,
})
/** Asks by outcome. @example Metric.update(Metrics.agentAsksByOutcome.timeout, 1) */
const askOutcome = (outcome: string) =>
  Metric.counter(MetricNames.agentAsks, {
    description: "Asks issued",
    incremental: true,
    attributes: { outcome },
  })
export const agentAsksByOutcome = {
  ok: askOutcome("ok"),
  timeout: askOutcome("timeout"),
  stopped: askOutcome("stopped"),
  full: askOutcome("full"),
} as const
/** @example Metric.update(Metrics.agentAskLatency, 0.42) */
export const agentAskLatency = Metric.histogram(MetricNames.agentAskLatency, {
  description: "Ask latency in milliseconds",
  boundaries: latencyBoundaries,
})
/** @example Metric.modify(Metrics.agentsActive, 1) */
export const agentsActive = Metric.gauge(MetricNames.agentsActive, { description: "Agents currently alive" })
/** @example Metric.update(Metrics.registrySize, 42) */
export const registrySize = Metric.gauge(MetricNames.registrySize, {
  description: "Entries in the agent registry",
})
/** @example Metric.update(Metrics.limiterDecisions.allowed, 1) */
export const limiterDecisions = {
  allowed: Metric.counter(MetricNames.limiterDecisions, {
    description: "Rate limiter decisions",
    incremental: true,
    attributes: { decision: "allowed" },
  }),
  denied: Metric.counter(MetricNames.limiterDecisions, {
    description: "Rate limiter decisions",
    incremental: true,
    attributes: { decision: "denied" },
  }),
} as const
/**
 * Breaker state gauge; set 0 (closed), 1 (half-open) or 2 (open). Add a `breaker` attribute per breaker.
 *
 * @example
 * ```ts
 * yield* Metric.update(Metric.withAttributes(Metrics.breakerState, { breaker: "payments" }), Metrics.BreakerStateValue.open)
 * ```
 */
export const breakerState = Metric.gauge(MetricNames.breakerState, {
  description: "Circuit breaker state: 0 closed, 1 half-open, 2 open",
})
/** Numeric values of {@link breakerState}. @example Metrics.BreakerStateValue.open // 2 */
export const BreakerStateValue = { closed: 0, halfOpen: 1, open: 2 } as const
/** @example Metric.update(Metric.withAttributes(Metrics.breakerTransitions, { state: "open" }), 1) */
export const breakerTransitions = Metric.counter(MetricNames.breakerTransitions, {
  description: "Circuit breaker state transitions",
  incremental: true,
})
/** @example Metric.update(Metrics.busDeliveries, 1) */
export const busDeliveries = Metric.counter(MetricNames.busDeliveries, {
  description: "Signals delivered to subscribers",
  incremental: true,
})
/** @example Metric.update(Metrics.busDrops, 1) */
export const busDrops = Metric.counter(MetricNames.busDrops, {
  description: "Signals dropped by full subscriber buffers",
  incremental: true,
})
/** @example Metric.update(Metrics.eventAppends, 1) */
export const eventAppends = Metric.counter(MetricNames.eventAppends, {
  description: "Events appended to the event store",
  incremental: true,
})
/** @example Metric.update(Metrics.cacheHits, 1) */
export const cacheHits = Metric.counter(MetricNames.cacheHits, {
  description: "Cache hits",
  incremental: true,
})
/** @example Metric.update(Metrics.cacheMisses, 1) */
export const cacheMisses = Metric.counter(MetricNames.cacheMisses, {
  description: "Cache misses",
  incremental: true,
})
/** @example Metric.update(Metrics.cacheEvictions, 1) */
export const cacheEvictions = Metric.counter(MetricNames.cacheEvictions, {
  description: "Cache evictions",
  incremental: true,
})
/** @example Metric.update(Metrics.telemetryEvents, 1) */
export const telemetryEvents = Metric.counter(MetricNames.telemetryEvents, {
  description: "Telemetry events emitted",
  incremental: true,
})
/** @example Metric.update(Metrics.telemetryHandlerFailures, 1) */
export const telemetryHandlerFailures = Metric.counter(MetricNames.telemetryHandlerFailures, {
  description: "Telemetry handlers detached after a failure",
  incremental: true,
})
/** @example Metric.update(Metrics.errorsRecorded, 1) */
export const errorsRecorded = Metric.counter(MetricNames.errorsRecorded, {
  description: "Errors recorded in the ErrorStore",
  incremental: true,
})
/** Per probe: 0 healthy, 1 degraded, 2 unhealthy. @example Metric.update(Metrics.healthStatus.readiness, 0) */
export const healthStatus = {
  liveness: Metric.gauge(MetricNames.healthStatus, {
    description: "Aggregate health: 0 healthy, 1 degraded, 2 unhealthy",
    attributes: { probe: "liveness" },
  }),
  readiness: Metric.gauge(MetricNames.healthStatus, {
    description: "Aggregate health: 0 healthy, 1 degraded, 2 unhealthy",
    attributes: { probe: "readiness" },
  }),
} as const
/** @example Metric.update(Metric.withAttributes(Metrics.healthChecks, { status: "healthy" }), 1) */
export const healthChecks = Metric.counter(MetricNames.healthChecks, {
  description: "Health check runs",
  incremental: true,
})
/** @example Metric.update(Metric.withAttributes(Metrics.sloBurnRate, { objective: "asks", window: "1h" }), 2.5) */
export const sloBurnRate = Metric.gauge(MetricNames.sloBurnRate, {
  description: "SLO burn rate over the long window of each alert rule",
})
/** @example Metric.update(Metrics.sloAlertsFiring, 1) */
export const sloAlertsFiring = Metric.gauge(MetricNames.sloAlertsFiring, {
  description: "SLO alerts currently firing",
})

/**
 * A metric bound to a captured context: synchronous updates that feed the same series as `Metric.update`.
 *
 * @example
 * ```ts
 * const drops = yield* Metrics.bind(Metrics.busDrops)
 * drops.update(1)
 * ```
 */
export interface Bound<Input, State> {
  readonly metric: Metric.Metric<Input, State>
  /** Same as `Metric.update` (counters add, gauges set, histograms observe). */
  readonly update: (input: Input) => void
  /** Same as `Metric.modify` (gauges add). */
  readonly modify: (input: Input) => void
  /** Current state of the series. */
  readonly value: () => State
}

/**
 * Resolves the series (the registry entry's hooks) of a plain metric once, so updates skip the per-call
 * registry lookup. Metrics built with `Metric.withAttributes`/`mapInput`/`timer`/`summary` (transforms)
 * are not resolved: their input or context mapping must run on every update.
 */
const resolveHooks = <Input, State>(
  metric: Metric.Metric<Input, State>,
  context: Context.Context<never>,
): Metric.Metric.Hooks<Input, State> | undefined => {
  if ("mapInput" in metric || "mapContext" in metric) return undefined
  // Learn the series key by touching the metric in a throw-away registry, then find the real series.
  const probe: Metric.MetricRegistry = new Map()
  metric.valueUnsafe(Context.add(context, Metric.MetricRegistry, probe))
  if (probe.size !== 1) return undefined
  const key = probe.keys().next().value as string
  const registry = Context.get(context, Metric.MetricRegistry)
  if (!registry.has(key)) metric.valueUnsafe(context)
  return registry.get(key)?.hooks as Metric.Metric.Hooks<Input, State> | undefined
}

/**
 * Binds a metric to an explicit context (for code that already holds one, e.g. a runtime).
 *
 * For plain metrics (made by `Metric.counter`/`gauge`/`histogram`/`frequency`, attributes given at
 * construction, like every metric of this module) the series is resolved once
 * and `update` calls its hook directly. Other metrics go through `Metric#updateUnsafe` on each call.
 * Either way the same series is updated as by `Metric.update` in that context. If the series is later
 * removed from the registry (`Metric.remove`), a resolved binding keeps updating the detached series:
 * bind again after removing.
 *
 * @example
 * ```ts
 * const ctx = yield* Effect.context<never>()
 * const hits = Metrics.bindUnsafe(Metrics.cacheHits, ctx)
 * hits.update(1)
 * ```
 */
export const bindUnsafe = <Input, State>(
  metric: Metric.Metric<Input, State>,
  context: Context.Context<never>,
): Bound<Input, State> => {
  const hooks = resolveHooks(metric, context)
  if (hooks === undefined) {
    return {
      metric,
      update: (input) => metric.updateUnsafe(input, context),
      modify: (input) => metric.modifyUnsafe(input, context),
      value: () => metric.valueUnsafe(context),
    }
  }
  return {
    metric,
    update: (input) => hooks.update(input, context),
    modify: (input) => hooks.modify(input, context),
    value: () => hooks.get(context),
  }
}

/**
 * Binds a metric to the current context (its `MetricRegistry` and metric attributes).
 *
 * @example
 * ```ts
 * const asks = yield* Metrics.bind(Metrics.agentAsks)
 * asks.update(1) // synchronous, same series as Metric.update(Metrics.agentAsks, 1)
 * ```
 */
export const bind = <Input, State>(metric: Metric.Metric<Input, State>): Effect.Effect<Bound<Input, State>> =>
  Effect.map(Effect.context<never>(), (context) => bindUnsafe(metric, context))

/**
 * A counter fed from a hot path: `add` only sums, and the sum is reported to the bound metric once per
 * microtask (at the end of the current synchronous run), so a million decisions cost a million integer
 * additions and one metric update per run instead of a million updates. Readers see the metric at most one
 * microtask late.
 *
 * @example
 * ```ts
 * const hits = Metrics.batched(Metrics.bindUnsafe(Metrics.cacheHits, context))
 * hits.add(1)
 * ```
 */
export const batched = (
  bound: Bound<number, any>,
): { readonly add: (n: number) => void; readonly flush: () => void } => {
  let pending = 0
  let scheduled = false
  const flush = (): void => {
    scheduled = false
    if (pending !== 0) {
      const n = pending
      pending = 0
      bound.update(n)
    }
  }
  return {
    add: (n) => {
      pending += n
      if (!scheduled) {
        scheduled = true
        queueMicrotask(flush)
      }
    },
    flush,
  }
}
