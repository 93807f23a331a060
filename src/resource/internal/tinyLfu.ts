/**
 * The synchronous W-TinyLFU engine behind `Cache`.
 *
 * Layout: every entry lives in a slot; per-slot data sits in parallel arrays (typed arrays for
 * numbers; links, hash and region share one `Int32Array` with a stride of 4), and three doubly
 * linked lists over slot indexes form the regions:
 *
 * - window (about 1% of the budget), an LRU that absorbs bursts of new keys;
 * - probation and protected (together the main region, protected capped at 80% of it), a
 *   segmented LRU: a hit in probation promotes to protected; protected overflow is demoted
 *   back to probation.
 *
 * When the window overflows, its LRU entry (the candidate) competes with the main region's
 * LRU entry (the victim); the one with the higher estimated frequency in the count-min sketch
 * stays (ties go to the victim; a candidate with frequency > 5 wins a tie 1 time in 128, which
 * defeats hash-flooding). Expired entries lose automatically.
 *
 * Frequencies: a hit on a resident entry bumps a pending counter in its own slot record (same
 * 16 bytes as its links); the estimate of a resident entry is sketch + pending, and the pending
 * count is folded into the sketch when the entry leaves. Aging (halving sketch and pending
 * counts) is due every `10 × slots` recorded accesses and runs at the next write, the only
 * place admission decides anything. The sketch is re-created (counts reset) when the slot
 * arrays grow, so its size follows the number of entries, never a weight budget.
 *
 * Expiry: each slot carries `staleAt` (soft, end of TTL) and `expiresAt` (hard, end of the
 * stale-while-revalidate grace; equal to `staleAt` without it). Reads compare against the clock,
 * so no read returns a value past its deadline; a clock-hand sweep over two slots per write
 * reclaims expired entries without any per-entry timer.
 * @internal
 */
import { FrequencySketch, hashKey } from "./frequencySketch.ts"

export const NIL = -1
const WINDOW = 0
const PROBATION = 1
const PROTECTED = 2
const FREE = 3
const PREV = 0
const NEXT = 1
const HASH = 2
const REGION = 3
const REGION_MASK = 3
const PENDING_SHIFT = 2
const PENDING_ONE = 1 << PENDING_SHIFT
const PENDING_CAP = 15 << PENDING_SHIFT

/** Why an entry left the cache. */
export type RemovalCause = "size" | "expired" | "explicit" | "replaced"

export interface CoreOptions<K, V> {
  readonly maximumSize: number
  readonly maximumWeight: number
  readonly weigher: ((key: K, value: V) => number) | undefined
  readonly now: () => number
}

export class TinyLfu<K, V> {
  readonly index = new Map<K, number>()
  private keys: Array<K | undefined> = []
  values: Array<V | undefined> = []
  /**
   * Per slot, 4 ints (16 bytes): prev, next, hash, and region (low 2 bits) plus the accesses
   * not yet folded into the sketch (upper bits, capped at 15). Counting hits of resident entries
   * here keeps the read path on one cache line; the pending count is added to the sketch estimate
   * at admission and folded into the sketch when the entry leaves.
   */
  private meta: Int32Array
  private weights: Float64Array
  staleAt: Float64Array
  expiresAt: Float64Array
  private readonly heads = new Int32Array([NIL, NIL, NIL])
  private readonly tails = new Int32Array([NIL, NIL, NIL])
  private windowWeight = 0
  private probationWeight = 0
  private protectedWeight = 0
  private free: Int32Array
  private freeTop = 0
  private slotsUsed = 0
  private capacity: number
  private readonly slotLimit: number
  private sweepCursor = 0
  private anyExpiry = false
  private random = 0x2545f491
  private additions = 0
  private sampleSize: number

  readonly maximumSize: number
  readonly budget: number
  private readonly windowMax: number
  private readonly mainMax: number
  private readonly protectedMax: number
  /** Sized to the slot arrays and re-created (counts reset) when they grow. */
  private sketch: FrequencySketch
  private readonly weigher: ((key: K, value: V) => number) | undefined
  readonly now: () => number

  count = 0
  totalWeight = 0
  hits = 0
  misses = 0
  evictions = 0
  /** Called on each size eviction (the Cache reports it to the telemetry metrics). */
  onEvict: (() => void) | undefined = undefined
  expirations = 0

  constructor(options: CoreOptions<K, V>) {
    this.maximumSize = options.maximumSize
    this.weigher = options.weigher
    this.now = options.now
    this.budget =
      options.weigher === undefined
        ? Math.min(options.maximumSize, options.maximumWeight)
        : options.maximumWeight
    this.windowMax = Math.max(1, Math.floor(this.budget * 0.01))
    this.mainMax = Math.max(0, this.budget - this.windowMax)
    this.protectedMax = Math.floor(this.mainMax * 0.8)
    const entryBound = Math.min(this.maximumSize, this.budget)
    this.slotLimit = Number.isFinite(entryBound) ? entryBound + 1 : 2 ** 31 - 1
    this.capacity = Math.min(this.slotLimit, 1024)
    this.sketch = new FrequencySketch(this.capacity)
    this.sampleSize = 10 * this.capacity
    this.meta = new Int32Array(this.capacity * 4)
    this.weights = new Float64Array(this.capacity)
    this.staleAt = new Float64Array(this.capacity)
    this.expiresAt = new Float64Array(this.capacity)
    this.free = new Int32Array(this.capacity)
  }

  // ---------------------------------------------------------------- reads

  /** The value for `key` if present and fresh (records a hit or a miss), else `undefined`. */
  get(key: K): V | undefined {
    const i = this.index.get(key)
    if (i === undefined) {
      this.misses++
      return undefined
    }
    if (this.anyExpiry) {
      const stale = this.staleAt[i]
      if (stale !== Infinity && this.now() >= stale) {
        if (this.now() >= this.expiresAt[i]) this.remove(i, "expired")
        this.misses++
        return undefined
      }
    }
    this.hits++
    this.touch(i)
    return this.values[i]
  }

  /**
   * The slot of `key` if present and not past its hard deadline (removing it if it is), else
   * `NIL`. Records nothing: callers decide between hit, stale and miss.
   */
  find(key: K, now: number): number {
    const i = this.index.get(key)
    if (i === undefined) return NIL
    if (now >= this.expiresAt[i]) {
      this.remove(i, "expired")
      return NIL
    }
    return i
  }

  /** Records an access to slot `i`: frequency and recency. Kept small so it inlines into reads. */
  touch(i: number): void {
    const m = this.meta
    const b = i << 2
    const v = m[b + REGION]
    if (v < PENDING_CAP) m[b + REGION] = v + PENDING_ONE
    // aging is due every `sampleSize` accesses but runs at the next write: only writes make
    // admission decisions, and keeping the call off the read path keeps reads fast
    this.additions++
    const r = v & REGION_MASK
    if (r === PROBATION) this.promote(i)
    else if (this.heads[r] !== i) {
      // unlink and relink at the head (i is not the head, so it has a predecessor)
      const p = m[b + PREV]
      const n = m[b + NEXT]
      m[(p << 2) + NEXT] = n
      if (n !== NIL) m[(n << 2) + PREV] = p
      else this.tails[r] = p
      const h = this.heads[r]
      m[b + PREV] = NIL
      m[b + NEXT] = h
      m[(h << 2) + PREV] = i
      this.heads[r] = i
    }
  }

  /** A hit in probation: move to protected, demoting protected's overflow back to probation. */
  private promote(i: number): void {
    const unweighted = this.weigher === undefined
    const w = unweighted ? 1 : this.weights[i]
    this.unlink(i, PROBATION)
    this.probationWeight -= w
    this.linkHead(i, PROTECTED)
    this.protectedWeight += w
    while (this.protectedWeight > this.protectedMax && this.tails[PROTECTED] !== NIL) {
      const d = this.tails[PROTECTED]
      const wd = unweighted ? 1 : this.weights[d]
      this.unlink(d, PROTECTED)
      this.protectedWeight -= wd
      this.linkHead(d, PROBATION)
      this.probationWeight += wd
    }
  }

  // ---------------------------------------------------------------- writes

  /**
   * Inserts or replaces `key`. `ttlMs` is the time to live (Infinity: none), `graceMs` the
   * stale-while-revalidate grace after it. Returns false when the entry alone exceeds the
   * weight budget (it is then not stored, and any previous value is removed).
   */
  set(key: K, value: V, ttlMs: number, graceMs: number): boolean {
    let w = 1
    if (this.weigher !== undefined) {
      w = this.weigher(key, value)
      if (!(Number.isInteger(w) && w >= 1)) {
        throw new RangeError(
          `Cache: "weigher" must return an integer >= 1, got ${String(w)}. Round weights up to whole units.`,
        )
      }
    }
    if (this.additions >= this.sampleSize) this.age()
    let i = this.index.get(key)
    if (w > this.budget) {
      if (i !== undefined) this.remove(i, "replaced")
      return false
    }
    let now = 0
    if (ttlMs !== Infinity) {
      now = this.now()
      this.anyExpiry = true
    }
    if (i !== undefined) {
      const delta = w - this.weights[i]
      this.weights[i] = w
      this.values[i] = value
      this.totalWeight += delta
      const r = this.meta[(i << 2) + REGION] & REGION_MASK
      if (r === WINDOW) this.windowWeight += delta
      else if (r === PROBATION) this.probationWeight += delta
      else this.protectedWeight += delta
      this.staleAt[i] = now + ttlMs
      this.expiresAt[i] = now + ttlMs + graceMs
      this.touch(i)
    } else {
      i = this.allocate()
      this.keys[i] = key
      this.values[i] = value
      const h = hashKey(key)
      this.meta[(i << 2) + HASH] = h
      this.meta[(i << 2) + REGION] = WINDOW
      this.weights[i] = w
      this.staleAt[i] = now + ttlMs
      this.expiresAt[i] = now + ttlMs + graceMs
      this.index.set(key, i)
      this.linkHead(i, WINDOW)
      this.windowWeight += w
      this.totalWeight += w
      this.count++
      this.sketch.increment(h)
      this.additions++
    }
    if (this.anyExpiry) this.sweep(2, ttlMs === Infinity ? this.now() : now)
    this.evict()
    return true
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: K): boolean {
    const i = this.index.get(key)
    if (i === undefined) return false
    this.remove(i, "explicit")
    return true
  }

  /** Removes every entry. */
  clear(): void {
    for (let r = 0; r < 3; r++) {
      while (this.heads[r] !== NIL) this.remove(this.heads[r], "explicit")
    }
  }

  /** Examines up to `steps` slots at the sweep cursor and removes the expired ones. */
  sweep(steps: number, now: number): number {
    let removed = 0
    const used = this.slotsUsed
    if (used === 0) return 0
    for (let s = 0; s < steps; s++) {
      if (this.sweepCursor >= used) this.sweepCursor = 0
      const i = this.sweepCursor++
      if ((this.meta[(i << 2) + REGION] & REGION_MASK) !== FREE && now >= this.expiresAt[i]) {
        this.remove(i, "expired")
        removed++
      }
    }
    return removed
  }

  /** Removes every expired entry (O(slots)). */
  sweepAll(now: number): number {
    return this.sweep(this.slotsUsed, now)
  }

  // ---------------------------------------------------------------- eviction

  private evict(): void {
    while (this.windowWeight > this.windowMax && this.tails[WINDOW] !== NIL) {
      const c = this.tails[WINDOW]
      this.unlink(c, WINDOW)
      this.windowWeight -= this.weights[c]
      this.admitToMain(c)
    }
    while (this.count > this.maximumSize || this.totalWeight > this.budget) {
      const c = this.tails[WINDOW]
      const v = this.victim()
      if (v === NIL && c === NIL) break
      if (v === NIL) this.remove(c, "size")
      else if (c === NIL || this.admit(c, v)) this.remove(v, "size")
      else this.remove(c, "size")
    }
  }

  private admitToMain(c: number): void {
    const w = this.weights[c]
    while (this.probationWeight + this.protectedWeight + w > this.mainMax) {
      const v = this.victim()
      if (v === NIL) break
      if (this.admit(c, v)) this.remove(v, "size")
      else {
        // already unlinked from the window
        this.meta[(c << 2) + REGION] = (this.meta[(c << 2) + REGION] & ~REGION_MASK) | FREE
        this.removeUnlinked(c, "size")
        return
      }
    }
    this.linkHead(c, PROBATION)
    this.probationWeight += w
  }

  /** Estimated frequency of resident slot `i`: the sketch plus its pending accesses. */
  private frequency(i: number): number {
    const b = i << 2
    const f = this.sketch.frequency(this.meta[b + HASH]) + (this.meta[b + REGION] >>> PENDING_SHIFT)
    return Math.min(f, 15)
  }

  /** Halves the sketch and every pending count. */
  private age(): void {
    this.sketch.halve()
    const m = this.meta
    for (let b = 0; b < this.slotsUsed << 2; b += 4) {
      const v = m[b + REGION]
      m[b + REGION] = (((v >>> PENDING_SHIFT) >>> 1) << PENDING_SHIFT) | (v & REGION_MASK)
    }
    this.additions = this.additions >> 1
  }

  private victim(): number {
    const v = this.tails[PROBATION]
    return v !== NIL ? v : this.tails[PROTECTED]
  }

  /** Whether candidate `c` should replace victim `v`. */
  private admit(c: number, v: number): boolean {
    if (this.anyExpiry) {
      const now = this.now()
      if (now >= this.expiresAt[v]) return true
      if (now >= this.expiresAt[c]) return false
    }
    const fc = this.frequency(c)
    const fv = this.frequency(v)
    if (fc > fv) return true
    if (fc <= 5) return false
    let x = this.random
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.random = x
    return (x & 127) === 0
  }

  // ---------------------------------------------------------------- slots and lists

  private remove(i: number, cause: RemovalCause): void {
    const r = this.meta[(i << 2) + REGION] & REGION_MASK
    this.unlink(i, r)
    const w = this.weights[i]
    if (r === WINDOW) this.windowWeight -= w
    else if (r === PROBATION) this.probationWeight -= w
    else this.protectedWeight -= w
    this.meta[(i << 2) + REGION] = (this.meta[(i << 2) + REGION] & ~REGION_MASK) | FREE
    this.removeUnlinked(i, cause)
  }

  private removeUnlinked(i: number, cause: RemovalCause): void {
    const b = i << 2
    const pending = this.meta[b + REGION] >>> PENDING_SHIFT
    if (pending > 0) this.sketch.increment(this.meta[b + HASH], pending)
    this.meta[b + REGION] = FREE
    this.index.delete(this.keys[i]!)
    this.keys[i] = undefined
    this.values[i] = undefined
    this.totalWeight -= this.weights[i]
    this.count--
    if (cause === "size") {
      this.evictions++
      this.onEvict?.()
    } else if (cause === "expired") this.expirations++
    this.free[this.freeTop++] = i
  }

  private allocate(): number {
    if (this.freeTop > 0) return this.free[--this.freeTop]
    if (this.slotsUsed === this.capacity) this.grow()
    return this.slotsUsed++
  }

  private grow(): void {
    const n = Math.min(this.slotLimit, this.capacity * 2)
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(n)
      b.set(a)
      return b
    }
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(n)
      b.set(a)
      return b
    }
    const meta = new Int32Array(n * 4)
    meta.set(this.meta)
    this.meta = meta
    this.free = i32(this.free)
    this.weights = f64(this.weights)
    this.staleAt = f64(this.staleAt)
    this.expiresAt = f64(this.expiresAt)
    this.capacity = n
    // the sketch follows the number of entries (not the weight budget, which may be bytes)
    this.sketch = new FrequencySketch(n)
    this.sampleSize = 10 * n
    this.additions = 0
  }

  private linkHead(i: number, r: number): void {
    const m = this.meta
    const b = i << 2
    const h = this.heads[r]
    m[b + REGION] = (m[b + REGION] & ~REGION_MASK) | r
    m[b + PREV] = NIL
    m[b + NEXT] = h
    if (h !== NIL) m[(h << 2) + PREV] = i
    else this.tails[r] = i
    this.heads[r] = i
  }

  private unlink(i: number, r: number): void {
    const m = this.meta
    const b = i << 2
    const p = m[b + PREV]
    const n = m[b + NEXT]
    if (p !== NIL) m[(p << 2) + NEXT] = n
    else this.heads[r] = n
    if (n !== NIL) m[(n << 2) + PREV] = p
    else this.tails[r] = p
  }

  /** Weights per region, for tests and stats. */
  regions(): { readonly window: number; readonly probation: number; readonly protected: number } {
    return { window: this.windowWeight, probation: this.probationWeight, protected: this.protectedWeight }
  }
}
