/**
 * One "band" = one limit (algorithm, limit, window) over a column store of slots. All state is numbers in
 * typed-array columns indexed by slot: no per-key objects (except the exact log, whose ring is per key),
 * no closures. Every decision is a synchronous read-decide-(write) on those columns.
 *
 * Arithmetic is exact integer arithmetic in scaled units (time in whole milliseconds), so decisions agree
 * with a pure model to the millisecond.
 * @internal
 */

/** Scratch output of one decision. */
export interface BandOut {
  remaining: number
  resetAfterMs: number
  retryAfterMs: number
}

const gcd = (a: number, b: number): number => {
  while (b !== 0) {
    const t = a % b
    a = b
    b = t
  }
  return a
}

const growF64 = (a: Float64Array, cap: number): Float64Array => {
  const b = new Float64Array(cap)
  b.set(a.length <= cap ? a : a.subarray(0, cap))
  return b
}

const pickF64 = (a: Float64Array, order: Int32Array, n: number, cap: number): Float64Array => {
  const b = new Float64Array(cap)
  for (let i = 0; i < n; i++) b[i] = a[order[i]]
  return b
}

/** Aligned start of the fixed window containing `now`. */
const windowStart = (now: number, w: number): number => now - (((now % w) + w) % w)

/** A limit over slots. */
export interface Band {
  readonly limit: number
  readonly windowMs: number
  /** The largest cost a single request may ask for. */
  readonly maxCost: number
  grow(cap: number): void
  compact(order: Int32Array, n: number, cap: number): void
  fresh(slot: number, now: number): void
  decide(slot: number, now: number, cost: number, commit: boolean, out: BandOut): boolean
  idle(slot: number, now: number): boolean
  release(slot: number): void
}

/** Shared column handling of the bands whose state is a fixed set of `Float64Array` columns. */
abstract class ColumnBand {
  protected abstract columns(): Float64Array[]
  protected abstract setColumns(columns: Float64Array[]): void
  grow(cap: number): void {
    this.setColumns(this.columns().map((c) => growF64(c, cap)))
  }
  compact(order: Int32Array, n: number, cap: number): void {
    this.setColumns(this.columns().map((c) => pickF64(c, order, n, cap)))
  }
  release(): void {}
}

/** Token bucket: capacity `burst` (default `limit`), refilled continuously at `limit` per `windowMs`. */
export class TokenBucketBand extends ColumnBand implements Band {
  readonly maxCost: number
  /** Scaled units per token and per ms of refill. */
  private readonly upt: number
  private readonly rate: number
  private readonly cap: number
  private tok: Float64Array
  private last: Float64Array
  readonly limit: number
  readonly windowMs: number
  constructor(limit: number, windowMs: number, burst: number, slots: number) {
    super()
    this.limit = limit
    this.windowMs = windowMs
    const g = gcd(limit, windowMs)
    this.upt = windowMs / g
    this.rate = limit / g
    this.cap = burst * this.upt
    this.maxCost = burst
    this.tok = new Float64Array(slots)
    this.last = new Float64Array(slots)
  }
  protected columns(): Float64Array[] {
    return [this.tok, this.last]
  }
  protected setColumns([tok, last]: Float64Array[]): void {
    this.tok = tok
    this.last = last
  }
  fresh(slot: number, now: number): void {
    this.tok[slot] = this.cap
    this.last[slot] = now
  }
  decide(slot: number, now: number, cost: number, commit: boolean, out: BandOut): boolean {
    const tok = this.tok
    const last = this.last
    const rate = this.rate
    const upt = this.upt
    const cap = this.cap
    const elapsed = now - last[slot]
    let t = tok[slot]
    if (elapsed > 0) {
      t += elapsed * rate
      if (t > cap) t = cap
    }
    const need = cost * upt
    const allowed = t >= need
    const after = allowed ? t - need : t
    if (commit && allowed) {
      tok[slot] = after
      if (elapsed > 0) last[slot] = now
    }
    out.remaining = Math.floor(after / upt)
    out.resetAfterMs = Math.ceil((cap - after) / rate)
    out.retryAfterMs = allowed ? 0 : Math.ceil((need - t) / rate)
    return allowed
  }
  idle(slot: number, now: number): boolean {
    const elapsed = now - this.last[slot]
    return this.tok[slot] + (elapsed > 0 ? elapsed * this.rate : 0) >= this.cap
  }
}

/**
 * GCRA (generic cell rate algorithm): one number per key, the theoretical arrival time (TAT).
 * Emission interval `windowMs / limit`, burst tolerance `burst` emissions. Time is scaled so that the
 * emission interval is a whole number of units and measured from the store's epoch.
 */
export class GcraBand extends ColumnBand implements Band {
  readonly maxCost: number
  private readonly unitsPerMs: number
  private readonly interval: number
  private readonly tau: number
  private tat: Float64Array
  readonly limit: number
  readonly windowMs: number
  private readonly epoch: number
  constructor(limit: number, windowMs: number, burst: number, slots: number, epoch: number) {
    super()
    this.limit = limit
    this.windowMs = windowMs
    this.epoch = epoch
    const g = gcd(limit, windowMs)
    this.unitsPerMs = limit / g
    this.interval = windowMs / g
    this.tau = burst * this.interval
    this.maxCost = burst
    this.tat = new Float64Array(slots)
  }
  protected columns(): Float64Array[] {
    return [this.tat]
  }
  protected setColumns([tat]: Float64Array[]): void {
    this.tat = tat
  }
  fresh(slot: number, now: number): void {
    this.tat[slot] = (now - this.epoch) * this.unitsPerMs
  }
  decide(slot: number, now: number, cost: number, commit: boolean, out: BandOut): boolean {
    const nowS = (now - this.epoch) * this.unitsPerMs
    const stored = this.tat[slot]
    const tat = Math.max(stored, nowS)
    const next = tat + cost * this.interval
    const allowed = next - nowS <= this.tau
    const after = allowed ? next : tat
    if (commit && allowed) this.tat[slot] = next
    out.remaining = Math.floor((this.tau - (after - nowS)) / this.interval)
    out.resetAfterMs = Math.ceil((after - nowS) / this.unitsPerMs)
    out.retryAfterMs = allowed ? 0 : Math.ceil((next - this.tau - nowS) / this.unitsPerMs)
    return allowed
  }
  idle(slot: number, now: number): boolean {
    return this.tat[slot] <= (now - this.epoch) * this.unitsPerMs
  }
}

/** Fixed window aligned to multiples of `windowMs`: at most `limit` units per window. */
export class FixedWindowBand extends ColumnBand implements Band {
  readonly maxCost: number
  private start: Float64Array
  private count: Float64Array
  readonly limit: number
  readonly windowMs: number
  constructor(limit: number, windowMs: number, slots: number) {
    super()
    this.limit = limit
    this.windowMs = windowMs
    this.maxCost = limit
    this.start = new Float64Array(slots)
    this.count = new Float64Array(slots)
  }
  protected columns(): Float64Array[] {
    return [this.start, this.count]
  }
  protected setColumns([start, count]: Float64Array[]): void {
    this.start = start
    this.count = count
  }
  fresh(slot: number, now: number): void {
    this.start[slot] = windowStart(now, this.windowMs)
    this.count[slot] = 0
  }
  decide(slot: number, now: number, cost: number, commit: boolean, out: BandOut): boolean {
    const w = this.windowMs
    const ws = windowStart(now, w)
    const count = this.start[slot] === ws ? this.count[slot] : 0
    const allowed = count + cost <= this.limit
    const after = allowed ? count + cost : count
    if (commit && allowed) {
      this.start[slot] = ws
      this.count[slot] = after
    }
    out.remaining = this.limit - after
    out.resetAfterMs = after > 0 ? ws + w - now : 0
    out.retryAfterMs = allowed ? 0 : ws + w - now
    return allowed
  }
  idle(slot: number, now: number): boolean {
    return this.count[slot] === 0 || now >= this.start[slot] + this.windowMs
  }
}

/**
 * Sliding window, weighted counter (as Cloudflare and Nginx approximate it): the estimate is
 * `previous * (windowMs - elapsed) / windowMs + current`; at most `limit` units by that estimate.
 */
export class SlidingWindowBand extends ColumnBand implements Band {
  readonly maxCost: number
  private start: Float64Array
  private curr: Float64Array
  private prev: Float64Array
  readonly limit: number
  readonly windowMs: number
  constructor(limit: number, windowMs: number, slots: number) {
    super()
    this.limit = limit
    this.windowMs = windowMs
    this.maxCost = limit
    this.start = new Float64Array(slots)
    this.curr = new Float64Array(slots)
    this.prev = new Float64Array(slots)
  }
  protected columns(): Float64Array[] {
    return [this.start, this.curr, this.prev]
  }
  protected setColumns([start, curr, prev]: Float64Array[]): void {
    this.start = start
    this.curr = curr
    this.prev = prev
  }
  fresh(slot: number, now: number): void {
    this.start[slot] = windowStart(now, this.windowMs)
    this.curr[slot] = 0
    this.prev[slot] = 0
  }
  decide(slot: number, now: number, cost: number, commit: boolean, out: BandOut): boolean {
    const w = this.windowMs
    const limit = this.limit
    const ws = windowStart(now, w)
    const s = this.start[slot]
    let p = 0
    let c = 0
    if (ws === s) {
      p = this.prev[slot]
      c = this.curr[slot]
    } else if (ws === s + w) {
      p = this.curr[slot]
    }
    const e = now - ws
    const used = p * (w - e) + c * w
    const allowed = used + cost * w <= limit * w
    const after = allowed ? c + cost : c
    if (commit && allowed) {
      this.start[slot] = ws
      this.prev[slot] = p
      this.curr[slot] = after
    }
    const usedAfter = p * (w - e) + after * w
    const rem = Math.floor((limit * w - usedAfter) / w)
    out.remaining = Math.max(rem, 0)
    out.resetAfterMs = after > 0 ? w - e + w : p > 0 ? w - e : 0
    if (allowed) out.retryAfterMs = 0
    else if (c + cost <= limit) {
      // Wait within this window until the previous window's weight has decayed enough.
      const dt = w - e - Math.floor(((limit - c - cost) * w) / p)
      out.retryAfterMs = Math.max(dt, 0)
    } else {
      // Wait into the next window, where the current count becomes the decaying previous one.
      const e2 = w - Math.floor(((limit - cost) * w) / c)
      out.retryAfterMs = w - e + Math.max(e2, 0)
    }
    return allowed
  }
  idle(slot: number, now: number): boolean {
    const s = this.start[slot]
    const w = this.windowMs
    if (this.curr[slot] === 0) return this.prev[slot] === 0 || now >= s + w
    return now >= s + 2 * w
  }
}

/**
 * Sliding window, exact log: one timestamp per admitted unit in a per-key ring of `limit` entries
 * (`8 * limit` bytes per active key). A unit admitted at `t` counts for `now` in `[t, t + windowMs)`.
 */
export class SlidingLogBand implements Band {
  readonly maxCost: number
  private head: Int32Array
  private len: Int32Array
  private logs: Array<Float64Array | undefined>
  readonly limit: number
  readonly windowMs: number
  constructor(limit: number, windowMs: number, slots: number) {
    this.limit = limit
    this.windowMs = windowMs
    this.maxCost = limit
    this.head = new Int32Array(slots)
    this.len = new Int32Array(slots)
    this.logs = new Array(slots)
  }
  grow(cap: number): void {
    const h = new Int32Array(cap)
    h.set(this.head)
    const l = new Int32Array(cap)
    l.set(this.len)
    this.head = h
    this.len = l
    this.logs.length = cap
  }
  compact(order: Int32Array, n: number, cap: number): void {
    const h = new Int32Array(cap)
    const l = new Int32Array(cap)
    const g: Array<Float64Array | undefined> = new Array(cap)
    for (let i = 0; i < n; i++) {
      h[i] = this.head[order[i]]
      l[i] = this.len[order[i]]
      g[i] = this.logs[order[i]]
    }
    this.head = h
    this.len = l
    this.logs = g
  }
  fresh(slot: number): void {
    this.head[slot] = 0
    this.len[slot] = 0
  }
  private expire(slot: number, now: number): void {
    const ring = this.logs[slot]
    if (ring === undefined) return
    const horizon = now - this.windowMs
    let h = this.head[slot]
    let n = this.len[slot]
    while (n > 0 && ring[h] <= horizon) {
      h = h + 1 === this.limit ? 0 : h + 1
      n--
    }
    this.head[slot] = h
    this.len[slot] = n
  }
  decide(slot: number, now: number, cost: number, commit: boolean, out: BandOut): boolean {
    this.expire(slot, now)
    const limit = this.limit
    const n = this.len[slot]
    const allowed = n + cost <= limit
    let ring = this.logs[slot]
    if (commit && allowed && cost > 0) {
      if (ring === undefined) ring = this.logs[slot] = new Float64Array(limit)
      let i = (this.head[slot] + n) % limit
      for (let k = 0; k < cost; k++) {
        ring[i] = now
        i = i + 1 === limit ? 0 : i + 1
      }
      this.len[slot] = n + cost
    }
    out.remaining = limit - (allowed ? n + cost : n)
    out.resetAfterMs =
      allowed && cost > 0
        ? this.windowMs
        : n > 0
          ? ring![(this.head[slot] + n - 1) % limit] + this.windowMs - now
          : 0
    if (allowed) out.retryAfterMs = 0
    else {
      const k = n + cost - limit
      out.retryAfterMs = ring![(this.head[slot] + k - 1) % limit] + this.windowMs - now
    }
    return allowed
  }
  idle(slot: number, now: number): boolean {
    const n = this.len[slot]
    if (n === 0) return true
    const ring = this.logs[slot]!
    return ring[(this.head[slot] + n - 1) % this.limit] <= now - this.windowMs
  }
  release(slot: number): void {
    this.logs[slot] = undefined
  }
}
