/**
 * Option and argument validation shared by every area: one set of checks, one error, one message shape.
 *
 * A check returns `undefined` when the value is acceptable and a `Problem` naming the field and the fix
 * otherwise. Areas run their checks inside their Effect constructors and fail with `InvalidOptions`
 * (re-exported by each area's `<Area>Error` module); `makeUnsafe`-style synchronous constructors throw the
 * same error (`orThrow`). Bad input is never a defect.
 *
 * @example
 * ```ts
 * const problem = Options.check("RateLimiter", options, {
 *   limit: Options.positiveInt,
 *   windowMs: Options.positiveMs,
 *   overflow: Options.optional(Options.oneOf(["suspend", "dropping", "sliding", "fail"])),
 * })
 * if (problem) return yield* Effect.fail(problem)
 * ```
 * @internal
 */
import { Schema } from "effect"

/**
 * An option or argument is invalid. `module` is the public module (`"RateLimiter"`), `field` the option
 * path (`"window.size"`), `reason` what is wrong and how to fix it. Nothing was created or changed.
 *
 * @example
 * ```ts
 * RateLimiter.make({ limit: 0, windowMs: 1000 }).pipe(
 *   Effect.catchTag("InvalidOptions", (e) => Console.log(e.field, e.reason)),
 * )
 * ```
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  module: Schema.String,
  field: Schema.String,
  reason: Schema.String,
}) {
  override get message(): string {
    return `${this.module}: "${this.field}" ${this.reason}`
  }
}

/** A failed check: the field and what is wrong with it, phrased to follow `"<field>" `. */
export interface Problem {
  readonly field: string
  readonly reason: string
}

/** A check of one value. `field` is the name to report. */
export type Check = (value: unknown, field: string) => Problem | undefined

/** Renders any value for an error message without throwing (Proxies, throwing getters, cycles, symbols). */
export const show = (value: unknown): string => {
  try {
    if (typeof value === "string")
      return value.length > 60 ? `${JSON.stringify(value.slice(0, 57))}...` : JSON.stringify(value)
    if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint" || value == null)
      return String(value)
    if (typeof value === "symbol") return "a symbol"
    if (typeof value === "function") return "a function"
    if (Array.isArray(value)) return `an array of ${value.length}`
    return "an object"
  } catch {
    return "an unreadable value"
  }
}

const problem = (field: string, reason: string): Problem => ({ field, reason })

/** An integer >= 1 (0 is refused). */
export const positiveInt: Check = (v, field) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 1
    ? undefined
    : problem(field, `must be an integer >= 1, got ${show(v)}. Pass ${field} >= 1.`)

/** An integer >= 0. */
export const nonNegativeInt: Check = (v, field) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0
    ? undefined
    : problem(field, `must be an integer >= 0, got ${show(v)}. Pass ${field} >= 0.`)

/** An integer in [min, max]. */
export const intInRange =
  (min: number, max: number): Check =>
  (v, field) =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max
      ? undefined
      : problem(field, `must be an integer in [${min}, ${max}], got ${show(v)}.`)

/** A finite number > 0. */
export const positiveNumber: Check = (v, field) =>
  typeof v === "number" && Number.isFinite(v) && v > 0
    ? undefined
    : problem(field, `must be a finite number > 0, got ${show(v)}. Pass ${field} > 0.`)

/** A finite number >= 0. */
export const nonNegativeNumber: Check = (v, field) =>
  typeof v === "number" && Number.isFinite(v) && v >= 0
    ? undefined
    : problem(field, `must be a finite number >= 0, got ${show(v)}. Pass ${field} >= 0.`)

/** A finite number (any sign). */
export const finiteNumber: Check = (v, field) =>
  typeof v === "number" && Number.isFinite(v)
    ? undefined
    : problem(field, `must be a finite number, got ${show(v)}.`)

/** A number in (0, 1]. */
export const ratio: Check = (v, field) =>
  typeof v === "number" && v > 0 && v <= 1
    ? undefined
    : problem(field, `must be a ratio in (0, 1], got ${show(v)}. Pass e.g. ${field}: 0.5.`)

/** A duration in milliseconds: a finite number > 0. */
export const positiveMs: Check = (v, field) =>
  typeof v === "number" && Number.isFinite(v) && v > 0
    ? undefined
    : problem(field, `must be a duration in milliseconds > 0, got ${show(v)}. Pass e.g. ${field}: 1000.`)

/** A duration in milliseconds: a finite number >= 0. */
export const nonNegativeMs: Check = (v, field) =>
  typeof v === "number" && Number.isFinite(v) && v >= 0
    ? undefined
    : problem(field, `must be a duration in milliseconds >= 0, got ${show(v)}. Pass e.g. ${field}: 1000.`)

/** A duration in milliseconds > 0, or `Infinity` for "never". */
export const positiveMsOrInfinity: Check = (v, field) =>
  typeof v === "number" && v > 0 && !Number.isNaN(v)
    ? undefined
    : problem(field, `must be a duration in milliseconds > 0 (or Infinity), got ${show(v)}.`)

/** A boolean. */
export const boolean: Check = (v, field) =>
  typeof v === "boolean" ? undefined : problem(field, `must be true or false, got ${show(v)}.`)

/** A non-empty string of at most `max` characters (default 1,024). */
export const nonEmptyString =
  (max = 1024): Check =>
  (v, field) =>
    typeof v === "string" && v.length > 0 && v.length <= max
      ? undefined
      : problem(field, `must be a non-empty string of at most ${max} characters, got ${show(v)}.`)

/** A function. */
export const func: Check = (v, field) =>
  typeof v === "function" ? undefined : problem(field, `must be a function, got ${show(v)}.`)

/** One of the listed strings. */
export const oneOf =
  (allowed: ReadonlyArray<string>): Check =>
  (v, field) =>
    typeof v === "string" && allowed.includes(v)
      ? undefined
      : problem(field, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${show(v)}.`)

/** The overflow policies every bounded queue in Troupe understands. */
export const overflowPolicies = ["suspend", "dropping", "sliding", "fail"] as const

/** One of `suspend | dropping | sliding | fail`. */
export const overflow: Check = oneOf(overflowPolicies)

/** `undefined` passes; anything else goes to `check`. */
export const optional =
  (check: Check): Check =>
  (v, field) =>
    v === undefined ? undefined : check(v, field)

/** The first check that objects wins. */
export const all =
  (...checks: ReadonlyArray<Check>): Check =>
  (v, field) => {
    for (const c of checks) {
      const p = c(v, field)
      if (p) return p
    }
    return undefined
  }

/** A predicate with its own reason. */
export const satisfies =
  (predicate: (v: unknown) => boolean, reason: string): Check =>
  (v, field) => {
    let ok = false
    try {
      ok = predicate(v)
    } catch {
      ok = false
    }
    return ok ? undefined : problem(field, `${reason}, got ${show(v)}.`)
  }

/** Keys that must never name a user-defined entry: they collide with `Object.prototype`. */
export const reservedKeys: ReadonlySet<string> = new Set([
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
])

/** A string usable as a user-defined key (non-empty, bounded, not a reserved `Object.prototype` name). */
export const key =
  (max = 1024): Check =>
  (v, field) => {
    const p = nonEmptyString(max)(v, field)
    if (p) return p
    return reservedKeys.has(v as string)
      ? problem(field, `must not be the reserved name ${show(v)}. Pick another name.`)
      : undefined
  }

/** A plain object (not null, not an array). */
export const record: Check = (v, field) =>
  v !== null && typeof v === "object" && !Array.isArray(v)
    ? undefined
    : problem(field, `must be an object, got ${show(v)}.`)

/**
 * Checks `value` (an options object, `undefined` meaning all defaults) against `spec`. Fields not in the
 * spec are refused when `strict` (a misspelt option should not be silently ignored). Reading a field
 * that throws (a getter, a Proxy) is reported as a problem, not thrown.
 */
export const check = (
  module: string,
  value: unknown,
  spec: Readonly<Record<string, Check>>,
  strict = false,
): InvalidOptions | undefined => {
  if (value === undefined) value = {}
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return new InvalidOptions({ module, field: "options", reason: `must be an object, got ${show(value)}.` })
  try {
    for (const field in spec) {
      const p = spec[field](Reflect.get(value, field), field)
      if (p) return new InvalidOptions({ module, field: p.field, reason: p.reason })
    }
    if (strict) {
      for (const field of Object.keys(value)) {
        if (!Object.hasOwn(spec, field))
          return new InvalidOptions({
            module,
            field,
            reason: `is not an option of ${module}. Known options: ${Object.keys(spec).join(", ")}.`,
          })
      }
    }
  } catch {
    return new InvalidOptions({
      module,
      field: "options",
      reason: "could not be read (a getter or Proxy threw).",
    })
  }
  return undefined
}

/** One value against one check, as an `InvalidOptions` (for arguments rather than option objects). */
export const checkValue = (
  module: string,
  field: string,
  value: unknown,
  c: Check,
): InvalidOptions | undefined => {
  const p = c(value, field)
  return p ? new InvalidOptions({ module, field: p.field, reason: p.reason }) : undefined
}

/** For `makeUnsafe`-style constructors: throws the error when there is one. */
export const orThrow = <E>(error: E | undefined): void => {
  if (error !== undefined) throw error
}
