/**
 * Schema-defined configuration with defaults, validated runtime updates and scoped change subscriptions.
 *
 * ## Using as the Troupe config
 * `Config.layer()` provides the {@link Config} service over {@link TroupeConfig} with {@link defaults}.
 * `src/runtime/config.ts` builds the same service from a JSON file and the environment
 * (`TROUPE_AGENT_ASK_TIMEOUT_MS=250`); this module never touches the environment or files itself:
 * {@link fromEnvRecord} and {@link merge} are pure.
 *
 * ## Using with your own schema
 * `Config.make({ schema, defaults, updatable })` works for any `Schema.Struct` of nested structs.
 *
 * ## Guarantees
 * - **Atomic updates.** `update` validates the whole candidate config against the schema and swaps it in
 *   one synchronous section; an update that fails (`ConfigUnknownPath`, `ConfigNotUpdatable`,
 *   `ConfigInvalid`) changes nothing and publishes nothing.
 * - **Ordering.** Every successful `update`/`reset` bumps `version` by one and is published in version order.
 * - **Bounds.** At most `maxSubscribers` live subscriptions (else `ConfigSubscribersExhausted`); each keeps
 *   at most `subscriberCapacity` unread changes, dropping the oldest (sliding) when a reader lags.
 *   A subscription belongs to the `Scope` it was opened in and ends with it.
 *
 * ## Caveats
 * Paths are dotted keys into nested structs (`"agent.askTimeoutMs"`); arrays are leaves. A path declared
 * updatable as a section (`"health"`) makes every leaf below it updatable.
 *
 * @module
 */
import { Context, Effect, Exit, Layer, Queue, Schema, type Scope } from "effect"
import {
  ConfigInvalid,
  ConfigNotUpdatable,
  ConfigSubscribersExhausted,
  ConfigUnknownPath,
} from "./ConfigError.ts"

// ---------------------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------------------

type Join<K extends string, P> = P extends string ? `${K}.${P}` : never

/**
 * Every dotted path into a nested record type (sections and leaves).
 *
 * @example
 * ```ts
 * type P = Config.Path<{ a: { b: number } }> // "a" | "a.b"
 * ```
 */
export type Path<A, Depth extends ReadonlyArray<unknown> = []> = Depth["length"] extends 4
  ? never
  : A extends ReadonlyArray<any>
    ? never
    : A extends object
      ? { [K in keyof A & string]: K | Join<K, Path<A[K], [...Depth, unknown]>> }[keyof A & string]
      : never

/**
 * The type found at a dotted path.
 *
 * @example
 * ```ts
 * type T = Config.At<{ a: { b: number } }, "a.b"> // number
 * ```
 */
export type At<A, P extends string> = P extends `${infer K}.${infer R}`
  ? K extends keyof A
    ? At<A[K], R>
    : unknown
  : P extends keyof A
    ? A[P]
    : unknown

/**
 * A deep partial of a config, as read from a file or the environment.
 *
 * @example
 * ```ts
 * const overrides: Config.DeepPartial<Config.TroupeConfig> = { agent: { askTimeoutMs: 250 } }
 * ```
 */
export type DeepPartial<A> =
  A extends ReadonlyArray<any> ? A : A extends object ? { readonly [K in keyof A]?: DeepPartial<A[K]> } : A

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** Leaf paths of a plain object (arrays and primitives are leaves). */
const leafPaths = (value: unknown, prefix = ""): Array<string> => {
  if (!isRecord(value)) return prefix === "" ? [] : [prefix]
  const out: Array<string> = []
  for (const key of Object.keys(value))
    out.push(...leafPaths(value[key], prefix === "" ? key : `${prefix}.${key}`))
  return out
}

const getIn = (value: unknown, segments: ReadonlyArray<string>): unknown => {
  let cur = value
  for (const s of segments) cur = isRecord(cur) ? cur[s] : undefined
  return cur
}

const setIn = (value: unknown, segments: ReadonlyArray<string>, leaf: unknown): unknown => {
  if (segments.length === 0) return leaf
  const base = isRecord(value) ? value : {}
  const [head, ...rest] = segments
  return { ...base, [head]: setIn(base[head], rest, leaf) }
}

/**
 * Deep-merges `overrides` over `base` (records merge key by key; anything else replaces).
 *
 * @example
 * ```ts
 * Config.merge({ a: { b: 1, c: 2 } }, { a: { c: 3 } }) // { a: { b: 1, c: 3 } }
 * ```
 */
export const merge = <A>(base: A, overrides: unknown): A => {
  if (!isRecord(base) || !isRecord(overrides)) return (overrides === undefined ? base : overrides) as A
  const out: Record<string, unknown> = { ...base }
  for (const key of Object.keys(overrides)) out[key] = merge(base[key], overrides[key])
  return out as A
}

/** Paths present in `overrides` that do not exist in `shape` (first offender per branch). */
const unknownPaths = (shape: unknown, overrides: unknown, prefix = ""): Array<string> => {
  if (!isRecord(overrides) || !isRecord(shape)) return []
  const out: Array<string> = []
  for (const key of Object.keys(overrides)) {
    const p = prefix === "" ? key : `${prefix}.${key}`
    if (!(key in shape)) out.push(p)
    else out.push(...unknownPaths(shape[key], overrides[key], p))
  }
  return out
}

const describeIssue = (error: unknown): string => {
  const raw = error instanceof Error ? error.message : String(error)
  return raw.replace(/\s*\n\s*/g, " ").trim()
}

// ---------------------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------------------

/**
 * One published change: an update of one path, or a reset to the initial config.
 *
 * @example
 * ```ts
 * const c: Config.ConfigChange<Config.TroupeConfig> = { _tag: "Updated", path: "agent.askTimeoutMs", previous: 5000, value: 250, version: 1, config }
 * ```
 */
export type ConfigChange<A> =
  | {
      readonly _tag: "Updated"
      readonly path: string
      readonly previous: unknown
      readonly value: unknown
      readonly version: number
      readonly config: A
    }
  | { readonly _tag: "Reset"; readonly version: number; readonly config: A }

/**
 * A live subscription to config changes; ends with the Scope it was opened in.
 *
 * @example
 * ```ts
 * const sub = yield* config.subscribe()
 * const change = yield* sub.take
 * ```
 */
export interface ConfigSubscription<A> {
  /** Waits for the next change. */
  readonly take: Effect.Effect<ConfigChange<A>>
  /** Every change buffered so far (possibly none), without waiting. */
  readonly poll: Effect.Effect<ReadonlyArray<ConfigChange<A>>>
}

/**
 * The config service.
 *
 * @example
 * ```ts
 * const config = yield* Config.Config
 * const timeout = yield* config.get("agent.askTimeoutMs") // number
 * yield* config.update("agent.askTimeoutMs", 250)
 * ```
 */
export interface ConfigService<A> {
  /** The whole current config. */
  readonly current: Effect.Effect<A>
  /** The value at a dotted path; `ConfigUnknownPath` when the path is not in the schema. */
  readonly get: <P extends string>(
    path: P,
  ) => Effect.Effect<P extends Path<A> ? At<A, P> : unknown, ConfigUnknownPath>
  /** Validated update of one path (leaf or section). Fails without changing anything when refused. */
  readonly update: (
    path: string,
    value: unknown,
  ) => Effect.Effect<A, ConfigUnknownPath | ConfigNotUpdatable | ConfigInvalid>
  /** Back to the initial config (defaults merged with the loaded sources). */
  readonly reset: Effect.Effect<A>
  /** Opens a bounded subscription that lives as long as the current Scope. */
  readonly subscribe: Effect.Effect<ConfigSubscription<A>, ConfigSubscribersExhausted, Scope.Scope>
  /** Number of successful updates and resets so far. */
  readonly version: Effect.Effect<number>
  /** The paths (leaves and sections) declared updatable. */
  readonly updatable: ReadonlyArray<string>
  /** Every leaf path of the schema. */
  readonly paths: ReadonlyArray<string>
}

/**
 * Options of {@link make}.
 *
 * @example
 * ```ts
 * Config.make({ schema: TroupeConfig, defaults, updatable: ["agent.askTimeoutMs"], subscriberCapacity: 16 })
 * ```
 */
export interface Options<A> {
  /** Schema of the whole config (a `Schema.Struct`, possibly nested). */
  readonly schema: Schema.Codec<A, any>
  /** A complete valid config; invalid defaults are a defect at construction. */
  readonly defaults: A
  /** Overrides from files/environment applied over the defaults (validated: `ConfigInvalid` otherwise). */
  readonly initial?: NoInfer<DeepPartial<A>> | undefined
  /** Leaf or section paths that `update` may change. Default: none. */
  readonly updatable?: ReadonlyArray<string> | undefined
  /** Unread changes kept per subscriber (oldest dropped beyond). Default 64. */
  readonly subscriberCapacity?: number | undefined
  /** Concurrent subscriptions allowed. Default 64. */
  readonly maxSubscribers?: number | undefined
}

const positiveInt = (name: string, value: number | undefined, fallback: number): number => {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`Config: "${name}" must be a positive integer, got ${v}. Pass ${name} >= 1.`)
  }
  return v
}

/**
 * Builds a config service. Invalid `defaults`/options are defects raised here; invalid `initial`
 * overrides are a `ConfigInvalid`/`ConfigUnknownPath` failure.
 *
 * @example
 * ```ts
 * const config = yield* Config.make({ schema: Config.TroupeConfig, defaults: Config.defaults, updatable: Config.defaultUpdatable })
 * ```
 */
export const make = <A>(
  options: Options<A>,
): Effect.Effect<ConfigService<A>, ConfigInvalid | ConfigUnknownPath> =>
  Effect.suspend((): Effect.Effect<ConfigService<A>, ConfigInvalid | ConfigUnknownPath> => {
    const subscriberCapacity = positiveInt("subscriberCapacity", options.subscriberCapacity, 64)
    const maxSubscribers = positiveInt("maxSubscribers", options.maxSubscribers, 64)
    const decode = Schema.decodeUnknownExit(options.schema as Schema.Codec<A, unknown>)
    const checkedDefaults = decode(options.defaults, { errors: "all" })
    if (Exit.isFailure(checkedDefaults)) {
      throw new TypeError(
        `Config: "defaults" does not match the schema: ${describeIssue(checkedDefaults.cause)}. Fix the defaults object.`,
      )
    }
    const paths = leafPaths(options.defaults)
    const sectionOrLeaf = new Set<string>()
    for (const p of paths) {
      const segs = p.split(".")
      for (let i = 1; i <= segs.length; i++) sectionOrLeaf.add(segs.slice(0, i).join("."))
    }
    const updatable = [...(options.updatable ?? [])]
    for (const u of updatable) {
      if (!sectionOrLeaf.has(u)) {
        throw new RangeError(
          `Config: "updatable" names "${u}", which is not a path of the schema. Use one of: ${paths.join(", ")}.`,
        )
      }
    }
    const isUpdatable = (path: string) => updatable.some((u) => path === u || path.startsWith(`${u}.`))

    const unknown = unknownPaths(options.defaults, options.initial)
    if (unknown.length > 0) return Effect.fail(new ConfigUnknownPath({ path: unknown[0], known: paths }))
    const initialExit = decode(merge(options.defaults, options.initial), { errors: "all" })
    if (Exit.isFailure(initialExit)) {
      return Effect.fail(
        new ConfigInvalid({ path: "(initial)", problem: describeIssue(firstError(initialExit)) }),
      )
    }
    const initial = initialExit.value

    return Effect.gen(function* () {
      const queues = new Set<Queue.Queue<ConfigChange<A>>>()
      const publish = (change: ConfigChange<A>) => {
        for (const q of queues) Queue.offerUnsafe(q, change)
      }
      let current: A = initial
      let version = 0

      const get = (path: string): Effect.Effect<any, ConfigUnknownPath> =>
        Effect.suspend(() => {
          if (path === "") return Effect.succeed(current)
          if (!sectionOrLeaf.has(path)) return Effect.fail(new ConfigUnknownPath({ path, known: paths }))
          return Effect.succeed(getIn(current, path.split(".")))
        })

      const update = (path: string, value: unknown) =>
        Effect.suspend((): Effect.Effect<A, ConfigUnknownPath | ConfigNotUpdatable | ConfigInvalid> => {
          // Decision and write in one synchronous section: no interleaving is possible.
          if (!sectionOrLeaf.has(path)) return Effect.fail(new ConfigUnknownPath({ path, known: paths }))
          if (!isUpdatable(path)) return Effect.fail(new ConfigNotUpdatable({ path, updatable }))
          const segments = path.split(".")
          const previous = getIn(current, segments)
          if (isRecord(previous)) {
            const extra = unknownPaths(previous, value, path)
            if (extra.length > 0) return Effect.fail(new ConfigUnknownPath({ path: extra[0], known: paths }))
          }
          const exit = decode(setIn(current, segments, value), { errors: "all" })
          if (Exit.isFailure(exit)) {
            return Effect.fail(new ConfigInvalid({ path, problem: describeIssue(firstError(exit)) }))
          }
          current = exit.value
          version++
          publish({
            _tag: "Updated",
            path,
            previous,
            value: getIn(current, segments),
            version,
            config: current,
          })
          return Effect.succeed(current)
        })

      const reset = Effect.sync(() => {
        current = initial
        version++
        publish({ _tag: "Reset", version, config: current })
        return current
      })

      const subscribe = Effect.gen(function* () {
        const queue = yield* Queue.sliding<ConfigChange<A>>(subscriberCapacity)
        const admitted = yield* Effect.sync(() => {
          if (queues.size >= maxSubscribers) return false
          queues.add(queue)
          return true
        })
        if (!admitted) return yield* new ConfigSubscribersExhausted({ maxSubscribers })
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => queues.delete(queue)).pipe(Effect.andThen(Queue.shutdown(queue))),
        )
        return {
          take: Queue.take(queue) as Effect.Effect<ConfigChange<A>>,
          poll: Queue.clear(queue) as Effect.Effect<ReadonlyArray<ConfigChange<A>>>,
        } satisfies ConfigSubscription<A>
      })

      return {
        current: Effect.sync(() => current),
        get: get as ConfigService<A>["get"],
        update,
        reset,
        subscribe,
        version: Effect.sync(() => version),
        updatable,
        paths,
      } satisfies ConfigService<A>
    })
  })

const firstError = (exit: Exit.Exit<unknown, unknown>): unknown =>
  Exit.isFailure(exit) ? (exit.cause.reasons.find((r) => r._tag === "Fail") as any)?.error : undefined

// ---------------------------------------------------------------------------------------------------------
// Environment mapping (pure)
// ---------------------------------------------------------------------------------------------------------

const toEnvSegment = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()

/**
 * The environment variable name of a leaf path: `agent.askTimeoutMs` → `TROUPE_AGENT_ASK_TIMEOUT_MS`.
 *
 * @example
 * ```ts
 * Config.envName("agent.askTimeoutMs") // "TROUPE_AGENT_ASK_TIMEOUT_MS"
 * ```
 */
export const envName = (path: string, prefix = "TROUPE_"): string =>
  prefix + path.split(".").map(toEnvSegment).join("_")

const coerce = (raw: string, like: unknown): unknown => {
  if (typeof like === "number") {
    const n = raw.trim() === "" ? Number.NaN : Number(raw)
    return Number.isNaN(n) ? raw : n
  }
  if (typeof like === "boolean") return raw === "true" ? true : raw === "false" ? false : raw
  if (typeof like === "string") return raw
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

/**
 * Maps an environment record to config overrides, one variable per leaf path (see {@link envName}),
 * coercing numbers and booleans by the type of the default. Variables with the prefix that match no path
 * are returned in `unknown` (callers usually warn about them). Pure: pass the environment as a record (src/runtime/config.ts reads it per runtime).
 *
 * @example
 * ```ts
 * const { overrides } = Config.fromEnvRecord({ TROUPE_AGENT_ASK_TIMEOUT_MS: "250" }, Config.defaults)
 * // overrides = { agent: { askTimeoutMs: 250 } }
 * ```
 */
export const fromEnvRecord = <A>(
  env: Readonly<Record<string, string | undefined>>,
  defaults: A,
  prefix = "TROUPE_",
): { readonly overrides: DeepPartial<A>; readonly unknown: ReadonlyArray<string> } => {
  let overrides: unknown = {}
  const used = new Set<string>()
  for (const path of leafPaths(defaults)) {
    const name = envName(path, prefix)
    const raw = env[name]
    if (raw === undefined) continue
    used.add(name)
    const segments = path.split(".")
    overrides = setIn(overrides, segments, coerce(raw, getIn(defaults, segments)))
  }
  const unknown = Object.keys(env).filter((k) => k.startsWith(prefix) && !used.has(k))
  return { overrides: overrides as DeepPartial<A>, unknown }
}

// ---------------------------------------------------------------------------------------------------------
// The Troupe config
// ---------------------------------------------------------------------------------------------------------

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Ratio = Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1))

/**
 * Schema of the Troupe config. Sections: `agent`, `telemetry`, `health`, `slo`, `http`, plus `logLevel`.
 *
 * @example
 * ```ts
 * const ok = Schema.decodeUnknownSync(Config.TroupeConfig)(Config.defaults)
 * ```
 *
 * @example
 * ```ts
 * const decoded = yield* Schema.decodeUnknownEffect(Config.TroupeConfig)(json)
 * ```
 */
export const TroupeConfig = Schema.Struct({
  agent: Schema.Struct({
    mailboxCapacity: PositiveInt,
    askTimeoutMs: PositiveInt,
    maxRestarts: NonNegativeInt,
    restartWindowMs: PositiveInt,
  }),
  telemetry: Schema.Struct({
    maxHandlers: PositiveInt,
    errorStoreCapacity: PositiveInt,
    errorStorePerKey: PositiveInt,
    prometheusPrefix: Schema.String,
  }),
  health: Schema.Struct({ intervalMs: PositiveInt, timeoutMs: PositiveInt }),
  slo: Schema.Struct({ askP99Ms: Schema.Finite.check(Schema.isGreaterThan(0)), errorRate: Ratio }),
  http: Schema.Struct({
    host: Schema.String,
    port: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })),
  }),
  logLevel: Schema.Literals(["Trace", "Debug", "Info", "Warn", "Error", "Fatal", "None"]),
})

/** The Troupe config type. */
export type TroupeConfig = typeof TroupeConfig.Type

/**
 * Defaults of the Troupe config.
 *
 * @example
 * ```ts
 * Config.defaults.agent.askTimeoutMs // 5000
 * ```
 */
export const defaults: TroupeConfig = {
  agent: { mailboxCapacity: 1024, askTimeoutMs: 5000, maxRestarts: 3, restartWindowMs: 5000 },
  telemetry: { maxHandlers: 64, errorStoreCapacity: 1000, errorStorePerKey: 100, prometheusPrefix: "" },
  health: { intervalMs: 10_000, timeoutMs: 1000 },
  slo: { askP99Ms: 1, errorRate: 0.001 },
  http: { host: "0.0.0.0", port: 3000 },
  logLevel: "Info",
}

/**
 * Paths of the Troupe config that may change at runtime. Mailbox capacity and the HTTP listener are fixed
 * at startup.
 *
 * @example
 * ```ts
 * Config.defaultUpdatable.includes("agent.askTimeoutMs") // true
 * ```
 */
export const defaultUpdatable: ReadonlyArray<string> = [
  "agent.askTimeoutMs",
  "agent.maxRestarts",
  "agent.restartWindowMs",
  "telemetry",
  "health",
  "slo",
  "logLevel",
]

/**
 * The config service of a Troupe system.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const config = yield* Config.Config
 *   return yield* config.get("agent.askTimeoutMs")
 * }).pipe(Effect.provide(Config.layer()))
 * ```
 */
export class Config extends Context.Service<Config, ConfigService<TroupeConfig>>()("troupe/Config") {}

/**
 * In-memory Troupe config: defaults, then `initial` overrides (from `src/runtime/config.ts` or a test).
 *
 * @example
 * ```ts
 * Effect.provide(program, Config.layer({ initial: { agent: { askTimeoutMs: 250 } } }))
 * ```
 */
export const layer = (
  options?: Omit<Partial<Options<TroupeConfig>>, "schema" | "defaults">,
): Layer.Layer<Config, ConfigInvalid | ConfigUnknownPath> =>
  Layer.effect(Config)(make({ schema: TroupeConfig, defaults, updatable: defaultUpdatable, ...options }))
