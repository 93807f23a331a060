/**
 * Typed failures of the telemetry area (events, health, SLO). Messages state the problem and the fix.
 *
 * @module
 */
import { Schema } from "effect"

/**
 * `attach` was given an id that is already attached.
 *
 * @example
 * ```ts
 * new TelemetryHandlerExists({ id: "log-asks" }).message
 * ```
 */
export class TelemetryHandlerExists extends Schema.TaggedError<TelemetryHandlerExists>()(
  "TelemetryHandlerExists",
  {
    id: Schema.String,
  },
) {
  override get message(): string {
    return `A telemetry handler with id "${this.id}" is already attached. Detach it first or pick another id.`
  }
}

/**
 * `attach` was refused because `maxHandlers` handlers are attached.
 *
 * @example
 * ```ts
 * new TelemetryHandlersExhausted({ maxHandlers: 64 }).message
 * ```
 */
export class TelemetryHandlersExhausted extends Schema.TaggedError<TelemetryHandlersExhausted>()(
  "TelemetryHandlersExhausted",
  { maxHandlers: Schema.Number },
) {
  override get message(): string {
    return `Telemetry already has ${this.maxHandlers} handlers attached (maxHandlers). Detach unused handlers (attachScoped detaches with its scope) or raise "maxHandlers".`
  }
}

/**
 * A telemetry handler threw, failed or timed out; it was detached. Recorded in the ErrorStore.
 *
 * @example
 * ```ts
 * new TelemetryHandlerFailed({ id: "h", event: "troupe.agent.ask", problem: "boom" }).message
 * ```
 */
export class TelemetryHandlerFailed extends Schema.TaggedError<TelemetryHandlerFailed>()(
  "TelemetryHandlerFailed",
  {
    id: Schema.String,
    event: Schema.String,
    problem: Schema.String,
  },
) {
  override get message(): string {
    return `Telemetry handler "${this.id}" failed on "${this.event}" and was detached: ${this.problem}. Fix the handler and attach it again.`
  }
}

/**
 * `Health.register` was given a check name already registered.
 *
 * @example
 * ```ts
 * new HealthCheckExists({ name: "db" }).message
 * ```
 */
export class HealthCheckExists extends Schema.TaggedError<HealthCheckExists>()("HealthCheckExists", {
  name: Schema.String,
}) {
  override get message(): string {
    return `A health check named "${this.name}" is already registered. Close its scope first or pick another name.`
  }
}

/**
 * `Health.register` was refused because `maxChecks` checks are registered.
 *
 * @example
 * ```ts
 * new HealthChecksExhausted({ maxChecks: 64 }).message
 * ```
 */
export class HealthChecksExhausted extends Schema.TaggedError<HealthChecksExhausted>()(
  "HealthChecksExhausted",
  {
    maxChecks: Schema.Number,
  },
) {
  override get message(): string {
    return `Health already has ${this.maxChecks} checks registered (maxChecks). Close unused check scopes or raise "maxChecks".`
  }
}

/**
 * An SLO operation named an objective that was not declared.
 *
 * @example
 * ```ts
 * new SloUnknownObjective({ name: "ask-latency", known: ["errors"] }).message
 * ```
 */
export class SloUnknownObjective extends Schema.TaggedError<SloUnknownObjective>()("SloUnknownObjective", {
  name: Schema.String,
  known: Schema.Array(Schema.String),
}) {
  override get message(): string {
    return `SLO objective "${this.name}" is not declared (declared: ${this.known.join(", ") || "none"}). Declare it in Slo.make({ objectives }).`
  }
}

/**
 * Any failure of the telemetry area.
 *
 * @example
 * ```ts
 * events.attach("h", "agent.*", handler).pipe(Effect.catchAll((e: TelemetryError.TelemetryError) => Effect.log(e._tag)))
 * ```
 */
export type TelemetryError =
  | TelemetryHandlerExists
  | TelemetryHandlersExhausted
  | TelemetryHandlerFailed
  | HealthCheckExists
  | HealthChecksExhausted
  | SloUnknownObjective
