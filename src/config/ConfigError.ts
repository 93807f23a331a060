/**
 * Typed failures of {@link Config}: every message names the path, the problem and the fix.
 *
 * @module
 */
import { Schema } from "effect"

/**
 * A value (from an update, a file or the environment) does not match the config schema.
 * Nothing was changed.
 *
 * @example
 * ```ts
 * const e = new ConfigInvalid({ path: "agent.askTimeoutMs", problem: "Expected a value greater than 0" })
 * e.message // 'Config "agent.askTimeoutMs" is invalid: Expected a value greater than 0. ...'
 * ```
 */
export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  path: Schema.String,
  problem: Schema.String,
}) {
  override get message(): string {
    return `Config "${this.path}" is invalid: ${this.problem}. Nothing was changed; pass a value that matches the schema (see docs/telemetry.md#config).`
  }
}

/**
 * The path is not part of the config schema (typo, or a section that does not exist).
 *
 * @example
 * ```ts
 * new ConfigUnknownPath({ path: "agent.askTimeout", known: ["agent.askTimeoutMs"] }).message
 * ```
 */
export class ConfigUnknownPath extends Schema.TaggedError<ConfigUnknownPath>()("ConfigUnknownPath", {
  path: Schema.String,
  known: Schema.Array(Schema.String),
}) {
  override get message(): string {
    const hint = this.known.length > 0 ? ` Known paths: ${this.known.slice(0, 20).join(", ")}.` : ""
    return `Config path "${this.path}" does not exist in the schema. Use one of the declared paths.${hint}`
  }
}

/**
 * The path exists but was not declared updatable at runtime.
 *
 * @example
 * ```ts
 * new ConfigNotUpdatable({ path: "http.port", updatable: ["agent.askTimeoutMs"] }).message
 * ```
 */
export class ConfigNotUpdatable extends Schema.TaggedError<ConfigNotUpdatable>()("ConfigNotUpdatable", {
  path: Schema.String,
  updatable: Schema.Array(Schema.String),
}) {
  override get message(): string {
    return `Config path "${this.path}" is not updatable at runtime (updatable: ${this.updatable.join(", ") || "none"}). Set it at startup (file or environment) or declare it in "updatable".`
  }
}

/**
 * `subscribe` was refused because the bound on concurrent subscribers is reached.
 *
 * @example
 * ```ts
 * new ConfigSubscribersExhausted({ maxSubscribers: 64 }).message
 * ```
 */
export class ConfigSubscribersExhausted extends Schema.TaggedError<ConfigSubscribersExhausted>()(
  "ConfigSubscribersExhausted",
  { maxSubscribers: Schema.Number },
) {
  override get message(): string {
    return `Config already has ${this.maxSubscribers} subscribers (maxSubscribers). Close an unused subscription scope or raise "maxSubscribers".`
  }
}

/**
 * A config source (file or environment) could not be read or parsed.
 *
 * @example
 * ```ts
 * new ConfigLoadFailed({ source: "file:./troupe.json", problem: "Unexpected token" }).message
 * ```
 */
export class ConfigLoadFailed extends Schema.TaggedError<ConfigLoadFailed>()("ConfigLoadFailed", {
  source: Schema.String,
  problem: Schema.String,
}) {
  override get message(): string {
    return `Could not load config from ${this.source}: ${this.problem}. Check that the file exists, is readable and holds a JSON object.`
  }
}

/**
 * Any failure of the Config module.
 *
 * @example
 * ```ts
 * config.update("agent.askTimeoutMs", -1).pipe(Effect.catchAll((e: ConfigError.ConfigError) => Effect.log(e.message)))
 * ```
 */
export type ConfigError =
  | ConfigInvalid
  | ConfigUnknownPath
  | ConfigNotUpdatable
  | ConfigSubscribersExhausted
  | ConfigLoadFailed
