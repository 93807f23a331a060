/**
 * Admission control against fixed budgets: entries, estimated bytes and concurrent operations.
 *
 * A caller asks for an amount of each budget with `acquire`; the request is admitted whole or
 * refused whole (`BudgetExceeded`, naming the first budget that would overflow) — it never
 * waits. An admitted request holds a token that gives the amounts back when its scope closes
 * (success, failure or interruption) or when `release` is called, whichever comes first.
 *
 * ## Guarantees
 *
 * - **Never over-admits**: the check and the reservation happen in one synchronous section, so
 *   for every budget `used <= limit` holds at every instant, however many fibers race.
 * - **Alerts**: when a budget's usage rises to `alertThreshold × limit` or above, each listener
 *   receives an `"above"` alert once; when it falls back below, a `"below"` alert (hysteresis:
 *   one alert per crossing, not per request). Listeners are synchronous callbacks registered with
 *   `onAlert` in a scope and removed when that scope closes; at most `maxListeners` may exist
 *   (one more is a defect). A listener that throws is skipped and counted in `stats`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as ResourceManager from "./ResourceManager.ts"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function* () {
 *     const rm = yield* ResourceManager.make({ budgets: { entries: 1_000_000, bytes: 1 << 30, operations: 64 } })
 *     yield* rm.onAlert((a) => console.warn(`${a.budget} ${a.kind} ${Math.round(a.ratio * 100)}%`))
 *     yield* Effect.scoped(
 *       Effect.gen(function* () {
 *         yield* rm.acquire({ bytes: 4096, operations: 1 })
 *         // ... work while holding the budget ...
 *       }),
 *     )
 *   }),
 * )
 * ```
 * @module
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { integerAtLeast, numberInRange } from "./internal/options.ts"
import { BudgetExceeded } from "./ResourceError.ts"

/**
 * The budgets a manager tracks.
 *
 * @example
 * ```ts
 * const budget: ResourceManager.Budget = "bytes"
 * ```
 */
export type Budget = "entries" | "bytes" | "operations"

const BUDGETS: ReadonlyArray<Budget> = ["entries", "bytes", "operations"]

/**
 * Options of `ResourceManager.make`.
 *
 * @example
 * ```ts
 * const options: ResourceManager.Options = { budgets: { bytes: 256 * 1024 * 1024 }, alertThreshold: 0.8 }
 * ```
 */
export interface Options {
  /** Limits (integers >= 1); a budget left out is not limited. At least one is required. */
  readonly budgets: {
    readonly entries?: number
    readonly bytes?: number
    readonly operations?: number
  }
  /** Usage ratio (0 < t <= 1) at which an `"above"` alert fires. Default 0.9. */
  readonly alertThreshold?: number
  /** Most alert listeners at once. Default 64. */
  readonly maxListeners?: number
  /** Used in error messages. Default "resources". */
  readonly name?: string
}

/**
 * The amounts one admission holds. Each defaults to 0, except `operations` which defaults to 1.
 *
 * @example
 * ```ts
 * const request: ResourceManager.Request = { entries: 10, bytes: 2048 }
 * ```
 */
export interface Request {
  readonly entries?: number
  readonly bytes?: number
  readonly operations?: number
}

/**
 * An admission. Its amounts return to the budgets when its scope closes or on `release`.
 *
 * @example
 * ```ts
 * const token = yield* rm.acquire({ bytes: 100 })
 * yield* token.release // early release; closing the scope later is a no-op
 * ```
 */
export interface Token {
  readonly entries: number
  readonly bytes: number
  readonly operations: number
  /** Gives the amounts back now (idempotent). */
  readonly release: Effect.Effect<void>
}

/**
 * A threshold crossing.
 *
 * @example
 * ```ts
 * rm.onAlert((a) => a.kind === "above" && shedLoad(a.budget))
 * ```
 */
export interface Alert {
  readonly budget: Budget
  readonly kind: "above" | "below"
  readonly used: number
  readonly limit: number
  readonly ratio: number
}

/**
 * Usage per budget (limit `Infinity` when not limited), plus counters.
 *
 * @example
 * ```ts
 * const { bytes } = rm.usageUnsafe()
 * ```
 */
export interface Usage {
  readonly entries: { readonly used: number; readonly limit: number }
  readonly bytes: { readonly used: number; readonly limit: number }
  readonly operations: { readonly used: number; readonly limit: number }
  readonly admitted: number
  readonly refused: number
  readonly listenerFailures: number
}

/**
 * A resource manager. See the module documentation for guarantees.
 *
 * @example
 * ```ts
 * const token = yield* rm.acquire({ entries: 1 })
 * ```
 */
export interface ResourceManager {
  /** Admits `request` whole or fails with `BudgetExceeded`; the token lives until the scope closes. */
  acquire(request?: Request): Effect.Effect<Token, BudgetExceeded, Scope.Scope>
  /** Runs `effect` while holding `request`. */
  withAdmission<A, E, R>(
    request: Request,
    effect: Effect.Effect<A, E, R>,
  ): Effect.Effect<A, E | BudgetExceeded, R>
  /** Registers a listener until the current scope closes. */
  onAlert(listener: (alert: Alert) => void): Effect.Effect<void, never, Scope.Scope>
  readonly usage: Effect.Effect<Usage>
  usageUnsafe(): Usage
}

class ResourceManagerImpl implements ResourceManager {
  private readonly name: string
  private readonly limits: Record<Budget, number>
  private readonly used: Record<Budget, number> = { entries: 0, bytes: 0, operations: 0 }
  private readonly above: Record<Budget, boolean> = { entries: false, bytes: false, operations: false }
  private readonly threshold: number
  private readonly maxListeners: number
  private listeners: Array<(alert: Alert) => void> = []
  private admitted = 0
  private refused = 0
  private listenerFailures = 0

  constructor(options: Options) {
    this.name = options.name ?? "resources"
    const budgets = options.budgets ?? {}
    const limit = (b: Budget) =>
      budgets[b] === undefined ? Infinity : integerAtLeast("ResourceManager", `budgets.${b}`, budgets[b], 1)
    this.limits = { entries: limit("entries"), bytes: limit("bytes"), operations: limit("operations") }
    if (BUDGETS.every((b) => this.limits[b] === Infinity)) {
      throw new RangeError(
        'ResourceManager: "budgets" must limit at least one of entries, bytes, operations. Pass e.g. budgets: { operations: 64 }.',
      )
    }
    const t = options.alertThreshold ?? 0.9
    this.threshold = numberInRange("ResourceManager", "alertThreshold", t, Number.MIN_VALUE, 1)
    this.maxListeners = integerAtLeast("ResourceManager", "maxListeners", options.maxListeners ?? 64, 1)
  }

  /** Admits or refuses in one synchronous section. */
  private admit(request: Request | undefined): BudgetExceeded | Token {
    const amounts: Record<Budget, number> = {
      entries: request?.entries ?? 0,
      bytes: request?.bytes ?? 0,
      operations: request?.operations ?? 1,
    }
    for (const b of BUDGETS) {
      const n = amounts[b]
      if (!(Number.isFinite(n) && n >= 0)) {
        throw new RangeError(
          `ResourceManager: request.${b} must be a finite number >= 0, got ${String(n)}. Pass a non-negative amount.`,
        )
      }
      if (this.used[b] + n > this.limits[b]) {
        this.refused++
        return new BudgetExceeded({
          manager: this.name,
          budget: b,
          requested: n,
          used: this.used[b],
          limit: this.limits[b],
        })
      }
    }
    for (const b of BUDGETS) this.used[b] += amounts[b]
    this.admitted++
    this.checkAlerts()
    let released = false
    const token: Token = {
      ...amounts,
      release: Effect.sync(() => {
        if (released) return
        released = true
        for (const b of BUDGETS) this.used[b] -= amounts[b]
        this.checkAlerts()
      }),
    }
    return token
  }

  private checkAlerts(): void {
    for (const b of BUDGETS) {
      const limit = this.limits[b]
      if (limit === Infinity) continue
      const ratio = this.used[b] / limit
      const above = ratio >= this.threshold
      if (above === this.above[b]) continue
      this.above[b] = above
      const alert: Alert = { budget: b, kind: above ? "above" : "below", used: this.used[b], limit, ratio }
      for (const listener of this.listeners) {
        try {
          listener(alert)
        } catch {
          this.listenerFailures++
        }
      }
    }
  }

  acquire(request?: Request): Effect.Effect<Token, BudgetExceeded, Scope.Scope> {
    return Effect.flatMap(Effect.scope, (scope) =>
      Effect.uninterruptible(
        Effect.suspend(() => {
          const result = this.admit(request)
          if (result instanceof BudgetExceeded) return Effect.fail(result)
          return Effect.as(Scope.addFinalizer(scope, result.release), result)
        }),
      ),
    )
  }

  withAdmission<A, E, R>(
    request: Request,
    effect: Effect.Effect<A, E, R>,
  ): Effect.Effect<A, E | BudgetExceeded, R> {
    return Effect.scoped(Effect.andThen(this.acquire(request), effect))
  }

  onAlert(listener: (alert: Alert) => void): Effect.Effect<void, never, Scope.Scope> {
    return Effect.flatMap(Effect.scope, (scope) =>
      Effect.uninterruptible(
        Effect.suspend(() => {
          if (this.listeners.length >= this.maxListeners) {
            return Effect.die(
              new RangeError(
                `ResourceManager "${this.name}": already ${this.maxListeners} alert listeners (maxListeners). Close the scopes of unused listeners or raise maxListeners.`,
              ),
            )
          }
          this.listeners = [...this.listeners, listener]
          return Scope.addFinalizer(
            scope,
            Effect.sync(() => {
              this.listeners = this.listeners.filter((l) => l !== listener)
            }),
          )
        }),
      ),
    )
  }

  usageUnsafe(): Usage {
    const u = (b: Budget) => ({ used: this.used[b], limit: this.limits[b] })
    return {
      entries: u("entries"),
      bytes: u("bytes"),
      operations: u("operations"),
      admitted: this.admitted,
      refused: this.refused,
      listenerFailures: this.listenerFailures,
    }
  }

  get usage(): Effect.Effect<Usage> {
    return Effect.sync(() => this.usageUnsafe())
  }
}

/**
 * Creates a resource manager. Invalid options are a defect (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * const rm = yield* ResourceManager.make({ budgets: { operations: 32 }, alertThreshold: 0.75 })
 * ```
 */
export const make = (options: Options): Effect.Effect<ResourceManager> =>
  Effect.sync(() => new ResourceManagerImpl(options))

/**
 * A process-wide resource manager as a service (the in-memory implementation is `layer`; another
 * backend can provide the same service).
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const rm = yield* ResourceManager.Service
 *   yield* rm.withAdmission({ bytes: 4096 }, work)
 * }).pipe(Effect.provide(ResourceManager.layer({ budgets: { bytes: 1 << 30 } })))
 * ```
 */
export class Service extends Context.Service<Service, ResourceManager>()("troupe/ResourceManager") {}

/**
 * The in-memory `Service`. Invalid options are a defect when the layer is built.
 *
 * @example
 * ```ts
 * const live = ResourceManager.layer({ budgets: { operations: 64 } })
 * ```
 */
export const layer = (options: Options): Layer.Layer<Service> => Layer.effect(Service)(make(options))
