import { describe, expect, it } from "bun:test"
import { Duration, Effect, Layer, Metric, Tracer } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import * as MetricNames from "../../src/telemetry/MetricNames.ts"
import * as Metrics from "../../src/telemetry/Metrics.ts"
import * as Otlp from "../../src/telemetry/Otlp.ts"
import * as Prometheus from "../../src/telemetry/Prometheus.ts"
import * as Telemetry from "../../src/telemetry/Telemetry.ts"

const fresh = <A, E>(effect: Effect.Effect<A, E, never>): Promise<A> =>
  Effect.runPromise(Effect.provideService(effect, Metric.MetricRegistry, new Map()))

describe("Metrics", () => {
  it("names a metric for every subsystem, all unique and Prometheus-safe", () => {
    const all = Object.values(MetricNames.bySubsystem).flat()
    expect(new Set(all).size).toBe(all.length)
    for (const n of all) expect(n).toMatch(/^troupe_[a-z_]+$/)
    for (const s of ["agent", "registry", "limiter", "breaker", "bus", "events", "cache"]) {
      expect((MetricNames.bySubsystem as any)[s].length).toBeGreaterThan(0)
    }
  })

  it("feeds the same series from the bound fast path and from Metric.update", async () => {
    const out = await fresh(
      Effect.gen(function* () {
        const bound = yield* Metrics.bind(Metrics.busDeliveries)
        for (let i = 0; i < 10; i++) bound.update(1)
        yield* Metric.update(Metrics.busDeliveries, 5)
        const depth = yield* Metrics.bind(Metrics.agentMailboxDepth)
        depth.modify(3)
        depth.modify(-1)
        return {
          count: (yield* Metric.value(Metrics.busDeliveries)).count,
          bound: bound.value().count,
          depth: depth.value().value,
        }
      }),
    )
    expect(out).toEqual({ count: 15, bound: 15, depth: 2 })
  })
})

describe("Metrics.bind", () => {
  it("shares the series whether bound before or after the first Effect update, also for transformed metrics", async () => {
    const out = await fresh(
      Effect.gen(function* () {
        yield* Metric.update(Metrics.cacheHits, 2)
        const hits = yield* Metrics.bind(Metrics.cacheHits)
        hits.update(3)
        const tagged = Metric.withAttributes(Metrics.cacheMisses, { cache: "quotes" })
        const misses = yield* Metrics.bind(tagged)
        misses.update(4)
        yield* Metric.update(tagged, 1)
        const timer = Metric.timer("t_ms", { boundaries: [1, 10] })
        const boundTimer = yield* Metrics.bind(timer)
        boundTimer.update(Duration.millis(5))
        return {
          hits: (yield* Metric.value(Metrics.cacheHits)).count,
          misses: (yield* Metric.value(tagged)).count,
          plainMisses: (yield* Metric.value(Metrics.cacheMisses)).count,
          timer: (yield* Metric.value(timer)).sum,
        }
      }),
    )
    expect(out).toEqual({ hits: 5, misses: 5, plainMisses: 0, timer: 5 })
  })
})

describe("Prometheus", () => {
  it("renders counters, gauges, histograms, summaries and frequencies in sorted text format", async () => {
    const text = await fresh(
      Effect.gen(function* () {
        yield* Metric.update(Metrics.limiterDecisions.allowed, 3)
        yield* Metric.update(Metrics.limiterDecisions.denied, 1)
        yield* Metric.update(Metric.withAttributes(Metrics.breakerState, { breaker: 'pay"ments' }), 2)
        yield* Metric.update(Metric.histogram("lat_ms", { boundaries: [1, 10] }), 5)
        yield* Metric.update(
          Metric.summary("sum_ms", { maxAge: "1 minute", maxSize: 10, quantiles: [0.5] }),
          4,
        )
        yield* Metric.update(Metric.frequency("kinds"), "a")
        return yield* Prometheus.format()
      }),
    )
    expect(text).toContain(
      `# HELP troupe_limiter_decisions_total Rate limiter decisions\n# TYPE troupe_limiter_decisions_total counter\ntroupe_limiter_decisions_total{decision="allowed"} 3\ntroupe_limiter_decisions_total{decision="denied"} 1\n`,
    )
    expect(text).toContain(`troupe_breaker_state{breaker="pay\\"ments"} 2`)
    expect(text).toContain(
      `# TYPE lat_ms histogram\nlat_ms_bucket{le="1"} 0\nlat_ms_bucket{le="10"} 1\nlat_ms_bucket{le="+Inf"} 1\nlat_ms_sum 5\nlat_ms_count 1`,
    )
    expect(text).toContain(`sum_ms{quantile="0.5"} 4`)
    expect(text).toContain(`kinds{key="a"} 1`)
    const names = text
      .split("\n")
      .filter((l) => l.startsWith("# TYPE"))
      .map((l) => l.split(" ")[2])
    expect(names).toEqual([...names].sort())
  })

  it("writes at most maxSeries series and says how many it omitted", () => {
    const snaps = Array.from({ length: 5 }, (_, i) => ({
      id: `m${i}`,
      type: "Counter" as const,
      description: undefined,
      attributes: undefined,
      state: { count: i, incremental: true },
    }))
    const text = Prometheus.render(snaps, { maxSeries: 2 })
    expect(text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length).toBe(2)
    expect(text).toContain("3 series omitted")
    expect(() => Prometheus.render(snaps, { maxSeries: 0 })).toThrow(/"maxSeries"/)
  })
})

describe("Telemetry", () => {
  it("wraps an ask in a client span named troupe.agent.ask carrying the agent name", async () => {
    const spans: Array<{ name: string; attributes: ReadonlyMap<string, unknown>; kind: string }> = []
    const tracer = Tracer.make({
      span: (options) => {
        const span = new Tracer.NativeSpan(options)
        spans.push(span as any)
        return span
      },
    })
    const out = await Effect.runPromise(
      Telemetry.withAskSpan("pricer", Effect.succeed(42)).pipe(Effect.withTracer(tracer)),
    )
    expect(out).toBe(42)
    expect(spans.map((s) => s.name)).toEqual(["troupe.agent.ask"])
    expect(spans[0].attributes.get("troupe.agent")).toBe("pricer")
    expect(spans[0].kind).toBe("client")
  })
})

describe("Otlp", () => {
  it("exports metrics and ask spans to an in-process fake collector when its scope closes", async () => {
    const received: Array<{ path: string; body: any }> = []
    const collector = Layer.succeed(HttpClient.HttpClient)(
      HttpClient.make((request, url) =>
        Effect.sync(() => {
          const body = request.body as any
          received.push({ path: url.pathname, body: JSON.parse(new TextDecoder().decode(body.body)) })
          return HttpClientResponse.fromWeb(request, new Response("{}", { status: 200 }))
        }),
      ),
    )
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* Metric.update(Metrics.agentAsks, 3)
        yield* Telemetry.withAskSpan("pricer", Effect.void)
      }).pipe(
        Effect.provide(
          Otlp.layer({
            baseUrl: "http://collector.test:4318",
            serviceName: "troupe-test",
            httpClient: collector,
          }),
        ),
        Effect.provideService(Metric.MetricRegistry, new Map()),
      ),
    )
    const paths = received.map((r) => r.path).sort()
    expect(paths).toContain("/v1/metrics")
    expect(paths).toContain("/v1/traces")
    const metrics = JSON.stringify(received.find((r) => r.path === "/v1/metrics")!.body)
    expect(metrics).toContain(MetricNames.agentAsks)
    expect(metrics).toContain("troupe-test")
    const traces = JSON.stringify(received.find((r) => r.path === "/v1/traces")!.body)
    expect(traces).toContain("troupe.agent.ask")
  })

  it("rejects an invalid baseUrl at construction, naming the option", () => {
    expect(() => Otlp.layer({ baseUrl: "collector:4318", serviceName: "x" })).toThrow(/"baseUrl"/)
  })
})
