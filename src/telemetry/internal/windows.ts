/**
 * Rotating sub-windows for `Slo.ts`: ring buffers indexed by `floor(now / resolution)`. A slot is recycled
 * lazily when time reaches it again (no timer per entry, no background work). Internal.
 *
 * Window semantics: at time `now` (slot `s = floor(now / resolution)`), a live window of `n` slots covers
 * the slots `(s − n, s]` (the current, partial slot and the `n − 1` before it); a complete window covers
 * `[s − n, s)`, the last `n` finished slots.
 *
 * @internal
 */
import { DDSketch, type SketchOptions } from "./ddSketch.ts"

/** Good/bad event counts per slot. Memory: 3 × slots × 8 bytes. */
export class CountRing {
  readonly total: Float64Array
  readonly bad: Float64Array
  readonly ids: Float64Array

  readonly resolutionMs: number
  readonly slots: number
  constructor(resolutionMs: number, slots: number) {
    this.resolutionMs = resolutionMs
    this.slots = slots
    this.total = new Float64Array(slots)
    this.bad = new Float64Array(slots)
    this.ids = new Float64Array(slots).fill(-1)
  }

  add(now: number, bad: boolean, weight = 1): void {
    const slot = Math.floor(now / this.resolutionMs)
    const i = slot % this.slots
    if (this.ids[i] !== slot) {
      this.ids[i] = slot
      this.total[i] = 0
      this.bad[i] = 0
    }
    this.total[i] += weight
    if (bad) this.bad[i] += weight
  }

  /**
   * Sums over the last `n` slots (n ≤ slots): with `complete`, the `n` slots before the current one
   * (exactly `n × resolution` ms of data, lagging by at most one slot); else the current partial slot and
   * the `n − 1` before it.
   */
  sum(now: number, n: number, complete = false): { total: number; bad: number } {
    const cur = Math.floor(now / this.resolutionMs) - (complete ? 1 : 0)
    let total = 0
    let bad = 0
    for (let k = 0; k < n; k++) {
      const slot = cur - k
      if (slot < 0) break
      const i = slot % this.slots
      if (this.ids[i] === slot) {
        total += this.total[i]
        bad += this.bad[i]
      }
    }
    return { total, bad }
  }
}

/** One DDSketch per slot; a window's sketch is the merge of its slots. */
export class SketchRing {
  readonly sketches: Array<DDSketch>
  readonly ids: Float64Array

  readonly resolutionMs: number
  readonly slots: number
  readonly options: Required<SketchOptions>
  constructor(resolutionMs: number, slots: number, options: Required<SketchOptions>) {
    this.resolutionMs = resolutionMs
    this.slots = slots
    this.options = options
    this.sketches = Array.from({ length: slots }, () => new DDSketch(options))
    this.ids = new Float64Array(slots).fill(-1)
  }

  add(now: number, value: number): void {
    const slot = Math.floor(now / this.resolutionMs)
    const i = slot % this.slots
    if (this.ids[i] !== slot) {
      this.ids[i] = slot
      this.sketches[i].clear()
    }
    this.sketches[i].add(value)
  }

  /** Merged sketch of the last `n` slots. */
  window(now: number, n: number): DDSketch {
    const cur = Math.floor(now / this.resolutionMs)
    const out = new DDSketch(this.options)
    for (let k = 0; k < n; k++) {
      const slot = cur - k
      if (slot < 0) break
      const i = slot % this.slots
      if (this.ids[i] === slot) out.merge(this.sketches[i])
    }
    return out
  }
}
