/**
 * The handler's context: replies, timers, watches and self-stop, bound to one incarnation.
 * @internal
 */
import { Effect, Exit, Schedule } from "effect"
import type { AgentRef, ExitReason, Replier, TimerHandle } from "../Agent.ts"
import { HandlerFailed } from "../AgentError.ts"
import type { Cell } from "./cell.ts"
import { exitVoid } from "./envelope.ts"

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
