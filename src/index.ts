/**
 * Troupe: a TypeScript runtime for supervised multi-agent systems, built on Effect.
 * Each area is re-exported as a namespace.
 *
 * @example
 * ```ts
 * import { Agent, AgentSystem, Supervisor } from "troupe"
 * ```
 * @module
 */
export * as Agent from "./agent/Agent.ts"
export * as AgentError from "./agent/AgentError.ts"
export * as AgentSystem from "./agent/AgentSystem.ts"
export * as DynamicSupervisor from "./agent/DynamicSupervisor.ts"
export * as Mailbox from "./agent/Mailbox.ts"
export * as Supervisor from "./agent/Supervisor.ts"
export * as Config from "./config/Config.ts"
export * as ConfigError from "./config/ConfigError.ts"
export * as Demo from "./demo/Demo.ts"
export * as AgentRegistry from "./registry/AgentRegistry.ts"
export * as Discovery from "./registry/Discovery.ts"
export * as Dispatcher from "./registry/Dispatcher.ts"
export * as Query from "./registry/Query.ts"
export * as Registry from "./registry/Registry.ts"
export * as RegistryError from "./registry/RegistryError.ts"
export * as Bulkhead from "./resilience/Bulkhead.ts"
export * as CircuitBreaker from "./resilience/CircuitBreaker.ts"
export * as Protect from "./resilience/Protect.ts"
export * as RateLimiter from "./resilience/RateLimiter.ts"
export * as RateLimiterStore from "./resilience/RateLimiterStore.ts"
export * as ResilienceError from "./resilience/ResilienceError.ts"
export * as Retry from "./resilience/Retry.ts"
export * as TaskPool from "./resilience/TaskPool.ts"
export * as Cache from "./resource/Cache.ts"
export * as Pool from "./resource/Pool.ts"
export * as ResourceError from "./resource/ResourceError.ts"
export * as ResourceManager from "./resource/ResourceManager.ts"
export * as ErrorStore from "./telemetry/ErrorStore.ts"
export * as Health from "./telemetry/Health.ts"
export * as MetricNames from "./telemetry/MetricNames.ts"
export * as Metrics from "./telemetry/Metrics.ts"
export * as Otlp from "./telemetry/Otlp.ts"
export * as Prometheus from "./telemetry/Prometheus.ts"
export * as Slo from "./telemetry/Slo.ts"
export * as Telemetry from "./telemetry/Telemetry.ts"
export * as TelemetryError from "./telemetry/TelemetryError.ts"
export * as TelemetryEvents from "./telemetry/TelemetryEvents.ts"
export * from "./Version.ts"
