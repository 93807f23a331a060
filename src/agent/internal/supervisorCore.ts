/**
 * Supervisor state and restart decisions (strategies, restart types, intensity, backoff).
 * @internal
 */
import { Cause, type Context, Effect, Exit, type Schedule } from "effect"
import type { Behavior, ExitReason, SpawnOptions } from "../Agent.ts"
import { AgentStopped, MaxChildrenReached, RestartIntensityExceeded } from "../AgentError.ts"
import { Cell, type RestartType } from "./cell.ts"
import { exitShutdown, exitVoid, Sched } from "./envelope.ts"
import type { SystemRuntime } from "./system.ts"

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

  /**
   * Creates and starts a child, now (call it while an Effect runs): a child with a synchronous init is
   * running when this returns. Fails with a hook's refusal, MaxChildrenReached or InitFailed.
   */
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
