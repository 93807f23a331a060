/**
 * A circuit breaker: closed → open → half-open → closed, judged over a sliding window of call outcomes.
 *
 * ## How it judges
 *
 * - **Window**: the last `size` calls (`{ type: "count", size: 100 }`, the default) or the calls of the last
 *   `sizeMs` (`{ type: "time", sizeMs: 60_000, buckets: 10 }`). Both are fixed-size rings: bounded memory.
 * - **Thresholds**: once the window holds at least `minimumCalls` calls, the breaker opens when the failure
 *   rate reaches `failureRateThreshold` or, if `slowCallDurationMs` is set, when the share of calls slower
 *   than it reaches `slowCallRateThreshold`.
 * - **Failures**: defects always count; typed failures count when `isFailure(error)` (default: all). A call
 *   whose failure does not count is recorded as a success. Interrupted calls, and failures matching
 *   `isIgnored` (default: `BulkheadFull`), are not recorded at all.
 * - **Open**: refuses calls with `CircuitOpen { retryAfterMs }` for `openDurationMs`; each consecutive
 *   re-opening (a failed half-open trial) multiplies that by `backoffFactor`, up to `maxOpenDurationMs`.
 * - **Half-open**: after the open duration, the next calls are probes: exactly `halfOpenMaxCalls` of them
 *   are admitted (others get `CircuitOpen` with `retryAfterMs: 0`); when all have finished the breaker
 *   closes, or re-opens if the probes' failure (or slow) rate reaches the threshold. An interrupted probe
 *   frees its slot.
 * - **Manual**: `isolate` holds it open until `reset`; `reset` closes it and clears the window.
 *
 * ## Guarantees
 *
 * - Every admission and every transition is one synchronous step on one JS thread: no two callers can take
 *   the same probe slot, and outcomes of calls admitted under an earlier state (an older generation) are
 *   ignored, so a slow call from before an opening cannot close or re-open the breaker.
 * - The closed-state path with a count window and no slow-call detection does no clock read and no
 *   finalizer: one admission check and one outcome handler shared by all calls of that closed period.
 *   When the wrapped effect has already completed (an `Exit`, such as `Effect.succeed(x)` or `Effect.void`),
 *   admission and outcome are recorded in one synchronous section, and `yield*` in `Effect.gen` hands the
 *   value straight back to the generator, without an interpreter step.
 * - In every other state the admission runs inside the outcome handler's frame, so a probe whose caller is
 *   interrupted right after its admission, before the wrapped effect starts, still frees its slot.
 * - Transitions out of open happen lazily on the next call or state read (no timer).
 * - Listeners (`subscribe`) are bounded by `maxListeners` (default 64) and are removed when their scope
 *   closes; they run synchronously on each transition and must not throw (a throwing listener is skipped).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as CircuitBreaker from "./CircuitBreaker.ts"
 *
 * const program = Effect.gen(function* () {
 *   const breaker = yield* CircuitBreaker.make({ name: "payments", minimumCalls: 5, openDurationMs: 10_000 })
 *   return yield* breaker.run(chargeCard(order)) // fails with CircuitOpen while open
 * })
 * ```
 * @module
 */
import { Cause, Clock, type Context, Effect, Effectable, Exit, Metric, type Scope } from "effect"
import * as TelemetryMetrics from "../telemetry/Metrics.ts"
import {
  CountWindow,
  FAILURE,
  type OutcomeWindow,
  SLOW,
  TimeWindow,
  type WindowCounts,
} from "./internal/breakerWindow.ts"
import { nonNegativeNumber, positiveInt, positiveNumber, ratio } from "./internal/validate.ts"
import { CircuitOpen } from "./ResilienceError.ts"

/**
 * The states of a breaker. `isolated` is a manual open that only `reset` ends.
 *
 * @example
 * ```ts
 * const open = (s: CircuitBreaker.State) => s === "open"
 * ```
 */
export type State = "closed" | "open" | "half-open" | "isolated"

/**
 * A state change delivered to listeners.
 *
 * @example
 * ```ts
 * const log = (c: CircuitBreaker.StateChange) => console.log(`${c.name}: ${c.from} -> ${c.to}`)
 * ```
 */
export interface StateChange {
  readonly name: string
  readonly from: State
  readonly to: State
  readonly atMs: number
}

/**
 * The window of outcomes the breaker judges.
 *
 * @example
 * ```ts
 * const window: CircuitBreaker.Window = { type: "time", sizeMs: 60_000, buckets: 6 }
 * ```
 */
export type Window =
  | { readonly type: "count"; readonly size: number }
  | { readonly type: "time"; readonly sizeMs: number; readonly buckets?: number }

/**
 * Options of {@link make}; every field optional.
 *
 * @example
 * ```ts
 * const options: CircuitBreaker.Options = { name: "quotes", minimumCalls: 10, failureRateThreshold: 0.5 }
 * ```
 */
export interface Options {
  /** Name in errors and notifications (default `"circuit-breaker"`). */
  readonly name?: string
  /** Outcome window (default `{ type: "count", size: 100 }`; time windows default to 10 buckets). */
  readonly window?: Window
  /** Failure rate in (0, 1] that opens the breaker (default 0.5). */
  readonly failureRateThreshold?: number
  /** Calls slower than this (ms) count as slow (default: slow-call detection off). */
  readonly slowCallDurationMs?: number
  /** Slow-call rate in (0, 1] that opens the breaker (default 1; needs `slowCallDurationMs`). */
  readonly slowCallRateThreshold?: number
  /** Calls the window must hold before the breaker judges (default 10). */
  readonly minimumCalls?: number
  /** Probes admitted in half-open (default 1). */
  readonly halfOpenMaxCalls?: number
  /** First open duration in ms (default 30,000). */
  readonly openDurationMs?: number
  /** Multiplier of the open duration per consecutive re-opening (>= 1, default 2). */
  readonly backoffFactor?: number
  /** Cap on the open duration in ms (default 300,000). */
  readonly maxOpenDurationMs?: number
  /** Which typed failures count as failures (default: all). Defects always count. */
  readonly isFailure?: (error: unknown) => boolean
  /**
   * Typed failures that are not recorded at all, like interruptions (default: `BulkheadFull`, since local
   * load shedding says nothing about the dependency's health). A half-open probe ending so frees its slot.
   */
  readonly isIgnored?: (error: unknown) => boolean
  /** Most listeners at once (default 64); one more is misuse and dies. */
  readonly maxListeners?: number
}

/**
 * Counts of the current window.
 *
 * @example
 * ```ts
 * const m: CircuitBreaker.Metrics = yield* breaker.metrics // state, calls, failureRate, slowCallRate
 * ```
 */
export interface Metrics extends WindowCounts {
  readonly state: State
  readonly failureRate: number
  readonly slowCallRate: number
}

/**
 * A circuit breaker.
 *
 * @example
 * ```ts
 * const breaker: CircuitBreaker.CircuitBreaker = yield* CircuitBreaker.make({ name: "quotes" })
 * ```
 */
export interface CircuitBreaker {
  readonly name: string
  /** Runs `effect` if admitted, recording its outcome; otherwise fails with `CircuitOpen`. */
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
  /** The current state (moves open → half-open when the open duration has passed). */
  readonly state: Effect.Effect<State>
  /** Synchronous `state`. */
  readonly stateUnsafe: () => State
  /** Window counts and rates. */
  readonly metrics: Effect.Effect<Metrics>
  /** Holds the breaker open until `reset`. */
  readonly isolate: Effect.Effect<void>
  /** Closes the breaker, clears the window and the backoff. */
  readonly reset: Effect.Effect<void>
  /** Calls `listener` on every state change for the lifetime of the enclosing scope. */
  readonly subscribe: (listener: (change: StateChange) => void) => Effect.Effect<void, never, Scope.Scope>
}

const M = "CircuitBreaker"
const CLOSED = 0
const OPEN = 1
const HALF_OPEN = 2
const ISOLATED = 3
const names: ReadonlyArray<State> = ["closed", "open", "half-open", "isolated"]

interface Resolved {
  readonly name: string
  readonly window: Window
  readonly failureRateThreshold: number
  readonly slowCallDurationMs: number | undefined
  readonly slowCallRateThreshold: number
  readonly minimumCalls: number
  readonly halfOpenMaxCalls: number
  readonly openDurationMs: number
  readonly backoffFactor: number
  readonly maxOpenDurationMs: number
  readonly isFailure: ((error: unknown) => boolean) | undefined
  readonly isIgnored: (error: unknown) => boolean
  readonly maxListeners: number
}

const isBulkheadFull = (e: unknown): boolean =>
  typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "BulkheadFull"

const resolve = (o: Options): Resolved => {
  const w: Window = o.window ?? { type: "count", size: 100 }
  let window: Window
  if (w.type === "count") window = { type: "count", size: positiveInt(M, "window.size", w.size) }
  else if (w.type === "time") {
    const sizeMs = positiveInt(M, "window.sizeMs", w.sizeMs)
    const buckets = positiveInt(M, "window.buckets", w.buckets ?? 10)
    if (buckets > 1000 || sizeMs % buckets !== 0) {
      throw new RangeError(
        `${M}: "window.buckets" must divide "window.sizeMs" and be <= 1000, got ${buckets} for sizeMs ${sizeMs}. Pass e.g. buckets: 10.`,
      )
    }
    window = { type: "time", sizeMs, buckets }
  } else
    throw new RangeError(`${M}: "window.type" must be "count" or "time", got ${String((w as any).type)}.`)
  const openDurationMs = positiveInt(M, "openDurationMs", o.openDurationMs ?? 30_000)
  const backoffFactor = positiveNumber(M, "backoffFactor", o.backoffFactor ?? 2)
  if (backoffFactor < 1) {
    throw new RangeError(
      `${M}: "backoffFactor" must be >= 1, got ${backoffFactor}. Pass 1 for a constant open duration.`,
    )
  }
  const maxOpenDurationMs = positiveInt(
    M,
    "maxOpenDurationMs",
    o.maxOpenDurationMs ?? Math.max(300_000, openDurationMs),
  )
  if (maxOpenDurationMs < openDurationMs) {
    throw new RangeError(
      `${M}: "maxOpenDurationMs" (${maxOpenDurationMs}) must be >= "openDurationMs" (${openDurationMs}). Raise it.`,
    )
  }
  return {
    name: o.name ?? "circuit-breaker",
    window,
    failureRateThreshold: ratio(M, "failureRateThreshold", o.failureRateThreshold ?? 0.5),
    slowCallDurationMs:
      o.slowCallDurationMs === undefined
        ? undefined
        : nonNegativeNumber(M, "slowCallDurationMs", o.slowCallDurationMs),
    slowCallRateThreshold: ratio(M, "slowCallRateThreshold", o.slowCallRateThreshold ?? 1),
    minimumCalls: positiveInt(M, "minimumCalls", o.minimumCalls ?? 10),
    halfOpenMaxCalls: positiveInt(M, "halfOpenMaxCalls", o.halfOpenMaxCalls ?? 1),
    openDurationMs,
    backoffFactor,
    maxOpenDurationMs,
    isFailure: o.isFailure,
    isIgnored: o.isIgnored ?? isBulkheadFull,
    maxListeners: positiveInt(M, "maxListeners", o.maxListeners ?? 64),
  }
}

/** The state machine; every method is synchronous. */
class Core {
  state = CLOSED
  generation = 0
  openedAt = 0
  openFor = 0
  reopenings = 0
  probesStarted = 0
  probesInFlight = 0
  probesDone = 0
  probeFailures = 0
  probeSlow = 0
  readonly window: OutcomeWindow
  /** The same window when it is a count window (the fast path's concrete type). */
  readonly countWindow: CountWindow | undefined
  readonly counts: WindowCounts = { calls: 0, failures: 0, slow: 0 }
  readonly listeners = new Set<(change: StateChange) => void>()
  /** Whether a closed-state call needs the clock (slow detection or a time window). */
  readonly timed: boolean
  readonly o: Resolved
  readonly now: () => number
  constructor(o: Resolved, now: () => number) {
    this.o = o
    this.now = now
    const w = o.window
    this.countWindow = w.type === "count" ? new CountWindow(w.size) : undefined
    this.window = w.type === "count" ? this.countWindow! : new TimeWindow(w.sizeMs, w.buckets ?? 10)
    this.timed = o.slowCallDurationMs !== undefined || o.window.type === "time"
    this.fast = !this.timed
  }

  /** Closed and untimed: the fast path applies. */
  fast: boolean

  /** Reports each transition to the telemetry metrics (set by `make`). */
  onTransition: ((to: number) => void) | undefined = undefined

  private transition(to: number, at: number): void {
    const from = this.state
    this.state = to
    if (from !== to) this.onTransition?.(to)
    this.fast = to === CLOSED && !this.timed
    this.generation++
    this.probesStarted = this.probesInFlight = this.probesDone = this.probeFailures = this.probeSlow = 0
    if (to === OPEN) {
      this.openedAt = at
      this.openFor = Math.min(
        this.o.maxOpenDurationMs,
        this.o.openDurationMs * this.o.backoffFactor ** this.reopenings,
      )
    }
    if (to === CLOSED || to === ISOLATED) this.window.clear()
    if (this.listeners.size === 0 || from === to) return
    const change: StateChange = { name: this.o.name, from: names[from], to: names[to], atMs: at }
    for (const l of this.listeners) {
      try {
        l(change)
      } catch {
        // A listener must not break the breaker; see the module doc.
      }
    }
  }

  handlers:
    | {
        readonly generation: number
        readonly onSuccess: (a: any) => Effect.Effect<any>
        readonly onFailure: (cause: Cause.Cause<any>) => Effect.Effect<never, any>
      }
    | undefined

  /** Outcome handlers for untimed closed-state calls of the current generation, allocated once per generation. */
  closedHandlers(): {
    readonly onSuccess: (a: any) => Effect.Effect<any>
    readonly onFailure: (cause: Cause.Cause<any>) => Effect.Effect<never, any>
  } {
    const h = this.handlers
    if (h !== undefined && h.generation === this.generation) return h
    const generation = this.generation
    const made = {
      generation,
      onSuccess: (a: unknown) => {
        this.closedSuccess(generation)
        return Exit.succeed(a)
      },
      onFailure: (cause: Cause.Cause<unknown>) => {
        this.complete(generation, Exit.failCause(cause), 0)
        return Effect.failCause(cause)
      },
    }
    this.handlers = made
    return made
  }

  /** Moves open → half-open when due; returns the current state. */
  current(now: number): number {
    if (this.state === OPEN && now >= this.openedAt + this.openFor) this.transition(HALF_OPEN, now)
    return this.state
  }

  /** Admits a call: returns its permit (the generation), or -1 when refused. */
  acquire(): number {
    if (this.state === CLOSED) return this.generation
    const s = this.current(this.now())
    if (s === CLOSED) return this.generation
    if (s === HALF_OPEN && this.probesStarted < this.o.halfOpenMaxCalls) {
      this.probesStarted++
      this.probesInFlight++
      return this.generation
    }
    return -1
  }

  refusal(): CircuitOpen {
    const now = this.now()
    const s = this.current(now)
    const retryAfterMs = s === OPEN ? this.openedAt + this.openFor - now : 0
    return new CircuitOpen({ name: this.o.name, state: names[s], retryAfterMs })
  }

  complete(permit: number, exit: Exit.Exit<unknown, unknown>, startedAt: number): void {
    if (permit !== this.generation) return
    const halfOpen = this.state === HALF_OPEN
    let failed = false
    if (exit._tag === "Failure") {
      const cause = exit.cause
      const e = Cause.hasDies(cause) ? undefined : Cause.findErrorOption(cause)
      if (Cause.hasInterruptsOnly(cause) || (e?._tag === "Some" && this.o.isIgnored(e.value))) {
        if (halfOpen) {
          this.probesStarted--
          this.probesInFlight--
        }
        return
      }
      failed = e?._tag === "Some" && this.o.isFailure !== undefined ? this.o.isFailure(e.value) : true
    }
    const timed = this.timed || halfOpen
    const now = timed ? this.now() : 0
    const slow = this.o.slowCallDurationMs !== undefined && now - startedAt >= this.o.slowCallDurationMs
    if (halfOpen) {
      this.probesInFlight--
      this.probesDone++
      if (failed) this.probeFailures++
      if (slow) this.probeSlow++
      if (this.probesDone >= this.o.halfOpenMaxCalls) {
        if (this.tripped(this.probesDone, this.probeFailures, this.probeSlow)) {
          this.reopenings++
          this.transition(OPEN, now)
        } else {
          this.reopenings = 0
          this.transition(CLOSED, now)
        }
      }
      return
    }
    if (this.state !== CLOSED) return
    this.window.record((failed ? FAILURE : 0) | (slow ? SLOW : 0), now)
    this.judge(timed ? now : this.now())
  }

  /** Opens when the window holds at least `minimumCalls` calls and a rate reaches its threshold. */
  private judge(now: number): void {
    this.window.counts(now, this.counts)
    const c = this.counts
    if (c.calls >= this.o.minimumCalls && this.tripped(c.calls, c.failures, c.slow))
      this.transition(OPEN, now)
  }

  /**
   * A success on the fast path (closed, count window). A success can trip the breaker only when it brings the
   * window to `minimumCalls` calls (otherwise it cannot raise a rate), so only then is the window judged.
   */
  closedSuccess(generation: number): void {
    if (generation !== this.generation) return
    const w = this.countWindow!
    w.record(0)
    if (w.held() === this.o.minimumCalls) this.judge(this.now())
  }

  private tripped(calls: number, failures: number, slow: number): boolean {
    return (
      failures / calls >= this.o.failureRateThreshold ||
      (this.o.slowCallDurationMs !== undefined && slow / calls >= this.o.slowCallRateThreshold)
    )
  }

  isolate(): void {
    this.transition(ISOLATED, this.now())
  }

  reset(): void {
    this.reopenings = 0
    this.transition(CLOSED, this.now())
  }
}

const VOID = Effect.void

const SUCCESS_PROTO: unknown = Object.getPrototypeOf(Exit.void)
const FAILURE_PROTO: unknown = Object.getPrototypeOf(Exit.fail(undefined))

/**
 * Whether `effect` is an `Exit`, by its prototype: `Exit.isExit` tests a property through the prototype chain
 * from a function all of Effect shares, which costs about 30 ns per call in a loop. An exit this test missed
 * would still be run correctly by {@link guard}, only without the synchronous path.
 */
const isCompleted = (effect: Effect.Effect<any, any, any>): effect is Exit.Exit<any, any> => {
  const proto = Object.getPrototypeOf(effect)
  return proto === SUCCESS_PROTO || proto === FAILURE_PROTO
}

/** Admission state of one slow-path call, written by its admission and read by its outcome handler. */
class Ticket {
  permit = -1
  startedAt = 0
}

/**
 * Runs one call of `core`'s breaker. `evaluate` serves `Effect` combinators; `yield*` in `Effect.gen` goes
 * through {@link CallIterator}, which spares the interpreter step of this primitive itself.
 */
interface Call extends Effect.Effect<any, any, any> {
  readonly inner: Effect.Effect<any, any, any>
  readonly core: Core
}

/**
 * The effect that runs `effect` under the breaker, for an `effect` that has not completed yet.
 *
 * - Closed, untimed: the admission is the state check already made; one outcome handler shared by every
 *   call of the closed period, and no finalizer, since interruptions are not recorded in closed state.
 * - Otherwise: the admission runs inside the outcome handler's frame, so an interruption that lands between
 *   the admission and the start of `effect` still reaches the handler and frees a half-open probe slot.
 */
const guard = (core: Core, effect: Effect.Effect<any, any, any>): Effect.Effect<any, any, any> => {
  if (core.fast) return Effect.matchCauseEffect(effect, core.closedHandlers())
  const ticket = new Ticket()
  return Effect.onExit(
    Effect.suspend(() => {
      const permit = core.acquire()
      if (permit < 0) return Effect.fail(core.refusal())
      ticket.startedAt = core.timed || core.state !== CLOSED ? core.now() : 0
      ticket.permit = permit
      return effect
    }),
    (exit) => {
      if (ticket.permit >= 0) core.complete(ticket.permit, exit, ticket.startedAt)
      return VOID
    },
  )
}

/**
 * Admission and outcome of an `effect` that is already an `Exit` (`Effect.succeed`, `Effect.void`, ...), in
 * one synchronous section: nothing can interleave. Returns the exit to continue with.
 */
const settle = (core: Core, exit: Exit.Exit<any, any>): Exit.Exit<any, any> => {
  if (core.fast) {
    if (exit._tag === "Success") core.closedSuccess(core.generation)
    else core.complete(core.generation, exit, 0)
    return exit
  }
  const permit = core.acquire()
  if (permit < 0) return Exit.fail(core.refusal())
  core.complete(permit, exit, core.timed || core.state !== CLOSED ? core.now() : 0)
  return exit
}

/**
 * `yield*` of a call inside `Effect.gen`: the first `next` runs when the generator reaches the call, so the
 * admission happens there, at run time, exactly as in `evaluate`. A completed `effect` is settled inline and
 * its value handed straight back to the generator. Any other is yielded to the fiber: closed and untimed, with
 * only a failure handler (the generator hands the success value to the second `next`, which records it);
 * otherwise wrapped by {@link guard}.
 */
class CallIterator {
  value: unknown
  done = false
  /** Closed and untimed: the breaker and generation admitted, whose success the second `next` records. */
  core: Core | undefined = undefined
  generation = -1
  constructor(call: Call) {
    this.value = call
  }
  next(a: unknown): IteratorResult<unknown, unknown> {
    if (this.done) {
      this.value = a
      if (this.core !== undefined) this.core.closedSuccess(this.generation)
      return this as IteratorReturnResult<unknown>
    }
    this.done = true
    const call = this.value as Call
    const core = call.core
    const inner = call.inner
    if (isCompleted(inner)) {
      const out = settle(core, inner)
      if (out._tag === "Failure") return { value: out, done: false }
      this.value = out.value
      return this as IteratorReturnResult<unknown>
    }
    if (!core.fast) return { value: guard(core, inner), done: false }
    this.generation = core.generation
    this.core = core
    return { value: Effect.catchCause(inner, core.closedHandlers().onFailure), done: false }
  }
}

const callProto = Effectable.Prototype<Call>({
  label: "CircuitBreaker.run",
  evaluate() {
    const inner = this.inner
    const core = this.core
    if (isCompleted(inner)) return settle(core, inner)
    if (!core.fast) return guard(core, inner)
    const h = core.handlers
    return Effect.matchCauseEffect(
      inner,
      h !== undefined && h.generation === core.generation ? h : core.closedHandlers(),
    )
  },
})
;(callProto as any)[Symbol.iterator] = function (this: Call) {
  return new CallIterator(this)
}

/** A plain constructor over that prototype gives every call object the same shape. */
const CallImpl = function (this: { inner: unknown; core: Core }, inner: unknown, core: Core) {
  this.inner = inner
  this.core = core
} as unknown as new (
  inner: Effect.Effect<any, any, any>,
  core: Core,
) => Call
CallImpl.prototype = callProto

/**
 * Makes a circuit breaker. Validates options eagerly (throws `RangeError` naming the option). Time comes
 * from the `Clock` of the context where it is made.
 *
 * @example
 * ```ts
 * const breaker = yield* CircuitBreaker.make({
 *   window: { type: "time", sizeMs: 60_000, buckets: 6 },
 *   failureRateThreshold: 0.5,
 *   slowCallDurationMs: 2_000,
 *   slowCallRateThreshold: 0.8,
 *   halfOpenMaxCalls: 3,
 * })
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<CircuitBreaker> => {
  const o = resolve(options)
  return Effect.withFiber((fiber) => {
    const clock = fiber.getRef(Clock.Clock)
    return Effect.succeed(
      makeWith(o, () => clock.currentTimeMillisUnsafe(), fiber.context as Context.Context<never>),
    )
  })
}

/**
 * Feeds `troupe_breaker_state{breaker}` (0 closed, 1 half-open, 2 open or isolated) and
 * `troupe_breaker_transitions_total{breaker}` from a breaker's transitions.
 */
const bindBreakerMetrics = (core: Core, name: string, context: Context.Context<never>): void => {
  const state = TelemetryMetrics.bindUnsafe(
    Metric.withAttributes(TelemetryMetrics.breakerState, { breaker: name }),
    context,
  )
  const transitions = TelemetryMetrics.bindUnsafe(
    Metric.withAttributes(TelemetryMetrics.breakerTransitions, { breaker: name }),
    context,
  )
  state.update(TelemetryMetrics.BreakerStateValue.closed)
  core.onTransition = (to) => {
    transitions.update(1)
    state.update(
      to === CLOSED
        ? TelemetryMetrics.BreakerStateValue.closed
        : to === HALF_OPEN
          ? TelemetryMetrics.BreakerStateValue.halfOpen
          : TelemetryMetrics.BreakerStateValue.open,
    )
  }
}

const makeWith = (o: Resolved, now: () => number, context: Context.Context<never>): CircuitBreaker => {
  const core = new Core(o, now)
  bindBreakerMetrics(core, o.name, context)
  // One call object per call, no closure.
  const run = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpen, R> =>
    new CallImpl(effect, core)
  return {
    name: o.name,
    run,
    stateUnsafe: () => names[core.current(now())],
    state: Effect.sync(() => names[core.current(now())]),
    metrics: Effect.sync(() => {
      const t = now()
      const state = names[core.current(t)]
      const c: WindowCounts = { calls: 0, failures: 0, slow: 0 }
      core.window.counts(t, c)
      return {
        state,
        ...c,
        failureRate: c.calls === 0 ? 0 : c.failures / c.calls,
        slowCallRate: c.calls === 0 ? 0 : c.slow / c.calls,
      }
    }),
    isolate: Effect.sync(() => core.isolate()),
    reset: Effect.sync(() => core.reset()),
    subscribe: (listener) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          if (core.listeners.size >= o.maxListeners) {
            return Effect.die(
              new RangeError(
                `${M} "${o.name}": more than "maxListeners" (${o.maxListeners}) listeners. Close unused subscriptions or raise maxListeners.`,
              ),
            )
          }
          const l = (c: StateChange) => listener(c)
          core.listeners.add(l)
          return Effect.succeed(l)
        }),
        (l) => Effect.sync(() => core.listeners.delete(l)),
      ).pipe(Effect.asVoid),
  }
}

/**
 * Options of {@link makeRegistry}.
 *
 * @example
 * ```ts
 * const registry = yield* CircuitBreaker.makeRegistry({ maxBreakers: 1000 } satisfies CircuitBreaker.RegistryOptions)
 * ```
 */
export interface RegistryOptions {
  /** Most breakers held (default 1,000). */
  readonly maxBreakers?: number
  /** Options for every breaker; `name` defaults to the key. */
  readonly defaults?: Options
}

/**
 * Breakers by key, created on first use with the registry's defaults.
 *
 * @example
 * ```ts
 * const breaker = yield* (registry as CircuitBreaker.Registry).get("payments")
 * ```
 */
export interface Registry {
  /** The breaker for `key`, created with the defaults (plus `overrides`) on first use. */
  readonly get: (key: string, overrides?: Options) => Effect.Effect<CircuitBreaker>
  /** Keys currently held, least recently used first. */
  readonly keys: Effect.Effect<ReadonlyArray<string>>
}

/**
 * Makes a bounded registry of breakers. At `maxBreakers`, creating one more evicts the least recently used
 * closed breaker (nothing is lost: a closed breaker's window only delays judgement); if none is closed, the
 * least recently used breaker of any state.
 *
 * @example
 * ```ts
 * const breakers = yield* CircuitBreaker.makeRegistry({ maxBreakers: 500, defaults: { minimumCalls: 20 } })
 * const b = yield* breakers.get("api.example.com")
 * ```
 */
export const makeRegistry = (options: RegistryOptions = {}): Effect.Effect<Registry> => {
  const maxBreakers = positiveInt(M, "maxBreakers", options.maxBreakers ?? 1000)
  const defaults = options.defaults ?? {}
  resolve(defaults)
  return Effect.withFiber((fiber) =>
    Effect.sync(() => {
      const clock = fiber.getRef(Clock.Clock)
      const context = fiber.context as Context.Context<never>
      const now = () => clock.currentTimeMillisUnsafe()
      const map = new Map<string, CircuitBreaker>()
      const get = (key: string, overrides?: Options): CircuitBreaker => {
        const found = map.get(key)
        if (found !== undefined) {
          map.delete(key)
          map.set(key, found)
          return found
        }
        if (map.size >= maxBreakers) {
          let victim: string | undefined
          for (const [k, b] of map) {
            if (b.stateUnsafe() === "closed") {
              victim = k
              break
            }
          }
          map.delete(victim ?? map.keys().next().value!)
        }
        const b = makeWith(resolve({ name: key, ...defaults, ...overrides }), now, context)
        map.set(key, b)
        return b
      }
      return {
        get: (key, overrides) => Effect.sync(() => get(key, overrides)),
        keys: Effect.sync(() => [...map.keys()]),
      }
    }),
  )
}
