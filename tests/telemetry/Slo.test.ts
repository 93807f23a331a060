import { describe, expect, it } from "bun:test"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as SignalBus from "../../src/signal/SignalBus.ts"
import * as Slo from "../../src/telemetry/Slo.ts"
import { runTest } from "./harness.ts"

const MIN = 60_000

const run = runTest

/** Per-minute stream: [total, bad] for minute m. */
type Stream = ReadonlyArray<readonly [number, number]>

/** Reference: which rules fire after minute m, computed from the raw stream. */
const referenceTransitions = (stream: Stream, rules: ReadonlyArray<Slo.AlertRule>, budget: number) => {
  const out: Array<string> = []
  const firing = new Set<string>()
  const sum = (m: number, minutes: number) => {
    let total = 0
    let bad = 0
    for (let k = Math.max(0, m - minutes + 1); k <= m; k++) {
      total += stream[k][0]
      bad += stream[k][1]
    }
    return { total, bad }
  }
  for (let m = 0; m < stream.length; m++) {
    for (const r of rules) {
      const l = sum(m, r.longWindowMs / MIN)
      const s = sum(m, r.shortWindowMs / MIN)
      const on =
        Slo.burnRate(l.bad, l.total, budget) >= r.burnRate &&
        Slo.burnRate(s.bad, s.total, budget) >= r.burnRate
      if (on !== firing.has(r.name)) {
        if (on) firing.add(r.name)
        else firing.delete(r.name)
        out.push(`${m}:${on ? "fire" : "resolve"}:${r.name}`)
      }
    }
  }
  return out
}

const segment = fc.record({
  minutes: fc.integer({ min: 1, max: 90 }),
  total: fc.integer({ min: 0, max: 20 }),
  badFraction: fc.constantFrom(0, 0.02, 0.1, 0.3, 1),
})

const toStream = (segments: ReadonlyArray<{ minutes: number; total: number; badFraction: number }>): Stream =>
  segments.flatMap((s) =>
    Array.from({ length: s.minutes }, () => [s.total, Math.round(s.total * s.badFraction)] as const),
  )

describe("Slo", () => {
  it("fires and resolves burn-rate alerts at exactly the minutes the reference model says (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 12 }), async (segments) => {
        const stream = toStream(segments).slice(0, 600)
        const published: Array<string> = []
        const budget = 0.01
        const got = await run(
          Effect.gen(function* () {
            const slo = Slo.makeUnsafe({
              objectives: [{ name: "asks", kind: "errorRate", maxErrorRate: budget }],
              publisher: (a) =>
                void published.push(
                  `${Math.floor((a.at - 1) / MIN)}:${a._tag === "SloAlertFiring" ? "fire" : "resolve"}:${a.rule}`,
                ),
            })
            for (let m = 0; m < stream.length; m++) {
              const [total, bad] = stream[m]
              for (let i = 0; i < total; i++) slo.recordOutcomeUnsafe("asks", i >= bad, m * MIN + i)
              // Rules see finished minutes: evaluating at the start of minute m + 1 covers minute m.
              yield* TestClock.setTime((m + 1) * MIN)
              yield* slo.evaluate
            }
            return published
          }),
        )
        expect(got).toEqual(referenceTransitions(stream, Slo.defaultRules, budget))
      }),
      { numRuns: 25 },
    )
  })

  it("pages in the first minute of total failure and resolves once the 5-minute window is clean again", async () => {
    // 60 good minutes, then every ask fails for 10 minutes, then all good again.
    const stream: Stream = [
      ...Array.from({ length: 60 }, () => [100, 0] as const),
      ...Array.from({ length: 10 }, () => [100, 100] as const),
      ...Array.from({ length: 30 }, () => [100, 0] as const),
    ]
    const expected = referenceTransitions(stream, Slo.defaultRules, 0.001)
    expect(expected[0]).toBe("60:fire:page-1h")
    expect(expected).toContain("74:resolve:page-1h")
    const alerts: Array<Slo.SloAlert> = []
    const got = await run(
      Effect.gen(function* () {
        const slo = yield* Slo.make({
          objectives: [{ name: "asks", kind: "errorRate", maxErrorRate: 0.001 }],
          publisher: (a) => Effect.sync(() => alerts.push(a)),
        })
        // The scoped evaluator runs every minute on the TestClock.
        for (let m = 0; m < stream.length; m++) {
          const [total, bad] = stream[m]
          for (let i = 0; i < total; i++) yield* slo.recordOutcome("asks", i >= bad)
          yield* TestClock.adjust(MIN)
        }
        return alerts.map(
          (a) =>
            `${Math.floor((a.at - 1) / MIN)}:${a._tag === "SloAlertFiring" ? "fire" : "resolve"}:${a.rule}`,
        )
      }),
    )
    expect(got).toEqual(expected)
  })

  it("publishes burn-rate alerts as signals on the SignalBus (slo.alert.firing.<objective>)", async () => {
    const got = await run(
      Effect.gen(function* () {
        const bus = yield* SignalBus.make({ source: "/slo" })
        const sub = yield* bus.subscribe("slo.alert.**", { capacity: 16 })
        const slo = yield* Slo.make({
          objectives: [{ name: "asks", kind: "errorRate", maxErrorRate: 0.001 }],
          publisher: Slo.signalPublisher(bus),
        })
        for (let m = 0; m < 61; m++) {
          for (let i = 0; i < 100; i++) yield* slo.recordOutcome("asks", m < 60)
          yield* TestClock.adjust(MIN)
        }
        const signal = yield* sub.take
        return { type: signal.type, rule: (signal.data as Slo.SloAlert).rule, source: signal.source }
      }),
    )
    expect(got).toEqual({ type: "slo.alert.firing.asks", rule: "page-1h", source: "/slo" })
  })

  it("reports the windowed latency quantile and whether the objective holds", async () => {
    const status = await run(
      Effect.gen(function* () {
        const slo = Slo.makeUnsafe({
          objectives: [
            { name: "ask-latency", kind: "latency", thresholdMs: 1, target: 0.99, windowMs: 5 * MIN },
          ],
        })
        // Old slow values fall out of the 5-minute window.
        for (let i = 0; i < 100; i++) yield* slo.recordLatency("ask-latency", 50)
        yield* TestClock.adjust(10 * MIN)
        for (let i = 1; i <= 1000; i++) yield* slo.recordLatency("ask-latency", i / 2000)
        const ok = yield* slo.status("ask-latency")
        for (let i = 0; i < 20; i++) yield* slo.recordLatency("ask-latency", 3)
        const bad = yield* slo.status("ask-latency")
        return { ok, bad }
      }),
    )
    expect(status.ok.total).toBe(1000)
    expect(Math.abs(status.ok.quantileMs! - 0.495) / 0.495).toBeLessThanOrEqual(0.01)
    expect(status.ok.met).toBe(true)
    expect(status.bad.met).toBe(false)
    expect(status.bad.bad).toBe(20)
    expect(status.bad.rules.map((r) => r.rule)).toEqual(["page-1h", "page-6h"])
  })

  it("fails with SloUnknownObjective for undeclared objectives", async () => {
    const err = await run(
      Effect.gen(function* () {
        const slo = Slo.makeUnsafe({ objectives: [{ name: "a", kind: "errorRate", maxErrorRate: 0.01 }] })
        expect(slo.recordOutcomeUnsafe("b", true, 0)).toBe(false)
        return yield* Effect.flip(slo.recordOutcome("b", true))
      }),
    )
    expect(err._tag).toBe("SloUnknownObjective")
    expect(err.message).toContain('"b"')
  })

  it("stops evaluating when its scope closes", async () => {
    const count = await run(
      Effect.gen(function* () {
        let published = 0
        const fiber = yield* Effect.forkChild(
          Effect.scoped(
            Effect.gen(function* () {
              const slo = yield* Slo.make({
                objectives: [{ name: "a", kind: "errorRate", maxErrorRate: 0.01 }],
                rules: [{ name: "r", severity: "page", longWindowMs: MIN, shortWindowMs: MIN, burnRate: 1 }],
                publisher: () => void published++,
              })
              yield* slo.recordOutcome("a", false)
              yield* TestClock.adjust(MIN)
            }),
          ),
        )
        yield* Fiber.await(fiber)
        const before = published
        yield* TestClock.adjust(10 * MIN)
        return { before, after: published }
      }),
    )
    expect(count.before).toBe(1)
    expect(count.after).toBe(1)
  })

  it("rejects invalid options at construction, naming the option", () => {
    const o = { name: "a", kind: "errorRate", maxErrorRate: 0.01 } as const
    expect(() => Slo.makeUnsafe({ objectives: [{ ...o, maxErrorRate: 2 }] })).toThrow(/"maxErrorRate"/)
    expect(() => Slo.makeUnsafe({ objectives: [o], resolutionMs: 0 })).toThrow(/"resolutionMs"/)
    expect(() =>
      Slo.makeUnsafe({
        objectives: [o],
        rules: [{ name: "r", severity: "page", longWindowMs: 90_000, shortWindowMs: 60_000, burnRate: 2 }],
      }),
    ).toThrow(/"longWindowMs" must be a positive multiple/)
    expect(() =>
      Slo.makeUnsafe({ objectives: [{ name: "l", kind: "latency", thresholdMs: 1, target: 1 }] }),
    ).toThrow(/"target"/)
    expect(() => Slo.makeUnsafe({ objectives: [] })).toThrow(/"objectives"/)
  })
})
