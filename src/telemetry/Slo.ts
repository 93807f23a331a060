/**
 * SLO monitor: objectives ("ask p99 < 1 ms over 5 min", "error rate < 0.1%"), windowed latency quantiles
 * and multi-window, multi-burn-rate alerts (Google SRE workbook, chapter 5).
 *
 * ## Model
 * Every objective counts events as good or bad and has an **error budget**: `1 − target` for a latency
 * objective (bad = slower than `thresholdMs`), `maxErrorRate` for an error-rate objective. The **burn rate**
 * over a window is `(bad / total) / budget`: 1 spends the budget exactly over the SLO period.
 * An alert rule fires when the burn rate is at least `burnRate` over **both** its long and its short window
 * (the short window makes it reset quickly once the problem stops). Defaults, from the workbook:
 * `page` at 14.4× over 1 h and 5 min, `page` at 6× over 6 h and 30 min.
 *
 * ## Using
 * ```ts
 * const slo = yield* Slo.make({
 *   objectives: [
 *     { name: "ask-latency", kind: "latency", thresholdMs: 1, target: 0.99, windowMs: 300_000 },
 *     { name: "ask-errors", kind: "errorRate", maxErrorRate: 0.001 },
 *   ],
 *   publisher: Slo.signalPublisher(bus), // alerts as signals on slo.alert.firing.<objective>
 * })
 * yield* slo.recordLatency("ask-latency", 0.4)
 * yield* slo.recordOutcome("ask-errors", true)
 * const status = yield* slo.status("ask-latency")
 * ```
 *
 * ## Guarantees
 * - **Bounded memory, no timer per entry.** Counts live in a ring of `ceil(longest window / resolutionMs)`
 *   slots per objective; latency quantiles in a ring of `subWindows` DDSketches (each at most `maxBuckets`
 *   buckets). Slots are recycled lazily when the clock reaches them.
 * - **Quantile accuracy.** Windowed quantiles are within `relativeAccuracy` (default 1%) of the exact lower
 *   quantile of the values recorded in the window (see `internal/ddSketch.ts`).
 * - **Exact windows.** Windows are whole slots of `resolutionMs`. Alert rules look at **finished** slots
 *   only: at time `now` a rule window of `W` ms covers the `W / resolutionMs` slots before the current one,
 *   exactly `W` ms of data, lagging by at most one slot (the evaluator runs at slot boundaries, so it sees
 *   each slot as soon as it finishes). The status window (`windowMs`) is live: the current partial slot
 *   and the ones before it. Rule windows must be multiples of `resolutionMs`.
 * - **Alerts.** `evaluate` publishes one `SloAlertFiring` when a rule starts firing and one `SloAlertResolved`
 *   when it stops; nothing while the state is unchanged. A scoped fiber evaluates every
 *   `evaluationIntervalMs` and ends with the Scope. A failing publisher is logged, never propagated.
 *
 * @module
 */
import { Cause, Clock, Effect, Metric, type Scope } from "effect"
import { checkSketchOptions, type SketchOptions } from "./internal/ddSketch.ts"
import { CountRing, SketchRing } from "./internal/windows.ts"
import { sloAlertsFiring, sloBurnRate } from "./Metrics.ts"
import { SloUnknownObjective } from "./TelemetryError.ts"

/**
 * An objective on latency: at least `target` of events complete within `thresholdMs`.
 * "ask p99 < 1 ms over 5 min" is `{ kind: "latency", thresholdMs: 1, target: 0.99, windowMs: 300_000 }`.
 *
 * @example
 * ```ts
 * const o: Slo.LatencyObjective = { name: "ask-latency", kind: "latency", thresholdMs: 1, target: 0.99 }
 * ```
 */
export interface LatencyObjective {
  readonly name: string
  readonly kind: "latency"
  readonly thresholdMs: number
  /** Fraction of events that must be within the threshold, in (0, 1). Also the quantile reported. */
  readonly target: number
  /** Window of the reported quantile. Default 5 minutes. */
  readonly windowMs?: number | undefined
}

/**
 * An objective on the error rate: at most `maxErrorRate` of events fail.
 *
 * @example
 * ```ts
 * const o: Slo.ErrorRateObjective = { name: "ask-errors", kind: "errorRate", maxErrorRate: 0.001 }
 * ```
 */
export interface ErrorRateObjective {
  readonly name: string
  readonly kind: "errorRate"
  /** In (0, 1): 0.001 is "error rate < 0.1%". */
  readonly maxErrorRate: number
  /** Window of the reported error rate. Default 5 minutes. */
  readonly windowMs?: number | undefined
}

/** Either objective. @example const o: Slo.Objective = { name: "e", kind: "errorRate", maxErrorRate: 0.01 } */
export type Objective = LatencyObjective | ErrorRateObjective

/**
 * A multi-window burn-rate alert rule.
 *
 * @example
 * ```ts
 * const rule: Slo.AlertRule = { name: "page-fast", severity: "page", longWindowMs: 3_600_000, shortWindowMs: 300_000, burnRate: 14.4 }
 * ```
 */
export interface AlertRule {
  readonly name: string
  readonly severity: "page" | "ticket"
  readonly longWindowMs: number
  readonly shortWindowMs: number
  readonly burnRate: number
}

/**
 * The SRE workbook's paging rules: 2% of a 30-day budget in 1 h (14.4×), 5% in 6 h (6×).
 *
 * @example
 * ```ts
 * Slo.make({ objectives, rules: Slo.defaultRules })
 * ```
 */
export const defaultRules: ReadonlyArray<AlertRule> = [
  { name: "page-1h", severity: "page", longWindowMs: 3_600_000, shortWindowMs: 300_000, burnRate: 14.4 },
  { name: "page-6h", severity: "page", longWindowMs: 21_600_000, shortWindowMs: 1_800_000, burnRate: 6 },
]

/**
 * A published alert transition.
 *
 * @example
 * ```ts
 * const publisher = (a: Slo.SloAlert) => console.log(a._tag, a.objective, a.rule)
 * ```
 */
export interface SloAlert {
  readonly _tag: "SloAlertFiring" | "SloAlertResolved"
  readonly objective: string
  readonly rule: string
  readonly severity: "page" | "ticket"
  readonly burnRateLong: number
  readonly burnRateShort: number
  readonly threshold: number
  readonly at: number
}

/**
 * Where alerts go: a function returning nothing or an Effect ({@link signalPublisher} sends them on a SignalBus).
 *
 * @example
 * ```ts
 * const publisher: Slo.Publisher = (alert) => Effect.log(alert._tag)
 * ```
 */
export type Publisher = (alert: SloAlert) => void | Effect.Effect<unknown, unknown>

/**
 * A publisher that sends alerts as signals: `slo.alert.firing.<objective>` and
 * `slo.alert.resolved.<objective>` on any bus with a SignalBus-shaped `publish` (objective names are
 * turned into topic-safe segments). Subscribe with `slo.alert.**`.
 *
 * @example
 * ```ts
 * const bus = yield* SignalBus.make({ source: "/slo" })
 * const slo = yield* Slo.make({ objectives, publisher: Slo.signalPublisher(bus) })
 * const alerts = yield* bus.subscribe("slo.alert.firing.*")
 * ```
 */
export const signalPublisher =
  (bus: {
    readonly publish: (input: {
      readonly type: string
      readonly data: SloAlert
    }) => Effect.Effect<unknown, unknown>
  }): Publisher =>
  (alert) =>
    bus.publish({
      type: `slo.alert.${alert._tag === "SloAlertFiring" ? "firing" : "resolved"}.${alert.objective.replace(/[^A-Za-z0-9_:/-]/g, "_")}`,
      data: alert,
    })

/**
 * Status of one rule at the time of the query.
 *
 * @example
 * ```ts
 * status.rules[0].firing
 * ```
 */
export interface RuleStatus {
  readonly rule: string
  readonly severity: "page" | "ticket"
  readonly threshold: number
  readonly burnRateLong: number
  readonly burnRateShort: number
  readonly firing: boolean
}

/**
 * Status of one objective.
 *
 * @example
 * ```ts
 * const s = yield* slo.status("ask-latency")
 * s.met // false while p99 over 5 min exceeds 1 ms
 * ```
 */
export interface ObjectiveStatus {
  readonly name: string
  readonly kind: "latency" | "errorRate"
  readonly budget: number
  readonly windowMs: number
  /** Events and bad events over `windowMs` (live window, including the current slot). */
  readonly total: number
  readonly bad: number
  /** `bad / total` over `windowMs` (0 when no events). */
  readonly errorRate: number
  /** Latency objectives: the `target` quantile over `windowMs` (undefined when no events). */
  readonly quantileMs?: number | undefined
  /** Whether the objective holds over `windowMs` (true when no events). */
  readonly met: boolean
  /** Burn rates over finished slots, as `evaluate` computes them. */
  readonly rules: ReadonlyArray<RuleStatus>
  /** The rules currently firing (as of the last `evaluate`). */
  readonly firing: ReadonlyArray<string>
}

/**
 * Options of {@link make}.
 *
 * @example
 * ```ts
 * Slo.make({ objectives, rules: Slo.defaultRules, resolutionMs: 60_000, publisher })
 * ```
 */
export interface Options {
  readonly objectives: ReadonlyArray<Objective>
  /** Default {@link defaultRules}. */
  readonly rules?: ReadonlyArray<AlertRule> | undefined
  /** Slot width of the count rings. Default 60 000 (1 min). Rule windows must be multiples of it. */
  readonly resolutionMs?: number | undefined
  /** Latency sketch sub-windows per quantile window. Default 10. */
  readonly subWindows?: number | undefined
  /** Sketch accuracy and bounds (defaults: 1% relative error, 2048 buckets). */
  readonly sketch?: SketchOptions | undefined
  /** Alert transitions go here. Default: none (status only). */
  readonly publisher?: Publisher | undefined
  /** Period of the background evaluation. Default `resolutionMs`. */
  readonly evaluationIntervalMs?: number | undefined
}

/**
 * The SLO monitor.
 *
 * @example
 * ```ts
 * const slo = yield* Slo.make({ objectives: [{ name: "asks", kind: "errorRate", maxErrorRate: 0.001 }] })
 * yield* slo.recordOutcome("asks", false)
 * ```
 */
export interface SloMonitor {
  readonly recordLatency: (objective: string, ms: number) => Effect.Effect<void, SloUnknownObjective>
  readonly recordOutcome: (objective: string, ok: boolean) => Effect.Effect<void, SloUnknownObjective>
  /** Synchronous record at an explicit time (epoch ms); `false` for an unknown objective. */
  readonly recordLatencyUnsafe: (objective: string, ms: number, now: number) => boolean
  readonly recordOutcomeUnsafe: (objective: string, ok: boolean, now: number) => boolean
  /** Evaluates every rule now and publishes transitions; returns the alerts published. */
  readonly evaluate: Effect.Effect<ReadonlyArray<SloAlert>>
  readonly status: (objective: string) => Effect.Effect<ObjectiveStatus, SloUnknownObjective>
  readonly statusAll: Effect.Effect<ReadonlyArray<ObjectiveStatus>>
}

interface State {
  readonly objective: Objective
  readonly budget: number
  readonly windowMs: number
  readonly counts: CountRing
  readonly sketches: SketchRing | undefined
  readonly firing: Set<string>
}

const MAX_SLOTS = 100_000

/**
 * Burn rate of `bad` among `total` events for an error budget (0 when no events).
 *
 * @example
 * ```ts
 * Slo.burnRate(3, 100, 0.01) // 3
 * ```
 */
export const burnRate = (bad: number, total: number, budget: number): number =>
  total === 0 ? 0 : bad / total / budget

const check = (cond: boolean, message: string) => {
  if (!cond) throw new RangeError(`Slo: ${message}`)
}

/**
 * Creates the monitor and starts its evaluation fiber in the current Scope. Invalid options throw a
 * `RangeError` naming the option.
 *
 * @example
 * ```ts
 * const slo = yield* Slo.make({ objectives: [{ name: "ask-latency", kind: "latency", thresholdMs: 1, target: 0.99 }] })
 * ```
 */
export const make = (options: Options): Effect.Effect<SloMonitor, never, Scope.Scope> =>
  Effect.gen(function* () {
    const monitor = makeUnsafe(options)
    const interval = options.evaluationIntervalMs ?? options.resolutionMs ?? 60_000
    check(interval > 0, `"evaluationIntervalMs" must be > 0, got ${interval}.`)
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(interval), monitor.evaluate)))
    return monitor
  })

/**
 * Creates the monitor without a background fiber: call `evaluate` yourself.
 *
 * @example
 * ```ts
 * const slo = Slo.makeUnsafe({ objectives: [{ name: "asks", kind: "errorRate", maxErrorRate: 0.001 }] })
 * slo.recordOutcomeUnsafe("asks", true, Date.now())
 * ```
 */
export const makeUnsafe = (options: Options): SloMonitor => {
  const resolutionMs = options.resolutionMs ?? 60_000
  const rules = options.rules ?? defaultRules
  const subWindows = options.subWindows ?? 10
  const sketchOptions = checkSketchOptions("Slo", options.sketch)
  check(
    resolutionMs > 0 && Number.isInteger(resolutionMs),
    `"resolutionMs" must be a positive integer, got ${resolutionMs}.`,
  )
  check(
    Number.isInteger(subWindows) && subWindows >= 1 && subWindows <= 1000,
    `"subWindows" must be an integer in [1, 1000], got ${subWindows}.`,
  )
  check(
    options.objectives.length > 0 && options.objectives.length <= 256,
    `"objectives" must hold 1 to 256 objectives, got ${options.objectives.length}.`,
  )
  const windowSlots = (name: string, ms: number) => {
    check(
      ms > 0 && ms % resolutionMs === 0,
      `${name} must be a positive multiple of resolutionMs (${resolutionMs}), got ${ms}.`,
    )
    return ms / resolutionMs
  }
  let longest = 1
  const ruleNames = new Set<string>()
  for (const r of rules) {
    check(!ruleNames.has(r.name), `rule names must be unique, "${r.name}" appears twice.`)
    ruleNames.add(r.name)
    check(r.burnRate > 0, `rule "${r.name}": "burnRate" must be > 0, got ${r.burnRate}.`)
    const l = windowSlots(`rule "${r.name}": "longWindowMs"`, r.longWindowMs)
    const s = windowSlots(`rule "${r.name}": "shortWindowMs"`, r.shortWindowMs)
    check(s <= l, `rule "${r.name}": "shortWindowMs" must not exceed "longWindowMs".`)
    longest = Math.max(longest, l)
  }
  const states = new Map<string, State>()
  for (const o of options.objectives) {
    check(!states.has(o.name), `objective names must be unique, "${o.name}" appears twice.`)
    const windowMs = o.windowMs ?? 300_000
    longest = Math.max(longest, windowSlots(`objective "${o.name}": "windowMs"`, windowMs))
    let budget: number
    if (o.kind === "latency") {
      check(o.thresholdMs > 0, `objective "${o.name}": "thresholdMs" must be > 0, got ${o.thresholdMs}.`)
      check(
        o.target > 0 && o.target < 1,
        `objective "${o.name}": "target" must be in (0, 1), got ${o.target}.`,
      )
      budget = 1 - o.target
    } else {
      check(
        o.maxErrorRate > 0 && o.maxErrorRate < 1,
        `objective "${o.name}": "maxErrorRate" must be in (0, 1), got ${o.maxErrorRate}.`,
      )
      budget = o.maxErrorRate
    }
    states.set(o.name, {
      objective: o,
      budget,
      windowMs,
      counts: undefined as any,
      sketches: undefined,
      firing: new Set(),
    })
  }
  check(
    longest <= MAX_SLOTS,
    `the longest window spans ${longest} slots (max ${MAX_SLOTS}); raise "resolutionMs".`,
  )
  for (const [name, st] of states) {
    const sketchSlotMs = Math.max(1, Math.floor(st.windowMs / subWindows))
    states.set(name, {
      ...st,
      counts: new CountRing(resolutionMs, longest),
      sketches:
        st.objective.kind === "latency"
          ? new SketchRing(sketchSlotMs, Math.ceil(st.windowMs / sketchSlotMs), sketchOptions)
          : undefined,
    })
  }
  const known = [...states.keys()]
  const unknown = (name: string) => new SloUnknownObjective({ name, known })

  const recordLatencyUnsafe = (name: string, ms: number, now: number): boolean => {
    const st = states.get(name)
    if (st === undefined) return false
    const o = st.objective
    const bad = o.kind === "latency" ? !(ms <= o.thresholdMs) : false
    st.counts.add(now, bad)
    st.sketches?.add(now, ms)
    return true
  }
  const recordOutcomeUnsafe = (name: string, ok: boolean, now: number): boolean => {
    const st = states.get(name)
    if (st === undefined) return false
    st.counts.add(now, !ok)
    return true
  }

  const ruleStatus = (st: State, now: number): Array<RuleStatus> =>
    rules.map((r) => {
      const long = st.counts.sum(now, r.longWindowMs / resolutionMs, true)
      const short = st.counts.sum(now, r.shortWindowMs / resolutionMs, true)
      const burnRateLong = burnRate(long.bad, long.total, st.budget)
      const burnRateShort = burnRate(short.bad, short.total, st.budget)
      return {
        rule: r.name,
        severity: r.severity,
        threshold: r.burnRate,
        burnRateLong,
        burnRateShort,
        firing: burnRateLong >= r.burnRate && burnRateShort >= r.burnRate,
      }
    })

  const statusAt = (st: State, now: number): ObjectiveStatus => {
    const w = st.counts.sum(now, st.windowMs / resolutionMs)
    const errorRate = w.total === 0 ? 0 : w.bad / w.total
    const o = st.objective
    let quantileMs: number | undefined
    let met: boolean
    if (o.kind === "latency") {
      const sketch = st.sketches!.window(now, st.sketches!.slots)
      quantileMs = sketch.quantile(o.target)
      met = quantileMs === undefined || quantileMs <= o.thresholdMs
    } else {
      met = errorRate <= o.maxErrorRate
    }
    return {
      name: o.name,
      kind: o.kind,
      budget: st.budget,
      windowMs: st.windowMs,
      total: w.total,
      bad: w.bad,
      errorRate,
      quantileMs,
      met,
      rules: ruleStatus(st, now),
      firing: [...st.firing],
    }
  }

  const evaluateAt = (now: number): Array<SloAlert> => {
    const out: Array<SloAlert> = []
    for (const st of states.values()) {
      for (const rs of ruleStatus(st, now)) {
        const was = st.firing.has(rs.rule)
        if (rs.firing === was) continue
        if (rs.firing) st.firing.add(rs.rule)
        else st.firing.delete(rs.rule)
        out.push({
          _tag: rs.firing ? "SloAlertFiring" : "SloAlertResolved",
          objective: st.objective.name,
          rule: rs.rule,
          severity: rs.severity,
          burnRateLong: rs.burnRateLong,
          burnRateShort: rs.burnRateShort,
          threshold: rs.threshold,
          at: now,
        })
      }
    }
    return out
  }

  const publish = (alert: SloAlert): Effect.Effect<void> => {
    const publisher = options.publisher
    if (publisher === undefined) return Effect.void
    return Effect.suspend(() => {
      const r = publisher(alert)
      return Effect.isEffect(r) ? Effect.asVoid(r) : Effect.void
    }).pipe(
      Effect.catchCause((cause) =>
        Effect.logWarning(
          `Slo: publisher failed for ${alert._tag} ${alert.objective}/${alert.rule}`,
          Cause.squash(cause),
        ),
      ),
    )
  }

  const evaluate = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const alerts = evaluateAt(now)
    let firing = 0
    for (const st of states.values()) {
      firing += st.firing.size
      for (const rs of ruleStatus(st, now)) {
        yield* Metric.update(
          Metric.withAttributes(sloBurnRate, { objective: st.objective.name, rule: rs.rule }),
          rs.burnRateLong,
        )
      }
    }
    yield* Metric.update(sloAlertsFiring, firing)
    for (const a of alerts) yield* publish(a)
    return alerts
  })

  const withState = <A>(
    name: string,
    f: (st: State, now: number) => A,
  ): Effect.Effect<A, SloUnknownObjective> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const st = states.get(name)
      return st === undefined ? Effect.fail(unknown(name)) : Effect.sync(() => f(st, now))
    })

  return {
    recordLatencyUnsafe,
    recordOutcomeUnsafe,
    recordLatency: (name, ms) => withState(name, (_, now) => void recordLatencyUnsafe(name, ms, now)),
    recordOutcome: (name, ok) => withState(name, (_, now) => void recordOutcomeUnsafe(name, ok, now)),
    evaluate,
    status: (name) => withState(name, statusAt),
    statusAll: Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => [...states.values()].map((st) => statusAt(st, now))),
    ),
  }
}
