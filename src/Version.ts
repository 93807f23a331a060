/**
 * The Troupe version.
 *
 * @example
 * ```ts
 * import { version } from "troupe"
 * console.log(`troupe ${version}`)
 * ```
 */
export const version = "0.1.0"
