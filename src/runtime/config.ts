/**
 * Loads the Troupe config from a JSON file and the environment, on Bun, Deno and Node alike.
 * This is the only module that reads `process.env`, `Deno.env` or files for configuration.
 *
 * Precedence (lowest to highest): `Config.defaults` < file < environment (`TROUPE_*`) < explicit overrides.
 * Unknown `TROUPE_*` variables are reported in `unknownEnv` (not an error: other tools share the prefix);
 * unknown keys in the file are a `ConfigUnknownPath` failure.
 *
 * @module
 */
import { readFileSync } from "node:fs"
import { Effect, Layer } from "effect"
import * as Config from "../config/Config.ts"
import { ConfigLoadFailed } from "../config/ConfigError.ts"

/**
 * Options of {@link loadTroupeConfig}.
 *
 * @example
 * ```ts
 * loadTroupeConfig({ file: "./troupe.json", envPrefix: "TROUPE_" })
 * ```
 */
export interface LoadOptions {
  /** JSON file holding a (partial) config object. Default: none; `TROUPE_CONFIG_FILE` if set. */
  readonly file?: string | undefined
  /** Prefix of the environment variables. Default `"TROUPE_"`. */
  readonly envPrefix?: string | undefined
  /** Environment to read instead of the process environment (tests). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** Final overrides applied over everything. */
  readonly overrides?: Config.DeepPartial<Config.TroupeConfig> | undefined
}

/**
 * The process environment on Bun, Deno or Node (empty when not permitted, e.g. Deno without --allow-env).
 *
 * @example
 * ```ts
 * const env = readEnvironment()
 * ```
 */
export const readEnvironment = (): Record<string, string | undefined> => {
  const g = globalThis as any
  try {
    if (typeof g.Deno !== "undefined") return g.Deno.env.toObject()
    if (typeof process !== "undefined") return { ...process.env }
  } catch {
    return {}
  }
  return {}
}

/**
 * Reads and parses a JSON config file.
 *
 * @example
 * ```ts
 * const partial = yield* readConfigFile("./troupe.json")
 * ```
 */
export const readConfigFile = (path: string): Effect.Effect<unknown, ConfigLoadFailed> =>
  Effect.try({
    try: () => {
      const parsed: unknown = JSON.parse(readFileSync(path, "utf8"))
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new Error("the top level must be a JSON object")
      }
      return parsed
    },
    catch: (e) =>
      new ConfigLoadFailed({ source: `file:${path}`, problem: e instanceof Error ? e.message : String(e) }),
  })

/**
 * The merged overrides (file, then environment, then explicit) and the unknown environment variables.
 *
 * @example
 * ```ts
 * const { overrides, unknownEnv } = yield* loadTroupeConfig({ env: { TROUPE_AGENT_ASK_TIMEOUT_MS: "250" } })
 * ```
 */
export const loadTroupeConfig = (
  options?: LoadOptions,
): Effect.Effect<
  { readonly overrides: Config.DeepPartial<Config.TroupeConfig>; readonly unknownEnv: ReadonlyArray<string> },
  ConfigLoadFailed
> =>
  Effect.gen(function* () {
    const env = options?.env ?? readEnvironment()
    const prefix = options?.envPrefix ?? "TROUPE_"
    const file = options?.file ?? env[`${prefix}CONFIG_FILE`]
    const fromFile = file === undefined ? {} : yield* readConfigFile(file)
    const fromEnv = Config.fromEnvRecord(env, Config.defaults, prefix)
    const unknownEnv = fromEnv.unknown.filter((k) => k !== `${prefix}CONFIG_FILE`)
    const overrides = Config.merge(Config.merge(fromFile, fromEnv.overrides), options?.overrides ?? {})
    return { overrides: overrides as Config.DeepPartial<Config.TroupeConfig>, unknownEnv }
  })

/**
 * The `Config.Config` service loaded from file and environment; unknown `TROUPE_*` variables are logged
 * as warnings.
 *
 * @example
 * ```ts
 * Effect.provide(program, layerFromEnvironment({ file: "./troupe.json" }))
 * ```
 */
export const layerFromEnvironment = (
  options?: LoadOptions &
    Omit<Partial<Config.Options<Config.TroupeConfig>>, "schema" | "defaults" | "initial">,
) =>
  Layer.effect(Config.Config)(
    Effect.gen(function* () {
      const { overrides, unknownEnv } = yield* loadTroupeConfig(options)
      if (unknownEnv.length > 0) {
        yield* Effect.logWarning(`Ignoring unknown config variables: ${unknownEnv.join(", ")}`)
      }
      return yield* Config.make({
        schema: Config.TroupeConfig,
        defaults: Config.defaults,
        updatable: options?.updatable ?? Config.defaultUpdatable,
        subscriberCapacity: options?.subscriberCapacity,
        maxSubscribers: options?.maxSubscribers,
        initial: overrides,
      })
    }),
  )
