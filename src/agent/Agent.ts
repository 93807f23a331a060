/**
 * Agents: private state, a bounded mailbox, and a message handler run one message at a time.
 *
 * An agent is defined by a {@link Behavior} and started with {@link spawn} inside an
 * {@link AgentSystem}. You talk to it through its {@link AgentRef}: `tell` (fire and forget, obeying
 * the mailbox policy), `ask` (request/reply with a timeout) and `stop`.
 *
 * Guarantees:
 * - Handlers of one agent never run concurrently; messages are handled in mailbox order.
 * - `ask` always settles: with the reply, `AskTimeout`, `AgentStopped` (the agent ended, crashed or is
 *   restarting), `MailboxFull`, `NoReply` (the handler did not answer) or `HandlerFailed`.
 * - A crash (a thrown defect, or a failed Effect unless `onFailure: "resume"`) ends the incarnation:
 *   pending requests fail with `AgentStopped`, queued messages become dead letters, timers and watches
 *   are cancelled. The supervisor decides whether a new incarnation starts. The `AgentRef` stays valid
 *   across restarts of the agent itself.
 * - An idle agent holds no fiber: it costs its state, its ref and a few hundred bytes. A handler that
 *   returns a plain value runs synchronously on the dispatcher; one that returns an Effect runs on a
 *   worker fiber owned by the agent until its mailbox is empty.
 *
 * Caveats: a state value must not itself be an Effect (a handler's Effect result is run, not stored).
 * Long CPU-bound work blocks the dispatcher like any JavaScript code: move it to an Effect that yields.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, AgentSystem } from "troupe"
 *
 * type Msg = { readonly _tag: "Add"; readonly n: number } | ({ readonly _tag: "Sum" } & Agent.Request<number>)
 *
 * const Summer = Agent.behavior<number, Msg>({
 *   init: () => 0,
 *   receive: (sum, msg, ctx) => {
 *     switch (msg._tag) {
 *       case "Add": return sum + msg.n
 *       case "Sum": ctx.reply(msg, sum); return sum
 *     }
 *   },
 *   mailbox: { capacity: 1024, overflow: "suspend" },
 * })
 *
 * const program = Effect.gen(function* () {
 *   const ref = yield* Agent.spawn(Summer)
 *   yield* ref.tell({ _tag: "Add", n: 2 })
 *   return yield* ref.ask({ _tag: "Sum" }) // 2
 * }).pipe(Effect.provide(AgentSystem.layer()))
 * ```
 * @module
 */
import { type Cause, Context, Effect, Schema } from "effect"
import type * as AgentError from "./AgentError.ts"
import { InvalidMessage as InvalidMessageError } from "./AgentError.ts"
import { AgentSystem } from "./AgentSystem.ts"
import { type AgentCtx, type Cell, exitNormal, type RestartType } from "./internal/runtime.ts"

export type { RestartType } from "./internal/runtime.ts"

import type * as Mailbox from "./Mailbox.ts"

/**
 * Lifecycle of an agent.
 *
 * @example
 * ```ts
 * const live = (ref: Agent.AgentRef<unknown>) => ref.status === "running"
 * ```
 */
export type AgentStatus = "starting" | "running" | "restarting" | "stopping" | "stopped"

/**
 * Why an agent ended: `Normal` (it called `ctx.stop()`), `Shutdown` (stopped from outside: `stop`, its
 * supervisor, the system closing) or `Failed` (a crash or a failed init).
 *
 * @example
 * ```ts
 * const reason = yield* Agent.awaitExit(ref)
 * if (reason._tag === "Failed") console.log(Cause.pretty(reason.cause))
 * ```
 */
export type ExitReason =
  | { readonly _tag: "Normal" }
  | { readonly _tag: "Shutdown" }
  | { readonly _tag: "Failed"; readonly cause: Cause.Cause<unknown> }

declare const ReplyType: unique symbol

/**
 * Marks a message type as a request whose reply has type `A`. The property is a phantom: plain object
 * literals satisfy it.
 *
 * @example
 * ```ts
 * type Get = { readonly _tag: "Get"; readonly key: string } & Agent.Request<number | undefined>
 * ```
 */
export interface Request<A> {
  readonly [ReplyType]?: A
}

/**
 * The reply type of a request message.
 *
 * @example
 * ```ts
 * type Get = { readonly _tag: "Get" } & Agent.Request<number>
 * type N = Agent.ReplyOf<Get> // number
 * ```
 */
export type ReplyOf<Q> = Q extends { readonly [ReplyType]?: infer A } ? A : never

/**
 * The reply type of request `Q` sent to an agent whose protocol is `M` (`Q` may be a plain literal).
 *
 * @example
 * ```ts
 * type Msg = { readonly _tag: "Inc" } | ({ readonly _tag: "Get" } & Agent.Request<number>)
 * type N = Agent.ReplyFor<Msg, { readonly _tag: "Get" }> // number
 * ```
 */
export type ReplyFor<M, Q> = 0 extends 1 & M
  ? any
  : RequestsOf<M> extends infer R
    ? R extends any
      ? Q extends R
        ? ReplyOf<R>
        : never
      : never
    : never

/**
 * The members of a message union that are requests.
 *
 * @example
 * ```ts
 * type Msg = { readonly _tag: "Inc" } | ({ readonly _tag: "Get" } & Agent.Request<number>)
 * type Asks = Agent.RequestsOf<Msg> // the "Get" member only
 * ```
 */
export type RequestsOf<M> = 0 extends 1 & M
  ? any
  : M extends any
    ? M extends { readonly [ReplyType]?: infer A }
      ? unknown extends A
        ? never
        : M
      : never
    : never

/**
 * The message an agent receives when an agent it watches ends for good. Include it in the message
 * union of agents that call `ctx.watch`.
 *
 * @example
 * ```ts
 * type Msg = Work | Agent.Down
 * ```
 */
export interface Down {
  readonly _tag: "Down"
  readonly ref: AgentRef<any>
  readonly reason: ExitReason
}

/**
 * Answers a request later (see `ctx.deferReply`). Replies after the agent restarted or stopped are
 * ignored; the asker already received `AgentStopped`.
 *
 * @example
 * ```ts
 * const replier = ctx.deferReply(msg)
 * // later, from another message:
 * replier.succeed(42)
 * ```
 */
export interface Replier<A> {
  readonly succeed: (value: A) => void
  readonly fail: (error: unknown) => void
}

/**
 * A timer created by `ctx.sendAfter`/`ctx.sendInterval`. It ends with the incarnation that made it.
 *
 * @example
 * ```ts
 * const t = ctx.sendInterval({ _tag: "Tick" }, 1000)
 * t.cancel()
 * ```
 */
export interface TimerHandle {
  readonly cancel: () => void
}

/**
 * What a handler can do besides returning the new state. Bound to the current incarnation: timers,
 * watches and deferred replies made through it end when the incarnation ends.
 *
 * @example
 * ```ts
 * receive: (state, msg, ctx) => { ctx.sendAfter({ _tag: "Tick" }, 100); return state }
 * ```
 */
export interface AgentContext<M> {
  /** This agent. */
  readonly self: AgentRef<M>
  /** Answers the request being handled. A no-op when the message was told rather than asked. */
  readonly reply: <Q extends M>(msg: Q, value: ReplyFor<M, Q>) => void
  /** Keeps the request being handled open, to be answered later through the returned {@link Replier}. */
  readonly deferReply: <Q extends M>(msg: Q) => Replier<ReplyFor<M, Q>>
  /** Sends `msg` to this agent after `delayMs` (Clock-based, so TestClock drives it). */
  readonly sendAfter: (msg: M, delayMs: number) => TimerHandle
  /** Sends `msg` to this agent every `intervalMs`. */
  readonly sendInterval: (msg: M, intervalMs: number) => TimerHandle
  /** Delivers one {@link Down} message when `ref` ends for good (at once if it already has). */
  readonly watch: (ref: AgentRef<any>) => void
  /** Cancels a watch. */
  readonly unwatch: (ref: AgentRef<any>) => void
  /** Stops this agent normally once the current message is handled. */
  readonly stop: () => void
}

/**
 * An agent's definition.
 *
 * @example
 * ```ts
 * const Counter = Agent.behavior<number, { readonly _tag: "Inc" }>({
 *   init: () => 0,
 *   receive: (n) => n + 1,
 * })
 * ```
 */
export interface Behavior<S, M, E = never, R = never> {
  /** A label for logs, errors and the tree. Spawn options may override it. */
  readonly name?: string
  /** The initial state, or an Effect of it. A failure makes `spawn` fail with `InitFailed`. */
  readonly init: (ctx: AgentContext<M>) => S | Effect.Effect<S, E, R>
  /** Handles one message: returns the new state, or an Effect of it. */
  readonly receive: (state: S, message: M, ctx: AgentContext<M>) => S | Effect.Effect<S, E, R>
  /** Runs when the agent stops or crashes (bounded by the shutdown deadline). */
  readonly terminate?: (state: S, reason: ExitReason) => Effect.Effect<void, never, R>
  /** Mailbox capacity and overflow policy. Default: 1024, `"suspend"`. */
  readonly mailbox?: Mailbox.Options
  /**
   * What a typed failure of a handler's Effect does: `"restart"` (default) crashes the agent like a
   * defect; `"resume"` keeps the state and fails the pending request with `HandlerFailed`. Defects always
   * crash.
   */
  readonly onFailure?: "restart" | "resume"
  /** The message protocol, used by {@link tellUnknown}/{@link askUnknown} to validate input from outside. */
  readonly schema?: Schema.Codec<M, any>
}

/**
 * A handle on an agent. Stable across the agent's own restarts.
 *
 * @example
 * ```ts
 * yield* ref.tell({ _tag: "Inc" })
 * const n = yield* ref.ask({ _tag: "Get" }, { timeoutMs: 100 })
 * ```
 */
export interface AgentRef<M> {
  readonly id: number
  /** The name given at spawn, if any. */
  readonly name: string | undefined
  /** The name, or `agent-<id>`. */
  readonly label: string
  readonly status: AgentStatus
  /** Messages waiting in the mailbox. */
  readonly mailboxDepth: number
  /** How many times this agent was restarted. */
  readonly restarts: number
  /** How many messages the overflow policy dropped. */
  readonly dropped: number
  /** Enqueues `msg`. Under `"suspend"` waits for room; under `"fail"` fails with `MailboxFull`. */
  tell(msg: M): Effect.Effect<void, AgentError.TellError>
  /** Enqueues without waiting; `false` when the message was refused or dropped. */
  tellUnsafe(msg: M): boolean
  /** Sends a request and waits for the reply (default timeout 5 s). */
  ask<Q extends RequestsOf<M>>(
    msg: Q,
    options?: AskOptions,
  ): Effect.Effect<ReplyFor<M, Q>, AgentError.AskError>
  /** Stops the agent for good: lets the current handler finish within the deadline, then interrupts it. */
  stop(options?: { readonly deadlineMs?: number }): Effect.Effect<void>
}

/**
 * Options of `ask`.
 *
 * @example
 * ```ts
 * const options: Agent.AskOptions = { timeoutMs: 250 }
 * yield* ref.ask({ _tag: "Get" }, options)
 * ```
 */
export interface AskOptions {
  /** Milliseconds to wait for the reply. Default 5000 (the system's `defaultAskTimeoutMs`). */
  readonly timeoutMs?: number
}

/**
 * Options of {@link spawn}.
 *
 * @example
 * ```ts
 * Agent.spawn(Worker, { name: "worker-1", mailbox: { capacity: 64, overflow: "fail" } })
 * ```
 */
export interface SpawnOptions {
  /** A name for the agent (a label; the Registry makes names unique and searchable). */
  readonly name?: string
  /** Overrides the behaviour's mailbox options. */
  readonly mailbox?: Mailbox.Options
  /** Data passed to lifecycle hooks (the Registry reads capabilities, health, resources from it). */
  readonly metadata?: unknown
  /** How the system's root supervisor treats its exit. Default `"temporary"` (never restarted). */
  readonly restart?: RestartType
  /** Deadline for `terminate` and for the running handler when stopping. Default 5000 ms. */
  readonly shutdownMs?: number
}

/**
 * Failures of {@link spawn}: init failed, the system is shutting down, or a lifecycle hook refused.
 *
 * @example
 * ```ts
 * Agent.spawn(Worker, { name: "w1" }).pipe(
 *   Effect.catchTag("InitFailed", (e) => Effect.die(e)),
 * )
 * ```
 */
export type SpawnError = AgentError.InitFailed | AgentError.AgentStopped | SpawnRefusal

/**
 * A refusal by a lifecycle hook (for example the Registry's `AlreadyRegistered`).
 *
 * @example
 * ```ts
 * const refuse: AgentSystem.LifecycleHook = {
 *   beforeSpawn: (_ref, info) => (info.name === "reserved" ? new AlreadyTaken({ name: "reserved" }) : undefined),
 * }
 * ```
 */
export interface SpawnRefusal {
  readonly _tag: string
  readonly message: string
}

/**
 * Defines a behaviour with its types inferred.
 *
 * @example
 * ```ts
 * const Echo = Agent.behavior<null, { readonly _tag: "Echo"; readonly text: string } & Agent.Request<string>>({
 *   init: () => null,
 *   receive: (s, msg, ctx) => { ctx.reply(msg, msg.text); return s },
 * })
 * ```
 */
export const behavior = <S, M, E = never, R = never>(b: Behavior<S, M, E, R>): Behavior<S, M, E, R> => b

/**
 * Starts an agent under the system's root supervisor and waits for its `init`.
 *
 * @example
 * ```ts
 * const ref = yield* Agent.spawn(Counter, { name: "counter" })
 * ```
 */
export const spawn = <S, M, E, R>(
  b: Behavior<S, M, E, R>,
  options?: SpawnOptions,
): Effect.Effect<AgentRef<M>, SpawnError, AgentSystem | R> =>
  Effect.withFiber((fiber) =>
    Context.getUnsafe(fiber.context, AgentSystem).spawnWith(
      b,
      options,
      fiber.context as Context.Context<never>,
    ),
  ) as any

/**
 * Sends a message (see {@link AgentRef.tell}).
 *
 * @example
 * ```ts
 * yield* Agent.tell(ref, { _tag: "Inc" })
 * ```
 */
export const tell = <M>(ref: AgentRef<M>, msg: M): Effect.Effect<void, AgentError.TellError> => ref.tell(msg)

/**
 * Sends a request and waits for the reply (see {@link AgentRef.ask}).
 *
 * @example
 * ```ts
 * const n = yield* Agent.ask(ref, { _tag: "Get" }, { timeoutMs: 100 })
 * ```
 */
export const ask = <M, Q extends RequestsOf<M>>(
  ref: AgentRef<M>,
  msg: Q,
  options?: AskOptions,
): Effect.Effect<ReplyFor<M, Q>, AgentError.AskError> => ref.ask(msg, options)

/**
 * Waits until the agent ends for good and returns why. Restarts do not count: they are the same agent.
 *
 * @example
 * ```ts
 * const reason = yield* Agent.awaitExit(ref)
 * ```
 */
export const awaitExit = (ref: AgentRef<any>): Effect.Effect<ExitReason> => (ref as Cell).awaitExit()

/**
 * Registers a callback for when the agent ends for good (at once if it already has). Returns the remover.
 *
 * @example
 * ```ts
 * const remove = Agent.onExit(ref, (reason) => console.log(reason._tag))
 * ```
 */
export const onExit = (ref: AgentRef<any>, listener: (reason: ExitReason) => void): (() => void) =>
  (ref as Cell).onExit(listener)

const decodeFor = <M>(ref: AgentRef<M>, input: unknown): Effect.Effect<M, AgentError.InvalidMessage> => {
  const cell = ref as unknown as Cell
  const schema = cell.behavior.schema
  if (schema === undefined) {
    return Effect.die(
      new Error(
        `Agent "${cell.label}" has no message schema: give its behaviour a \`schema\` to accept messages from outside.`,
      ),
    )
  }
  return Effect.mapError(
    Schema.decodeUnknownEffect(schema as Schema.Codec<M, unknown>)(input),
    (issue) => new InvalidMessageError({ agent: cell.label, issue: String(issue) }),
  ) as any
}

/**
 * Validates `input` against the agent's protocol schema, then tells it. Invalid input fails with
 * `InvalidMessage` and nothing is sent: the agent is unaffected.
 *
 * @example
 * ```ts
 * yield* Agent.tellUnknown(ref, JSON.parse(body))
 * ```
 */
export const tellUnknown = <M>(
  ref: AgentRef<M>,
  input: unknown,
): Effect.Effect<void, AgentError.InvalidMessage | AgentError.TellError> =>
  Effect.flatMap(decodeFor(ref, input), (msg) => (ref as AgentRef<any>).tell(msg))

/**
 * Validates `input` against the agent's protocol schema, then asks it.
 *
 * @example
 * ```ts
 * const reply = yield* Agent.askUnknown(ref, { _tag: "Get" })
 * ```
 */
export const askUnknown = <M>(
  ref: AgentRef<M>,
  input: unknown,
  options?: AskOptions,
): Effect.Effect<unknown, AgentError.InvalidMessage | AgentError.AskError> =>
  Effect.flatMap(decodeFor(ref, input), (msg) => (ref as any as Cell).ask(msg, options))

/**
 * The exit reason of an agent that called `ctx.stop()`.
 *
 * @example
 * ```ts
 * if (reason._tag === Agent.normal._tag) console.log("stopped itself")
 * ```
 */
export const normal: ExitReason = exitNormal

/** @internal the context type the engine hands to handlers. */
export type InternalContext = AgentCtx
