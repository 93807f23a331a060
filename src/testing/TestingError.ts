/**
 * The failures of `troupe/testing`'s invariant checks, one `Schema.TaggedError` per failure. Each message
 * says which agents broke the invariant and where to look.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Invariants } from "troupe/testing"
 *
 * Invariants.noDeafAgents(refs).pipe(Effect.catchTag("DeafAgents", (e) => Effect.log(e.message)))
 * ```
 * @module
 */
import { Schema } from "effect"

/**
 * Some asks did not settle (reply or typed error) within their timeout.
 *
 * @example
 * ```ts
 * Invariants.everyAskSettles(asks, { timeoutMs: 100 }).pipe(Effect.catchTag("UnsettledAsks", Effect.die))
 * ```
 */
export class UnsettledAsks extends Schema.TaggedError<UnsettledAsks>()("UnsettledAsks", {
  pending: Schema.Number,
  total: Schema.Number,
  timeoutMs: Schema.Number,
}) {
  override get message(): string {
    return `${this.pending} of ${this.total} asks were still pending ${this.timeoutMs} ms after their timeout. An ask must always settle: look for a handler that never returns or an agent that stopped handling its mailbox.`
  }
}

/**
 * Agents whose status is `running` did not answer a probe: they are alive on paper but no longer handle
 * their mailbox (wedged).
 *
 * @example
 * ```ts
 * Invariants.noDeafAgents(refs).pipe(Effect.catchTag("DeafAgents", (e) => Effect.log(e.agents)))
 * ```
 */
export class DeafAgents extends Schema.TaggedError<DeafAgents>()("DeafAgents", {
  agents: Schema.Array(Schema.String),
  timeoutMs: Schema.Number,
}) {
  override get message(): string {
    return `Agents ${this.agents.map((a) => `"${a}"`).join(", ")} report status "running" but did not answer a probe within ${this.timeoutMs} ms. The kernel must never leave a running agent that ignores its mailbox: this is a kernel bug (or a handler that never ends).`
  }
}

/**
 * Something outlived the closed agent system: agents, fibers it owns, or pending timers.
 *
 * @example
 * ```ts
 * Invariants.nothingLeft(system).pipe(Effect.catchTag("LeftBehind", (e) => Effect.log(e.message)))
 * ```
 */
export class LeftBehind extends Schema.TaggedError<LeftBehind>()("LeftBehind", {
  agents: Schema.Number,
  fibers: Schema.Number,
}) {
  override get message(): string {
    return `After close the system still has ${this.agents} agents and ${this.fibers} fibers. Closing must leave nothing: look for a fiber forked outside the agent's scope or a timer not tied to an incarnation.`
  }
}

/**
 * The fault an injected `"fail"` makes the handler fail with.
 *
 * @example
 * ```ts
 * yield* Chaos.inject(ref, { fault: "fail" })
 * ```
 */
export class InjectedFault extends Schema.TaggedError<InjectedFault>()("InjectedFault", {
  fault: Schema.String,
}) {
  override get message(): string {
    return `Fault "${this.fault}" injected by troupe/testing's Chaos (expected in a chaos test).`
  }
}
