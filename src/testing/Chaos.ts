/**
 * Fault injection for agents: wrap a behaviour so that it can be made to crash on demand (thrown,
 * failed, died or interrupted, at once or after a delay on the clock), probe it, and drive a population
 * with a random plan of faults, stops, tells and asks — under `fc.scheduler()` interleavings or not.
 *
 * The wrapper adds two control messages to the behaviour's protocol and leaves every other message to
 * the wrapped `receive`. A fault ends the incarnation exactly as a bug in the handler would, so the
 * supervisor's restart rules, the restart intensity and the "asks always settle" guarantee are exercised
 * for real.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, Supervisor } from "troupe"
 * import { Chaos } from "troupe/testing"
 *
 * const Worker = Chaos.wrap(Agent.behavior<number, Msg>({ init: () => 0, receive: (n) => n + 1 }))
 * const sup = yield* Supervisor.start({ children: [Supervisor.child("w", Worker)] })
 * const w = yield* sup.child<Chaos.With<Msg>>("w")
 * yield* Chaos.inject(w, "die")                 // crashes the incarnation; the supervisor restarts it
 * const alive = yield* Chaos.probe(w, 100)      // true once the new incarnation answers
 * ```
 * @module
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import type * as Agent from "../agent/Agent.ts"
import { InjectedFault } from "./TestingError.ts"
import { gate } from "./TestSystem.ts"

/**
 * How an injected fault ends the handler: `throw` (a synchronous exception), `fail` (the handler's Effect
 * fails with `InjectedFault`), `die` (a defect in the Effect), `interrupt` (the handler's fiber is
 * interrupted).
 *
 * @example
 * ```ts
 * const faults: ReadonlyArray<Chaos.Fault> = Chaos.faults
 * ```
 */
export type Fault = "throw" | "fail" | "die" | "interrupt"

/**
 * Every fault kind.
 *
 * @example
 * ```ts
 * fc.constantFrom(...Chaos.faults)
 * ```
 */
export const faults: ReadonlyArray<Fault> = ["throw", "fail", "die", "interrupt"]

/**
 * The control message that injects a fault. `delayMs` > 0 makes the handler wait on the clock first (an
 * Effect-returning handler that fails later, the case that once wedged agents).
 *
 * @example
 * ```ts
 * ref.tellUnsafe({ _tag: "~troupe/Fault", fault: "fail", delayMs: 1 })
 * ```
 */
export interface FaultMessage {
  readonly _tag: "~troupe/Fault"
  readonly fault: Fault
  readonly delayMs?: number
}

/**
 * The control request a wrapped agent answers with `"alive"`.
 *
 * @example
 * ```ts
 * ref.ask({ _tag: "~troupe/Probe" }, { timeoutMs: 100 })
 * ```
 */
export interface ProbeMessage extends Agent.Request<"alive"> {
  readonly _tag: "~troupe/Probe"
}

/**
 * The control messages a wrapped behaviour understands.
 *
 * @example
 * ```ts
 * const probe: Chaos.Control = { _tag: "~troupe/Probe" }
 * ```
 */
export type Control = FaultMessage | ProbeMessage

/**
 * A protocol `M` extended with the control messages.
 *
 * @example
 * ```ts
 * const w = yield* sup.child<Chaos.With<Msg>>("w")
 * ```
 */
export type With<M> = M | Control

const isControl = (msg: unknown): msg is Control =>
  typeof msg === "object" &&
  msg !== null &&
  ((msg as Control)._tag === "~troupe/Fault" || (msg as Control)._tag === "~troupe/Probe")

const faultEffect = (fault: Fault): Effect.Effect<never, InjectedFault> => {
  switch (fault) {
    case "throw":
      return Effect.sync(() => {
        throw new Error("troupe/testing: injected throw")
      })
    case "fail":
      return Effect.fail(new InjectedFault({ fault }))
    case "die":
      return Effect.die(new Error("troupe/testing: injected defect"))
    case "interrupt":
      return Effect.interrupt
  }
}

/**
 * Wraps a behaviour so that it also understands {@link Control} messages. Everything else goes to the
 * wrapped behaviour unchanged; `init`, `terminate`, mailbox, `onFailure` and `schema` are kept.
 *
 * @example
 * ```ts
 * const Worker = Chaos.wrap(Counter)
 * ```
 */
export const wrap = <S, M, E, R>(
  behavior: Agent.Behavior<S, M, E, R>,
): Agent.Behavior<S, With<M>, E | InjectedFault, R> => ({
  ...behavior,
  init: (ctx) => behavior.init(ctx as unknown as Agent.AgentContext<M>),
  receive: (state, msg, ctx) => {
    if (!isControl(msg)) return behavior.receive(state, msg as M, ctx as unknown as Agent.AgentContext<M>)
    if (msg._tag === "~troupe/Probe") {
      ctx.reply(msg, "alive" as never)
      return state
    }
    if (msg.fault === "throw" && !(msg.delayMs! > 0)) throw new Error("troupe/testing: injected throw")
    const fault = faultEffect(msg.fault)
    return msg.delayMs! > 0 ? Effect.andThen(Effect.sleep(msg.delayMs!), fault) : fault
  },
})

/**
 * Sends a fault to a wrapped agent without waiting (`false` when the mailbox refused it).
 *
 * @example
 * ```ts
 * yield* Chaos.inject(ref, "die", { delayMs: 1 })
 * ```
 */
export const inject = (
  ref: Agent.AgentRef<any>,
  fault: Fault,
  options?: { readonly delayMs?: number },
): Effect.Effect<boolean> =>
  Effect.sync(() => ref.tellUnsafe({ _tag: "~troupe/Fault", fault, delayMs: options?.delayMs ?? 0 }))

/**
 * Asks a wrapped agent for a sign of life: `true` when it answered within `timeoutMs`, `false` on any
 * failure (timeout, stopped, mailbox full).
 *
 * @example
 * ```ts
 * const alive = yield* Chaos.probe(ref, 100)
 * ```
 */
export const probe = (ref: Agent.AgentRef<any>, timeoutMs: number): Effect.Effect<boolean> =>
  Effect.match(ref.ask({ _tag: "~troupe/Probe" } as ProbeMessage, { timeoutMs }), {
    onSuccess: () => true,
    onFailure: () => false,
  })

/**
 * One step of a chaos plan, aimed at the agent with index `target`.
 *
 * @example
 * ```ts
 * const step: Chaos.Action = { kind: "fault", target: 0, fault: "die", delayMs: 1 }
 * ```
 */
export type Action =
  | { readonly kind: "fault"; readonly target: number; readonly fault: Fault; readonly delayMs: number }
  | { readonly kind: "stop"; readonly target: number }
  | { readonly kind: "tell"; readonly target: number }
  | { readonly kind: "ask"; readonly target: number }

/**
 * Random plans of faults, stops, tells and asks over `targets` agents.
 *
 * @example
 * ```ts
 * fc.asyncProperty(fc.scheduler(), Chaos.plan(5, { faults: ["throw", "die"] }), async (s, plan) => { ... })
 * ```
 */
export const plan = (
  targets: number,
  options?: {
    readonly maxLength?: number
    readonly faults?: ReadonlyArray<Fault>
    readonly stops?: boolean
  },
): fc.Arbitrary<ReadonlyArray<Action>> => {
  const target = fc.nat({ max: Math.max(0, targets - 1) })
  const kinds: Array<fc.Arbitrary<Action>> = [
    fc.record({
      kind: fc.constant("fault" as const),
      target,
      fault: fc.constantFrom(...(options?.faults ?? faults)),
      delayMs: fc.constantFrom(0, 0, 1, 5),
    }),
    fc.record({ kind: fc.constant("tell" as const), target }),
    fc.record({ kind: fc.constant("ask" as const), target }),
  ]
  if (options?.stops ?? true) kinds.push(fc.record({ kind: fc.constant("stop" as const), target }))
  return fc.array(fc.oneof(...kinds), { maxLength: options?.maxLength ?? 12 })
}

/**
 * How each step of a plan ended: `"ok"`, the tag of its typed error, or `"defect"`.
 *
 * @example
 * ```ts
 * const { outcomes } = yield* Chaos.runPlan(refs, steps, { scheduler: s })
 * ```
 */
export interface PlanResult {
  readonly outcomes: ReadonlyArray<string>
  /** The fibers running the steps (already joined). */
  readonly fibers: ReadonlyArray<Fiber.Fiber<unknown, unknown>>
}

const tagOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail") as
    | { error?: { _tag?: string } }
    | undefined
  if (failure?.error?._tag !== undefined) return failure.error._tag
  return exit.cause.reasons.some((r) => r._tag === "Interrupt") ? "interrupted" : "defect"
}

/**
 * Runs every step of `steps` against `refs` concurrently, each behind a scheduling point of `scheduler`
 * when one is given (so fast-check chooses the interleaving), and waits for all of them. Asks use
 * `askTimeoutMs` (default 100); stops use `stopDeadlineMs` (default 0). Never fails: each step's outcome is
 * reported.
 *
 * @example
 * ```ts
 * const { outcomes } = yield* Chaos.runPlan(refs, plan, { scheduler: s, askTimeoutMs: 50 })
 * ```
 */
export const runPlan = (
  refs: ReadonlyArray<Agent.AgentRef<any>>,
  steps: ReadonlyArray<Action>,
  options?: {
    readonly scheduler?: fc.Scheduler
    readonly askTimeoutMs?: number
    readonly stopDeadlineMs?: number
    /** Runs while the steps are in flight (e.g. advancing a TestClock so timeouts fire). */
    readonly whileRunning?: Effect.Effect<void>
  },
): Effect.Effect<PlanResult> =>
  Effect.gen(function* () {
    const askTimeoutMs = options?.askTimeoutMs ?? 100
    const step = (a: Action, i: number): Effect.Effect<unknown, unknown> => {
      const ref = refs[a.target % refs.length]
      switch (a.kind) {
        case "fault":
          return inject(ref, a.fault, { delayMs: a.delayMs })
        case "stop":
          return ref.stop({ deadlineMs: options?.stopDeadlineMs ?? 0 })
        case "tell":
          return Effect.sync(() => ref.tellUnsafe({ _tag: "~troupe/Probe" }))
        case "ask":
          return ref.ask({ _tag: "~troupe/Probe" } as ProbeMessage, { timeoutMs: askTimeoutMs + i })
      }
    }
    const fibers: Array<Fiber.Fiber<Exit.Exit<unknown, unknown>>> = []
    for (let i = 0; i < steps.length; i++) {
      const s = options?.scheduler
      const eff =
        s === undefined
          ? step(steps[i], i)
          : Effect.andThen(gate(s, `${steps[i].kind}#${i}`), step(steps[i], i))
      fibers.push(yield* Effect.forkChild(Effect.exit(eff)))
    }
    if (options?.whileRunning !== undefined) yield* options.whileRunning
    const exits: Array<Exit.Exit<unknown, unknown>> = []
    for (const f of fibers) exits.push(yield* joinExit(f))
    return { outcomes: exits.map(tagOf), fibers }
  })

const joinExit = (f: Fiber.Fiber<Exit.Exit<unknown, unknown>>): Effect.Effect<Exit.Exit<unknown, unknown>> =>
  Effect.map(Effect.exit(Fiber.join(f)), (e) => (Exit.isSuccess(e) ? e.value : e))
