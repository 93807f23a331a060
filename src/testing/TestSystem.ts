/**
 * A test `AgentSystem` on Effect's `TestClock`, and the scheduling helpers Troupe's own suites use to run
 * agents under fast-check's `fc.scheduler()` interleavings.
 *
 * - `run(effect)` gives `effect` a fresh system (closed when it ends) and a `TestClock`, so timers, ask
 *   timeouts and supervisor backoffs advance only when the test says so (`adjust`).
 * - `gate(s, label)` is a scheduling point: the fiber waits there until fast-check's scheduler releases it,
 *   so a property explores the orders in which concurrent tells, asks, crashes and stops happen.
 * - `settle` lets ready fibers run without moving the clock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import fc from "fast-check"
 * import { Agent } from "troupe"
 * import { TestSystem } from "troupe/testing"
 *
 * await fc.assert(fc.asyncProperty(fc.scheduler(), async (s) => {
 *   const done = TestSystem.run(Effect.gen(function* () {
 *     const ref = yield* Agent.spawn(Counter)
 *     yield* Effect.forkChild(Effect.andThen(TestSystem.gate(s, "tell"), ref.tell({ _tag: "Inc" })))
 *     yield* TestSystem.settle
 *   }))
 *   await s.waitFor(done)
 * }))
 * ```
 * @module
 */
import { Clock, Effect, Layer, type Scope } from "effect"
import { TestClock } from "effect/testing"
import type fc from "fast-check"
import * as AgentSystem from "../agent/AgentSystem.ts"

/**
 * A fresh `AgentSystem` on a `TestClock`. The system closes with the layer.
 *
 * @example
 * ```ts
 * program.pipe(Effect.provide(TestSystem.layer()), Effect.runPromise)
 * ```
 */
export const layer = (options?: AgentSystem.Options): Layer.Layer<AgentSystem.AgentSystem> =>
  AgentSystem.layer(options).pipe(Layer.provideMerge(TestClock.layer()))

const inSystem = <A, E>(
  effect: Effect.Effect<A, E, AgentSystem.AgentSystem | Scope.Scope>,
  options?: AgentSystem.Options,
): Effect.Effect<A, E> =>
  effect.pipe(
    Effect.provide(AgentSystem.layer(options)),
    Effect.scoped,
    Effect.provide(TestClock.layer()),
  ) as Effect.Effect<A, E>

/**
 * Runs `effect` in a fresh system on a `TestClock` and resolves with its value (rejects on failure).
 *
 * @example
 * ```ts
 * const n = await TestSystem.run(Effect.gen(function* () {
 *   const ref = yield* Agent.spawn(Counter)
 *   return yield* ref.ask({ _tag: "Get" })
 * }))
 * ```
 */
export const run = <A, E>(
  effect: Effect.Effect<A, E, AgentSystem.AgentSystem | Scope.Scope>,
  options?: AgentSystem.Options,
): Promise<A> => Effect.runPromise(inSystem(effect, options))

/**
 * Like {@link run}, resolving with the `Exit` instead of rejecting.
 *
 * @example
 * ```ts
 * const exit = await TestSystem.runExit(Agent.spawn(Broken))
 * ```
 */
export const runExit = <A, E>(
  effect: Effect.Effect<A, E, AgentSystem.AgentSystem | Scope.Scope>,
  options?: AgentSystem.Options,
) => Effect.runPromiseExit(inSystem(effect, options))

/**
 * A scheduling point controlled by fast-check's scheduler: the fiber continues when `s` releases `label`.
 *
 * @example
 * ```ts
 * Effect.andThen(TestSystem.gate(s, "crash"), ref.tell({ _tag: "Boom" }))
 * ```
 */
export const gate = (s: fc.Scheduler, label: string): Effect.Effect<void> =>
  Effect.promise(() => s.schedule(Promise.resolve(label))).pipe(Effect.asVoid)

/**
 * Lets ready fibers run (a bounded number of yields) without moving the clock.
 *
 * @example
 * ```ts
 * yield* ref.tell({ _tag: "Inc" })
 * yield* TestSystem.settle
 * ```
 */
export const settle: Effect.Effect<void> = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

/**
 * Moves the `TestClock` forward by `ms`, running what falls due.
 *
 * @example
 * ```ts
 * yield* TestSystem.adjust(1_000) // the 1 s timer fires
 * ```
 */
export const adjust = (ms: number): Effect.Effect<void> => TestClock.adjust(ms)

/**
 * Moves the clock forward by `ms` when the fiber runs on a `TestClock`; does nothing on a live clock
 * (where time passes by itself). The invariant checks use it so they work under both.
 *
 * @example
 * ```ts
 * yield* TestSystem.advanceIfTest(100)
 * ```
 */
export const advanceIfTest = (ms: number): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const clock = fiber.getRef(Clock.Clock) as Clock.Clock & { adjust?: (d: number) => Effect.Effect<void> }
    return typeof clock.adjust === "function" ? clock.adjust(ms) : Effect.void
  })
