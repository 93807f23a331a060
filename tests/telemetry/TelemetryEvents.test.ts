import { describe, expect, it } from "bun:test"
import { Effect, Fiber, Metric } from "effect"
import { TestClock } from "effect/testing"
import * as ErrorStore from "../../src/telemetry/ErrorStore.ts"
import * as Metrics from "../../src/telemetry/Metrics.ts"
import * as TelemetryEvents from "../../src/telemetry/TelemetryEvents.ts"
import { runTest } from "./harness.ts"

const run = runTest

describe("TelemetryEvents", () => {
  it("detaches a throwing handler, reports it, and keeps emitting to the others", async () => {
    const out = await run(
      Effect.gen(function* () {
        const store = yield* ErrorStore.make()
        const events = yield* TelemetryEvents.make({ errorStore: store })
        const seen: Array<string> = []
        yield* events.attach(
          "before",
          "troupe.agent.ask",
          (e) => void seen.push(`before:${e.measurements.n}`),
        )
        yield* events.attach("thrower", "troupe.agent.ask", () => {
          throw new Error("boom")
        })
        yield* events.attach("after", "troupe.agent.*", (e) => void seen.push(`after:${e.measurements.n}`))
        yield* events.emit("troupe.agent.ask", { n: 1 })
        yield* events.emit("troupe.agent.ask", { n: 2 })
        return {
          seen,
          handlers: (yield* events.handlers).map((h) => h.id),
          errors: yield* store.query({ tag: "TelemetryHandlerFailed" }),
          failures: (yield* Metric.value(Metrics.telemetryHandlerFailures)).count,
          recorded: (yield* Metric.value(Metrics.errorsRecorded)).count,
        }
      }),
    )
    expect(out.seen).toEqual(["before:1", "after:1", "before:2", "after:2"])
    expect(out.handlers).toEqual(["before", "after"])
    expect(out.errors.length).toBe(1)
    expect(out.errors[0].message).toContain('"thrower"')
    expect(out.errors[0].message).toContain("boom")
    expect(out.failures).toBe(1)
    expect(out.recorded).toBe(1)
  })

  it("detaches handlers whose Effect fails, dies or exceeds the timeout", async () => {
    const out = await run(
      Effect.gen(function* () {
        const events = yield* TelemetryEvents.make({ handlerTimeoutMs: 100 })
        let ok = 0
        yield* events.attach("fails", "*", () => Effect.fail("nope"))
        yield* events.attach("dies", "*", () => Effect.die(new Error("defect")))
        yield* events.attach("hangs", "*", () => Effect.never)
        yield* events.attach("ok", "*", () => Effect.sync(() => ok++))
        const fiber = yield* Effect.forkChild(events.emit("x"))
        yield* TestClock.adjust(100)
        yield* Fiber.await(fiber)
        yield* events.emit("y")
        return {
          ok,
          handlers: (yield* events.handlers).map((h) => h.id),
          failures: (yield* Metric.value(Metrics.telemetryHandlerFailures)).count,
        }
      }),
    )
    expect(out.handlers).toEqual(["ok"])
    expect(out.ok).toBe(2)
    expect(out.failures).toBe(3)
  })

  it("bounds the number of handlers and rejects duplicate ids", async () => {
    const out = await run(
      Effect.gen(function* () {
        const events = yield* TelemetryEvents.make({ maxHandlers: 2 })
        yield* events.attach("a", "e", () => {})
        const dup = yield* Effect.flip(events.attach("a", "e", () => {}))
        yield* events.attach("b", "e", () => {})
        const full = yield* Effect.flip(events.attach("c", "e", () => {}))
        const detached = yield* events.detach("a")
        yield* events.attach("c", "e", () => {})
        return { dup, full, detached, ids: (yield* events.handlers).map((h) => h.id) }
      }),
    )
    expect(out.dup._tag).toBe("TelemetryHandlerExists")
    expect(out.full._tag).toBe("TelemetryHandlersExhausted")
    expect(out.detached).toBe(true)
    expect(out.ids).toEqual(["b", "c"])
  })

  it("detaches scoped handlers when their scope closes", async () => {
    const ids = await run(
      Effect.gen(function* () {
        const events = yield* TelemetryEvents.make()
        yield* Effect.scoped(events.attachScoped("temp", "e", () => {}))
        yield* events.attachScoped("kept", "e", () => {})
        return (yield* events.handlers).map((h) => h.id)
      }),
    )
    expect(ids).toEqual(["kept"])
  })

  it("fails at construction naming the invalid option", () => {
    expect(() => Effect.runSync(TelemetryEvents.make({ maxHandlers: 0 }))).toThrow(/"maxHandlers"/)
    expect(() => Effect.runSync(TelemetryEvents.make({ handlerTimeoutMs: -1 }))).toThrow(/"handlerTimeoutMs"/)
  })
})
