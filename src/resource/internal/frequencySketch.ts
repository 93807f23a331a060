/**
 * A count-min sketch of access frequencies for W-TinyLFU admission (after Caffeine's
 * `FrequencySketch`).
 *
 * - Four 8-bit counters per key (capped at 15, i.e. 4-bit semantics), all four inside one
 *   64-byte block so an increment touches a single cache line.
 * - Conservative update: only the counters equal to the current minimum are incremented,
 *   which lowers over-estimation.
 * - Aging (`halve`) is driven by the owner (every `10 × capacity` recorded accesses), so the
 *   sketch follows a drifting popularity distribution. Memory is fixed at construction:
 *   `4 × nextPow2(capacity)` bytes (512 KiB for 100k entries); the owner sizes it by entries
 *   held, never by a weight budget.
 * @internal
 */
export class FrequencySketch {
  private readonly table: Uint8Array
  private readonly blockMask: number

  constructor(capacity: number) {
    const counters = nextPowerOfTwo(Math.max(64, Math.min(capacity, 1 << 26)) * 4)
    this.table = new Uint8Array(counters)
    this.blockMask = (counters >>> 6) - 1
  }

  /** The estimated frequency of the key with hash `h` (0..15). */
  frequency(h: number): number {
    const t = this.table
    const base = (spread(h) & this.blockMask) << 6
    const h2 = rehash(h)
    let min = t[base + (h2 & 15)]
    let c = t[base + 16 + ((h2 >>> 4) & 15)]
    if (c < min) min = c
    c = t[base + 32 + ((h2 >>> 8) & 15)]
    if (c < min) min = c
    c = t[base + 48 + ((h2 >>> 12) & 15)]
    return Math.min(c, min)
  }

  /** Records `n` (default 1) accesses of the key with hash `h` (conservative update, capped at 15). */
  increment(h: number, n = 1): void {
    const t = this.table
    const base = (spread(h) & this.blockMask) << 6
    const h2 = rehash(h)
    const i0 = base + (h2 & 15)
    const i1 = base + 16 + ((h2 >>> 4) & 15)
    const i2 = base + 32 + ((h2 >>> 8) & 15)
    const i3 = base + 48 + ((h2 >>> 12) & 15)
    let min = t[i0]
    if (t[i1] < min) min = t[i1]
    if (t[i2] < min) min = t[i2]
    if (t[i3] < min) min = t[i3]
    if (min >= 15) return
    const target = Math.min(min + n, 15)
    if (t[i0] < target) t[i0] = target
    if (t[i1] < target) t[i1] = target
    if (t[i2] < target) t[i2] = target
    if (t[i3] < target) t[i3] = target
  }

  /** Halves every counter (aging). */
  halve(): void {
    const t = this.table
    for (let i = 0; i < t.length; i++) t[i] >>>= 1
  }
}

const nextPowerOfTwo = (n: number): number => {
  let p = 1
  while (p < n) p *= 2
  return p
}

const spread = (h: number): number => {
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b)
  return h ^ (h >>> 16)
}

const rehash = (h: number): number => {
  h = Math.imul(h, 0x31848bab)
  return h ^ (h >>> 14)
}

const f64 = new Float64Array(1)
const i32 = new Int32Array(f64.buffer)
const identities = new WeakMap<object, number>()
let nextIdentity = 1

/**
 * A 32-bit hash of any key: integers are mixed, strings hashed over at most their first and
 * last 32 characters (plus length), objects by identity.
 * @internal
 */
export const hashKey = (key: unknown): number => {
  let h: number
  if (typeof key === "string") {
    const n = key.length
    h = 0x811c9dc5 ^ n
    if (n <= 64) {
      for (let i = 0; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
    } else {
      for (let i = 0; i < 32; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
      for (let i = n - 32; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
    }
  } else if (typeof key === "number") {
    if ((key | 0) === key) h = key
    else {
      f64[0] = key
      h = i32[0] ^ Math.imul(i32[1], 0x27d4eb2d)
    }
  } else if ((typeof key === "object" && key !== null) || typeof key === "function") {
    let id = identities.get(key as object)
    if (id === undefined) {
      id = nextIdentity++
      identities.set(key as object, id)
    }
    h = id
  } else {
    return hashKey(String(key))
  }
  // murmur3 fmix32
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}
