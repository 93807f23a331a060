/**
 * Shared primitives of the agent engine: dispatcher states, offer results, the request envelope, the
 * suspended sender, and cheap type checks used once per message.
 * @internal
 */
import { Effect, Exit } from "effect"
import type { ExitReason } from "../Agent.ts"

/** Where a cell is in the dispatcher (plain numbers: Node's type stripping has no enums). */
export const Sched = { Idle: 0, Ready: 1, Running: 2, Async: 3 } as const
export type Sched = (typeof Sched)[keyof typeof Sched]

/** Result of an enqueue attempt. */
export const Offer = { Ok: 0, Wait: 1, Dropped: 2, Full: 3, Stopped: 4 } as const
export type Offer = (typeof Offer)[keyof typeof Offer]

export const exitNormal: ExitReason = { _tag: "Normal" }
export const exitShutdown: ExitReason = { _tag: "Shutdown" }
export const exitVoid = Exit.void

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
export class Waiter {
  cancelled = false
  readonly item: unknown
  readonly resume: (exit: Exit.Exit<void, any>) => void
  constructor(item: unknown, resume: (exit: Exit.Exit<void, any>) => void) {
    this.item = item
    this.resume = resume
  }
}

/** Outcomes of running a handler synchronously (see `Cell.invoke`). */
export const Handled = 0
export const Crashed = 1

/** `Effect.isEffect` without the `dual` indirection of `hasProperty` (hot: runs once per message). */
export const isEffect = (u: unknown): u is Effect.Effect<unknown, unknown, unknown> =>
  ((typeof u === "object" && u !== null) || typeof u === "function") && Effect.TypeId in (u as object)

export const tagOf = (msg: unknown): string =>
  typeof msg === "object" && msg !== null && typeof (msg as any)._tag === "string"
    ? (msg as any)._tag
    : typeof msg
