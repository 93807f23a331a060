/** Shared test plumbing for the agent kernel: a system on a TestClock, scheduling gates for fc.scheduler. */
import { Effect, type Scope } from "effect"
import { TestClock } from "effect/testing"
import type fc from "fast-check"
import { AgentSystem } from "../../src/index.ts"

/** `eff` with a fresh AgentSystem on a TestClock; the system closes when `eff` ends. */
const inSystem = <A, E>(
  eff: Effect.Effect<A, E, AgentSystem.AgentSystem | Scope.Scope>,
  options?: AgentSystem.Options,
): Effect.Effect<A, E> =>
  eff.pipe(
    Effect.provide(AgentSystem.layer(options)),
    Effect.scoped,
    Effect.provide(TestClock.layer()),
  ) as Effect.Effect<A, E>

/** Runs `eff` in a fresh AgentSystem on a TestClock. */
export const runSystem = <A, E>(
  eff: Effect.Effect<A, E, AgentSystem.AgentSystem | Scope.Scope>,
  options?: AgentSystem.Options,
): Promise<A> => Effect.runPromise(inSystem(eff, options))

/** Like runSystem but returns the Exit. */
export const runSystemExit = <A, E>(
  eff: Effect.Effect<A, E, AgentSystem.AgentSystem | Scope.Scope>,
  options?: AgentSystem.Options,
) => Effect.runPromiseExit(inSystem(eff, options))

/** A scheduling point controlled by fast-check's scheduler. */
export const gate = (s: fc.Scheduler, label: string): Effect.Effect<void> =>
  Effect.promise(() => s.schedule(Promise.resolve(label))).pipe(Effect.asVoid)

/** Lets pending scheduler tasks and fibers run (no clock involved). */
export const settle: Effect.Effect<void> = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

export const adjust = (ms: number) => TestClock.adjust(ms)
