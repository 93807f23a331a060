/**
 * Optional OpenTelemetry (OTLP/HTTP) export of Troupe's metrics, spans and logs, built on the exporter
 * that Effect 4 ships in-tree (`effect/observability`: `Otlp`, `OtlpMetrics`, `OtlpTracer`, `OtlpLogger`).
 * No `@effect/opentelemetry` package and no OpenTelemetry SDK is needed.
 *
 * ## Using
 * ```ts
 * const Observability = Otlp.layer({ baseUrl: "http://localhost:4318", serviceName: "troupe" })
 * Effect.provide(program, Observability)
 * ```
 * Every Effect metric (including `Metrics.ts`) is exported every `metricsExportIntervalMs`; every span
 * (including `Telemetry.withAskSpan`) is batched to `/v1/traces`; logs go to `/v1/logs`. Buffers are flushed
 * when the layer's scope closes (bounded by `shutdownTimeoutMs`).
 *
 * ## Caveats
 * Uses the global `fetch` by default (Bun, Deno, Node 22, browsers); pass `httpClient` to supply another
 * `HttpClient` layer (tests use an in-process fake collector). Exporter failures are retried, then the
 * exporter pauses 60 s (Effect's behaviour); they never fail the application.
 *
 * @module
 */
import { Layer } from "effect"
import { FetchHttpClient, type HttpClient } from "effect/http"
import { Otlp, type OtlpExporter } from "effect/observability"

/**
 * Options of {@link layer}.
 *
 * @example
 * ```ts
 * Otlp.layer({ baseUrl: "http://collector:4318", serviceName: "troupe", protocol: "protobuf" })
 * ```
 */
export interface Options {
  /** Collector base URL; `/v1/metrics`, `/v1/traces`, `/v1/logs` are appended. */
  readonly baseUrl: string
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  /** Default "json". */
  readonly protocol?: "json" | "protobuf" | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Default 10 000 ms. */
  readonly metricsExportIntervalMs?: number | undefined
  /** Default 5000 ms. */
  readonly tracesExportIntervalMs?: number | undefined
  /** Default 5000 ms. */
  readonly shutdownTimeoutMs?: number | undefined
  /** HttpClient layer. Default: `FetchHttpClient.layer`. */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient> | undefined
}

/**
 * OTLP export layer (metrics, traces, logs).
 *
 * @example
 * ```ts
 * Effect.provide(program, Otlp.layer({ baseUrl: "http://localhost:4318", serviceName: "troupe" }))
 * ```
 */
export const layer = (options: Options): Layer.Layer<OtlpExporter.Flusher> => {
  if (!/^https?:\/\//.test(options.baseUrl)) {
    throw new RangeError(
      `Otlp: "baseUrl" must be an http(s) URL, got "${options.baseUrl}". Pass e.g. "http://localhost:4318".`,
    )
  }
  if (options.serviceName.length === 0) throw new RangeError(`Otlp: "serviceName" must not be empty.`)
  const make = options.protocol === "protobuf" ? Otlp.layerProtobuf : Otlp.layerJson
  return make({
    baseUrl: options.baseUrl,
    resource: { serviceName: options.serviceName, serviceVersion: options.serviceVersion },
    headers: options.headers,
    metricsExportInterval: options.metricsExportIntervalMs ?? 10_000,
    tracerExportInterval: options.tracesExportIntervalMs ?? 5000,
    shutdownTimeout: options.shutdownTimeoutMs ?? 5000,
  }).pipe(Layer.provide(options.httpClient ?? FetchHttpClient.layer))
}
