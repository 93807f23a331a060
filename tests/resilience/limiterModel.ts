/**
 * A pure, deliberately naive model of the rate-limiter algorithms, for property tests.
 * It keeps every admitted request as an event and answers from the definitions; `retryAfterMs` and
 * `resetAfterMs` are found by brute-force search over future milliseconds, not by closed formulas.
 */
import type { Decision } from "../../src/resilience/RateLimiterStore.ts"

export type Alg = "token-bucket" | "gcra" | "fixed-window" | "sliding-window" | "sliding-log"

export interface ModelLimit {
  readonly algorithm: Alg
  readonly limit: number
  readonly windowMs: number
  readonly burst: number
}

interface Ev {
  readonly t: number
  readonly cost: number
}

const ws = (t: number, w: number) => Math.floor(t / w) * w

/** Per key, per limit: the admitted events, plus a token-bucket replay. */
export class LimitModel {
  private readonly events = new Map<string, Ev[]>()
  readonly l: ModelLimit
  constructor(l: ModelLimit) {
    this.l = l
  }

  capacity(): number {
    return this.l.algorithm === "token-bucket" || this.l.algorithm === "gcra" ? this.l.burst : this.l.limit
  }

  /** Token bucket scaled by windowMs: tokens*W, refilled by `limit` per ms. */
  private tokensScaled(evs: ReadonlyArray<Ev>, t: number, extra?: Ev): number {
    const { limit, windowMs: W, burst } = this.l
    const cap = burst * W
    let tok = cap
    let last = Number.NEGATIVE_INFINITY
    const all = extra ? [...evs, extra] : evs
    for (const e of all) {
      tok = last === Number.NEGATIVE_INFINITY ? cap : Math.min(cap, tok + (e.t - last) * limit)
      last = e.t
      tok -= e.cost * W
    }
    if (last !== Number.NEGATIVE_INFINITY) tok = Math.min(cap, tok + (t - last) * limit)
    return tok
  }

  /** "Load" at time t (0 = fresh), in the algorithm's own units. */
  private load(evs: ReadonlyArray<Ev>, t: number): number {
    const { algorithm, windowMs: W } = this.l
    switch (algorithm) {
      case "token-bucket":
      case "gcra":
        return this.l.burst * W - this.tokensScaled(evs, t)
      case "fixed-window":
        return evs.filter((e) => ws(e.t, W) === ws(t, W)).reduce((a, e) => a + e.cost, 0)
      case "sliding-log":
        return evs.filter((e) => e.t <= t && t < e.t + W).reduce((a, e) => a + e.cost, 0)
      case "sliding-window": {
        const cur = ws(t, W)
        const c = evs.filter((e) => ws(e.t, W) === cur).reduce((a, e) => a + e.cost, 0)
        const p = evs.filter((e) => ws(e.t, W) === cur - W).reduce((a, e) => a + e.cost, 0)
        return p * (W - (t - cur)) + c * W
      }
    }
  }

  /** Would a request of `cost` be allowed at t? */
  allowedAt(key: string, t: number, cost: number): boolean {
    const evs = this.events.get(key) ?? []
    const { algorithm, limit, windowMs: W } = this.l
    switch (algorithm) {
      case "token-bucket":
      case "gcra":
        return this.tokensScaled(evs, t) >= cost * W
      case "fixed-window":
      case "sliding-log":
        return this.load(evs, t) + cost <= limit
      case "sliding-window":
        return this.load(evs, t) + cost * W <= limit * W
    }
  }

  private remainingAfter(evs: ReadonlyArray<Ev>, t: number): number {
    const { algorithm, limit, windowMs: W } = this.l
    switch (algorithm) {
      case "token-bucket":
      case "gcra":
        return Math.floor(this.tokensScaled(evs, t) / W)
      case "fixed-window":
      case "sliding-log":
        return limit - this.load(evs, t)
      case "sliding-window":
        return Math.max(0, Math.floor((limit * W - this.load(evs, t)) / W))
    }
  }

  /** Decides like the limiter; commits when allowed and `commit`. */
  decide(key: string, t: number, cost: number, commit: boolean): Decision {
    const evs = this.events.get(key) ?? []
    const allowed = this.allowedAt(key, t, cost)
    const after = allowed ? [...evs, { t, cost }] : evs
    const remaining = this.remainingAfter(after, t)
    let resetAfterMs = 0
    while (this.load(after, t + resetAfterMs) > 0) resetAfterMs++
    let retryAfterMs = 0
    if (!allowed) while (!this.allowedAt(key, t + retryAfterMs, cost)) retryAfterMs++
    if (allowed && commit) this.events.set(key, after)
    return { allowed, remaining, resetAfterMs, retryAfterMs }
  }

  /** Records an admission decided elsewhere (all-or-none multi-limits). */
  charge(key: string, t: number, cost: number): void {
    this.events.set(key, [...(this.events.get(key) ?? []), { t, cost }])
  }
}

/** Several limits, all-or-none. */
export class MultiModel {
  readonly bands: LimitModel[]
  constructor(limits: ReadonlyArray<ModelLimit>) {
    this.bands = limits.map((l) => new LimitModel(l))
  }
  decide(key: string, t: number, cost: number, commit: boolean): Decision {
    const ds = this.bands.map((b) => b.decide(key, t, cost, false))
    const allowed = ds.every((d) => d.allowed)
    if (allowed && commit) for (const b of this.bands) b.charge(key, t, cost)
    return {
      allowed,
      remaining: Math.min(...ds.map((d) => d.remaining)),
      resetAfterMs: Math.max(...ds.map((d) => d.resetAfterMs)),
      retryAfterMs: Math.max(0, ...ds.filter((d) => !d.allowed).map((d) => d.retryAfterMs)),
    }
  }
}
