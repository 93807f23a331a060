/**
 * Expected failures of the registry, the query planner, watchers and the dispatcher.
 * Each is a `Schema.TaggedError` whose message states the problem and the fix.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Registry from "./Registry.ts"
 *
 * const program = Effect.gen(function* () {
 *   const registry = yield* Registry.make<{ id: number }>()
 *   yield* registry.register("a", { id: 1 })
 *   return yield* registry.register("a", { id: 2 }).pipe(
 *     Effect.catchTag("AlreadyRegistered", (e) => Effect.succeed(e.holder)),
 *   )
 * })
 * ```
 * @module
 */
import { Schema } from "effect"

/**
 * The name (unique mode) or the (key, agent) pair (duplicate mode) is taken; `holder` is the current holder.
 * @example
 * ```ts
 * Effect.catchTag("AlreadyRegistered", (e) => Effect.succeed(e.holder))
 * ```
 */
export class AlreadyRegistered extends Schema.TaggedError<AlreadyRegistered>()("AlreadyRegistered", {
  key: Schema.String,
  holder: Schema.Unknown,
}) {
  override get message(): string {
    return `Key "${this.key}" is already registered (held by ${describeHandle(this.holder)}). Pick another name, unregister the holder first, or use a registry with keys: "duplicate" for groups.`
  }
}

/**
 * No entry under this key (or for this agent under this key).
 * @example
 * ```ts
 * Effect.catchTag("NotRegistered", () => Effect.succeed(undefined))
 * ```
 */
export class NotRegistered extends Schema.TaggedError<NotRegistered>()("NotRegistered", {
  key: Schema.String,
}) {
  override get message(): string {
    return `Nothing is registered under "${this.key}". Register it first, or check the name (lookups are exact and case-sensitive).`
  }
}

/**
 * A name or metadata field failed validation; `field` is the path of the offending field (e.g. `metadata.resources.memory`).
 * @example
 * ```ts
 * Effect.catchTag("InvalidRegistration", (e) => Console.log(e.field, e.reason))
 * ```
 */
export class InvalidRegistration extends Schema.TaggedError<InvalidRegistration>()("InvalidRegistration", {
  field: Schema.String,
  reason: Schema.String,
}) {
  override get message(): string {
    return `Invalid registration: ${this.field}: ${this.reason}.`
  }
}

/**
 * The registry already holds `maxEntries` entries; nothing of the failed operation was written.
 * @example
 * ```ts
 * Effect.catchTag("RegistryFull", (e) => Console.log(`full at ${e.capacity}`))
 * ```
 */
export class RegistryFull extends Schema.TaggedError<RegistryFull>()("RegistryFull", {
  capacity: Schema.Number,
  requested: Schema.Number,
}) {
  override get message(): string {
    return `Registry is full (maxEntries ${this.capacity}); ${this.requested} new entr${this.requested === 1 ? "y" : "ies"} refused and nothing was written. Raise maxEntries or unregister idle agents.`
  }
}

/**
 * The agent to register has already stopped, so registering it would leave a stale entry.
 * @example
 * ```ts
 * Effect.catchTag("AgentNotAlive", () => Effect.void)
 * ```
 */
export class AgentNotAlive extends Schema.TaggedError<AgentNotAlive>()("AgentNotAlive", {
  key: Schema.String,
}) {
  override get message(): string {
    return `Cannot register "${this.key}": its agent has already stopped, and a registry never keeps entries of stopped agents. Register a running agent.`
  }
}

/**
 * A query criterion is malformed (unknown path, wrong operator or value type).
 * @example
 * ```ts
 * Effect.catchTag("InvalidQuery", (e) => Console.log(e.path, e.reason))
 * ```
 */
export class InvalidQuery extends Schema.TaggedError<InvalidQuery>()("InvalidQuery", {
  path: Schema.String,
  reason: Schema.String,
}) {
  override get message(): string {
    return `Invalid query at "${this.path}": ${this.reason}.`
  }
}

/**
 * A watcher with overflow policy "fail" fell `capacity` changes behind; its stream ends with this error.
 * @example
 * ```ts
 * Stream.catchTag(registry.watch(), "WatchOverflow", () => registry.watch())
 * ```
 */
export class WatchOverflow extends Schema.TaggedError<WatchOverflow>()("WatchOverflow", {
  capacity: Schema.Number,
}) {
  override get message(): string {
    return `Registry watcher fell behind by ${this.capacity} changes and was closed (overflow "fail"). Consume faster, raise bufferSize, or use overflow "sliding"/"dropping".`
  }
}

/**
 * The registry already has `maxWatchers` open watchers.
 * @example
 * ```ts
 * Effect.catchTag("WatchLimitReached", (e) => Console.log(e.max))
 * ```
 */
export class WatchLimitReached extends Schema.TaggedError<WatchLimitReached>()("WatchLimitReached", {
  max: Schema.Number,
}) {
  override get message(): string {
    return `Registry already has ${this.max} open watchers (maxWatchers). Close unused watch streams or raise maxWatchers.`
  }
}

/**
 * No registered agent fits the dispatch request (capability, health, requirements).
 * @example
 * ```ts
 * d.dispatch("ocr", job).pipe(Effect.catchTag("NoAgentAvailable", () => queueForLater(job)))
 * ```
 */
export class NoAgentAvailable extends Schema.TaggedError<NoAgentAvailable>()("NoAgentAvailable", {
  capability: Schema.String,
  strategy: Schema.String,
}) {
  override get message(): string {
    return `No agent available for capability "${this.capability}" (strategy ${this.strategy}): none is registered with it and not unhealthy. Register capable agents or relax the requirements.`
  }
}

/**
 * Any error the registry itself can fail with.
 * @example
 * ```ts
 * const handle = (e: RegistryError.RegistryError) => e.message
 * ```
 */
export type RegistryError =
  | AlreadyRegistered
  | NotRegistered
  | InvalidRegistration
  | RegistryFull
  | AgentNotAlive
  | InvalidQuery
  | WatchOverflow
  | WatchLimitReached
  | NoAgentAvailable

const describeHandle = (h: unknown): string => {
  if (h !== null && typeof h === "object" && "id" in h) return `agent ${String((h as { id: unknown }).id)}`
  return String(h)
}
