/**
 * DDSketch (Masson, Rim, Lee, VLDB 2019): a quantile sketch with a **relative** error guarantee and
 * bounded memory. Internal to `Slo.ts`.
 *
 * - A value `x > minValue` goes to bucket `k = ceil(log_γ x)` with `γ = (1 + α) / (1 − α)`; bucket `k`
 *   covers `(γ^(k−1), γ^k]` and is reported as `2γ^k / (γ + 1)`, which is within `α·x` of every `x` in
 *   the bucket. So `quantile(q)` is within relative error `α` of the exact lower quantile
 *   `sorted[floor(q·(n−1))]`.
 * - At most `maxBuckets` buckets (a dense array). If the values span more than `maxBuckets` buckets
 *   (ratio max/min above `γ^maxBuckets`, ≈ 6·10^17 for the defaults), the **lowest** buckets are collapsed
 *   into one: only the lowest quantiles lose the guarantee.
 * - Values `≤ minValue` (including 0 and negatives) are counted in a zero bucket and reported as 0.
 *
 * @internal
 */

export interface SketchOptions {
  /** Relative accuracy α in (0, 1). Default 0.01. */
  readonly relativeAccuracy?: number | undefined
  /** Bucket bound. Default 2048. */
  readonly maxBuckets?: number | undefined
  /** Values at or below are counted as 0. Default 1e-9. */
  readonly minValue?: number | undefined
}

export const checkSketchOptions = (module: string, o: SketchOptions | undefined): Required<SketchOptions> => {
  const relativeAccuracy = o?.relativeAccuracy ?? 0.01
  const maxBuckets = o?.maxBuckets ?? 2048
  const minValue = o?.minValue ?? 1e-9
  if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
    throw new RangeError(
      `${module}: "relativeAccuracy" must be in (0, 1), got ${relativeAccuracy}. Pass e.g. 0.01 for 1% relative error.`,
    )
  }
  if (!Number.isInteger(maxBuckets) || maxBuckets < 2 || maxBuckets > 1_000_000) {
    throw new RangeError(`${module}: "maxBuckets" must be an integer in [2, 1000000], got ${maxBuckets}.`)
  }
  if (!(minValue > 0)) throw new RangeError(`${module}: "minValue" must be > 0, got ${minValue}.`)
  return { relativeAccuracy, maxBuckets, minValue }
}

export class DDSketch {
  readonly gamma: number
  readonly logGamma: number
  readonly maxBuckets: number
  readonly minValue: number
  counts: Float64Array
  /** Bucket key of counts[0]. */
  offset = 0
  minKey = 0
  maxKey = -1
  zeroCount = 0
  count = 0
  sum = 0
  min = Number.POSITIVE_INFINITY
  max = Number.NEGATIVE_INFINITY

  constructor(options: Required<SketchOptions>) {
    this.gamma = (1 + options.relativeAccuracy) / (1 - options.relativeAccuracy)
    this.logGamma = Math.log(this.gamma)
    this.maxBuckets = options.maxBuckets
    this.minValue = options.minValue
    this.counts = new Float64Array(options.maxBuckets)
  }

  private get empty(): boolean {
    return this.maxKey < this.minKey
  }

  key(value: number): number {
    return Math.ceil(Math.log(value) / this.logGamma)
  }

  /** Representative value of a bucket. */
  valueOf(key: number): number {
    return (2 * this.gamma ** key) / (this.gamma + 1)
  }

  add(value: number, weight = 1): void {
    if (Number.isNaN(value)) return
    this.count += weight
    this.sum += value * weight
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
    if (value <= this.minValue) {
      this.zeroCount += weight
      return
    }
    this.addKey(this.key(value), weight)
  }

  private addKey(key: number, weight: number): void {
    if (this.empty) {
      this.offset = key - (this.maxBuckets >> 1)
      this.minKey = this.maxKey = key
    } else if (key < this.offset || key >= this.offset + this.maxBuckets) {
      key = this.reshape(key)
    }
    this.counts[key - this.offset] += weight
    if (key < this.minKey) this.minKey = key
    if (key > this.maxKey) this.maxKey = key
  }

  /** Moves the window of keys to include `key`, collapsing the lowest buckets if needed; returns the key to use. */
  private reshape(key: number): number {
    const lo = Math.min(this.minKey, key)
    const hi = Math.max(this.maxKey, key)
    const next = new Float64Array(this.maxBuckets)
    let newOffset: number
    if (hi - lo + 1 <= this.maxBuckets) {
      newOffset = lo - ((this.maxBuckets - (hi - lo + 1)) >> 1)
    } else {
      newOffset = hi - this.maxBuckets + 1
    }
    for (let k = this.minKey; k <= this.maxKey; k++) {
      const c = this.counts[k - this.offset]
      if (c !== 0) next[Math.max(k, newOffset) - newOffset] += c
    }
    this.counts = next
    this.offset = newOffset
    this.minKey = Math.max(this.minKey, newOffset)
    return Math.max(key, newOffset)
  }

  /** Lower q-quantile estimate (q in [0, 1]); `undefined` when empty. */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined
    const rank = q * (this.count - 1)
    let seen = this.zeroCount
    if (seen > rank) return 0
    for (let k = this.minKey; k <= this.maxKey; k++) {
      seen += this.counts[k - this.offset]
      if (seen > rank) return this.valueOf(k)
    }
    return this.empty ? 0 : this.valueOf(this.maxKey)
  }

  /** Adds every bucket of `other` (same options) into this sketch. */
  merge(other: DDSketch): void {
    if (other.count === 0) return
    this.count += other.count
    this.sum += other.sum
    this.zeroCount += other.zeroCount
    if (other.min < this.min) this.min = other.min
    if (other.max > this.max) this.max = other.max
    for (let k = other.minKey; k <= other.maxKey; k++) {
      const c = other.counts[k - other.offset]
      if (c !== 0) this.addKey(k, c)
    }
  }

  clear(): void {
    if (!this.empty) this.counts.fill(0, this.minKey - this.offset, this.maxKey - this.offset + 1)
    this.minKey = 0
    this.maxKey = -1
    this.zeroCount = 0
    this.count = 0
    this.sum = 0
    this.min = Number.POSITIVE_INFINITY
    this.max = Number.NEGATIVE_INFINITY
  }
}
