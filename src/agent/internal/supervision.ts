/**
 * Supervisor behaviours and option validation shared by Supervisor, DynamicSupervisor and the root.
 * @internal
 */
import { Effect, Schedule } from "effect"
import type { Behavior, SpawnOptions } from "../Agent.ts"
import type { AgentCtx, SupervisorConfig, SupervisorCore } from "./runtime.ts"

/** A static child: an id, a behaviour and its spawn options (restart default "permanent"). */
export interface ChildSpecInternal {
  readonly id: string
  readonly behavior: Behavior<any, any, any, any>
  readonly options: SpawnOptions | undefined
  readonly supervisor: SupervisorConfig | undefined
}

const strategies = ["oneForOne", "oneForAll", "restForOne"] as const

/** Validates supervisor options; misuse is a defect raised at construction naming the option. */
export const resolveConfig = (
  owner: string,
  options: {
    readonly name?: string
    readonly strategy?: string
    readonly maxRestarts?: number
    readonly withinMs?: number
    readonly backoff?: Schedule.Schedule<unknown, unknown>
    readonly maxChildren?: number
  },
): SupervisorConfig => {
  const name = options.name ?? owner
  const strategy = options.strategy ?? "oneForOne"
  if (!(strategies as ReadonlyArray<string>).includes(strategy)) {
    throw new RangeError(
      `${name}: "strategy" must be one of "oneForOne", "oneForAll", "restForOne", got ${JSON.stringify(strategy)}.`,
    )
  }
  const maxRestarts = options.maxRestarts ?? 3
  if (!(maxRestarts === Number.POSITIVE_INFINITY || (Number.isInteger(maxRestarts) && maxRestarts >= 0))) {
    throw new RangeError(
      `${name}: "maxRestarts" must be an integer >= 0, got ${String(maxRestarts)}. OTP's default is 3.`,
    )
  }
  const withinMs = options.withinMs ?? 5000
  if (typeof withinMs !== "number" || !(withinMs > 0)) {
    throw new RangeError(
      `${name}: "withinMs" must be a number of milliseconds > 0, got ${String(withinMs)}. Default 5000.`,
    )
  }
  const maxChildren = options.maxChildren ?? Number.POSITIVE_INFINITY
  if (!(maxChildren === Number.POSITIVE_INFINITY || (Number.isInteger(maxChildren) && maxChildren >= 1))) {
    throw new RangeError(`${name}: "maxChildren" must be an integer >= 1, got ${String(maxChildren)}.`)
  }
  return {
    name,
    strategy: strategy as SupervisorConfig["strategy"],
    maxRestarts,
    withinMs,
    backoff: options.backoff,
    maxChildren,
  }
}

const coreOf = (ctx: unknown): SupervisorCore => (ctx as AgentCtx).cell.sup!

/** Starts static children in order; if one fails, stops those started (newest first) and fails. */
const startChildren = (
  core: SupervisorCore,
  specs: ReadonlyArray<ChildSpecInternal>,
): Effect.Effect<void, unknown> =>
  Effect.catch(
    Effect.forEach(
      specs,
      (spec) =>
        core.startChildNow(
          spec.id,
          spec.behavior,
          core.cell.services,
          spec.options,
          "permanent",
          spec.supervisor,
        ),
      { discard: true },
    ),
    (e) => Effect.andThen(core.stopAllChildren(), Effect.fail(e)),
  )

/** The behaviour of a supervisor agent: init starts its children, messages are child exits. */
export const supervisorBehavior = (
  name: string,
  specs: ReadonlyArray<ChildSpecInternal>,
): Behavior<null, unknown, unknown, never> => ({
  name,
  init: (ctx) => {
    const core = coreOf(ctx)
    core.restartTimes = []
    const backoff = core.config.backoff
    // The step function sleeps for the schedule's next delay on the Clock, so TestClock drives it.
    const prepare: Effect.Effect<void> =
      backoff === undefined
        ? Effect.void
        : Effect.map(Schedule.toStepWithSleep(backoff), (step) => {
            core.backoffStep = step as (input: unknown) => Effect.Effect<unknown, unknown>
          })
    if (specs.length === 0 && backoff === undefined) return null
    return Effect.as(Effect.andThen(prepare, startChildren(core, specs)), null)
  },
  receive: (state, msg, ctx) => {
    const eff = coreOf(ctx).handle(msg)
    return eff === undefined ? state : Effect.as(eff, state)
  },
})
