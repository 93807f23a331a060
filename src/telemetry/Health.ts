/**
 * Health checks: registered checks run periodically with a timeout, and aggregate into
 * `healthy | degraded | unhealthy` for two probes, **liveness** (should the process be restarted?) and
 * **readiness** (should it receive traffic?).
 *
 * ## Using
 * ```ts
 * const health = yield* Health.Health
 * yield* health.register({ name: "registry", check: Effect.succeed("healthy"), intervalMs: 5000, probes: ["readiness"] })
 * const { status } = yield* health.readiness
 * ```
 *
 * ## Guarantees
 * - **Scoped.** Each check runs in a fiber forked into the Scope of `register`; closing that Scope interrupts
 *   the fiber and removes the check. No check outlives its owner.
 * - **Bounded.** At most `maxChecks` checks (else `HealthChecksExhausted`); one result kept per check.
 * - **Time-boxed.** A run longer than `timeoutMs` counts as a failure. Failures (error, defect or timeout)
 *   make the check `unhealthy` when `critical` (the default) and `degraded` otherwise.
 * - **Aggregation.** A probe is `unhealthy` if any of its checks is, else `degraded` if any is, else
 *   `healthy` (also with no checks). A check that has not completed its first run is `pending`: readiness
 *   counts it as `unhealthy` (not ready yet), liveness ignores it.
 *
 * Checks run first at registration, then every `intervalMs` on the Effect clock (TestClock in tests).
 *
 * @module
 */
import { Cause, Clock, Context, Effect, Exit, Layer, Metric, type Scope } from "effect"
import { healthChecks, healthStatus } from "./Metrics.ts"
import { HealthCheckExists, HealthChecksExhausted } from "./TelemetryError.ts"

/** Aggregate or per-check status. @example const s: Health.Status = "degraded" */
export type Status = "healthy" | "degraded" | "unhealthy"

/** Which probe a check feeds. @example const p: Health.Probe = "readiness" */
export type Probe = "liveness" | "readiness"

/**
 * A check to register. `check` succeeds with a status (or nothing, meaning healthy) or fails.
 *
 * @example
 * ```ts
 * const c: Health.CheckOptions = { name: "db", check: ping, intervalMs: 10_000, timeoutMs: 500, probes: ["readiness"] }
 * ```
 */
export interface CheckOptions {
  readonly name: string
  readonly check: Effect.Effect<Status | void, unknown>
  /** Default: the service's `intervalMs` (10 000). */
  readonly intervalMs?: number | undefined
  /** Default: the service's `timeoutMs` (1000). */
  readonly timeoutMs?: number | undefined
  /** Default `["readiness"]`. */
  readonly probes?: ReadonlyArray<Probe> | undefined
  /** Failure means unhealthy (true, default) or degraded (false). */
  readonly critical?: boolean | undefined
}

/**
 * The latest result of one check.
 *
 * @example
 * ```ts
 * report.checks[0].status // "healthy" | "degraded" | "unhealthy" | "pending"
 * ```
 */
export interface CheckResult {
  readonly name: string
  readonly status: Status | "pending"
  readonly probes: ReadonlyArray<Probe>
  readonly lastRunAt?: number | undefined
  readonly durationMs?: number | undefined
  readonly error?: string | undefined
  readonly consecutiveFailures: number
}

/**
 * An aggregate report for one probe.
 *
 * @example
 * ```ts
 * const r = yield* health.readiness
 * if (r.status === "unhealthy") return new Response(null, { status: 503 })
 * ```
 */
export interface Report {
  readonly probe: Probe
  readonly status: Status
  readonly checks: ReadonlyArray<CheckResult>
}

/**
 * Options of {@link make}.
 *
 * @example
 * ```ts
 * Health.make({ maxChecks: 64, intervalMs: 10_000, timeoutMs: 1000 })
 * ```
 */
export interface Options {
  /** Default 64. */
  readonly maxChecks?: number | undefined
  /** Default interval of checks. Default 10 000 ms. */
  readonly intervalMs?: number | undefined
  /** Default timeout of checks. Default 1000 ms. */
  readonly timeoutMs?: number | undefined
}

/**
 * The health service.
 *
 * @example
 * ```ts
 * const health = yield* Health.Health
 * yield* health.register({ name: "bus", check: Effect.void })
 * ```
 */
export interface HealthService {
  readonly register: (
    options: CheckOptions,
  ) => Effect.Effect<void, HealthCheckExists | HealthChecksExhausted, Scope.Scope>
  readonly report: (probe: Probe) => Effect.Effect<Report>
  readonly liveness: Effect.Effect<Report>
  readonly readiness: Effect.Effect<Report>
}

const SEVERITY: Record<Status, number> = { healthy: 0, degraded: 1, unhealthy: 2 }

/**
 * Aggregates check statuses for a probe (pending: unhealthy for readiness, ignored for liveness).
 *
 * @example
 * ```ts
 * Health.aggregate("readiness", ["healthy", "degraded"]) // "degraded"
 * ```
 */
export const aggregate = (probe: Probe, statuses: ReadonlyArray<Status | "pending">): Status => {
  let worst = 0
  for (const s of statuses) {
    const level = s === "pending" ? (probe === "readiness" ? 2 : 0) : SEVERITY[s]
    if (level > worst) worst = level
  }
  return worst === 2 ? "unhealthy" : worst === 1 ? "degraded" : "healthy"
}

const positive = (name: string, value: number | undefined, fallback: number, integer = false): number => {
  const v = value ?? fallback
  if (!(v > 0) || (integer && !Number.isInteger(v))) {
    throw new RangeError(`Health: "${name}" must be a positive ${integer ? "integer" : "number"}, got ${v}.`)
  }
  return v
}

/**
 * Creates the service. Invalid options throw a `RangeError` naming the option (also per check, at
 * `register`).
 *
 * @example
 * ```ts
 * const health = yield* Health.make()
 * ```
 */
export const make = (options?: Options): Effect.Effect<HealthService> =>
  Effect.sync(() => {
    const maxChecks = positive("maxChecks", options?.maxChecks, 64, true)
    const defaultInterval = positive("intervalMs", options?.intervalMs, 10_000)
    const defaultTimeout = positive("timeoutMs", options?.timeoutMs, 1000)
    const results = new Map<string, CheckResult>()

    const register = (o: CheckOptions) =>
      Effect.suspend(() => {
        // Misuse is a defect raised before the check is admitted.
        const intervalMs = positive(`checks["${o.name}"].intervalMs`, o.intervalMs, defaultInterval)
        const timeoutMs = positive(`checks["${o.name}"].timeoutMs`, o.timeoutMs, defaultTimeout)
        return registerChecked(o, intervalMs, timeoutMs)
      })

    const registerChecked = (o: CheckOptions, intervalMs: number, timeoutMs: number) =>
      Effect.gen(function* () {
        const probes = o.probes ?? ["readiness"]
        const critical = o.critical ?? true
        const admitted = yield* Effect.sync(() => {
          if (results.has(o.name)) return new HealthCheckExists({ name: o.name })
          if (results.size >= maxChecks) return new HealthChecksExhausted({ maxChecks })
          results.set(o.name, { name: o.name, status: "pending", probes, consecutiveFailures: 0 })
          return undefined
        })
        if (admitted !== undefined) return yield* admitted
        yield* Effect.addFinalizer(() => Effect.sync(() => results.delete(o.name)))

        const runOnce = Effect.gen(function* () {
          const start = yield* Clock.currentTimeMillis
          const exit = yield* Effect.exit(Effect.timeout(o.check, timeoutMs))
          const end = yield* Clock.currentTimeMillis
          const prev = results.get(o.name)
          if (prev === undefined) return
          const failedStatus: Status = critical ? "unhealthy" : "degraded"
          const next: CheckResult = Exit.isSuccess(exit)
            ? {
                ...prev,
                status: exit.value ?? "healthy",
                lastRunAt: end,
                durationMs: end - start,
                error: undefined,
                consecutiveFailures: 0,
              }
            : {
                ...prev,
                status: failedStatus,
                lastRunAt: end,
                durationMs: end - start,
                error: describe(Cause.squash(exit.cause)),
                consecutiveFailures: prev.consecutiveFailures + 1,
              }
          results.set(o.name, next)
          yield* Metric.update(Metric.withAttributes(healthChecks, { status: String(next.status) }), 1)
        })
        yield* Effect.forkScoped(Effect.forever(Effect.andThen(runOnce, Effect.sleep(intervalMs))))
      })

    const report = (probe: Probe): Effect.Effect<Report> =>
      Effect.gen(function* () {
        const checks = [...results.values()].filter((r) => r.probes.includes(probe))
        const status = aggregate(
          probe,
          checks.map((c) => c.status),
        )
        yield* Metric.update(healthStatus[probe], SEVERITY[status])
        return { probe, status, checks }
      })

    return {
      register,
      report,
      liveness: report("liveness"),
      readiness: report("readiness"),
    } satisfies HealthService
  })

const describe = (u: unknown): string =>
  Cause.isTimeoutError(u)
    ? "timed out"
    : u instanceof Error
      ? `${u.name}: ${u.message}`
      : typeof u === "string"
        ? u
        : (JSON.stringify(u) ?? String(u))

/**
 * The health service tag.
 *
 * @example
 * ```ts
 * const health = yield* Health.Health
 * ```
 */
export class Health extends Context.Service<Health, HealthService>()("troupe/Health") {}

/**
 * In-memory health layer.
 *
 * @example
 * ```ts
 * Effect.provide(program, Health.layer({ intervalMs: 5000 }))
 * ```
 */
export const layer = (options?: Options): Layer.Layer<Health> => Layer.effect(Health)(make(options))
