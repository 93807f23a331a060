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
import { Cause, type Context, Effect, Exit, type Fiber } from "effect"
import type { AgentRef, AgentStatus, Behavior, ExitReason, SpawnOptions } from "../Agent.ts"
import { AgentStopped, AskTimeout, HandlerFailed, InitFailed, MailboxFull, noReply } from "../AgentError.ts"
import * as Mailbox from "../Mailbox.ts"
import { AgentCtx } from "./agentCtx.ts"
import { AskEffect, TellEffect } from "./callEffects.ts"
import { Deque } from "./deque.ts"
import {
  AskEnvelope,
  Crashed,
  exitNormal,
  exitShutdown,
  exitVoid,
  Handled,
  isEffect,
  Offer,
  Sched,
  tagOf,
  Waiter,
} from "./envelope.ts"
import type { SupervisorCore } from "./supervisorCore.ts"
import type { SystemRuntime } from "./system.ts"

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
