/**
 * The per-system runtime: the run queue and its dispatcher, dead letters, owned fibers, lifecycle hooks
 * and the kernel metrics.
 * @internal
 */
import { type Cause, type Context, Effect, type Fiber, type Scheduler } from "effect"
import * as Metrics from "../../telemetry/Metrics.ts"
import type { AgentRef, ExitReason } from "../Agent.ts"
import type * as Mailbox from "../Mailbox.ts"
import type { Cell } from "./cell.ts"
import { Deque } from "./deque.ts"
import { AskEnvelope, exitVoid, Sched, Waiter } from "./envelope.ts"
import type { SupervisorCore } from "./supervisorCore.ts"

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
