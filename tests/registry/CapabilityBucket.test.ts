import { describe, expect, it } from "bun:test"
import { Effect } from "effect"
import fc from "fast-check"
import { ABSENT, valueKey } from "../../src/registry/internal/store.ts"
import * as Q from "../../src/registry/Query.ts"
import * as Registry from "../../src/registry/Registry.ts"

/** Resource values of every magnitude, with many exact ties and near-ties (same 16-bit key, different value). */
const valueArb = fc.oneof(
  fc.constantFrom(0, -0, 1, 1.0000001, 0.5, 0.50390625, 0.5039, 1e-45, 3.4e38, 3.5e38, 1e308, 8192, 8193),
  fc.double({ min: 0, max: 1e6, noNaN: true }),
  fc.integer({ min: 0, max: 300 }),
)
const boundArb = fc.oneof(
  valueArb,
  fc.constantFrom(-1, -0, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY),
  fc.double({ min: -10, max: 1e6, noNaN: true }),
)

describe("CapabilityBucket", () => {
  it("keys values in order: a smaller key means a smaller value, a larger key a larger one", () => {
    fc.assert(
      fc.property(valueArb, valueArb, (a, b) => {
        const ka = valueKey(a)
        const kb = valueKey(b)
        if (ka < kb) expect(a < b).toBe(true)
        if (ka > kb) expect(a > b).toBe(true)
        expect(ka).toBeLessThanOrEqual(0x7f80)
      }),
      { numRuns: 2000 },
    )
    expect(valueKey(Number.NaN)).toBe(ABSENT)
    expect(valueKey(-0)).toBe(valueKey(0))
  })

  it("answers capability-driven range queries exactly as the brute-force filter, ties on the 16-bit key included", () => {
    const criterion = fc.oneof(
      fc.record({
        path: fc.constantFrom("resources.memory", "resources.load", "resources.gpu"),
        op: fc.constantFrom("eq", "gt", "gte", "lt", "lte") as fc.Arbitrary<Q.Op>,
        value: boundArb,
      }),
      fc.record({
        path: fc.constant("health"),
        op: fc.constantFrom("eq", "neq") as fc.Arbitrary<Q.Op>,
        value: fc.constantFrom("healthy", "degraded"),
      }),
      fc.record({
        path: fc.constant("health"),
        op: fc.constantFrom("in", "notIn") as fc.Arbitrary<Q.Op>,
        value: fc.constantFrom(["healthy", "unhealthy"], ["degraded"]),
      }),
      fc.record({
        path: fc.constantFrom("capabilities", "node", "tags.tier"),
        op: fc.constantFrom("eq", "contains", "neq") as fc.Arbitrary<Q.Op>,
        value: fc.constantFrom("a", "b", "n1", "gold"),
      }),
    ) as fc.Arbitrary<Q.Criterion>
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            capabilities: fc.subarray(["a", "b", "c"]),
            health: fc.constantFrom("healthy", "degraded", "unhealthy"),
            node: fc.constantFrom("n1", "n2"),
            resources: fc.record({ memory: valueArb, load: valueArb, gpu: valueArb }, { requiredKeys: [] }),
            tags: fc.record({ tier: fc.constantFrom("gold", "silver") }, { requiredKeys: [] }),
          }) as fc.Arbitrary<Registry.MetadataInput>,
          { maxLength: 60 },
        ),
        fc.constantFrom("a", "b", "c"),
        fc.array(criterion, { maxLength: 4 }),
        fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
        (metas, cap, rest, limit) => {
          const r = Registry.makeUnsafe<{ id: number }>({ resources: ["gpu"] })
          metas.forEach((m, i) => {
            r.registerUnsafe(`k${i}`, { id: i }, m)
          })
          const q: Q.Query = [Q.where("capabilities", "contains", cap), ...rest]
          const all = Effect.runSync(r.query([]))
          const expected = all
            .filter((e) => Q.matches(e, q))
            .map((e) => e.seq)
            .sort((a, b) => a - b)
          expect([...r.queryUnsafe(q)].map((e) => e.seq).sort((a, b) => a - b)).toEqual(expected)
          if (limit !== undefined) {
            const page = r.queryUnsafe(q, { limit, offset: 1 })
            expect(page.length).toBe(Math.max(0, Math.min(limit, expected.length - 1)))
            for (const e of page) expect(Q.matches(e, q)).toBe(true)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
