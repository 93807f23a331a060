/**
 * Telemetry figures: counter increment (Effect `Metric.update` in a fiber, and the bound synchronous fast
 * path of `Metrics.bind`), DDSketch insert, Prometheus rendering of 100 metrics (peer: Effect's own
 * `PrometheusMetrics.formatUnsafe` on the same registry).
 */
import { Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { checkSketchOptions, DDSketch } from "../src/telemetry/internal/ddSketch.ts"
import * as Metrics from "../src/telemetry/Metrics.ts"
import * as Prometheus from "../src/telemetry/Prometheus.ts"
import { emit, medianOf, note, now } from "./harness.ts"

const nsPerOp = (ms: number, ops: number) => (ms * 1e6) / ops

export const run = async (): Promise<void> => {
  note("telemetry: counter, sketch, prometheus")
  const registry = new Map()
  const N = 2_000_000

  // Effect Metric.update inside one fiber: the per-call cost users pay from Effect code.
  const effectLoop = Effect.gen(function* () {
    for (let i = 0; i < N; i++) yield* Metric.update(Metrics.busDeliveries, 1)
  }).pipe(Effect.provideService(Metric.MetricRegistry, registry))
  await Effect.runPromise(effectLoop) // warm-up
  const effectNs = await medianOf(5, async () => {
    const t0 = now()
    await Effect.runPromise(effectLoop)
    return nsPerOp(now() - t0, N)
  })

  // The bound synchronous fast path feeding the same series.
  const bound = await Effect.runPromise(
    Metrics.bind(Metrics.busDeliveries).pipe(Effect.provideService(Metric.MetricRegistry, registry)),
  )
  const fastLoop = () => {
    for (let i = 0; i < N; i++) bound.update(1)
  }
  fastLoop()
  const fastNs = await medianOf(7, () => {
    const t0 = now()
    fastLoop()
    return nsPerOp(now() - t0, N)
  })
  // 6 Effect runs (1 warm-up) + 8 fast runs, all on the same series.
  if (bound.value().count !== N * 14) throw new Error(`counter lost updates: ${bound.value().count}`)

  emit({ name: "telemetry.counter_ns", value: fastNs, unit: "ns/op" })
  emit({ name: "telemetry.counter_effect_ns", value: effectNs, unit: "ns/op" })

  // DDSketch insert of log-normal-ish latencies.
  const sketch = new DDSketch(checkSketchOptions("bench", {}))
  const M = 1_000_000
  const values = Float64Array.from({ length: 4096 }, () => Math.exp(Math.random() * 8 - 4))
  const insert = () => {
    for (let i = 0; i < M; i++) sketch.add(values[i & 4095])
  }
  insert()
  const sketchNs = await medianOf(5, () => {
    const t0 = now()
    insert()
    return nsPerOp(now() - t0, M)
  })
  emit({ name: "telemetry.sketch_insert_ns", value: sketchNs, unit: "ns/op" })

  // Prometheus text for 100 metrics: 40 counters, 30 gauges, 20 histograms, 10 summaries.
  const reg100 = new Map()
  const ctx = await Effect.runPromise(
    Effect.gen(function* () {
      for (let i = 0; i < 40; i++)
        yield* Metric.update(Metric.counter(`bench_counter_${i}_total`, { description: "c" }), i)
      for (let i = 0; i < 30; i++)
        yield* Metric.update(Metric.gauge(`bench_gauge_${i}`, { attributes: { shard: String(i % 4) } }), i)
      for (let i = 0; i < 20; i++)
        yield* Metric.update(
          Metric.histogram(`bench_hist_${i}_ms`, {
            boundaries: Metric.exponentialBoundaries({ start: 0.01, factor: 2, count: 20 }),
          }),
          i,
        )
      for (let i = 0; i < 10; i++)
        yield* Metric.update(
          Metric.summary(`bench_sum_${i}_ms`, { maxAge: "1 minute", maxSize: 100, quantiles: [0.5, 0.99] }),
          i,
        )
      return yield* Effect.context<never>()
    }).pipe(Effect.provideService(Metric.MetricRegistry, reg100)),
  )
  if (reg100.size !== 100) throw new Error(`expected 100 metrics, got ${reg100.size}`)
  const R = 500
  const ours = await medianOf(5, () => {
    const t0 = now()
    for (let i = 0; i < R; i++) Prometheus.render(Metric.snapshotUnsafe(ctx))
    return ((now() - t0) * 1000) / R
  })
  const peer = await medianOf(5, () => {
    const t0 = now()
    for (let i = 0; i < R; i++) PrometheusMetrics.formatUnsafe(ctx)
    return ((now() - t0) * 1000) / R
  })
  emit({
    name: "telemetry.prometheus_render_us",
    value: ours,
    unit: "us/render",
    peer: "effect/observability PrometheusMetrics",
    peerValue: peer,
    ratio: ours / peer,
  })
}
