import { describe, expect, it } from "bun:test"
import fc from "fast-check"
import { SortedIndex } from "../../src/registry/internal/sortedIndex.ts"

interface Item {
  readonly seq: number
  readonly v: number
}

describe("SortedIndex", () => {
  it("stays ordered by (value, seq) through thousands of inserts and removals across block splits and merges", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50 })), {
          minLength: 500,
          maxLength: 4000,
        }),
        fc.integer({ min: -1, max: 51 }),
        fc.integer({ min: -1, max: 51 }),
        (ops, a, b) => {
          const items: Array<Item> = [{ seq: 0, v: 0 }]
          const idx = new SortedIndex(
            (i) => items[i].v,
            (i) => items[i].seq,
          )
          const live: Array<Item> = []
          let seq = 0
          for (const [insert, v] of ops) {
            if (insert || live.length === 0) {
              const item = { seq: ++seq, v }
              items[item.seq] = item
              live.push(item)
              idx.insert(item.seq)
            } else {
              const [item] = live.splice(v % live.length, 1)
              expect(idx.remove(item.seq)).toBe(true)
              expect(idx.remove(item.seq)).toBe(false)
            }
          }
          const model = live.slice().sort((x, y) => x.v - y.v || x.seq - y.seq)
          const at = (i: number) => items[i]
          expect(idx.toArray().map(at)).toEqual(model)
          expect(idx.size).toBe(model.length)
          expect(idx.sum).toBe(model.reduce((s, x) => s + x.v, 0))
          expect(at(idx.min()!)).toBe(model[0])
          expect(at(idx.max()!)).toBe(model[model.length - 1])
          const [lo, hi] = a <= b ? [a, b] : [b, a]
          for (const [loStrict, hiStrict] of [
            [false, false],
            [true, true],
            [true, false],
            [false, true],
          ]) {
            const got: Array<Item> = []
            idx.range(lo, loStrict, hi, hiStrict, (e) => got.push(at(e)) > 0)
            const want = model.filter(
              (x) => (loStrict ? x.v > lo : x.v >= lo) && (hiStrict ? x.v < hi : x.v <= hi),
            )
            expect(got).toEqual(want)
            const est = idx.estimate(lo, loStrict, hi, hiStrict)
            // block-granular estimate: never below the truth by more than rounding, above it by at most two blocks
            expect(Math.abs(est - want.length)).toBeLessThanOrEqual(1100 + want.length)
          }
          const desc: Array<Item> = []
          idx.descending((e) => desc.push(at(e)) > 0)
          expect(desc).toEqual(model.slice().reverse())
        },
      ),
      { numRuns: 15 },
    )
  })
})
