/**
 * Assertions for the guarantees an agent system must keep under any interleaving: every ask settles,
 * no agent is running but deaf, nothing is left after close. Each is an Effect that fails with a typed
 * error from `TestingError` naming what broke, so a property can `Effect.runPromise` it and let
 * fast-check shrink the failing case.
 *
 * They work on a `TestClock` (they move it forward by the timeout themselves) and on a live clock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Chaos, Invariants } from "troupe/testing"
 *
 * yield* Invariants.everyAskSettles(refs.map((r) => Chaos.probe(r, 50)), { timeoutMs: 50 })
 * yield* Invariants.noDeafAgents(refs, { timeoutMs: 50 })
 * ```
 * @module
 */
import { Effect, Fiber } from "effect"
import type * as Agent from "../agent/Agent.ts"
import type * as AgentSystem from "../agent/AgentSystem.ts"
import { probe } from "./Chaos.ts"
import { DeafAgents, LeftBehind, UnsettledAsks } from "./TestingError.ts"
import { advanceIfTest, settle } from "./TestSystem.ts"

/**
 * Runs `asks` concurrently and checks that each settles (with a value or any failure) within
 * `timeoutMs` of clock time (plus one tick). Fails with `UnsettledAsks` otherwise, after interrupting the
 * ones still pending.
 *
 * @example
 * ```ts
 * yield* Invariants.everyAskSettles([ref.ask({ _tag: "Get" }, { timeoutMs: 10 })], { timeoutMs: 10 })
 * ```
 */
export const everyAskSettles = (
  asks: ReadonlyArray<Effect.Effect<unknown, unknown>>,
  options: { readonly timeoutMs: number },
): Effect.Effect<void, UnsettledAsks> =>
  Effect.gen(function* () {
    const fibers = []
    for (const ask of asks) fibers.push(yield* Effect.forkChild(Effect.exit(ask)))
    yield* settle
    yield* advanceIfTest(options.timeoutMs + 1)
    yield* settle
    const pending = fibers.filter((f) => f.pollUnsafe() === undefined)
    if (pending.length === 0) return
    yield* Fiber.interruptAll(pending)
    return yield* new UnsettledAsks({
      pending: pending.length,
      total: asks.length,
      timeoutMs: options.timeoutMs,
    })
  })

/**
 * Probes every agent of `refs` whose status is `running` (they must be wrapped with `Chaos.wrap`) and
 * fails with `DeafAgents` naming those that did not answer within `timeoutMs`.
 *
 * @example
 * ```ts
 * yield* Invariants.noDeafAgents(refs, { timeoutMs: 100 })
 * ```
 */
export const noDeafAgents = (
  refs: ReadonlyArray<Agent.AgentRef<any>>,
  options?: { readonly timeoutMs?: number },
): Effect.Effect<void, DeafAgents> =>
  Effect.gen(function* () {
    const timeoutMs = options?.timeoutMs ?? 100
    const running = refs.filter((r) => r.status === "running")
    const fibers = []
    for (const r of running) fibers.push(yield* Effect.forkChild(probe(r, timeoutMs)))
    yield* settle
    yield* advanceIfTest(timeoutMs + 1)
    const answers: Array<boolean> = []
    for (const f of fibers) answers.push(yield* Fiber.join(f))
    // An agent that stopped or restarted meanwhile is not deaf: only those still running count.
    const deaf = running.filter((r, i) => !answers[i] && r.status === "running").map((r) => r.label)
    if (deaf.length > 0) return yield* new DeafAgents({ agents: deaf, timeoutMs })
  })

/**
 * Checks that a closed system left no agent and no fiber behind (`system.stats()`), failing with
 * `LeftBehind` otherwise. Call it after the system's scope has closed.
 *
 * @example
 * ```ts
 * const system = yield* AgentSystem.AgentSystem // inside the test, keep the service
 * // ... after the layer closed:
 * yield* Invariants.nothingLeft(system)
 * ```
 */
export const nothingLeft = (system: AgentSystem.Service): Effect.Effect<void, LeftBehind> =>
  Effect.suspend(() => {
    const { agents, fibers } = system.stats()
    return agents === 0 && fibers === 0 ? Effect.void : Effect.fail(new LeftBehind({ agents, fibers }))
  })
