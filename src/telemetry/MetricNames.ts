/**
 * Every metric name used by Troupe, in one place, so that dashboards, alerts and the code agree.
 * Names follow Prometheus conventions (`troupe_<subsystem>_<what>[_<unit>]`, counters end in `_total`).
 * Ready-made `Metric` values for each name live in `Metrics.ts`.
 *
 * Attribute (label) conventions, kept low-cardinality on purpose: `decision` (limiter), `state`/`breaker`
 * (breaker), `outcome` (asks). Do not put agent ids or correlation ids in labels: every distinct label set
 * is a series held forever by the metric registry.
 *
 * @module
 */

/** Current number of messages waiting in agent mailboxes (gauge; `modify` by +1/-1). @example MetricNames.agentMailboxDepth */
export const agentMailboxDepth = "troupe_agent_mailbox_depth"
/** Messages refused or dropped by a full mailbox (counter). @example MetricNames.agentMailboxDrops */
export const agentMailboxDrops = "troupe_agent_mailbox_drops_total"
/** Agent restarts performed by supervisors (counter). @example MetricNames.agentRestarts */
export const agentRestarts = "troupe_agent_restarts_total"
/** Asks issued (counter; label `outcome`: ok | timeout | stopped | full). @example MetricNames.agentAsks */
export const agentAsks = "troupe_agent_asks_total"
/** Ask latency in milliseconds (histogram). @example MetricNames.agentAskLatency */
export const agentAskLatency = "troupe_agent_ask_latency_ms"
/** Agents currently alive (gauge). @example MetricNames.agentsActive */
export const agentsActive = "troupe_agents_active"
/** Entries in the agent registry (gauge). @example MetricNames.registrySize */
export const registrySize = "troupe_registry_size"
/** Rate limiter decisions (counter; label `decision`: allowed | denied). @example MetricNames.limiterDecisions */
export const limiterDecisions = "troupe_limiter_decisions_total"
/** Circuit breaker state (gauge: 0 closed, 1 half-open, 2 open; label `breaker`). @example MetricNames.breakerState */
export const breakerState = "troupe_breaker_state"
/** Circuit breaker state transitions (counter; label `state`: the new state). @example MetricNames.breakerTransitions */
export const breakerTransitions = "troupe_breaker_transitions_total"
/** Signals delivered to subscribers by the bus (counter). @example MetricNames.busDeliveries */
export const busDeliveries = "troupe_bus_deliveries_total"
/** Signals dropped by the bus (full subscriber buffers) (counter). @example MetricNames.busDrops */
export const busDrops = "troupe_bus_drops_total"
/** Events appended to the event store (counter). @example MetricNames.eventAppends */
export const eventAppends = "troupe_event_appends_total"
/** Cache hits (counter). @example MetricNames.cacheHits */
export const cacheHits = "troupe_cache_hits_total"
/** Cache misses (counter). @example MetricNames.cacheMisses */
export const cacheMisses = "troupe_cache_misses_total"
/** Cache evictions (counter). @example MetricNames.cacheEvictions */
export const cacheEvictions = "troupe_cache_evictions_total"
/** Telemetry events emitted (counter). @example MetricNames.telemetryEvents */
export const telemetryEvents = "troupe_telemetry_events_total"
/** Telemetry handlers detached after a failure (counter). @example MetricNames.telemetryHandlerFailures */
export const telemetryHandlerFailures = "troupe_telemetry_handler_failures_total"
/** Errors recorded in the ErrorStore (counter). @example MetricNames.errorsRecorded */
export const errorsRecorded = "troupe_errors_recorded_total"
/** Aggregate health (gauge: 0 healthy, 1 degraded, 2 unhealthy; label `probe`: liveness | readiness). @example MetricNames.healthStatus */
export const healthStatus = "troupe_health_status"
/** Health check runs (counter; label `status`). @example MetricNames.healthChecks */
export const healthChecks = "troupe_health_checks_total"
/** SLO burn rate over the long window of each alert rule (gauge; labels `objective`, `window`). @example MetricNames.sloBurnRate */
export const sloBurnRate = "troupe_slo_burn_rate"
/** SLO alerts currently firing (gauge). @example MetricNames.sloAlertsFiring */
export const sloAlertsFiring = "troupe_slo_alerts_firing"

/**
 * Every name above, grouped by subsystem (for docs, dashboards and a completeness test).
 *
 * @example
 * ```ts
 * MetricNames.bySubsystem.agent.includes(MetricNames.agentAsks) // true
 * ```
 */
export const bySubsystem = {
  agent: [agentMailboxDepth, agentMailboxDrops, agentRestarts, agentAsks, agentAskLatency, agentsActive],
  registry: [registrySize],
  limiter: [limiterDecisions],
  breaker: [breakerState, breakerTransitions],
  bus: [busDeliveries, busDrops],
  events: [eventAppends],
  cache: [cacheHits, cacheMisses, cacheEvictions],
  telemetry: [telemetryEvents, telemetryHandlerFailures, errorsRecorded],
  health: [healthStatus, healthChecks],
  slo: [sloBurnRate, sloAlertsFiring],
} as const
