/**
 * The expected failures of the agent kernel, one `Schema.TaggedError` per failure.
 * Every message states the problem and the fix.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, AgentError } from "troupe"
 *
 * const safeAsk = (ref: Agent.AgentRef<Msg>) =>
 *   ref.ask({ _tag: "Get" }).pipe(
 *     Effect.catchTag("AskTimeout", () => Effect.succeed(0)),
 *   )
 * ```
 * @module
 */
import { Schema } from "effect"

/**
 * The mailbox of an agent with overflow policy `"fail"` is at capacity.
 *
 * @example
 * ```ts
 * ref.tell(msg).pipe(Effect.catchTag("MailboxFull", (e) => Effect.log(e.message)))
 * ```
 */
export class MailboxFull extends Schema.TaggedError<MailboxFull>()("MailboxFull", {
  agent: Schema.String,
  capacity: Schema.Number,
}) {
  override get message(): string {
    return `Mailbox of "${this.agent}" is full (capacity ${this.capacity}). Raise capacity, pick overflow "dropping"/"sliding"/"suspend", or slow the sender.`
  }
}

/**
 * An `ask` got no reply within its timeout. The request is withdrawn if the agent has not started it yet.
 *
 * @example
 * ```ts
 * ref.ask({ _tag: "Get" }, { timeoutMs: 50 }).pipe(Effect.catchTag("AskTimeout", () => Effect.succeed(-1)))
 * ```
 */
export class AskTimeout extends Schema.TaggedError<AskTimeout>()("AskTimeout", {
  agent: Schema.String,
  timeoutMs: Schema.Number,
}) {
  override get message(): string {
    return `Agent "${this.agent}" did not reply within ${this.timeoutMs} ms. Raise timeoutMs, make the handler reply sooner (move long work to a child fiber), or check that it calls ctx.reply.`
  }
}

/**
 * The agent is not running: it stopped, crashed, or is being restarted, so the message cannot be handled.
 * `reason` is `"stopped"`, `"stopping"`, `"crashed"` or `"restarted"`.
 *
 * @example
 * ```ts
 * ref.tell(msg).pipe(Effect.catchTag("AgentStopped", () => Effect.void))
 * ```
 */
export class AgentStopped extends Schema.TaggedError<AgentStopped>()("AgentStopped", {
  agent: Schema.String,
  reason: Schema.String,
}) {
  override get message(): string {
    switch (this.reason) {
      case "restarted":
        return `Agent "${this.agent}" crashed and was restarted before it handled this message. Send it again to reach the new incarnation.`
      case "crashed":
        return `Agent "${this.agent}" crashed while this message was pending. Look at its exit reason (Agent.awaitExit) and retry if it is supervised.`
      default:
        return `Agent "${this.agent}" is ${this.reason}. Look the agent up again (it may have been replaced) or start it before sending.`
    }
  }
}

/**
 * The handler finished a request without answering it.
 *
 * @example
 * ```ts
 * // in receive: case "Get": ctx.reply(msg, state); return state
 * ```
 */
export class NoReply extends Schema.TaggedError<NoReply>()("NoReply", {
  agent: Schema.String,
  message: Schema.String,
}) {}

/**
 * Builds a {@link NoReply} with a message that names the fix.
 *
 * @example
 * ```ts
 * env.complete(Exit.fail(AgentError.noReply("pricer", "Quote")))
 * ```
 */
export const noReply = (agent: string, tag: string): NoReply =>
  new NoReply({
    agent,
    message: `Agent "${agent}" handled request ${tag} without replying. Call ctx.reply(msg, value) in the handler, or ctx.deferReply(msg) to answer later.`,
  })

/**
 * The handler failed with a typed error while handling a request, and the behaviour resumes on failure
 * (`onFailure: "resume"`). The asker receives the error; the agent keeps its state.
 *
 * @example
 * ```ts
 * ref.ask(req).pipe(Effect.catchTag("HandlerFailed", (e) => Effect.log(e.error)))
 * ```
 */
export class HandlerFailed extends Schema.TaggedError<HandlerFailed>()("HandlerFailed", {
  agent: Schema.String,
  error: Schema.Unknown,
}) {
  override get message(): string {
    return `Agent "${this.agent}" failed while handling this request: ${String(this.error)}. The agent kept its previous state; handle the error or retry.`
  }
}

/**
 * A message that crossed a boundary (HTTP, JSON) did not match the agent's protocol schema. Nothing was sent.
 *
 * @example
 * ```ts
 * Agent.tellUnknown(ref, JSON.parse(body)).pipe(Effect.catchTag("InvalidMessage", (e) => Effect.log(e.message)))
 * ```
 */
export class InvalidMessage extends Schema.TaggedError<InvalidMessage>()("InvalidMessage", {
  agent: Schema.String,
  issue: Schema.String,
}) {
  override get message(): string {
    return `Message for agent "${this.agent}" does not match its protocol: ${this.issue}. Fix the payload to match the agent's schema.`
  }
}

/**
 * A supervisor restarted its children more than `maxRestarts` times within `withinMs` and gave up.
 * Its parent applies its own strategy.
 *
 * @example
 * ```ts
 * Agent.awaitExit(sup.ref) // => { _tag: "Failed", error: RestartIntensityExceeded }
 * ```
 */
export class RestartIntensityExceeded extends Schema.TaggedError<RestartIntensityExceeded>()(
  "RestartIntensityExceeded",
  {
    supervisor: Schema.String,
    maxRestarts: Schema.Number,
    withinMs: Schema.Number,
  },
) {
  override get message(): string {
    return `Supervisor "${this.supervisor}" exceeded ${this.maxRestarts} restarts within ${this.withinMs} ms and shut down. Fix the crashing child, or raise maxRestarts/withinMs or add a restart backoff.`
  }
}

/**
 * A dynamic supervisor already runs `maxChildren` children.
 *
 * @example
 * ```ts
 * pool.startChild(Worker).pipe(Effect.catchTag("MaxChildrenReached", () => Effect.fail("busy")))
 * ```
 */
export class MaxChildrenReached extends Schema.TaggedError<MaxChildrenReached>()("MaxChildrenReached", {
  supervisor: Schema.String,
  maxChildren: Schema.Number,
}) {
  override get message(): string {
    return `Supervisor "${this.supervisor}" already runs ${this.maxChildren} children (maxChildren). Stop a child first or raise maxChildren.`
  }
}

/**
 * A child id was not found in a supervisor.
 *
 * @example
 * ```ts
 * sup.child("db").pipe(Effect.catchTag("ChildNotFound", () => Effect.succeed(undefined)))
 * ```
 */
export class ChildNotFound extends Schema.TaggedError<ChildNotFound>()("ChildNotFound", {
  supervisor: Schema.String,
  child: Schema.String,
}) {
  override get message(): string {
    return `Supervisor "${this.supervisor}" has no child "${this.child}". Check the child id against its child specs.`
  }
}

/**
 * A static supervisor already has a child with this id.
 *
 * @example
 * ```ts
 * Supervisor.start({ children: [a, a] }) // dies: duplicate id
 * ```
 */
export class DuplicateChild extends Schema.TaggedError<DuplicateChild>()("DuplicateChild", {
  supervisor: Schema.String,
  child: Schema.String,
}) {
  override get message(): string {
    return `Supervisor "${this.supervisor}" already has a child "${this.child}". Give each child spec a unique id.`
  }
}

/**
 * The agent's `init` failed, so it never started.
 *
 * @example
 * ```ts
 * Agent.spawn(b).pipe(Effect.catchTag("InitFailed", (e) => Effect.log(e.message)))
 * ```
 */
export class InitFailed extends Schema.TaggedError<InitFailed>()("InitFailed", {
  agent: Schema.String,
  error: Schema.Unknown,
}) {
  override get message(): string {
    return `Agent "${this.agent}" failed in init: ${String(this.error)}. Fix init, or make it tolerate the failure.`
  }
}

/**
 * Errors an `ask` can fail with.
 *
 * @example
 * ```ts
 * const onError = (e: AgentError.AskError) => (e._tag === "AskTimeout" ? "slow" : "gone")
 * ```
 */
export type AskError = AskTimeout | AgentStopped | MailboxFull | NoReply | HandlerFailed

/**
 * Errors a `tell` can fail with.
 *
 * @example
 * ```ts
 * ref.tell(msg).pipe(Effect.catchAll((e: AgentError.TellError) => Effect.log(e.message)))
 * ```
 */
export type TellError = AgentStopped | MailboxFull
