/**
 * Sliding windows of call outcomes for the circuit breaker, both bounded and allocation-free per call.
 * @internal
 */

export const FAILURE = 1
export const SLOW = 2

/** Aggregate counts of a window. */
export interface WindowCounts {
  calls: number
  failures: number
  slow: number
}

export interface OutcomeWindow {
  record(outcome: number, now: number): void
  /** Outcomes held (count windows); time windows report -1 (use `counts`). */
  held(): number
  counts(now: number, out: WindowCounts): void
  clear(): void
}

/** The last `size` outcomes, as a ring of bytes with running totals. */
export class CountWindow implements OutcomeWindow {
  private readonly ring: Uint8Array
  private head = 0
  private filled = 0
  private failures = 0
  private slow = 0
  private readonly size: number
  constructor(size: number) {
    this.size = size
    this.ring = new Uint8Array(size)
  }
  record(outcome: number): void {
    const ring = this.ring
    if (this.filled === this.size) {
      const old = ring[this.head]
      if (old & FAILURE) this.failures--
      if (old & SLOW) this.slow--
    } else this.filled++
    ring[this.head] = outcome
    if (outcome & FAILURE) this.failures++
    if (outcome & SLOW) this.slow++
    this.head = this.head + 1 === this.size ? 0 : this.head + 1
  }
  held(): number {
    return this.filled
  }
  counts(_now: number, out: WindowCounts): void {
    out.calls = this.filled
    out.failures = this.failures
    out.slow = this.slow
  }
  clear(): void {
    this.head = 0
    this.filled = 0
    this.failures = 0
    this.slow = 0
  }
}

/** Outcomes of the last `sizeMs`, in `buckets` aligned buckets of `sizeMs / buckets` each. */
export class TimeWindow implements OutcomeWindow {
  private readonly start: Float64Array
  private readonly calls: Float64Array
  private readonly failures: Float64Array
  private readonly slow: Float64Array
  private readonly bucketMs: number
  private readonly sizeMs: number
  private readonly buckets: number
  constructor(sizeMs: number, buckets: number) {
    this.sizeMs = sizeMs
    this.buckets = buckets
    this.bucketMs = sizeMs / buckets
    this.start = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY)
    this.calls = new Float64Array(buckets)
    this.failures = new Float64Array(buckets)
    this.slow = new Float64Array(buckets)
  }
  record(outcome: number, now: number): void {
    const b = Math.floor(now / this.bucketMs)
    const i = ((b % this.buckets) + this.buckets) % this.buckets
    const start = b * this.bucketMs
    if (this.start[i] !== start) {
      this.start[i] = start
      this.calls[i] = 0
      this.failures[i] = 0
      this.slow[i] = 0
    }
    this.calls[i]++
    if (outcome & FAILURE) this.failures[i]++
    if (outcome & SLOW) this.slow[i]++
  }
  held(): number {
    return -1
  }
  counts(now: number, out: WindowCounts): void {
    const horizon = now - this.sizeMs
    let calls = 0
    let failures = 0
    let slow = 0
    for (let i = 0; i < this.buckets; i++) {
      if (this.start[i] > horizon && this.start[i] <= now) {
        calls += this.calls[i]
        failures += this.failures[i]
        slow += this.slow[i]
      }
    }
    out.calls = calls
    out.failures = failures
    out.slow = slow
  }
  clear(): void {
    this.start.fill(Number.NEGATIVE_INFINITY)
  }
}
