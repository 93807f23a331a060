/**
 * Construction-time option checks shared by the resilience modules. A failed check is misuse: it throws a
 * `RangeError` whose message names the module, the option, the bad value and the fix.
 * @internal
 */

/** Throws unless `value` is an integer >= 1. */
export const positiveInt = (module: string, option: string, value: unknown): number => {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `${module}: "${option}" must be a positive integer, got ${String(value)}. Pass ${option} >= 1.`,
    )
  }
  return value
}

/** Throws unless `value` is an integer >= 0. */
export const nonNegativeInt = (module: string, option: string, value: unknown): number => {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `${module}: "${option}" must be an integer >= 0, got ${String(value)}. Pass ${option} >= 0.`,
    )
  }
  return value
}

/** Throws unless `value` is a finite number > 0. */
export const positiveNumber = (module: string, option: string, value: unknown): number => {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `${module}: "${option}" must be a finite number > 0, got ${String(value)}. Pass ${option} > 0.`,
    )
  }
  return value
}

/** Throws unless `value` is a finite number >= 0. */
export const nonNegativeNumber = (module: string, option: string, value: unknown): number => {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `${module}: "${option}" must be a finite number >= 0, got ${String(value)}. Pass ${option} >= 0.`,
    )
  }
  return value
}

/** Throws unless `value` is a number in (0, 1]. */
export const ratio = (module: string, option: string, value: unknown): number => {
  if (typeof value !== "number" || !(value > 0 && value <= 1)) {
    throw new RangeError(
      `${module}: "${option}" must be a ratio in (0, 1], got ${String(value)}. Pass e.g. ${option}: 0.5.`,
    )
  }
  return value
}

/** Throws unless `value` is one of `allowed`. */
export const oneOf = <A extends string>(
  module: string,
  option: string,
  value: unknown,
  allowed: ReadonlyArray<A>,
): A => {
  if (typeof value !== "string" || !allowed.includes(value as A)) {
    throw new RangeError(
      `${module}: "${option}" must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${String(value)}.`,
    )
  }
  return value as A
}
