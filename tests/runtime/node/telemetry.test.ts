import assert from "node:assert/strict"
import { test } from "node:test"
import { Effect, Metric } from "effect"
import * as Config from "../../../src/config/Config.ts"
import { layerFromEnvironment } from "../../../src/runtime/config.ts"
import * as Metrics from "../../../src/telemetry/Metrics.ts"
import * as Prometheus from "../../../src/telemetry/Prometheus.ts"

test("telemetry: config from env, metrics and Prometheus text", async () => {
  const program = Effect.gen(function* () {
    const config = yield* Config.Config
    const timeout = yield* config.get("agent.askTimeoutMs")
    const asks = yield* Metrics.bind(Metrics.agentAsks)
    asks.update(2)
    return { timeout, text: yield* Prometheus.format() }
  }).pipe(
    Effect.provide(layerFromEnvironment({ env: { TROUPE_AGENT_ASK_TIMEOUT_MS: "250" } })),
    Effect.provideService(Metric.MetricRegistry, new Map()),
  )
  const out = await Effect.runPromise(program)
  assert.equal(out.timeout, 250)
  assert.match(out.text, /troupe_agent_asks_total 2\n/)
})
