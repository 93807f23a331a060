/**
 * The Effect values behind `ref.tell` and `ref.ask`.
 * @internal
 */
import { Effect, Effectable, type Exit } from "effect"
import * as Telemetry from "../../telemetry/Telemetry.ts"
import type { AgentStopped, MailboxFull } from "../AgentError.ts"
import type { Cell } from "./cell.ts"
import { exitVoid } from "./envelope.ts"

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

export class TellEffect extends Effectable.Class<void, AgentStopped | MailboxFull> {
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

export class AskEffect extends Effectable.Class<any, any> {
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
