/**
 * Shared per-task timeout: interrupts the task after `timeoutMs` (by the fiber's Clock, so `TestClock`
 * drives it) and fails with `TimeoutExceeded`.
 * @internal
 */
import { Effect } from "effect"
import { TimeoutExceeded } from "../ResilienceError.ts"

export const withTimeout = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  timeoutMs: number | undefined,
  operation: string,
): Effect.Effect<A, E | TimeoutExceeded, R> =>
  timeoutMs === undefined
    ? effect
    : Effect.timeoutOrElse(effect, {
        duration: timeoutMs,
        orElse: () => Effect.fail(new TimeoutExceeded({ operation, timeoutMs })),
      })
