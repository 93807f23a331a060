/**
 * The agent engine. An agent ("cell") owns a lazily grown mailbox and its state; it holds no fiber while
 * idle. A per-system dispatcher runs ready cells: synchronous handler results are applied in a tight
 * loop on the caller's stack (bounded by a budget, then continued on the Effect scheduler), and a handler
 * that returns an Effect moves its cell onto a worker fiber until its mailbox is empty again.
 *
 * Invariants:
 * - a cell is in at most one of: idle, in the ready queue, being run by the dispatcher, owned by a worker;
 * - at most one handler of a cell runs at a time, in mailbox order;
 * - every message and timer belongs to an incarnation (`gen`); a restart clears the mailbox, cancels
 *   timers and watches, and fails pending replies, so nothing from a dead incarnation reaches the next.
 * @internal
 */
import { Cause, type Context, Effect, Effectable, Exit, type Fiber, Schedule, type Scheduler } from "effect"
import * as Metrics from "../../telemetry/Metrics.ts"
import * as Telemetry from "../../telemetry/Telemetry.ts"
import type {
  AgentRef,
  AgentStatus,
  Behavior,
  ExitReason,
  Replier,
  SpawnOptions,
  TimerHandle,
} from "../Agent.ts"
import {
  AgentStopped,
  AskTimeout,
  HandlerFailed,
  InitFailed,
  MailboxFull,
  MaxChildrenReached,
  noReply,
  RestartIntensityExceeded,
} from "../AgentError.ts"
import * as Mailbox from "../Mailbox.ts"
import { Deque } from "./deque.ts"

/** Kernel metrics, bound once per system so updates are synchronous calls (see telemetry/Metrics). */
export interface KernelMetrics {
  readonly drops: Metrics.Bound<number, any>
  readonly restarts: Metrics.Bound<number, any>
  readonly asksOk: Metrics.Bound<number, any>
  readonly asksTimeout: Metrics.Bound<number, any>
  readonly asksStopped: Metrics.Bound<number, any>
  readonly asksFull: Metrics.Bound<number, any>
  readonly active: Metrics.Bound<number, any>
  readonly depth: Metrics.Bound<number, any>
  readonly askLatency: Metrics.Bound<number, any>
}

const bindKernelMetrics = (services: Context.Context<never>): KernelMetrics => ({
  drops: Metrics.bindUnsafe(Metrics.agentMailboxDrops, services),
  restarts: Metrics.bindUnsafe(Metrics.agentRestarts, services),
  asksOk: Metrics.bindUnsafe(Metrics.agentAsksByOutcome.ok, services),
  asksTimeout: Metrics.bindUnsafe(Metrics.agentAsksByOutcome.timeout, services),
  asksStopped: Metrics.bindUnsafe(Metrics.agentAsksByOutcome.stopped, services),
  asksFull: Metrics.bindUnsafe(Metrics.agentAsksByOutcome.full, services),
  active: Metrics.bindUnsafe(Metrics.agentsActive, services),
  depth: Metrics.bindUnsafe(Metrics.agentMailboxDepth, services),
  askLatency: Metrics.bindUnsafe(Metrics.agentAskLatency, services),
})

/** Where a cell is in the dispatcher (plain numbers: Node's type stripping has no enums). */
const Sched = { Idle: 0, Ready: 1, Running: 2, Async: 3 } as const
type Sched = (typeof Sched)[keyof typeof Sched]

/** Result of an enqueue attempt. */
export const Offer = { Ok: 0, Wait: 1, Dropped: 2, Full: 3, Stopped: 4 } as const
export type Offer = (typeof Offer)[keyof typeof Offer]

export const exitNormal: ExitReason = { _tag: "Normal" }
export const exitShutdown: ExitReason = { _tag: "Shutdown" }
const exitVoid = Exit.void

/** A pending request: the message plus how to answer its asker. */
export class AskEnvelope {
  done = false
  deferred = false
  resume: ((exit: Exit.Exit<any, any>) => void) | undefined = undefined
  exit: Exit.Exit<any, any> | undefined = undefined
  readonly msg: unknown
  constructor(msg: unknown) {
    this.msg = msg
  }
  complete(exit: Exit.Exit<any, any>): void {
    if (this.done) return
    this.done = true
    this.exit = exit
    const resume = this.resume
    if (resume !== undefined) {
      this.resume = undefined
      resume(exit)
    }
  }
}

/** A sender suspended on a full mailbox (overflow "suspend"). */
class Waiter {
  cancelled = false
  readonly item: unknown
  readonly resume: (exit: Exit.Exit<void, any>) => void
  constructor(item: unknown, resume: (exit: Exit.Exit<void, any>) => void) {
    this.item = item
    this.resume = resume
  }
}

/** Outcomes of running a handler synchronously (see `Cell.invoke`). */
const Handled = 0
const Crashed = 1

/** `Effect.isEffect` without the `dual` indirection of `hasProperty` (hot: runs once per message). */
const isEffect = (u: unknown): u is Effect.Effect<unknown, unknown, unknown> =>
  ((typeof u === "object" && u !== null) || typeof u === "function") && Effect.TypeId in (u as object)

const tagOf = (msg: unknown): string =>
  typeof msg === "object" && msg !== null && typeof (msg as any)._tag === "string"
    ? (msg as any)._tag
    : typeof msg

/** Hooks that other subsystems (the registry) install on a system. */
export interface LifecycleHook {
  readonly beforeSpawn?: (
    ref: AgentRef<any>,
    info: { readonly name: string | undefined; readonly metadata: unknown },
  ) => unknown
  readonly onExit?: (ref: AgentRef<any>, reason: ExitReason) => void
  /** Synchronously, each time a handler or a restart's init crashes (before the supervisor decides). */
  readonly onCrash?: (ref: AgentRef<any>, cause: Cause.Cause<unknown>) => void
}

export interface SystemOptions {
  readonly defaultMailbox: Mailbox.Resolved
  readonly traceAsks: boolean
  readonly deadLetterCapacity: number
  readonly dispatchBudget: number
  readonly batchSize: number
  readonly defaultAskTimeoutMs: number
  readonly defaultShutdownMs: number
}

/** The per-system runtime: run queue, dead letters, fiber tracking, hooks. */
export class SystemRuntime {
  readonly ready = new Deque<Cell>()
  draining = false
  scheduled = false
  nextId = 1
  closed = false
  readonly fibers = new Set<Fiber.Fiber<any, any>>()
  readonly deadLetters: Array<Mailbox.DeadLetter> = []
  deadLetterStart = 0
  deadLetterTotal = 0
  hooks: ReadonlyArray<LifecycleHook> = []
  readonly dispatcher: Scheduler.SchedulerDispatcher
  readonly clock: { currentTimeMillisUnsafe(): number }
  readonly metrics: KernelMetrics
  /** Mailbox options of agents whose behaviour and spawn options set none. */
  readonly defaultMailbox: Mailbox.Resolved
  root!: SupervisorCore

  readonly services: Context.Context<never>
  readonly options: SystemOptions
  constructor(
    services: Context.Context<never>,
    options: SystemOptions,
    clock: { currentTimeMillisUnsafe(): number },
    scheduler: Scheduler.Scheduler,
  ) {
    this.services = services
    this.options = options
    this.clock = clock
    this.dispatcher = scheduler.makeDispatcher()
    this.metrics = bindKernelMetrics(services)
    this.defaultMailbox = options.defaultMailbox
  }

  /**
   * Puts a cell on the run queue. The queue is drained by a scheduler task (so a burst of tells is
   * handled in batches), or inline by an `ask`, which wants its reply on the spot.
   */
  schedule(cell: Cell): void {
    cell.sched = Sched.Ready
    if (!cell.queued) {
      cell.queued = true
      this.ready.push(cell)
    }
    if (!this.draining) this.scheduleDrain()
  }

  /**
   * Change of the total mailbox depth not yet reported to the `troupe_agent_mailbox_depth` gauge: the
   * hot path counts here and each dispatcher turn (and `stats()`) reports it, so a message costs no
   * metric call.
   */
  depthDelta = 0

  /** Suspended senders admitted during the current dispatcher turn, woken when it ends. */
  wakes: Array<Waiter> = []

  flushMetrics(): void {
    if (this.depthDelta !== 0) {
      this.metrics.depth.modify(this.depthDelta)
      this.depthDelta = 0
    }
  }

  drain(): void {
    this.draining = true
    let budget = this.options.dispatchBudget
    const batch = this.options.batchSize
    try {
      while (this.ready.length > 0) {
        if (budget <= 0) {
          this.scheduleDrain()
          return
        }
        const cell = this.ready.shift()!
        cell.queued = false
        // a cell that crashed, stopped or went async while queued has nothing to run here
        if (cell.sched !== Sched.Ready) continue
        budget -= cell.runSlice(batch)
      }
    } finally {
      this.draining = false
      this.flushMetrics()
      const wakes = this.wakes
      if (wakes.length > 0) {
        this.wakes = []
        for (let i = 0; i < wakes.length; i++) wakes[i].resume(exitVoid)
      }
    }
  }

  scheduleDrain(): void {
    if (this.scheduled) return
    this.scheduled = true
    this.dispatcher.scheduleTask(() => {
      this.scheduled = false
      if (!this.draining) this.drain()
    }, 0)
  }

  /** Forks a tracked fiber with the given services. */
  fork<A, E>(services: Context.Context<never>, effect: Effect.Effect<A, E, any>): Fiber.Fiber<A, E> {
    const fiber = Effect.runForkWith(services)(effect as Effect.Effect<A, E>)
    if (fiber.pollUnsafe() === undefined) {
      this.fibers.add(fiber)
      fiber.addObserver(() => this.fibers.delete(fiber))
    }
    return fiber
  }

  deadLetter(cell: Cell, message: unknown, reason: Mailbox.DeadLetter["reason"]): void {
    if (message instanceof AskEnvelope) message = message.msg
    if (message instanceof Waiter) message = message.item
    const capacity = this.options.deadLetterCapacity
    this.deadLetterTotal++
    if (capacity === 0) return
    const letter: Mailbox.DeadLetter = {
      agentId: cell.id,
      agent: cell.label,
      message,
      reason,
      at: this.clock.currentTimeMillisUnsafe(),
    }
    if (this.deadLetters.length < capacity) this.deadLetters.push(letter)
    else {
      this.deadLetters[this.deadLetterStart] = letter
      this.deadLetterStart = (this.deadLetterStart + 1) % capacity
    }
  }

  deadLetterList(): ReadonlyArray<Mailbox.DeadLetter> {
    return [
      ...this.deadLetters.slice(this.deadLetterStart),
      ...this.deadLetters.slice(0, this.deadLetterStart),
    ]
  }
}

/** How a supervisor treats a child that ended. */
export type RestartType = "permanent" | "transient" | "temporary"

/** The engine object behind an `AgentRef`. */
export class Cell implements AgentRef<any> {
  readonly id: number
  readonly name: string | undefined
  readonly mailboxOptions: Mailbox.Resolved
  mailbox: Deque<unknown> | undefined = undefined
  waiters: Deque<Waiter> | undefined = undefined
  state: unknown = undefined
  status: AgentStatus = "starting"
  sched: Sched = Sched.Idle
  /** Whether the cell sits in the run queue (at most once). */
  queued = false
  gen = 0
  restarts = 0
  dropped = 0
  ctx: AgentCtx
  current: AskEnvelope | undefined = undefined
  worker: Fiber.Fiber<void, never> | undefined = undefined
  timers: Set<Fiber.Fiber<any, any>> | undefined = undefined
  deferredReplies: Set<AskEnvelope> | undefined = undefined
  watching: Map<Cell, () => void> | undefined = undefined
  exitListeners: Set<(reason: ExitReason) => void> | undefined = undefined
  exitReason: ExitReason | undefined = undefined
  stopRequested = false
  /** Set when this cell is a supervisor. */
  sup: SupervisorCore | undefined = undefined
  /** The child spec id under a static supervisor. */
  childKey: string | undefined = undefined
  /** Callers waiting for a shutdown under way. */
  shutdownListeners: Array<() => void> | undefined = undefined

  readonly sys: SystemRuntime
  readonly behavior: Behavior<any, any, any, any>
  readonly services: Context.Context<never>
  readonly parent: SupervisorCore | undefined
  readonly restartType: RestartType
  readonly shutdownMs: number
  constructor(
    sys: SystemRuntime,
    behavior: Behavior<any, any, any, any>,
    services: Context.Context<never>,
    parent: SupervisorCore | undefined,
    restartType: RestartType,
    shutdownMs: number,
    options: SpawnOptions | undefined,
  ) {
    this.sys = sys
    this.behavior = behavior
    this.services = services
    this.parent = parent
    this.restartType = restartType
    this.shutdownMs = shutdownMs
    this.id = sys.nextId++
    this.name = options?.name ?? behavior.name
    this.mailboxOptions =
      options?.mailbox !== undefined || behavior.mailbox !== undefined
        ? Mailbox.resolve(options?.mailbox ?? behavior.mailbox, this.label)
        : sys.defaultMailbox
    this.ctx = new AgentCtx(this, 0)
  }

  /** The name, or `agent-<id>` (computed on demand: an anonymous agent stores no string). */
  get label(): string {
    return this.name ?? `agent-${this.id}`
  }

  get mailboxDepth(): number {
    return this.mailbox === undefined ? 0 : this.mailbox.length
  }

  // ---------------------------------------------------------------- sending

  /** Enqueues a message or request, obeying the overflow policy. */
  offer(item: unknown): Offer {
    const status = this.status
    if (status === "stopped" || status === "stopping") return Offer.Stopped
    const mb = (this.mailbox ??= new Deque())
    if (mb.length >= this.mailboxOptions.capacity) {
      switch (this.mailboxOptions.overflow) {
        case "suspend":
          return Offer.Wait
        case "fail":
          this.sys.metrics.drops.update(1)
          return Offer.Full
        case "dropping":
          this.dropped++
          this.sys.metrics.drops.update(1)
          this.sys.deadLetter(this, item, "dropped")
          if (item instanceof AskEnvelope) item.complete(Exit.fail(this.mailboxFull()))
          return Offer.Dropped
        case "sliding": {
          const old = mb.shift()
          this.sys.depthDelta--
          this.dropped++
          this.sys.metrics.drops.update(1)
          this.sys.deadLetter(this, old, "slid")
          if (old instanceof AskEnvelope) old.complete(Exit.fail(this.mailboxFull()))
          break
        }
      }
    }
    mb.push(item)
    this.sys.depthDelta++
    if (this.sched === Sched.Idle && status === "running") this.sys.schedule(this)
    return Offer.Ok
  }

  /** Enqueues a system message, ignoring capacity (supervision traffic must never be lost). */
  offerSystem(item: unknown): void {
    if (this.status === "stopped") return
    ;(this.mailbox ??= new Deque()).push(item)
    this.sys.depthDelta++
    if (this.sched === Sched.Idle && this.status === "running") this.sys.schedule(this)
  }

  mailboxFull(): MailboxFull {
    return new MailboxFull({ agent: this.label, capacity: this.mailboxOptions.capacity })
  }

  stoppedError(): AgentStopped {
    return new AgentStopped({
      agent: this.label,
      reason: this.status === "stopping" ? "stopping" : this.status === "stopped" ? "stopped" : "restarted",
    })
  }

  tellUnsafe(msg: any): boolean {
    return this.offer(msg) === Offer.Ok
  }

  tell(msg: any): Effect.Effect<void, AgentStopped | MailboxFull> {
    return new TellEffect(this, msg)
  }

  /** The body of `tell`, run each time the Effect runs. */
  tellNow(msg: unknown): Effect.Effect<void, AgentStopped | MailboxFull> {
    switch (this.offer(msg)) {
      case Offer.Ok:
      case Offer.Dropped:
        return exitVoid
      case Offer.Wait:
        return this.waitForRoom(msg)
      case Offer.Full:
        return Exit.fail(this.mailboxFull())
      default:
        return Exit.fail(this.stoppedError())
    }
  }

  private waitForRoom(item: unknown): Effect.Effect<void, AgentStopped> {
    return Effect.callback<void, AgentStopped>((resume) => {
      const waiter = new Waiter(item, resume)
      ;(this.waiters ??= new Deque()).push(waiter)
      return Effect.sync(() => {
        waiter.cancelled = true
      })
    })
  }

  ask(msg: any, options?: { readonly timeoutMs?: number }): Effect.Effect<any, any> {
    return new AskEffect(this, msg, options?.timeoutMs ?? this.sys.options.defaultAskTimeoutMs)
  }

  /** The body of `ask`: enqueue, let the dispatcher run inline, and wait only if no reply came yet. */
  askNow(msg: unknown, timeoutMs: number): Effect.Effect<any, any> {
    const env = new AskEnvelope(msg)
    const m = this.sys.metrics
    switch (this.offer(env)) {
      case Offer.Ok:
        if (!this.sys.draining && this.sys.ready.length > 0) this.sys.drain()
        if (env.done) {
          ;(env.exit!._tag === "Success" ? m.asksOk : m.asksStopped).update(1)
          return env.exit!
        }
        return this.awaitReply(env, timeoutMs, undefined)
      case Offer.Wait:
        return this.awaitReply(env, timeoutMs, this.waitForRoom(env))
      case Offer.Dropped:
      case Offer.Full:
        m.asksFull.update(1)
        return env.exit ?? Exit.fail(this.mailboxFull())
      default:
        m.asksStopped.update(1)
        return Exit.fail(this.stoppedError())
    }
  }

  private awaitReply(
    env: AskEnvelope,
    timeoutMs: number,
    enqueue: Effect.Effect<void, AgentStopped> | undefined,
  ): Effect.Effect<any, any> {
    const reply = Effect.callback<any, any>((resume) => {
      if (env.done) return resume(env.exit!)
      env.resume = resume
      return Effect.sync(() => {
        // interrupted (timeout): withdraw the request if it has not been handled yet
        env.resume = undefined
        env.done = true
      })
    })
    const whole = enqueue === undefined ? reply : Effect.andThen(enqueue, reply)
    const m = this.sys.metrics
    return Effect.onExit(
      Effect.timeoutOrElse(whole, {
        duration: timeoutMs,
        orElse: () => Effect.fail(new AskTimeout({ agent: this.label, timeoutMs })),
      }),
      (exit) =>
        Effect.sync(() => {
          if (exit._tag === "Success") m.asksOk.update(1)
          else {
            const e = Cause.squash(exit.cause) as { _tag?: string }
            ;(e?._tag === "AskTimeout"
              ? m.asksTimeout
              : e?._tag === "MailboxFull"
                ? m.asksFull
                : m.asksStopped
            ).update(1)
          }
        }),
    )
  }

  stop(options?: { readonly deadlineMs?: number }): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.parent !== undefined) return this.parent.terminateChild(this, options?.deadlineMs)
      return this.shutdown(options?.deadlineMs ?? this.shutdownMs, true, exitShutdown)
    })
  }

  // ---------------------------------------------------------------- running

  /** Runs up to `max` messages synchronously. Returns how many were taken. */
  runSlice(max: number): number {
    this.sched = Sched.Running
    const mb = this.mailbox!
    let n = 0
    while (n < max && this.status === "running" && mb.length > 0) {
      const item = this.take(mb)
      n++
      if (!this.handle(item)) return n
    }
    this.afterRun()
    return n
  }

  /** Takes the next message and lets one suspended sender in. */
  private take(mb: Deque<unknown>): unknown {
    const item = mb.shift()
    this.sys.depthDelta--
    const waiters = this.waiters
    if (waiters !== undefined && waiters.length > 0) this.admitWaiter(mb, waiters)
    return item
  }

  private admitWaiter(mb: Deque<unknown>, waiters: Deque<Waiter>): void {
    while (waiters.length > 0) {
      const w = waiters.shift()!
      if (w.cancelled) continue
      mb.push(w.item)
      this.sys.depthDelta++
      // Inside a dispatcher turn the sender is woken when the turn ends: woken at once, it would fill
      // the one free slot and wait again, a fiber switch per message instead of a batch.
      if (this.sys.draining) this.sys.wakes.push(w)
      else w.resume(exitVoid)
      return
    }
  }

  /** Settles the cell after a run: back to idle, re-queued, or stopping on request. */
  private afterRun(): void {
    if (this.stopRequested && this.status === "running") {
      this.sched = Sched.Idle
      this.selfStop()
      return
    }
    if (this.status === "running" && this.mailbox !== undefined && this.mailbox.length > 0) {
      this.sys.schedule(this)
    } else {
      this.sched = Sched.Idle
    }
  }

  /** Handles one message synchronously. Returns false when the cell went async or crashed. */
  private handle(item: unknown): boolean {
    const r = this.invoke(item)
    if (r === Handled) return true
    if (r === Crashed) return false
    this.sched = Sched.Async
    this.runAsync(r, this.current)
    return false
  }

  /**
   * Runs the handler on one mailbox item. A plain result is applied at once (`Handled`, also for a
   * request withdrawn by its timed-out asker); a throw crashes the agent (`Crashed`); an Effect result
   * is returned for the caller to run, with the request (if any) in `this.current`.
   */
  private invoke(item: unknown): typeof Handled | typeof Crashed | Effect.Effect<unknown, unknown> {
    let env: AskEnvelope | undefined
    let msg: unknown
    if (item instanceof AskEnvelope) {
      if (item.done) return Handled
      env = item
      msg = item.msg
    } else msg = item
    this.current = env
    let result: unknown
    try {
      result = this.behavior.receive(this.state, msg, this.ctx)
    } catch (defect) {
      this.crash(Cause.die(defect), env)
      return Crashed
    }
    if (isEffect(result)) return result as Effect.Effect<unknown, unknown>
    this.state = result
    this.settle(env)
    return Handled
  }

  /** After a handler succeeded: a request left unanswered (and not deferred) fails with NoReply. */
  private settle(env: AskEnvelope | undefined): void {
    this.current = undefined
    if (env !== undefined && !env.done && !env.deferred) {
      env.complete(Exit.fail(noReply(this.label, tagOf(env.msg))))
    }
  }

  private runAsync(first: Effect.Effect<unknown, unknown>, env: AskEnvelope | undefined): void {
    const gen = this.gen
    const fiber = this.sys.fork(this.services, this.asyncLoop(first, env, gen))
    if (fiber.pollUnsafe() === undefined) this.worker = fiber as Fiber.Fiber<void, never>
  }

  /** The worker: runs the pending effect, then keeps draining (sync or effect results) until empty. */
  private asyncLoop(
    first: Effect.Effect<unknown, unknown>,
    firstEnv: AskEnvelope | undefined,
    gen: number,
  ): Effect.Effect<void> {
    const step = (eff: Effect.Effect<unknown, unknown>, env: AskEnvelope | undefined): Effect.Effect<void> =>
      Effect.matchCauseEffect(eff, {
        onSuccess: (s) => {
          if (this.gen !== gen) return Effect.void
          this.state = s
          this.settle(env)
          return next()
        },
        onFailure: (cause) => {
          if (this.gen !== gen) return Effect.void
          if (Cause.hasInterruptsOnly(cause)) {
            // interrupted by stop: the stop path finishes the cell
            this.current = undefined
            if (env !== undefined) env.complete(Exit.fail(this.stoppedError()))
            return Effect.void
          }
          const failure = Cause.findError(cause)
          if (this.behavior.onFailure === "resume" && failure._tag === "Success" && !Cause.hasDies(cause)) {
            this.current = undefined
            if (env !== undefined) {
              env.complete(Exit.fail(new HandlerFailed({ agent: this.label, error: failure.success })))
            }
            return next()
          }
          this.worker = undefined
          this.crash(cause, env)
          return Effect.void
        },
      })
    const next = (): Effect.Effect<void> =>
      Effect.suspend(() => {
        const mb = this.mailbox!
        let n = 0
        while (this.status === "running" && !this.stopRequested && mb.length > 0) {
          if (++n > this.sys.options.dispatchBudget) return Effect.andThen(Effect.yieldNow, next())
          const r = this.invoke(this.take(mb))
          if (r === Handled) continue
          if (r === Crashed) {
            this.worker = undefined
            return Effect.void
          }
          return step(r, this.current)
        }
        this.worker = undefined
        if (this.status === "running") this.afterRun()
        return Effect.void
      })
    return step(first, firstEnv)
  }

  // ---------------------------------------------------------------- lifecycle

  /** Runs `init` for the current incarnation. Fails with InitFailed. */
  runInit(): Effect.Effect<void, InitFailed> {
    return Effect.suspend(() => this.initNow())
  }

  /** Starts `init` now; a synchronous init settles before this returns (an Exit is returned). */
  initNow(): Effect.Effect<void, InitFailed> {
    let result: unknown
    try {
      result = this.behavior.init(this.ctx)
    } catch (defect) {
      return Exit.fail(new InitFailed({ agent: this.label, error: defect }))
    }
    if (!isEffect(result)) {
      this.started(result)
      return exitVoid
    }
    return Effect.matchCauseEffect(result as Effect.Effect<unknown, unknown>, {
      onSuccess: (state) => {
        this.started(state)
        return exitVoid
      },
      onFailure: (cause) => Exit.fail(new InitFailed({ agent: this.label, error: Cause.squash(cause) })),
    })
  }

  private started(state: unknown): void {
    this.state = state
    if (this.status !== "starting" && this.status !== "restarting") return
    this.status = "running"
    if (this.mailbox !== undefined && this.mailbox.length > 0 && this.sched === Sched.Idle)
      this.sys.schedule(this)
  }

  /** A handler (or init during a restart) failed: end the incarnation and let the supervisor decide. */
  crash(cause: Cause.Cause<unknown>, env: AskEnvelope | undefined, inInit = false): void {
    this.current = undefined
    this.sched = Sched.Idle
    if (env !== undefined) env.complete(Exit.fail(new AgentStopped({ agent: this.label, reason: "crashed" })))
    if (this.status === "stopping" || this.status === "stopped") return
    const hooks = this.sys.hooks
    for (let i = 0; i < hooks.length; i++) hooks[i].onCrash?.(this, cause)
    this.endThenReport({ _tag: "Failed", cause }, "crashed", !inInit)
  }

  /** `ctx.stop()` was called: a normal exit, judged by the supervisor per restart type. */
  private selfStop(): void {
    this.endThenReport(exitNormal, "stopped", true)
  }

  /**
   * Ends the incarnation, stops a supervisor's children and runs `terminate` (bounded by shutdownMs),
   * then reports the exit to the parent.
   */
  private endThenReport(
    reason: ExitReason,
    dead: Mailbox.DeadLetter["reason"],
    withTerminate: boolean,
  ): void {
    this.status = "restarting"
    const state = this.state
    this.endIncarnation(dead)
    const terminate = withTerminate ? this.behavior.terminate : undefined
    const sup = this.sup
    if (terminate === undefined && (sup === undefined || sup.children.size === 0)) {
      this.reportExit(reason)
      return
    }
    const cleanup = Effect.andThen(
      sup === undefined ? exitVoid : sup.stopAllChildren(),
      terminate === undefined ? exitVoid : this.runTerminate(terminate, state, reason),
    )
    this.sys.fork(
      this.services,
      Effect.ensuring(
        cleanup,
        Effect.sync(() => this.reportExit(reason)),
      ),
    )
  }

  private runTerminate(
    terminate: NonNullable<Behavior<any, any, any, any>["terminate"]>,
    state: unknown,
    reason: ExitReason,
  ): Effect.Effect<void> {
    return Effect.suspend(() => {
      let eff: Effect.Effect<void, unknown, unknown>
      try {
        eff = terminate(state, reason) as Effect.Effect<void, unknown, unknown>
      } catch {
        return Effect.void
      }
      const bounded =
        this.shutdownMs <= 0
          ? eff
          : Effect.timeoutOption(eff as Effect.Effect<void, unknown>, this.shutdownMs)
      return Effect.ignore(bounded) as Effect.Effect<void>
    })
  }

  private reportExit(reason: ExitReason): void {
    if (this.status === "stopped") return
    if (this.parent !== undefined) this.parent.childExited(this, reason)
    else this.finalize(reason)
  }

  /**
   * Ends the current incarnation: cancels its timers and watches, fails its pending replies, clears the
   * mailbox (dead letters) and lets suspended senders in for the next incarnation.
   */
  endIncarnation(deadReason: Mailbox.DeadLetter["reason"], admitWaiters = true): void {
    this.gen++
    this.ctx = new AgentCtx(this, this.gen)
    const current = this.current
    if (current !== undefined) {
      // the request in flight when the incarnation ended (e.g. its handler was interrupted)
      this.current = undefined
      current.complete(
        Exit.fail(
          new AgentStopped({ agent: this.label, reason: deadReason === "crashed" ? "crashed" : "stopped" }),
        ),
      )
    }
    this.stopRequested = false
    const timers = this.timers
    if (timers !== undefined) {
      this.timers = undefined
      for (const t of timers) t.interruptUnsafe()
    }
    const watching = this.watching
    if (watching !== undefined) {
      this.watching = undefined
      for (const remove of watching.values()) remove()
    }
    const deferred = this.deferredReplies
    if (deferred !== undefined) {
      this.deferredReplies = undefined
      const err = new AgentStopped({
        agent: this.label,
        reason: deadReason === "crashed" ? "crashed" : "stopped",
      })
      for (const env of deferred) env.complete(Exit.fail(err))
    }
    const mb = this.mailbox
    if (mb !== undefined && mb.length > 0) {
      const err = new AgentStopped({
        agent: this.label,
        reason: deadReason === "crashed" ? "crashed" : "stopped",
      })
      this.sys.depthDelta -= mb.length
      for (const item of mb.drainAll()) {
        this.sys.deadLetter(this, item, deadReason)
        if (item instanceof AskEnvelope) item.complete(Exit.fail(err))
      }
    }
    const waiters = this.waiters
    if (admitWaiters && waiters !== undefined && mb !== undefined) {
      while (waiters.length > 0 && mb.length < this.mailboxOptions.capacity) this.admitWaiter(mb, waiters)
    }
  }

  /** Starts the next incarnation (called by the supervisor). */
  restart(): Effect.Effect<void, InitFailed> {
    return Effect.suspend(() => {
      if (this.status === "stopped") return exitVoid
      this.restarts++
      this.sys.metrics.restarts.update(1)
      this.status = "restarting"
      this.exitReason = undefined
      return this.runInit()
    })
  }

  /**
   * Stops the agent: lets the running handler finish within `deadlineMs` (then interrupts it), runs
   * `terminate`, and — when `final` — ends it for good. Otherwise it is left "restarting" for a restart.
   */
  shutdown(deadlineMs: number, final: boolean, reason: ExitReason): Effect.Effect<void> {
    return Effect.suspend((): Effect.Effect<void> => {
      const status = this.status
      if (status === "stopped") return exitVoid
      if (status === "stopping") {
        // another shutdown is under way: wait for it, then end for good if this one is final
        return Effect.andThen(
          Effect.callback<void>((resume) => {
            ;(this.shutdownListeners ??= []).push(() => resume(exitVoid))
          }),
          Effect.sync(() => {
            if (final) this.finalize(reason)
          }),
        )
      }
      const wasLive = status === "running" || status === "starting"
      this.status = "stopping"
      const worker = this.worker
      const waitWorker: Effect.Effect<void> =
        worker === undefined
          ? exitVoid
          : deadlineMs <= 0
            ? interruptFiber(worker)
            : Effect.flatMap(Effect.timeoutOption(awaitFiber(worker), deadlineMs), (done) =>
                done._tag === "Some" ? exitVoid : Effect.asVoid(interruptFiber(worker)),
              )
      const supervised = this.sup
      const stopChildren: Effect.Effect<void> =
        supervised === undefined ? exitVoid : supervised.stopAllChildren()
      const terminate = this.behavior.terminate
      // the state is read after the running handler finished: terminate sees its result
      const runTerminate: Effect.Effect<void> =
        wasLive && terminate !== undefined
          ? Effect.suspend(() => this.runTerminate(terminate, this.state, reason))
          : exitVoid
      // Uninterruptible: every wait inside is bounded by a deadline, and a shutdown cut in the middle
      // would leave the agent "stopping" for ever.
      return Effect.uninterruptible(
        Effect.andThen(
          Effect.andThen(Effect.andThen(waitWorker, stopChildren), runTerminate),
          Effect.sync(() => {
            this.worker = undefined
            this.sched = Sched.Idle
            if (final) this.finalize(reason)
            else {
              this.status = "restarting"
              this.endIncarnation("stopped")
            }
            const listeners = this.shutdownListeners
            this.shutdownListeners = undefined
            if (listeners !== undefined) for (const l of listeners) l()
          }),
        ),
      )
    })
  }

  /** Ends the agent for good and tells everyone who asked to know. */
  finalize(reason: ExitReason): void {
    if (this.status === "stopped") return
    this.status = "stopped"
    this.exitReason = reason
    // system hooks first (the registry removes the agent's entries here), before anything that can resume
    // a fiber synchronously (waiters, exit listeners, awaitExit): nobody can observe a stopped agent that
    // is still registered
    const hooks = this.sys.hooks
    for (let i = 0; i < hooks.length; i++) hooks[i].onExit?.(this, reason)
    this.endIncarnation("stopped", false)
    const waiters = this.waiters
    if (waiters !== undefined) {
      this.waiters = undefined
      const err = new AgentStopped({ agent: this.label, reason: "stopped" })
      while (waiters.length > 0) {
        const w = waiters.shift()!
        if (!w.cancelled) w.resume(Exit.fail(err))
      }
    }
    this.mailbox = undefined
    const listeners = this.exitListeners
    if (listeners !== undefined) {
      this.exitListeners = undefined
      for (const l of listeners) l(reason)
    }
    if (this.parent?.children.get(this.id) === this) this.sys.metrics.active.modify(-1)
    this.parent?.removeChild(this)
  }

  /** Registers a callback for the final exit; returns its remover. Fires at once if already stopped. */
  onExit(listener: (reason: ExitReason) => void): () => void {
    if (this.status === "stopped") {
      listener(this.exitReason!)
      return () => {}
    }
    const set = (this.exitListeners ??= new Set())
    set.add(listener)
    return () => {
      this.exitListeners?.delete(listener)
    }
  }

  awaitExit(): Effect.Effect<ExitReason> {
    return Effect.callback<ExitReason>((resume) => {
      const remove = this.onExit((reason) => resume(Exit.succeed(reason)))
      return Effect.sync(remove)
    })
  }
}

/**
 * `tell` and `ask` as Effect values that do their work when run (no closure per call): half the cost
 * of `Effect.suspend` on the hot path. Under `yield*` in `Effect.gen` they go one step further: their
 * iterator does the work at once and hands back a result that is already there (a tell that was
 * enqueued, an ask answered on the spot) without an interpreter step; anything else (waiting for room
 * or for a reply, a failure) is yielded to the fiber as usual.
 */
const DoneVoid: IteratorReturnResult<void> = Object.freeze({ done: true as const, value: undefined })

class StepIterator {
  stage = 0
  readonly start: () => Effect.Effect<any, any>
  constructor(start: () => Effect.Effect<any, any>) {
    this.start = start
  }
  next(a?: unknown): IteratorResult<Effect.Effect<any, any>, any> {
    if (this.stage === 1) return { done: true, value: a }
    const eff = this.start()
    if (eff === exitVoid) return DoneVoid
    // an Exit carries this key (Exit.isExit goes through `dual`, which costs more than the tell itself)
    if ((eff as { _tag?: string })._tag === "Success" && "~effect/Exit" in eff) {
      return { done: true, value: (eff as Exit.Success<unknown>).value }
    }
    this.stage = 1
    return { done: false, value: eff }
  }
}

class TellEffect extends Effectable.Class<void, AgentStopped | MailboxFull> {
  readonly cell: Cell
  readonly msg: unknown
  constructor(cell: Cell, msg: unknown) {
    super()
    this.cell = cell
    this.msg = msg
  }
  asEffect(): Effect.Effect<void, AgentStopped | MailboxFull> {
    return this.cell.tellNow(this.msg)
  }
  override [Symbol.iterator](): any {
    return new StepIterator(() => this.cell.tellNow(this.msg))
  }
}

class AskEffect extends Effectable.Class<any, any> {
  readonly cell: Cell
  readonly msg: unknown
  readonly timeoutMs: number
  constructor(cell: Cell, msg: unknown, timeoutMs: number) {
    super()
    this.cell = cell
    this.msg = msg
    this.timeoutMs = timeoutMs
  }
  asEffect(): Effect.Effect<any, any> {
    const cell = this.cell
    if (!cell.sys.options.traceAsks) return cell.askNow(this.msg, this.timeoutMs)
    // traced: a client span, and the latency (ms, on the Clock) in troupe_agent_ask_latency_ms
    const sys = cell.sys
    return Telemetry.withAskSpan(
      cell.label,
      Effect.suspend(() => {
        const started = sys.clock.currentTimeMillisUnsafe()
        return Effect.ensuring(
          cell.askNow(this.msg, this.timeoutMs),
          Effect.sync(() => sys.metrics.askLatency.update(sys.clock.currentTimeMillisUnsafe() - started)),
        )
      }),
    )
  }
  override [Symbol.iterator](): any {
    return new StepIterator(() => this.asEffect())
  }
}

const awaitFiber = (fiber: Fiber.Fiber<any, any>): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const remove = fiber.addObserver(() => resume(exitVoid))
    return Effect.sync(remove)
  })

const interruptFiber = (fiber: Fiber.Fiber<any, any>): Effect.Effect<void> =>
  Effect.suspend(() => {
    fiber.interruptUnsafe()
    return awaitFiber(fiber)
  })

/** The handler's view of its agent, bound to one incarnation. */
export class AgentCtx {
  readonly cell: Cell
  readonly gen: number
  constructor(cell: Cell, gen: number) {
    this.cell = cell
    this.gen = gen
  }

  get self(): AgentRef<any> {
    return this.cell
  }

  reply(msg: unknown, value: unknown): void {
    const env = this.cell.current
    if (env === undefined) return // the request was told, not asked: nobody waits for a reply
    if (env.msg !== msg) {
      throw new Error(
        `ctx.reply was called for a message that is not the one being handled (agent "${this.cell.label}"). Use ctx.deferReply(msg) while handling it to answer later.`,
      )
    }
    env.complete(Exit.succeed(value))
  }

  deferReply(msg: unknown): Replier<any> {
    const env = this.cell.current
    if (env === undefined || env.msg !== msg || env.done) return noopReplier
    env.deferred = true
    const cell = this.cell
    const gen = this.gen
    ;(cell.deferredReplies ??= new Set()).add(env)
    return {
      succeed: (value: unknown) => {
        if (cell.gen !== gen) return
        cell.deferredReplies?.delete(env)
        env.complete(Exit.succeed(value))
      },
      fail: (error: unknown) => {
        if (cell.gen !== gen) return
        cell.deferredReplies?.delete(env)
        env.complete(Exit.fail(new HandlerFailed({ agent: cell.label, error })))
      },
    }
  }

  private timer(effect: Effect.Effect<void, unknown>): TimerHandle {
    const cell = this.cell
    if (cell.gen !== this.gen || cell.status === "stopped") return noopTimer
    const fiber = cell.sys.fork(cell.services, effect)
    if (fiber.pollUnsafe() !== undefined) return noopTimer
    const timers = (cell.timers ??= new Set())
    timers.add(fiber)
    fiber.addObserver(() => cell.timers?.delete(fiber))
    return { cancel: () => fiber.interruptUnsafe() }
  }

  private deliver(msg: unknown): Effect.Effect<void, unknown> {
    const cell = this.cell
    const gen = this.gen
    return Effect.suspend(() => (cell.gen === gen ? Effect.ignore(cell.tell(msg)) : exitVoid))
  }

  sendAfter(msg: unknown, delayMs: number): TimerHandle {
    checkDelay("sendAfter", delayMs)
    return this.timer(Effect.andThen(Effect.sleep(delayMs), this.deliver(msg)))
  }

  sendInterval(msg: unknown, intervalMs: number): TimerHandle {
    checkDelay("sendInterval", intervalMs)
    if (intervalMs === 0) throw new RangeError(`sendInterval: "intervalMs" must be > 0, got 0.`)
    return this.timer(
      Effect.repeat(Effect.andThen(Effect.sleep(intervalMs), this.deliver(msg)), Schedule.forever),
    )
  }

  watch(target: AgentRef<any>): void {
    const cell = this.cell
    if (cell.gen !== this.gen) return
    const t = target as Cell
    if (cell.watching?.has(t)) return
    const gen = this.gen
    const deliver = (reason: ExitReason) => {
      cell.watching?.delete(t)
      if (cell.gen === gen) cell.offerSystem({ _tag: "Down", ref: t, reason })
    }
    const remove = t.onExit(deliver)
    if (t.status !== "stopped") (cell.watching ??= new Map()).set(t, remove)
  }

  unwatch(target: AgentRef<any>): void {
    const remove = this.cell.watching?.get(target as Cell)
    if (remove !== undefined) {
      this.cell.watching!.delete(target as Cell)
      remove()
    }
  }

  stop(): void {
    if (this.cell.gen === this.gen) this.cell.stopRequested = true
  }
}

const noopReplier: Replier<any> = { succeed: () => {}, fail: () => {} }
const noopTimer: TimerHandle = { cancel: () => {} }

const checkDelay = (what: string, ms: number): void => {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(
      `${what}: the delay must be a finite number of milliseconds >= 0, got ${String(ms)}.`,
    )
  }
}

// ---------------------------------------------------------------- supervision

/** Resolved supervisor options. */
export interface SupervisorConfig {
  readonly name: string
  readonly strategy: "oneForOne" | "oneForAll" | "restForOne"
  readonly maxRestarts: number
  readonly withinMs: number
  readonly backoff: Schedule.Schedule<unknown, unknown> | undefined
  readonly maxChildren: number
}

/**
 * Supervisor state and decisions. Child exits arrive as system messages in the supervisor agent's
 * mailbox, so decisions are serialized; starting and stopping children are synchronous table updates.
 */
export class SupervisorCore {
  /** Children in start order (Map keeps insertion order; a restart keeps the position). */
  readonly children = new Map<number, Cell>()
  /** Static children by spec id. */
  readonly byKey = new Map<string, Cell>()
  restartTimes: Array<number> = []
  cell!: Cell
  backoffStep: ((input: unknown) => Effect.Effect<unknown, unknown>) | undefined = undefined

  readonly sys: SystemRuntime
  readonly config: SupervisorConfig
  constructor(sys: SystemRuntime, config: SupervisorConfig) {
    this.sys = sys
    this.config = config
  }

  childExited(child: Cell, reason: ExitReason): void {
    this.cell.offerSystem({ _tag: "ChildExited", child, incarnation: child.restarts, reason })
  }

  removeChild(child: Cell): void {
    if (
      this.children.delete(child.id) &&
      child.childKey !== undefined &&
      this.byKey.get(child.childKey) === child
    ) {
      this.byKey.delete(child.childKey)
    }
  }

  /** Creates and starts a child; fails with a hook's refusal or InitFailed. */
  startChild(
    key: string | undefined,
    behavior: Behavior<any, any, any, any>,
    services: Context.Context<never>,
    options: SpawnOptions | undefined,
    restartDefault: RestartType,
    supervisor?: SupervisorConfig,
  ): Effect.Effect<Cell, unknown> {
    return Effect.suspend(() =>
      this.startChildNow(key, behavior, services, options, restartDefault, supervisor),
    )
  }

  /** {@link startChild}, run now: a child with a synchronous init is running when this returns. */
  startChildNow(
    key: string | undefined,
    behavior: Behavior<any, any, any, any>,
    services: Context.Context<never>,
    options: SpawnOptions | undefined,
    restartDefault: RestartType,
    supervisor?: SupervisorConfig,
  ): Effect.Effect<Cell, unknown> {
    if (this.sys.closed)
      return Effect.die(new Error("The AgentSystem is closed: no agent can be spawned in it."))
    const own = this.cell
    if (own !== undefined && (own.status === "stopping" || own.status === "stopped")) {
      return Exit.fail(new AgentStopped({ agent: this.config.name, reason: own.status }))
    }
    if (this.children.size >= this.config.maxChildren) {
      return Exit.fail(
        new MaxChildrenReached({ supervisor: this.config.name, maxChildren: this.config.maxChildren }),
      )
    }
    const cell = new Cell(
      this.sys,
      behavior,
      services,
      this,
      options?.restart ?? restartDefault,
      options?.shutdownMs ?? this.sys.options.defaultShutdownMs,
      options,
    )
    if (supervisor !== undefined) {
      const core = new SupervisorCore(this.sys, supervisor)
      core.cell = cell
      cell.sup = core
    }
    const hooks = this.sys.hooks
    for (let i = 0; i < hooks.length; i++) {
      const refusal = hooks[i].beforeSpawn?.(cell, { name: cell.name, metadata: options?.metadata })
      if (refusal !== undefined) {
        cell.status = "stopped"
        cell.exitReason = exitShutdown
        for (let j = 0; j < i; j++) hooks[j].onExit?.(cell, exitShutdown)
        return Exit.fail(refusal)
      }
    }
    this.children.set(cell.id, cell)
    if (key !== undefined) {
      cell.childKey = key
      this.byKey.set(key, cell)
    }
    this.sys.metrics.active.modify(1)
    const init = cell.initNow()
    if (init === exitVoid) return Exit.succeed(cell)
    return Effect.matchCauseEffect(init, {
      onSuccess: () => Exit.succeed(cell),
      onFailure: (cause) => {
        cell.finalize({ _tag: "Failed", cause })
        return Exit.failCause(cause)
      },
    })
  }

  /** Stops one child for good and forgets it. */
  terminateChild(child: Cell, deadlineMs?: number): Effect.Effect<void> {
    return child.shutdown(deadlineMs ?? child.shutdownMs, true, exitShutdown)
  }

  /**
   * Stops every child for good, newest first. An idle child with nothing to wait for (no worker, no
   * `terminate`, no children of its own) is finalized on the spot, so closing a million idle agents
   * costs no Effect per agent.
   */
  stopAllChildren(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const cells = [...this.children.values()].reverse()
      let i = 0
      const loop = (): Effect.Effect<void> => {
        while (i < cells.length) {
          const cell = cells[i++]
          if (
            cell.status === "running" &&
            cell.worker === undefined &&
            cell.sup === undefined &&
            cell.behavior.terminate === undefined
          ) {
            cell.sched = Sched.Idle
            cell.finalize(exitShutdown)
          } else if (cell.status !== "stopped") {
            return Effect.andThen(cell.shutdown(cell.shutdownMs, true, exitShutdown), Effect.suspend(loop))
          }
        }
        return exitVoid
      }
      return loop()
    })
  }

  /** The supervisor agent's message handler. */
  handle(msg: any): Effect.Effect<void, unknown> | undefined {
    if (msg?._tag !== "ChildExited") return undefined
    const child = msg.child as Cell
    if (
      this.children.get(child.id) !== child ||
      child.restarts !== msg.incarnation ||
      child.status !== "restarting"
    ) {
      return undefined
    }
    const reason = msg.reason as ExitReason
    const restart =
      child.restartType === "permanent" || (child.restartType === "transient" && reason._tag === "Failed")
    if (!restart) {
      child.finalize(reason)
      return undefined
    }
    const now = this.sys.clock.currentTimeMillisUnsafe()
    const { maxRestarts, withinMs } = this.config
    const times = this.restartTimes.filter((t) => now - t < withinMs)
    times.push(now)
    this.restartTimes = times
    if (times.length > maxRestarts) {
      child.finalize(reason)
      return Effect.fail(
        new RestartIntensityExceeded({ supervisor: this.config.name, maxRestarts, withinMs }),
      )
    }
    return this.applyStrategy(child)
  }

  private applyStrategy(child: Cell): Effect.Effect<void, unknown> {
    let affected: Array<Cell>
    switch (this.config.strategy) {
      case "oneForOne":
        affected = [child]
        break
      case "oneForAll":
        affected = [...this.children.values()]
        break
      case "restForOne": {
        const all = [...this.children.values()]
        affected = all.slice(all.indexOf(child))
        break
      }
    }
    const others = affected.filter((c) => c !== child).reverse()
    const stopOthers = Effect.forEach(
      others,
      (c) => c.shutdown(c.shutdownMs, c.restartType === "temporary", exitShutdown),
      { discard: true },
    )
    const backoff: Effect.Effect<void> =
      this.backoffStep === undefined ? exitVoid : Effect.ignore(this.backoffStep(undefined))
    const restartAll = Effect.forEach(
      affected,
      (cell) =>
        Effect.suspend(() => {
          if (cell.status !== "restarting") return exitVoid
          return Effect.catch(cell.restart(), (e) =>
            Effect.sync(() => cell.crash(Cause.fail(e), undefined, true)),
          )
        }),
      { discard: true },
    )
    return Effect.andThen(Effect.andThen(stopOthers, backoff), restartAll)
  }
}
