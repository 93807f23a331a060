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
