/**
 * Entries by handle identity, without a hash-map entry per registration: the entries of one handle form a
 * chain through a `next` column (slot → next slot of the same handle, -1 at the end, in registration
 * order), and only the first slot of each chain is indexed. Numeric identities (an `AgentRef`'s `id`,
 * the default `{ id: number }` handles) are kept in an `ids` column and their chains in an open-addressing
 * table of slots (linear probing, backward-shift deletion, load at most 3/4): about 25 bytes per entry
 * with the columns, instead of a `Map` entry (≈ 65 bytes).
 * Any other identity (strings, objects) goes to a `Map`. Identity compares as `Map` keys do
 * (SameValueZero: `-0` is `0`, `NaN` is `NaN`).
 * @internal
 */
const EMPTY = -1

const f64 = new Float64Array(1)
const i32 = new Int32Array(f64.buffer)

const hashNumber = (id: number): number => {
  let h = id | 0
  if (h !== id) {
    f64[0] = id
    h = i32[0] ^ Math.imul(i32[1], 0x27d4eb2d)
  }
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b)
  return h ^ (h >>> 13)
}

export class HandleIndex {
  /** Slot → next slot with the same handle, or -1. Sized by the store (see {@link resize}). */
  next = new Int32Array(0)
  /** Slot → numeric identity of its handle (NaN for another identity). */
  private ids = new Float64Array(0)
  /** Open-addressing table of chain heads (slots) for numeric identities. */
  private table = new Int32Array(16).fill(EMPTY)
  private used = 0
  /** Chain heads for the other identities. */
  private readonly others = new Map<unknown, number>()
  /** Grows the columns to `capacity` slots. */
  resize(capacity: number): void {
    const n = new Int32Array(capacity)
    n.set(this.next)
    this.next = n
    const ids = new Float64Array(capacity)
    ids.set(this.ids)
    this.ids = ids
  }

  /** Number of distinct handles. */
  get size(): number {
    return this.used + this.others.size
  }

  /** The first slot of the handle `id`, or -1. */
  head(id: unknown): number {
    if (typeof id !== "number" || Number.isNaN(id)) return this.others.get(id) ?? EMPTY
    const p = this.find(id)
    return p < 0 ? EMPTY : this.table[p]
  }

  /** Slots of the handle `id`, in registration order. */
  slots(id: unknown): Array<number> {
    const out: Array<number> = []
    for (let s = this.head(id); s !== EMPTY; s = this.next[s]) out.push(s)
    return out
  }

  /** Appends `slot` to the chain of `id`. */
  add(id: unknown, slot: number): void {
    this.next[slot] = EMPTY
    if (typeof id !== "number" || Number.isNaN(id)) {
      this.ids[slot] = Number.NaN
      const first = this.others.get(id)
      if (first === undefined) this.others.set(id, slot)
      else this.append(first, slot)
      return
    }
    this.ids[slot] = id
    if ((this.used + 1) * 4 > this.table.length * 3) this.rehash(this.table.length * 2)
    const t = this.table
    const mask = t.length - 1
    for (let p = hashNumber(id) & mask; ; p = (p + 1) & mask) {
      const s = t[p]
      if (s === EMPTY) {
        t[p] = slot
        this.used++
        return
      }
      if (this.ids[s] === id) {
        this.append(s, slot)
        return
      }
    }
  }

  private append(first: number, slot: number): void {
    let s = first
    while (this.next[s] !== EMPTY) s = this.next[s]
    this.next[s] = slot
  }

  /** Removes `slot` from the chain of `id` (it must be there). */
  remove(id: unknown, slot: number): void {
    const numeric = typeof id === "number" && !Number.isNaN(id)
    const p = numeric ? this.find(id as number) : -1
    const first = numeric ? this.table[p] : this.others.get(id)!
    const after = this.next[slot]
    if (first !== slot) {
      let s = first
      while (this.next[s] !== slot) s = this.next[s]
      this.next[s] = after
    } else if (!numeric) {
      if (after === EMPTY) this.others.delete(id)
      else this.others.set(id, after)
    } else if (after !== EMPTY) this.table[p] = after
    else this.deleteAt(p)
  }

  /** Every chain head (each handle once). */
  *heads(): IterableIterator<number> {
    for (let p = 0; p < this.table.length; p++) if (this.table[p] !== EMPTY) yield this.table[p]
    yield* this.others.values()
  }

  private find(id: number): number {
    const t = this.table
    const mask = t.length - 1
    for (let p = hashNumber(id) & mask; ; p = (p + 1) & mask) {
      const s = t[p]
      if (s === EMPTY) return -1
      if (this.ids[s] === id) return p
    }
  }

  /** Backward-shift deletion: later members of the probe run move up so that no lookup stops early. */
  private deleteAt(p: number): void {
    const t = this.table
    const mask = t.length - 1
    let hole = p
    for (let j = (p + 1) & mask; t[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hashNumber(this.ids[t[j]]) & mask
      // move t[j] into the hole unless its home lies cyclically in (hole, j]
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        t[hole] = t[j]
        hole = j
      }
    }
    t[hole] = EMPTY
    this.used--
    if (t.length > 16 && this.used * 8 < t.length) this.rehash(t.length >> 1)
  }

  private rehash(capacity: number): void {
    const old = this.table
    const t = new Int32Array(capacity).fill(EMPTY)
    const mask = capacity - 1
    for (let i = 0; i < old.length; i++) {
      const s = old[i]
      if (s === EMPTY) continue
      let p = hashNumber(this.ids[s]) & mask
      while (t[p] !== EMPTY) p = (p + 1) & mask
      t[p] = s
    }
    this.table = t
  }
}
