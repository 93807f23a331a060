/**
 * A sorted index of slots by one numeric attribute, ordered by `(value, seq)` so that ties are
 * broken by registration sequence. Values and sequence numbers are read through two functions (the
 * store's columns), so comparisons never touch entry objects. Stored as a list of small sorted blocks (at
 * most {@link MAX_BLOCK} items, each in an `Int32Array` that grows by doubling, with its length
 * alongside), which keeps insert and remove at O(log n + block) without a tree node per item: 4 bytes per
 * indexed entry plus the blocks' free room.
 *
 * The index also keeps the running sum of values, so `min`, `max`, `count` and `sum` are O(1).
 * @internal
 */
const MAX_BLOCK = 512
const HALF_BLOCK = MAX_BLOCK >> 1

type E = number

/** A block: a sorted run of slots in a typed array that doubles up to MAX_BLOCK + 1 items. */
class Block {
  length = 0
  items: Int32Array
  constructor(capacity: number) {
    this.items = new Int32Array(capacity)
  }
  /** Makes room for `n` items. */
  reserve(n: number): void {
    if (n <= this.items.length) return
    let c = this.items.length * 2
    while (c < n) c *= 2
    const items = new Int32Array(Math.min(c, MAX_BLOCK + 1))
    items.set(this.items.subarray(0, this.length))
    this.items = items
  }
}

/** Initial capacity of a block. */
const FIRST_BLOCK = 8

export class SortedIndex {
  private blocks: Array<Block> = []
  /** Value and seq of each block's last item, so that finding a block reads two dense arrays. */
  private lastV: Array<number> = []
  private lastS: Array<number> = []
  private count = 0
  private total = 0

  readonly value: (e: E) => number
  readonly seqOf: (e: E) => number

  constructor(value: (e: E) => number, seqOf: (e: E) => number) {
    this.value = value
    this.seqOf = seqOf
  }

  get size(): number {
    return this.count
  }

  get sum(): number {
    return this.total
  }

  min(): E | undefined {
    return this.blocks.length === 0 ? undefined : this.blocks[0].items[0]
  }

  max(): E | undefined {
    if (this.blocks.length === 0) return undefined
    const last = this.blocks[this.blocks.length - 1]
    return last.items[last.length - 1]
  }

  /** Compares (value, seq) of `e` against (v, s). */
  private cmp(e: E, v: number, s: number): number {
    const ev = this.value(e)
    return ev < v ? -1 : ev > v ? 1 : this.seqOf(e) - s
  }

  /** Index of the first block whose last item is >= (v, s); blocks.length when none. */
  private blockFor(v: number, s: number): number {
    const lv = this.lastV
    const ls = this.lastS
    let lo = 0
    let hi = lv.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const x = lv[mid]
      if (x < v || (x === v && ls[mid] < s)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Refreshes the last-item summary of block `bi`. */
  private touch(bi: number): void {
    const b = this.blocks[bi]
    const e = b.items[b.length - 1]
    this.lastV[bi] = this.value(e)
    this.lastS[bi] = this.seqOf(e)
  }

  /** Position of the first item >= (v, s) within block `b`. */
  private posIn(b: Block, v: number, s: number): number {
    const items = b.items
    let lo = 0
    let hi = b.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.cmp(items[mid], v, s) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  insert(e: E): void {
    const v = this.value(e)
    const seq = this.seqOf(e)
    this.count++
    this.total += v
    const bs = this.blocks
    if (bs.length === 0) {
      const b = new Block(FIRST_BLOCK)
      b.items[0] = e
      b.length = 1
      bs.push(b)
      this.lastV.push(v)
      this.lastS.push(seq)
      return
    }
    let bi = this.blockFor(v, seq)
    if (bi === bs.length) bi--
    const b = bs[bi]
    const p = this.posIn(b, v, seq)
    b.reserve(b.length + 1)
    const items = b.items
    if (p < b.length) items.copyWithin(p + 1, p, b.length)
    items[p] = e
    b.length++
    if (b.length > MAX_BLOCK) {
      const tail = new Block(MAX_BLOCK + 1)
      tail.items.set(items.subarray(HALF_BLOCK, b.length))
      tail.length = b.length - HALF_BLOCK
      b.length = HALF_BLOCK
      bs.splice(bi + 1, 0, tail)
      this.lastV.splice(bi + 1, 0, 0)
      this.lastS.splice(bi + 1, 0, 0)
      this.touch(bi + 1)
    }
    this.touch(bi)
  }

  /** Removes `e` (located by its current value and seq); returns false when absent. */
  remove(e: E): boolean {
    const v = this.value(e)
    if (Number.isNaN(v)) return false
    const seq = this.seqOf(e)
    const bs = this.blocks
    const bi = this.blockFor(v, seq)
    if (bi === bs.length) return false
    const b = bs[bi]
    const p = this.posIn(b, v, seq)
    const items = b.items
    if (p >= b.length || items[p] !== e) return false
    if (p < b.length - 1) items.copyWithin(p, p + 1, b.length)
    b.length--
    this.count--
    this.total -= v
    if (b.length === 0) {
      bs.splice(bi, 1)
      this.lastV.splice(bi, 1)
      this.lastS.splice(bi, 1)
      return true
    }
    if (b.length < HALF_BLOCK >> 1 && bi + 1 < bs.length && bs[bi + 1].length + b.length <= MAX_BLOCK) {
      // merge small neighbours so the block count stays near n / HALF_BLOCK
      const next = bs[bi + 1]
      b.reserve(b.length + next.length)
      b.items.set(next.items.subarray(0, next.length), b.length)
      b.length += next.length
      bs.splice(bi + 1, 1)
      this.lastV.splice(bi + 1, 1)
      this.lastS.splice(bi + 1, 1)
    }
    this.touch(bi)
    return true
  }

  /** (block, position) of the first item with value > v (strict) or >= v. */
  private lowerPos(v: number, strict: boolean): [number, number] {
    const s = strict ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY
    const bi = this.blockFor(v, s)
    if (bi === this.blocks.length) return [bi, 0]
    return [bi, this.posIn(this.blocks[bi], v, s)]
  }

  /**
   * An estimate of the number of items within [lo, hi] (bounds inclusive or not): exact inside a block,
   * approximated by the average block size across blocks. O(log n).
   */
  estimate(lo: number, loStrict: boolean, hi: number, hiStrict: boolean): number {
    if (this.count === 0) return 0
    if (lo > hi || (lo === hi && (loStrict || hiStrict))) return 0
    // block granularity from the dense summaries only: no item is read
    const b1 = this.blockFor(lo, loStrict ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY)
    if (b1 === this.blocks.length) return 0
    const b2 = Math.min(
      this.blockFor(hi, hiStrict ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY),
      this.blocks.length - 1,
    )
    const avg = this.count / this.blocks.length
    return Math.max(1, Math.round((b2 - b1 + 1) * avg))
  }

  /** Calls `f` on each item with value within [lo, hi] in ascending order; stops when `f` returns false. */
  range(lo: number, loStrict: boolean, hi: number, hiStrict: boolean, f: (e: E) => boolean): void {
    const bs = this.blocks
    let [bi, p] = this.lowerPos(lo, loStrict)
    for (; bi < bs.length; bi++, p = 0) {
      const b = bs[bi]
      const items = b.items
      for (; p < b.length; p++) {
        const e = items[p]
        const v = this.value(e)
        if (v > hi || (hiStrict && v === hi)) return
        if (f(e) === false) return
      }
    }
  }

  /** Calls `f` on every item in descending order; stops when `f` returns false. */
  descending(f: (e: E) => boolean): void {
    const bs = this.blocks
    for (let bi = bs.length - 1; bi >= 0; bi--) {
      const b = bs[bi]
      for (let p = b.length - 1; p >= 0; p--) if (f(b.items[p]) === false) return
    }
  }

  /** Calls `f` on every item in ascending order; stops when `f` returns false. */
  ascending(f: (e: E) => boolean): void {
    const bs = this.blocks
    for (let bi = 0; bi < bs.length; bi++) {
      const b = bs[bi]
      for (let p = 0; p < b.length; p++) if (f(b.items[p]) === false) return
    }
  }

  /** All items in order (tests and model checks). */
  toArray(): Array<E> {
    const out: Array<E> = []
    for (const b of this.blocks) for (let p = 0; p < b.length; p++) out.push(b.items[p])
    return out
  }
}
