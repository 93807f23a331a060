/**
 * Resource benchmarks (Cache, Pool) against the libraries users would pick instead, measured in
 * the same run: lru-cache (cache), generic-pool and tarn (pool).
 *
 * Ours and the peer run in alternating rounds and each side reports the median of its rounds,
 * so that drift on a shared 2-vCPU machine hits both sides alike.
 */
import { Effect, Exit, Scope } from "effect"
import * as GenericPool from "generic-pool"
import { LRUCache } from "lru-cache"
import { Pool as Tarn } from "tarn"
import * as Cache from "../src/resource/Cache.ts"
import * as Pool from "../src/resource/Pool.ts"
import { emit, gc, median, note, now } from "./harness.ts"
import { prng, zipfTrace } from "./zipf.ts"

/** Runs `ours` and `peer` in alternating rounds; returns the median ops/s of each. */
const alternate = async (
  rounds: number,
  ours: () => number | Promise<number>,
  peer: () => number | Promise<number>,
): Promise<[number, number]> => {
  const a: Array<number> = []
  const b: Array<number> = []
  const timed = async (f: () => number | Promise<number>, into: Array<number>) => {
    gc() // each round starts from a collected heap, so one side's garbage is not billed to the other
    into.push(await f())
  }
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      await timed(ours, a)
      await timed(peer, b)
    } else {
      await timed(peer, b)
      await timed(ours, a)
    }
  }
  return [median(a), median(b)]
}

const cacheGet = async (): Promise<void> => {
  const entries = 100_000
  const keys = Array.from({ length: entries }, (_, i) => `key:${i}`)
  const rnd = prng(7)
  const queries = Array.from({ length: 1 << 20 }, () => keys[Math.floor(rnd() * entries)])
  const scope = Scope.makeUnsafe()
  const ours = Effect.runSync(Scope.provide(scope)(Cache.make<string, number>({ maximumSize: entries })))
  const lru = new LRUCache<string, number>({ max: entries })
  for (let i = 0; i < entries; i++) {
    ours.setUnsafe(keys[i], i)
    lru.set(keys[i], i)
  }
  let sink = 0
  const timeOurs = () => {
    const t = now()
    for (let i = 0; i < queries.length; i++) sink += ours.getUnsafe(queries[i])!
    return queries.length / ((now() - t) / 1000)
  }
  const timeLru = () => {
    const t = now()
    for (let i = 0; i < queries.length; i++) sink += lru.get(queries[i])!
    return queries.length / ((now() - t) / 1000)
  }
  await alternate(4, timeOurs, timeLru) // warm-up
  const [a, b] = await alternate(15, timeOurs, timeLru)
  emit({ name: "resilience.cache_get_per_s", value: a, unit: "ops/s", peer: "lru-cache", peerValue: b })

  // the same hits through the Effect API (no peer equivalent; for reference)
  const n = 1 << 18
  const effectLoop = Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* ours.get(queries[i])
  })
  for (let r = 0; r < 3; r++) Effect.runSync(effectLoop) // warm-up
  const xs: Array<number> = []
  for (let r = 0; r < 5; r++) {
    const t = now()
    Effect.runSync(effectLoop)
    xs.push(n / ((now() - t) / 1000))
  }
  emit({ name: "resilience.cache_get_effect_per_s", value: median(xs), unit: "ops/s" })
  if (sink === -1) note("unreachable")
  await Effect.runPromise(Scope.close(scope, Exit.void))
}

const cacheHitRatio = (): void => {
  const capacity = 10_000
  const trace = zipfTrace(1_000_000, 0.9, 1_000_000, 42)
  const ours = Cache.makeUnsafe<number, number>({ maximumSize: capacity })
  const lru = new LRUCache<number, number>({ max: capacity })
  let hitsOurs = 0
  let hitsLru = 0
  for (let i = 0; i < trace.length; i++) {
    const k = trace[i]
    if (ours.getUnsafe(k) !== undefined) hitsOurs++
    else ours.setUnsafe(k, k)
    if (lru.get(k) !== undefined) hitsLru++
    else lru.set(k, k)
  }
  const a = (100 * hitsOurs) / trace.length
  const b = (100 * hitsLru) / trace.length
  emit({ name: "resilience.cache_hit_ratio_zipf", value: a, unit: "%", peer: "lru-cache", peerValue: b })
  emit({ name: "resilience.cache_hit_ratio_zipf_gain", value: a - b, unit: "points" })
}

const poolAcquireRelease = async (): Promise<void> => {
  const n = 200_000
  const scope = Scope.makeUnsafe()
  let id = 0
  const ours = await Effect.runPromise(
    Scope.provide(scope)(Pool.make({ acquire: Effect.sync(() => ({ id: id++ })), min: 1, max: 4 })),
  )
  const useLoop = Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* ours.use(() => Effect.void)
  })
  const scopedLoop = Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* Effect.scoped(ours.get)
  })
  const timeOurs = async () => {
    const t = now()
    await Effect.runPromise(useLoop)
    return n / ((now() - t) / 1000)
  }
  const generic = GenericPool.createPool(
    { create: async () => ({ id: id++ }), destroy: async () => {} },
    { min: 1, max: 4 },
  )
  const timeGeneric = async () => {
    const t = now()
    for (let i = 0; i < n; i++) {
      const r = await generic.acquire()
      generic.release(r)
    }
    return n / ((now() - t) / 1000)
  }
  const tarn = new Tarn({ create: async () => ({ id: id++ }), destroy: () => {}, min: 1, max: 4 })
  const timeTarn = async () => {
    const t = now()
    for (let i = 0; i < n; i++) {
      const r = await tarn.acquire().promise
      tarn.release(r)
    }
    return n / ((now() - t) / 1000)
  }
  await alternate(2, timeOurs, timeGeneric)
  await alternate(2, timeOurs, timeTarn)
  const [a1, g] = await alternate(15, timeOurs, timeGeneric)
  emit({
    name: "resilience.pool_acquire_release_per_s",
    value: a1,
    unit: "ops/s",
    peer: "generic-pool",
    peerValue: g,
  })
  const [a2, tr] = await alternate(15, timeOurs, timeTarn)
  emit({
    name: "resilience.pool_acquire_release_per_s",
    value: a2,
    unit: "ops/s",
    peer: "tarn",
    peerValue: tr,
  })
  for (let r = 0; r < 2; r++) await Effect.runPromise(scopedLoop) // warm-up
  const xs: Array<number> = []
  for (let r = 0; r < 5; r++) {
    const t = now()
    await Effect.runPromise(scopedLoop)
    xs.push(n / ((now() - t) / 1000))
  }
  emit({ name: "resilience.pool_scoped_get_per_s", value: median(xs), unit: "ops/s" })
  await generic.drain()
  await generic.clear()
  await tarn.destroy()
  await Effect.runPromise(Scope.close(scope, Exit.void))
}

export const run = async (): Promise<void> => {
  // the pool first: its loop allocates, so it runs before the cache figures leave large heaps behind
  note("resilience.resource: pool acquire+release, uncontended")
  await poolAcquireRelease()
  note("resilience.resource: cache get (100k entries)")
  await cacheGet()
  note("resilience.resource: Zipf(0.9) hit ratio, 1M reads over 1M keys, 10k capacity")
  cacheHitRatio()
}
