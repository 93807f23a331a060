/**
 * Shared benchmark plumbing. Every figure is one JSON line on stdout:
 * `{"name":"kernel.ask_calls_per_s","value":812345,"unit":"calls/s"}`, plus
 * `"peer"`, `"peerValue"` and `"ratio"` when a peer library was measured in the same run.
 * Progress and notes go to stderr so that `npm run --silent bench -- <area>` prints only figures.
 */
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
