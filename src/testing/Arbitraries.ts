/**
 * fast-check arbitraries derived from Effect Schemas, so an agent's message protocol (its behaviour's
 * `schema`) generates the messages a property test sends.
 *
 * Values come from Effect's own Schema-driven generator (`effect/Arbitrary`), seeded by fast-check: runs
 * are reproducible from fast-check's seed and every value satisfies the Schema (refinements included).
 * Shrinking works on the seed, not on the structure of the value: a failing case shrinks to a value drawn
 * from a smaller size, which is usually (not always) simpler.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import fc from "fast-check"
 * import { Arbitraries } from "troupe/testing"
 *
 * const Msg = Schema.Union([
 *   Schema.Struct({ _tag: Schema.Literal("Add"), n: Schema.Int }),
 *   Schema.Struct({ _tag: Schema.Literal("Reset") }),
 * ])
 * fc.assert(fc.property(fc.array(Arbitraries.fromSchema(Msg)), (msgs) => msgs.length >= 0))
 * ```
 * @module
 */
import { Arbitrary, Effect, type Schema } from "effect"
import fc from "fast-check"

/**
 * An arbitrary of the decoded values of `schema`. `size` (default 8) bounds strings and collections.
 *
 * @example
 * ```ts
 * const messages = fc.array(Arbitraries.fromSchema(Counter.schema!), { maxLength: 50 })
 * ```
 */
export const fromSchema = <S extends Schema.Top>(
  schema: S,
  options?: { readonly size?: number },
): fc.Arbitrary<S["Type"]> => {
  const derived = Arbitrary.schema(schema as any) as Arbitrary.Arbitrary<S["Type"]>
  const maxSize = options?.size ?? 8
  return fc
    .record({ seed: fc.integer({ min: 0, max: 0x7fffffff }), size: fc.integer({ min: 0, max: maxSize }) })
    .map(({ seed, size }) => Effect.runSync(Arbitrary.sampleEffect(derived, { count: 1, seed, size }))[0])
}
