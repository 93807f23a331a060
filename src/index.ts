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
export * from "./Version.ts"
