/**
 * Shared benchmark plumbing. Every figure is one JSON line on stdout:
 * `{"name":"kernel.ask_calls_per_s","value":812345,"unit":"calls/s"}`, plus
 * `"peer"`, `"peerValue"` and `"ratio"` when a peer library was measured in the same run.
 * Progress and notes go to stderr so that `npm run --silent bench -- <area>` prints only figures.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

export interface Figure {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly peer?: string
  readonly peerValue?: number
  readonly ratio?: number
}

const round = (n: number): number => (Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 1000) / 1000)

/** Prints one figure as a JSON line. */
export const emit = (figure: Figure): void => {
  const out: Record<string, unknown> = { name: figure.name, value: round(figure.value), unit: figure.unit }
  if (figure.peer !== undefined) {
    out.peer = figure.peer
    out.peerValue = round(figure.peerValue ?? 0)
    out.ratio = round(figure.ratio ?? figure.value / (figure.peerValue ?? 1))
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

/** Writes a progress note to stderr. */
export const note = (message: string): void => {
  process.stderr.write(`# ${message}\n`)
}

/** Forces a full garbage collection where the runtime allows it. */
export const gc = (): void => {
  const g = globalThis as any
  if (typeof g.Bun !== "undefined") g.Bun.gc(true)
  else if (typeof g.gc === "function") g.gc()
}

/** Heap bytes in use after a full collection. */
export const heapUsed = (): number => {
  gc()
  gc()
  const g = globalThis as any
  if (typeof g.Bun !== "undefined") {
    // bun:jsc's heapSize is the precise figure; memoryUsage().heapUsed lags behind on JSC.
    const jsc = require("bun:jsc") as { heapStats(): { heapSize: number } }
    return jsc.heapStats().heapSize
  }
  return process.memoryUsage().heapUsed
}

/** Median of a list of samples. */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** The q-quantile (0..1) of a list of samples. */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

/** High-resolution time in milliseconds. */
export const now = (): number => performance.now()

/** Runs `fn` `reps` times and returns the median of its results (for figures where higher is better or lower is better alike). */
export const medianOf = async (reps: number, fn: () => number | Promise<number>): Promise<number> => {
  const xs: number[] = []
  for (let i = 0; i < reps; i++) xs.push(await fn())
  return median(xs)
}

/**
 * Today's OTP baseline figures (`name value unit` lines of `../shared/anchors/otp-baseline`): with
 * `OTP_LIVE=1` the named groups run live first (`run.sh <groups>`, needs elixir); otherwise the newest
 * `results-YYYY-MM-DD.txt` there (or `OTP_RESULTS=<file>`). Empty when neither is available.
 */
export const otpFigures = (groups: ReadonlyArray<string>): Map<string, number> => {
  const parse = (text: string): Map<string, number> => {
    const out = new Map<string, number>()
    for (const line of text.split("\n")) {
      if (line.startsWith("#")) continue
      const [name, value] = line.trim().split(/\s+/)
      if (name && value && !Number.isNaN(Number(value))) out.set(name, Number(value))
    }
    return out
  }
  const here = dirname(fileURLToPath(import.meta.url))
  const dir =
    [
      join(here, "../../shared/anchors/otp-baseline"),
      join(here, "../../../shared/anchors/otp-baseline"),
    ].find((d) => existsSync(d)) ?? ""
  if (process.env.OTP_LIVE === "1" && dir !== "") {
    note(`running the OTP baseline live: ${groups.join(" ")}`)
    const run = spawnSync(join(dir, "run.sh"), [...groups], { encoding: "utf8" })
    const live = parse(run.stdout ?? "")
    if (live.size > 0) return live
    note(`OTP live run failed (${run.stderr?.trim() ?? run.status}); using the results file`)
  }
  const files = [
    process.env.OTP_RESULTS,
    ...(dir === ""
      ? []
      : readdirSync(dir)
          .filter((f) => /^results-\d{4}-\d{2}-\d{2}\.txt$/.test(f))
          .sort()
          .reverse()
          .map((f) => join(dir, f))),
  ].filter((f): f is string => f !== undefined && existsSync(f))
  if (files.length === 0) return new Map()
  note(`OTP peer figures from ${files[0]}`)
  return parse(readFileSync(files[0], "utf8"))
}

/**
 * Emits a figure with an OTP peer when the baseline has it. `higherIsBetter` decides the ratio's
 * direction: ours / OTP for rates, OTP / ours for times and sizes, so a ratio above 1 always means ahead.
 *
 * @example
 * ```ts
 * emitVsOtp({ name: "kernel.spawn_rate", value: 1e6, unit: "agents/s" }, otpFigures(["spawn_idle"]), "spawn_idle.spawn_rate", true)
 * ```
 */
export const emitVsOtp = (
  figure: { readonly name: string; readonly value: number; readonly unit: string },
  otp: Map<string, number>,
  otpName: string,
  higherIsBetter: boolean,
  /** Converts the OTP figure to our unit (e.g. 0.001 for µs → ms). */
  scale = 1,
): void => {
  const raw = otp.get(otpName)
  if (raw === undefined) {
    emit(figure)
    return
  }
  const peerValue = raw * scale
  emit({
    ...figure,
    peer: `otp.${otpName}`,
    peerValue,
    ratio: higherIsBetter ? figure.value / peerValue : peerValue / figure.value,
  })
}
