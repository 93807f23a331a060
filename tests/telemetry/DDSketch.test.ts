import { describe, expect, it } from "bun:test"
import * as fc from "fast-check"
import { checkSketchOptions, DDSketch } from "../../src/telemetry/internal/ddSketch.ts"

const exactLower = (sorted: ReadonlyArray<number>, q: number) => sorted[Math.floor(q * (sorted.length - 1))]
const within = (estimate: number, exact: number, alpha: number) =>
  Math.abs(estimate - exact) <= alpha * Math.abs(exact) * (1 + 1e-9) + 1e-12

describe("DDSketch", () => {
  it("answers every quantile within the documented relative error (property vs sorted array)", () => {
    const value = fc.oneof(
      fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
      fc.integer({ min: 1, max: 1000 }).map((n) => n / 100),
    )
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 400 }),
        fc.constantFrom(0.005, 0.01, 0.02, 0.05),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }),
        (values, alpha, qs) => {
          // 4096 buckets cover the generated range (1e-6..1e6) at every alpha tested, so no collapse happens.
          const sketch = new DDSketch(
            checkSketchOptions("test", { relativeAccuracy: alpha, maxBuckets: 4096 }),
          )
          for (const v of values) sketch.add(v)
          const sorted = [...values].sort((a, b) => a - b)
          for (const q of [...qs, 0, 0.5, 0.99, 1]) {
            const est = sketch.quantile(q)!
            expect(within(est, exactLower(sorted, q), alpha)).toBe(true)
          }
          expect(sketch.count).toBe(values.length)
        },
      ),
      { numRuns: 200 },
    )
  })

  it("keeps the guarantee after merging sketches", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1e-3, max: 1e5, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.array(fc.double({ min: 1e-3, max: 1e5, noNaN: true }), { minLength: 1, maxLength: 200 }),
        (a, b) => {
          const o = checkSketchOptions("test", {})
          const sa = new DDSketch(o)
          const sb = new DDSketch(o)
          for (const v of a) sa.add(v)
          for (const v of b) sb.add(v)
          sa.merge(sb)
          const sorted = [...a, ...b].sort((x, y) => x - y)
          for (const q of [0, 0.25, 0.5, 0.9, 0.99, 1])
            expect(within(sa.quantile(q)!, exactLower(sorted, q), 0.01)).toBe(true)
        },
      ),
      { numRuns: 100 },
    )
  })

  it("never uses more than maxBuckets buckets, collapsing only the lowest ones", () => {
    const sketch = new DDSketch(checkSketchOptions("test", { relativeAccuracy: 0.01, maxBuckets: 64 }))
    for (let i = 0; i < 2000; i++) sketch.add(1.01 ** i)
    expect(sketch.counts.length).toBe(64)
    expect(sketch.maxKey - sketch.minKey + 1).toBeLessThanOrEqual(64)
    const top = 1.01 ** 1999
    expect(within(sketch.quantile(1)!, top, 0.01)).toBe(true)
    expect(sketch.count).toBe(2000)
  })

  it("reports zero and negative values as 0 and rejects invalid options naming them", () => {
    const sketch = new DDSketch(checkSketchOptions("test", {}))
    sketch.add(0)
    sketch.add(-3)
    sketch.add(5)
    expect(sketch.quantile(0)).toBe(0)
    expect(within(sketch.quantile(1)!, 5, 0.01)).toBe(true)
    expect(() => checkSketchOptions("Slo", { relativeAccuracy: 1 })).toThrow(/"relativeAccuracy"/)
    expect(() => checkSketchOptions("Slo", { maxBuckets: 1 })).toThrow(/"maxBuckets"/)
  })
})
