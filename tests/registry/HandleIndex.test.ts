import { describe, expect, it } from "bun:test"
import fc from "fast-check"
import { HandleIndex } from "../../src/registry/internal/handleIndex.ts"

const objects = [{}, {}, {}]
/** Identities of every kind the registry may meet: integers, -0, NaN, fractions, huge numbers, strings, objects. */
const idArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -5, max: 40 }),
  fc.constantFrom(-0, Number.NaN, 0.5, 1e300, -1e-300, 2 ** 40 + 0.25, Number.POSITIVE_INFINITY),
  fc.constantFrom("a", "b", "5"),
  fc.constantFrom(...objects),
)

describe("HandleIndex", () => {
  it("keeps each identity's slots in registration order, as a Map of arrays would, through growth and shrinking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), idArb, fc.nat(400)), { minLength: 200, maxLength: 1500 }),
        (ops) => {
          const idx = new HandleIndex()
          idx.resize(2048)
          const model = new Map<unknown, Array<number>>()
          const owner = new Map<number, unknown>()
          let nextSlot = 0
          const free: Array<number> = []
          for (const [add, id, pick] of ops) {
            if (add || owner.size === 0) {
              const slot = free.pop() ?? nextSlot++
              idx.add(id, slot)
              owner.set(slot, id)
              const list = model.get(id)
              if (list === undefined) model.set(id, [slot])
              else list.push(slot)
            } else {
              const slots = [...owner.keys()]
              const slot = slots[pick % slots.length]
              const id = owner.get(slot)
              idx.remove(id, slot)
              owner.delete(slot)
              free.push(slot)
              const list = model.get(id)!
              list.splice(list.indexOf(slot), 1)
              if (list.length === 0) model.delete(id)
            }
          }
          expect(idx.size).toBe(model.size)
          for (const [id, slots] of model) expect(idx.slots(id)).toEqual(slots)
          expect([...idx.heads()].sort((a, b) => a - b)).toEqual(
            [...model.values()].map((s) => s[0]).sort((a, b) => a - b),
          )
          for (const id of [-0, 0, Number.NaN, 7, "a", objects[0]])
            if (!model.has(id)) expect(idx.head(id)).toBe(-1)
        },
      ),
      { numRuns: 60 },
    )
  })

  it("finds every one of many numeric identities after a long run of removals shifts the probe runs", () => {
    const idx = new HandleIndex()
    const n = 20_000
    idx.resize(n)
    // ids chosen to collide: multiples of a large power of two, plus fractions
    const id = (i: number) => (i % 2 === 0 ? i * 2 ** 20 : i + 0.5)
    for (let i = 0; i < n; i++) idx.add(id(i), i)
    for (let i = 0; i < n; i += 3) idx.remove(id(i), i)
    for (let i = 0; i < n; i++) expect(idx.head(id(i))).toBe(i % 3 === 0 ? -1 : i)
    expect(idx.size).toBe(n - Math.ceil(n / 3))
  })
})
