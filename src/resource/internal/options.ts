/**
 * Construction-time validation of options. Misuse is a defect: each check throws a
 * `RangeError` naming the module, the option, the bad value and the fix.
 * @internal
 */
import * as Duration from "effect/Duration"

const show = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : String(value))

/** `value` must be an integer >= `min` (Infinity allowed when `allowInfinity`). */
export const integerAtLeast = (
  module: string,
  option: string,
  value: unknown,
  min: number,
  allowInfinity = false,
): number => {
  if (
    typeof value === "number" &&
    ((allowInfinity && value === Infinity) || (Number.isInteger(value) && value >= min))
  )
    return value
  throw new RangeError(
    `${module}: "${option}" must be an integer >= ${min}${allowInfinity ? " (or Infinity)" : ""}, got ${show(value)}. Pass ${option} >= ${min}.`,
  )
}

/** `value` must be a finite number in [min, max]. */
export const numberInRange = (
  module: string,
  option: string,
  value: unknown,
  min: number,
  max: number,
): number => {
  if (typeof value === "number" && Number.isFinite(value) && value >= min && value <= max) return value
  throw new RangeError(
    `${module}: "${option}" must be a number between ${min} and ${max}, got ${show(value)}. Pass a value in [${min}, ${max}].`,
  )
}

/** A strictly positive duration, in milliseconds (Infinity allowed). */
export const positiveMillis = (module: string, option: string, value: Duration.Input): number => {
  let millis: number
  try {
    millis = Duration.toMillis(Duration.fromInputUnsafe(value))
  } catch {
    millis = Number.NaN
  }
  if (millis > 0) return millis
  throw new RangeError(
    `${module}: "${option}" must be a positive duration, got ${show(value)}. Pass e.g. ${option}: "1 second" or a number of milliseconds > 0.`,
  )
}

/** Same as `positiveMillis`, but `undefined` stays `undefined`. */
export const optionalMillis = (
  module: string,
  option: string,
  value: Duration.Input | undefined,
): number | undefined => (value === undefined ? undefined : positiveMillis(module, option, value))
