/**
 * Seeded workload traces shared by the resource benchmark and its tests (not a bench file:
 * `bench/run.ts` only runs `*.bench.ts`).
 */

/** mulberry32: a small seeded PRNG returning floats in [0, 1), so every run replays the same trace. */
export const prng = (seed: number) => (): number => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** `length` draws of a Zipf(s) distribution over ranks `0..keys-1` (inverse CDF by binary search). */
export const zipfTrace = (keys: number, s: number, length: number, seed: number): Int32Array => {
  const cdf = new Float64Array(keys)
  let acc = 0
  for (let i = 0; i < keys; i++) cdf[i] = acc += 1 / (i + 1) ** s
  const rnd = prng(seed)
  const trace = new Int32Array(length)
  for (let j = 0; j < length; j++) {
    const u = rnd() * acc
    let lo = 0
    let hi = keys - 1
    while (lo < hi) {
      const m = (lo + hi) >>> 1
      if (cdf[m] < u) lo = m + 1
      else hi = m
    }
    trace[j] = lo
  }
  return trace
}
