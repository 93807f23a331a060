/**
 * The shape of the hostile-input table (issue 18) and of the construction table (issue 17).
 *
 * Each area owns one file `tests/suites/hostile/<area>.ts` exporting `entries: ReadonlyArray<HostileEntry>`
 * and `constructors: ReadonlyArray<ConstructorEntry>`. The drivers (`tests/suites/hostile/*.test.ts`) import
 * every area file, run each row under fast-check, and fail when a public export of `src/index.ts` is named
 * by no row (and by no `exempt` entry with a reason).
 */

import type { Effect, Scope } from "effect"
import type * as fc from "fast-check"

/** One public entry point driven with hostile values. */
export interface HostileEntry {
  /** The public names this row covers, as `Namespace.export` (`"Registry.make"`, `"AgentRef.ask"` for methods). */
  readonly covers: ReadonlyArray<string>
  /** Hostile argument lists for the call. */
  readonly args: fc.Arbitrary<ReadonlyArray<unknown>>
  /**
   * Builds a fresh subject (inside a Scope that the driver closes) and returns:
   * - `call`: the entry point applied to the hostile arguments;
   * - `snapshot`: observable state (stats, contents) compared before and after a rejected call;
   * - `typed`: true when a failure is one of the area's documented typed errors.
   * A call must end in success or a `typed` failure, never a defect or a hang (the driver runs it under
   * TestClock and checks that it completes).
   */
  readonly setup: Effect.Effect<
    {
      readonly call: (args: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>
      readonly snapshot: () => Effect.Effect<unknown>
      readonly typed: (error: unknown) => boolean
    },
    never,
    Scope.Scope
  >
}

/** One public Effect-returning constructor and an invalid options value it must reject with `InvalidOptions`. */
export interface ConstructorEntry {
  /** `Namespace.export`, e.g. `"CircuitBreaker.make"`. */
  readonly name: string
  /** Calls the constructor with invalid options; must fail (not throw, not die) with tag `InvalidOptions` naming `field`. */
  readonly invalid: () => Effect.Effect<unknown, unknown, Scope.Scope>
  /** The field the error must name. */
  readonly field: string
  /** The synchronous form, if the module has one: must throw the same message. */
  readonly unsafe?: () => unknown
}

/** Public exports that are not entry points for hostile input, each with the reason (types, constants, pure guards). */
export type Exempt = Readonly<Record<string, string>>
