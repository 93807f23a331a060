/**
 * Resilience benchmarks: limiter decisions, breaker overhead, bytes per limiter key.
 * Peers (rate-limiter-flexible, cockatiel, opossum) are measured in the same run.
 * `OTP_LIVE=1` re-runs the OTP `ets_counter` group for a live comparison figure (else today's recorded one),
 * between two halves of our limiter rounds.
 */
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { ConsecutiveBreaker, circuitBreaker, handleAll } from "cockatiel"
import { Clock, Effect } from "effect"
import Opossum from "opossum"
import { RateLimiterMemory } from "rate-limiter-flexible"
import * as CircuitBreaker from "../src/resilience/CircuitBreaker.ts"
import * as RateLimiter from "../src/resilience/RateLimiter.ts"
import { emit, heapUsed, median, medianOf, note, now, otpFigures } from "./harness.ts"

const KEYS = 10_000
const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`)

/**
 * Limiter decisions: ours in rounds on both sides of `between` (the live OTP run, when asked for), so that
 * ours and OTP meet the same load; the figure is the median of all rounds.
 */
const limiterDecisions = async (between: () => void): Promise<[number, number, number]> => {
  // 100 per second per key: with 10k keys round-robin the decisions are a mix of allowed and refused.
  const limiter = Effect.runSync(
    RateLimiter.make({ algorithm: "token-bucket", limit: 100, windowMs: 1000, maxKeys: 20_000 }),
  )
  const check = limiter.checkUnsafe!
  const N = 3_000_000
  let sink = 0
  for (let i = 0; i < 200_000; i++) sink += check(keys[i % KEYS]).remaining // warm-up
  const round = (): number => {
    const t = now()
    for (let i = 0; i < N; i++) if (check(keys[i % KEYS]).allowed) sink++
    return N / ((now() - t) / 1000)
  }
  const rounds = [round(), round(), round()]
  between()
  rounds.push(round(), round(), round())
  const ours = median(rounds)
  const M = 300_000
  const effectPath = await medianOf(3, () => {
    const t = now()
    Effect.runSync(
      Effect.gen(function* () {
        for (let i = 0; i < M; i++) if ((yield* limiter.check(keys[i % KEYS])).allowed) sink++
      }),
    )
    return M / ((now() - t) / 1000)
  })
  const rlf = new RateLimiterMemory({ points: 100, duration: 1 })
  const P = 300_000
  const peer = await medianOf(3, async () => {
    const t = now()
    for (let i = 0; i < P; i++) {
      try {
        await rlf.consume(keys[i % KEYS])
        sink++
      } catch {
        sink--
      }
    }
    return P / ((now() - t) / 1000)
  })
  if (sink === 42) note("")
  return [ours, effectPath, peer]
}

/**
 * The OTP `ets_counter.1proc` figure: live with OTP_LIVE=1 (run between our rounds so both see the same
 * load), else through the shared harness (OTP_RESULTS or the newest results file).
 */
const otpEtsCounter = (): { value: number; source: string } => {
  const dir = new URL("../../../shared/anchors/otp-baseline/", import.meta.url).pathname
  if (process.env.OTP_LIVE === "1" && existsSync(`${dir}run.sh`)) {
    try {
      const out = execFileSync(`${dir}run.sh`, ["ets_counter"], { encoding: "utf8", timeout: 120_000 })
      const m = /^ets_counter\.1proc (\d+)/m.exec(out)
      if (m) return { value: Number(m[1]), source: "live" }
    } catch {
      note("OTP live run failed; using the recorded figure")
    }
  }
  const recorded = otpFigures([]).get("ets_counter.1proc")
  return recorded === undefined
    ? { value: 11_661_201, source: "results-2026-11-23.txt (09:07 run)" }
    : { value: recorded, source: process.env.OTP_RESULTS ?? "the newest OTP results file" }
}

/** ns per call of `fn` over `n` sequential awaited calls. */
const nsPerCallAsync = async (n: number, fn: () => Promise<unknown>): Promise<number> => {
  const t = now()
  for (let i = 0; i < n; i++) await fn()
  return ((now() - t) * 1e6) / n
}

/**
 * Overheads are measured in interleaved rounds (ours with/without breaker, each peer, the peers' bare
 * baseline), each round's overhead = with - without, and the median round is reported: load from other
 * processes then hits both sides of each subtraction alike. Every other round runs the sides in reverse
 * order, so neither side always runs first. Two warm-up rounds are dropped.
 *
 * Ours is measured around two no-ops: `Effect.void` (already completed: an `Exit`) and
 * `Effect.sync(() => undefined)` (one interpreter step, like any effect that does work).
 */
const breakerOverhead = async (): Promise<{
  completed: number
  suspended: number
  cockatiel: number
  opossum: number
}> => {
  const N = 300_000
  const P = 100_000
  const breaker = Effect.runSync(CircuitBreaker.make())
  const loops = (noop: Effect.Effect<void>) => ({
    with: Effect.gen(function* () {
      for (let i = 0; i < N; i++) yield* breaker.run(noop)
    }),
    without: Effect.gen(function* () {
      for (let i = 0; i < N; i++) yield* noop
    }),
  })
  const completed = loops(Effect.void)
  const suspended = loops(Effect.sync(() => undefined))
  const effectNs = (program: Effect.Effect<void, unknown>): number => {
    const t = now()
    Effect.runSync(program)
    return ((now() - t) * 1e6) / N
  }
  const overhead = (
    p: { with: Effect.Effect<void, unknown>; without: Effect.Effect<void, unknown> },
    flip: boolean,
  ) => {
    if (flip) {
      const b = effectNs(p.without)
      return effectNs(p.with) - b
    }
    const a = effectNs(p.with)
    return a - effectNs(p.without)
  }
  const fn = async () => undefined
  const cb = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })
  const ob = new Opossum(fn, { timeout: false, resetTimeout: 10_000 })
  const ours: number[] = []
  const oursSuspended: number[] = []
  const cockatiel: number[] = []
  const opossum: number[] = []
  for (let round = 0; round < 9; round++) {
    const flip = round % 2 === 1
    const a = overhead(completed, flip)
    const s = overhead(suspended, flip)
    const base1 = await nsPerCallAsync(P, fn)
    let c = 0
    let o = 0
    if (flip) {
      o = await nsPerCallAsync(P, () => ob.fire())
      c = await nsPerCallAsync(P, () => cb.execute(fn))
    } else {
      c = await nsPerCallAsync(P, () => cb.execute(fn))
      o = await nsPerCallAsync(P, () => ob.fire())
    }
    const base2 = await nsPerCallAsync(P, fn)
    if (round < 2) continue // warm-up rounds
    const base = (base1 + base2) / 2
    ours.push(a)
    oursSuspended.push(s)
    cockatiel.push(c - base)
    opossum.push(o - base)
  }
  ob.shutdown()
  return {
    completed: median(ours),
    suspended: median(oursSuspended),
    cockatiel: median(cockatiel),
    opossum: median(opossum),
  }
}

const keyBytes = (): { perKey: number; afterEviction: number; sizeAfter: number } => {
  const N = 1_000_000
  let t = 0
  const live = Effect.runSync(Effect.clockWith((c) => Effect.succeed(c)))
  const clock: Clock.Clock = Object.create(live, { currentTimeMillisUnsafe: { value: () => t } })
  return Effect.runSync(
    Effect.gen(function* () {
      // Key strings are made inside the loops, so the figure includes the strings the limiter retains.
      // Warm-up cycle, so that the baseline is not inflated by start-up slack the collector returns later.
      const warm = yield* RateLimiter.make({ limit: 10, windowMs: 1000, maxKeys: N })
      for (let i = 0; i < N / 10; i++) warm.checkUnsafe!(`key:${i}`)
      t += 2000
      yield* warm.sweep
      const base = heapUsed()
      const limiter = yield* RateLimiter.make({
        algorithm: "token-bucket",
        limit: 10,
        windowMs: 1000,
        maxKeys: 2 * N,
      })
      for (let i = 0; i < N; i++) limiter.checkUnsafe!(`key:${i}`)
      const loaded = heapUsed()
      t += 2000
      yield* limiter.sweep
      const after = heapUsed()
      return { perKey: (loaded - base) / N, afterEviction: after - base, sizeAfter: yield* limiter.size }
    }).pipe(Effect.provideService(Clock.Clock, clock)),
  )
}

export const run = async (): Promise<void> => {
  // First, while the heap holds nothing from the peers (rate-limiter-flexible frees keys on timers).
  note("resilience: heap per idle limiter key (1M keys, then eviction)")
  const k = keyBytes()
  emit({ name: "resilience.limiter_key_bytes", value: k.perKey, unit: "bytes" })
  emit({ name: "resilience.limiter_heap_after_eviction_bytes", value: k.afterEviction, unit: "bytes" })
  if (k.sizeAfter !== 0) note(`WARNING: ${k.sizeAfter} keys left after eviction`)

  note("resilience: limiter decisions (10k keys, token bucket, one caller)")
  let otp = { value: 0, source: "" }
  const [ours, effectPath, rlf] = await limiterDecisions(() => {
    otp = otpEtsCounter()
  })
  emit({
    name: "resilience.limiter_decisions_per_s",
    value: ours,
    unit: "ops/s",
    peer: "rate-limiter-flexible.RateLimiterMemory",
    peerValue: rlf,
  })
  note(`otp ets_counter.1proc figure from ${otp.source}`)
  emit({
    name: "resilience.limiter_decisions_per_s",
    value: ours,
    unit: "ops/s",
    peer: "otp.ets_counter.1proc",
    peerValue: otp.value,
  })
  emit({
    name: "resilience.limiter_effect_decisions_per_s",
    value: effectPath,
    unit: "ops/s",
    peer: "rate-limiter-flexible.RateLimiterMemory",
    peerValue: rlf,
  })

  note("resilience: breaker overhead (closed breaker around a no-op)")
  const b = await breakerOverhead()
  for (const [peer, peerValue] of [
    ["cockatiel", b.cockatiel],
    ["opossum", b.opossum],
  ] as const) {
    emit({ name: "resilience.breaker_overhead_ns", value: b.completed, unit: "ns", peer, peerValue })
  }
  for (const [peer, peerValue] of [
    ["cockatiel", b.cockatiel],
    ["opossum", b.opossum],
  ] as const) {
    emit({
      name: "resilience.breaker_overhead_suspended_ns",
      value: b.suspended,
      unit: "ns",
      peer,
      peerValue,
    })
  }
}
