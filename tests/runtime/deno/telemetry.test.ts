import { Effect, Metric } from "effect"
import * as Config from "../../../src/config/Config.ts"
import { layerFromEnvironment } from "../../../src/runtime/config.ts"
import * as Metrics from "../../../src/telemetry/Metrics.ts"
import * as Prometheus from "../../../src/telemetry/Prometheus.ts"

const assert = (cond: boolean, message: string) => {
  if (!cond) throw new Error(message)
}

Deno.test("telemetry: config from env, metrics and Prometheus text", async () => {
  Deno.env.set("TROUPE_AGENT_ASK_TIMEOUT_MS", "250")
  Deno.env.set("TROUPE_LOG_LEVEL", "Debug")
  try {
    const program = Effect.gen(function* () {
      const config = yield* Config.Config
      const timeout = yield* config.get("agent.askTimeoutMs")
      const level = yield* config.get("logLevel")
      const refused = yield* Effect.flip(config.update("http.port", 1))
      const asks = yield* Metrics.bind(Metrics.agentAsks)
      asks.update(2)
      yield* Metric.update(Metrics.busDeliveries, 5)
      const text = yield* Prometheus.format()
      return { timeout, level, refused, text }
    }).pipe(Effect.provide(layerFromEnvironment()), Effect.provideService(Metric.MetricRegistry, new Map()))
    const out = await Effect.runPromise(program)
    assert(out.timeout === 250, `askTimeoutMs from env: got ${out.timeout}`)
    assert(out.level === "Debug", `logLevel from env: got ${out.level}`)
    assert(out.refused._tag === "ConfigNotUpdatable", `expected ConfigNotUpdatable, got ${out.refused._tag}`)
    assert(out.text.includes("troupe_agent_asks_total 2\n"), `prometheus text lacks asks:\n${out.text}`)
    assert(out.text.includes("# TYPE troupe_bus_deliveries_total counter"), "prometheus text lacks bus TYPE")
  } finally {
    Deno.env.delete("TROUPE_AGENT_ASK_TIMEOUT_MS")
    Deno.env.delete("TROUPE_LOG_LEVEL")
  }
})
