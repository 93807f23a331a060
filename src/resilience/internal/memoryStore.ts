/**
 * The in-memory rate-limiter store: a flat `Map<string, slot>` plus typed-array columns per limit.
 *
 * - Atomic: a decision reads, decides and writes in one synchronous section (one JS thread).
 * - All-or-none: with several limits, every limit is evaluated first and written only when all allow.
 * - Bounded: at most `maxKeys` keys. Idle keys (whose state equals a fresh key's, so forgetting them
 *   changes no decision) are reclaimed incrementally: every insertion inspects two slots at a sweep hand,
 *   and a full `sweep` reclaims all of them and compacts the columns. No timer per key.
 * - Overflow when `maxKeys` keys are live and none of 64 sampled slots is idle: `"evict"` forgets the least
 *   recently seen of the sample (that key starts fresh next time); `"reject"` denies requests for new keys.
 * @internal
 */
import type { Band, BandOut } from "./limiterBands.ts"

const INITIAL_SLOTS = 1024
const SAMPLE = 64

export class MemoryStoreState {
  private map = new Map<string, number>()
  private keys: Array<string | undefined> = new Array(INITIAL_SLOTS)
  private seen = new Float64Array(INITIAL_SLOTS)
  private free: number[] = []
  private high = 0
  private cap = INITIAL_SLOTS
  private hand = 0
  private readonly scratch: BandOut = { remaining: 0, resetAfterMs: 0, retryAfterMs: 0 }
  private readonly single: Band | undefined
  private readonly minWindow: number

  private readonly bands: ReadonlyArray<Band>
  private readonly maxKeys: number
  private readonly overflow: "evict" | "reject"
  constructor(bands: ReadonlyArray<Band>, maxKeys: number, overflow: "evict" | "reject") {
    this.bands = bands
    this.maxKeys = maxKeys
    this.overflow = overflow
    for (const b of bands) b.grow(INITIAL_SLOTS)
    this.single = bands.length === 1 ? bands[0] : undefined
    this.minWindow = Math.min(...bands.map((b) => b.windowMs))
  }

  get size(): number {
    return this.map.size
  }

  /** Decides for `key` at `now`; returns `allowed` and fills `out`. */
  decide(key: string, cost: number, now: number, commit: boolean, out: BandOut): boolean {
    let slot = this.map.get(key)
    if (slot === undefined) {
      slot = this.insert(key, now)
      if (slot < 0) {
        out.remaining = 0
        out.resetAfterMs = this.minWindow
        out.retryAfterMs = this.minWindow
        return false
      }
    }
    this.seen[slot] = now
    const single = this.single
    if (single !== undefined) return single.decide(slot, now, cost, commit, out)
    return this.decideAll(slot, cost, now, commit, out)
  }

  private decideAll(slot: number, cost: number, now: number, commit: boolean, out: BandOut): boolean {
    const bands = this.bands
    const tmp = this.scratch
    let allowed = true
    let remaining = Number.POSITIVE_INFINITY
    let reset = 0
    let retry = 0
    for (let i = 0; i < bands.length; i++) {
      const ok = bands[i].decide(slot, now, cost, false, tmp)
      if (!ok) {
        allowed = false
        if (tmp.retryAfterMs > retry) retry = tmp.retryAfterMs
      }
      if (tmp.remaining < remaining) remaining = tmp.remaining
      if (tmp.resetAfterMs > reset) reset = tmp.resetAfterMs
    }
    if (allowed && commit) for (let i = 0; i < bands.length; i++) bands[i].decide(slot, now, cost, true, tmp)
    out.remaining = remaining
    out.resetAfterMs = reset
    out.retryAfterMs = retry
    return allowed
  }

  reset(key: string): void {
    const slot = this.map.get(key)
    if (slot !== undefined) this.remove(slot)
  }

  /** Reclaims every idle key, then compacts when at most a quarter of the columns is in use. */
  sweep(now: number): number {
    let removed = 0
    for (let s = 0; s < this.high; s++) {
      if (this.keys[s] !== undefined && this.isIdle(s, now)) {
        this.remove(s)
        removed++
      }
    }
    if (this.cap > INITIAL_SLOTS && this.map.size * 4 <= this.cap) this.compact()
    return removed
  }

  private isIdle(slot: number, now: number): boolean {
    const bands = this.bands
    for (let i = 0; i < bands.length; i++) if (!bands[i].idle(slot, now)) return false
    return true
  }

  private remove(slot: number): void {
    this.map.delete(this.keys[slot]!)
    this.keys[slot] = undefined
    for (const b of this.bands) b.release(slot)
    this.free.push(slot)
  }

  private insert(key: string, now: number): number {
    let slot: number
    if (this.map.size >= this.maxKeys) {
      slot = this.reclaim(now)
      if (slot < 0) return -1
    } else {
      this.step(now)
      this.step(now)
      slot = this.free.length > 0 ? this.free.pop()! : this.allocate()
    }
    this.map.set(key, slot)
    this.keys[slot] = key
    for (const b of this.bands) b.fresh(slot, now)
    return slot
  }

  private allocate(): number {
    if (this.high === this.cap) {
      const cap = this.cap * 2
      for (const b of this.bands) b.grow(cap)
      const seen = new Float64Array(cap)
      seen.set(this.seen)
      this.seen = seen
      this.keys.length = cap
      this.cap = cap
    }
    return this.high++
  }

  /** One step of the incremental sweep: reclaims the slot under the hand if it is idle. */
  private step(now: number): void {
    if (this.high === 0) return
    if (this.hand >= this.high) this.hand = 0
    const s = this.hand++
    if (this.keys[s] !== undefined && this.isIdle(s, now)) this.remove(s)
  }

  /** At capacity: frees an idle slot among a sample, else applies the overflow policy. */
  private reclaim(now: number): number {
    let oldest = -1
    let oldestSeen = Number.POSITIVE_INFINITY
    for (let i = 0; i < SAMPLE && i < this.high; i++) {
      if (this.hand >= this.high) this.hand = 0
      const s = this.hand++
      if (this.keys[s] === undefined) continue
      if (this.isIdle(s, now)) {
        this.remove(s)
        return this.free.pop()!
      }
      if (this.seen[s] < oldestSeen) {
        oldestSeen = this.seen[s]
        oldest = s
      }
    }
    if (this.overflow === "reject" || oldest < 0) return -1
    this.remove(oldest)
    return this.free.pop()!
  }

  private compact(): void {
    const n = this.map.size
    let cap = INITIAL_SLOTS
    while (cap < n * 2) cap *= 2
    const order = new Int32Array(n)
    const map = new Map<string, number>()
    const keys: Array<string | undefined> = new Array(cap)
    const seen = new Float64Array(cap)
    let i = 0
    for (let s = 0; s < this.high; s++) {
      const k = this.keys[s]
      if (k === undefined) continue
      order[i] = s
      keys[i] = k
      seen[i] = this.seen[s]
      map.set(k, i)
      i++
    }
    for (const b of this.bands) b.compact(order, n, cap)
    this.map = map
    this.keys = keys
    this.seen = seen
    this.free = []
    this.high = n
    this.cap = cap
    this.hand = 0
  }
}
