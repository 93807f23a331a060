/**
 * Tracing helpers for the agent kernel.
 *
 * `withAskSpan` wraps an `ask` in an Effect span (`Effect.withSpan`), so any tracer installed in the
 * context (the OTLP layer of `Otlp.ts`, or a test tracer) records it with its duration, status and the
 * agent name. Without a tracer installed the span is created and dropped by Effect's default no-op
 * tracer; cost is one span object per ask.
 *
 * @module
 */
import { Effect } from "effect"

/** Span name used by {@link withAskSpan}. @example Telemetry.askSpanName // "troupe.agent.ask" */
export const askSpanName = "troupe.agent.ask"

/**
 * Runs `effect` (an ask to agent `name`) inside a client span `troupe.agent.ask` with attribute
 * `troupe.agent = name` plus the given attributes. Failure and interruption are recorded on the span.
 *
 * @example
 * ```ts
 * const reply = yield* Telemetry.withAskSpan("pricer", ref.ask({ _tag: "Quote" }, { timeoutMs: 1000 }))
 * ```
 */
export const withAskSpan = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  attributes?: Readonly<Record<string, unknown>>,
): Effect.Effect<A, E, R> =>
  Effect.withSpan(effect, askSpanName, {
    kind: "client",
    attributes: attributes === undefined ? { "troupe.agent": name } : { ...attributes, "troupe.agent": name },
  }) as Effect.Effect<A, E, R>
