import { Effect, Metric } from "effect"
import { TestClock } from "effect/testing"

/** Runs a test program scoped, with a fresh metric registry and the TestClock. */
export const runTest = <A, E>(effect: Effect.Effect<A, E, any>): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(effect).pipe(
      Effect.provideService(Metric.MetricRegistry, new Map()),
      Effect.provide(TestClock.layer()),
    ) as Effect.Effect<A, E>,
  )
