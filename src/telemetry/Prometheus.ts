/**
 * Prometheus text exposition (format 0.0.4) of the Effect metrics in the current `Metric.MetricRegistry`.
 *
 * ## Using
 * ```ts
 * const body = yield* Prometheus.format()
 * return new Response(body, { headers: { "content-type": Prometheus.contentType } })
 * ```
 *
 * ## Guarantees
 * - Deterministic output: families sorted by name, series by label set; one `# HELP`/`# TYPE` per family.
 * - Counters → `counter`, gauges → `gauge`, histograms → `histogram` (cumulative `le` buckets, `+Inf`,
 *   `_sum`, `_count`), summaries → `summary` (`quantile` lines, `_sum`, `_count`), frequencies → `counter`
 *   with a `key` label.
 * - Names and label names are sanitised to `[a-zA-Z_:][a-zA-Z0-9_:]*`; label values and help are escaped.
 * - Bounded: at most `maxSeries` series are written (default 10 000); the rest are counted in a trailing
 *   comment. A name registered with two different types keeps the first type; the others are skipped and
 *   counted in the same comment.
 *
 * `effect/observability` also ships `PrometheusMetrics.format`; this module exists for the bound, the
 * deterministic ordering and because it does not pull the HTTP router into browser builds.
 *
 * @module
 */
import { Effect, Metric } from "effect"

/**
 * Content type of the exposition.
 *
 * @example
 * ```ts
 * new Response(body, { headers: { "content-type": Prometheus.contentType } })
 * ```
 */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

/**
 * Options of {@link render} and {@link format}.
 *
 * @example
 * ```ts
 * Prometheus.format({ prefix: "myapp", maxSeries: 5000 })
 * ```
 */
export interface Options {
  /** Prepended to every name with `_`. Default none. */
  readonly prefix?: string | undefined
  /** Series written at most. Default 10 000. */
  readonly maxSeries?: number | undefined
}

const sanitizeName = (name: string): string => {
  let s = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  if (/^[0-9]/.test(s)) s = `_${s}`
  return s
}

const sanitizeLabel = (name: string): string => {
  let s = name.replace(/[^a-zA-Z0-9_]/g, "_")
  if (/^[0-9]/.test(s)) s = `_${s}`
  return s
}

const escapeValue = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
const escapeHelp = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const num = (v: number | bigint): string => {
  if (typeof v === "bigint") return v.toString()
  if (Number.isNaN(v)) return "NaN"
  if (v === Number.POSITIVE_INFINITY) return "+Inf"
  if (v === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(v)
}

const labelsOf = (
  attributes: Metric.Metric.AttributeSet | undefined,
  extra?: readonly [string, string],
): string => {
  const parts: Array<string> = []
  if (attributes !== undefined) {
    for (const key of Object.keys(attributes).sort()) {
      parts.push(`${sanitizeLabel(key)}="${escapeValue(attributes[key])}"`)
    }
  }
  if (extra !== undefined) parts.push(`${extra[0]}="${escapeValue(extra[1])}"`)
  return parts.length === 0 ? "" : `{${parts.join(",")}}`
}

const TYPES: Record<Metric.Metric.Type, string> = {
  Counter: "counter",
  Gauge: "gauge",
  Histogram: "histogram",
  Summary: "summary",
  Frequency: "counter",
}

const seriesLines = (name: string, s: Metric.Metric.Snapshot, out: Array<string>): void => {
  switch (s.type) {
    case "Counter":
      out.push(`${name}${labelsOf(s.attributes)} ${num((s.state as Metric.CounterState<number>).count)}`)
      return
    case "Gauge":
      out.push(`${name}${labelsOf(s.attributes)} ${num((s.state as Metric.GaugeState<number>).value)}`)
      return
    case "Frequency":
      for (const [key, count] of [...(s.state as Metric.FrequencyState).occurrences].sort((a, b) =>
        a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
      )) {
        out.push(`${name}${labelsOf(s.attributes, ["key", key])} ${count}`)
      }
      return
    case "Histogram": {
      const st = s.state as Metric.HistogramState
      for (const [le, cumulative] of st.buckets) {
        if (le === Number.POSITIVE_INFINITY) continue
        out.push(`${name}_bucket${labelsOf(s.attributes, ["le", num(le)])} ${cumulative}`)
      }
      out.push(`${name}_bucket${labelsOf(s.attributes, ["le", "+Inf"])} ${st.count}`)
      out.push(`${name}_sum${labelsOf(s.attributes)} ${num(st.sum)}`)
      out.push(`${name}_count${labelsOf(s.attributes)} ${st.count}`)
      return
    }
    case "Summary": {
      const st = s.state as Metric.SummaryState
      for (const [q, v] of st.quantiles) {
        if (v !== undefined) out.push(`${name}${labelsOf(s.attributes, ["quantile", String(q)])} ${num(v)}`)
      }
      out.push(`${name}_sum${labelsOf(s.attributes)} ${num(st.sum)}`)
      out.push(`${name}_count${labelsOf(s.attributes)} ${st.count}`)
      return
    }
  }
}

/**
 * Renders metric snapshots as Prometheus text. Pure.
 *
 * @example
 * ```ts
 * const text = Prometheus.render(yield* Metric.snapshot)
 * ```
 */
export const render = (snapshots: ReadonlyArray<Metric.Metric.Snapshot>, options?: Options): string => {
  const maxSeries = options?.maxSeries ?? 10_000
  if (!Number.isInteger(maxSeries) || maxSeries < 1) {
    throw new RangeError(`Prometheus: "maxSeries" must be a positive integer, got ${maxSeries}.`)
  }
  const prefix = options?.prefix ? `${sanitizeName(options.prefix)}_` : ""
  const families = new Map<string, Array<{ snap: Metric.Metric.Snapshot; labels: string }>>()
  let skipped = 0
  for (const snap of snapshots) {
    const name = prefix + sanitizeName(snap.id)
    let family = families.get(name)
    if (family === undefined) families.set(name, (family = []))
    else if (family[0].snap.type !== snap.type) {
      skipped++
      continue
    }
    family.push({ snap, labels: labelsOf(snap.attributes) })
  }
  const out: Array<string> = []
  let written = 0
  for (const name of [...families.keys()].sort()) {
    const family = families
      .get(name)!
      .sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0))
    if (written >= maxSeries) {
      skipped += family.length
      continue
    }
    const description = family.find((f) => f.snap.description)?.snap.description
    if (description) out.push(`# HELP ${name} ${escapeHelp(description)}`)
    out.push(`# TYPE ${name} ${TYPES[family[0].snap.type]}`)
    for (const { snap } of family) {
      if (written >= maxSeries) {
        skipped++
        continue
      }
      seriesLines(name, snap, out)
      written++
    }
  }
  if (skipped > 0)
    out.push(`# troupe: ${skipped} series omitted (maxSeries ${maxSeries} or conflicting types)`)
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

/**
 * Snapshots the current `MetricRegistry` and renders it.
 *
 * @example
 * ```ts
 * const body = yield* Prometheus.format()
 * ```
 */
export const format = (options?: Options): Effect.Effect<string> =>
  Effect.map(Metric.snapshot, (snapshots) => render(snapshots, options))
