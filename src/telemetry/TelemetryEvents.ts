/**
 * Telemetry events in the style of Erlang's `:telemetry`: `emit(eventName, measurements, metadata)` calls
 * every handler attached to that event. Fixes the original system's leaking handlers.
 *
 * ## Guarantees
 * - **Bounded.** At most `maxHandlers` handlers are attached (else `TelemetryHandlersExhausted`);
 *   `attachScoped` detaches with its `Scope`, so a finished subscriber never lingers.
 * - **Failure isolation.** A handler that throws, returns a failing or dying Effect, or whose Effect runs
 *   longer than `handlerTimeoutMs`, is detached at once, reported to the ErrorStore (tag
 *   `TelemetryHandlerFailed`, when one is given) and counted in `troupe_telemetry_handler_failures_total`.
 *   `emit` itself never fails and the remaining handlers still run.
 * - **Ordering.** Handlers run serially in attach order in the emitting fiber. A handler attached during an
 *   `emit` first runs on the next `emit`; one detached during an `emit` is skipped from that moment on.
 *
 * ## Event names
 * Dotted names (`"troupe.agent.ask"`). A handler listens to exact names or to a prefix pattern ending in
 * `.*` (`"troupe.agent.*"` matches `troupe.agent.ask` and `troupe.agent.restart`), or `"*"` for all.
 *
 * ## Caveats
 * Handlers run inline: keep them short (a synchronous handler cannot be timed out). For slow work, have the
 * handler `tell` an agent.
 *
 * @module
 */
import { Cause, Context, Effect, Exit, Layer, type Scope } from "effect"
import { ErrorStore, type ErrorStoreService } from "./ErrorStore.ts"
import { telemetryEvents, telemetryHandlerFailures } from "./Metrics.ts"
import {
  TelemetryHandlerExists,
  TelemetryHandlerFailed,
  TelemetryHandlersExhausted,
} from "./TelemetryError.ts"

/**
 * An emitted event.
 *
 * @example
 * ```ts
 * const e: TelemetryEvents.TelemetryEvent = { name: "troupe.agent.ask", measurements: { durationMs: 0.3 }, metadata: { agent: "pricer" } }
 * ```
 */
export interface TelemetryEvent {
  readonly name: string
  readonly measurements: Readonly<Record<string, number>>
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * A handler: return nothing, or an Effect to run (errors and defects detach the handler).
 *
 * @example
 * ```ts
 * const h: TelemetryEvents.Handler = (e) => { seen.push(e.name) }
 * ```
 */
export type Handler = (event: TelemetryEvent) => void | Effect.Effect<unknown, unknown>

/**
 * Options of {@link make}.
 *
 * @example
 * ```ts
 * TelemetryEvents.make({ maxHandlers: 64, handlerTimeoutMs: 1000, errorStore })
 * ```
 */
export interface Options {
  /** Handlers attached at once. Default 64. */
  readonly maxHandlers?: number | undefined
  /** Time limit for a handler's Effect. Default 1000 ms. */
  readonly handlerTimeoutMs?: number | undefined
  /** Where failing handlers are reported. Default: not reported (still counted). */
  readonly errorStore?: ErrorStoreService | undefined
}

/**
 * The telemetry events service.
 *
 * @example
 * ```ts
 * const events = yield* TelemetryEvents.TelemetryEvents
 * yield* events.attachScoped("count-asks", ["troupe.agent.ask"], (e) => { asks++ })
 * yield* events.emit("troupe.agent.ask", { durationMs: 0.2 }, { agent: "pricer" })
 * ```
 */
export interface TelemetryEventsService {
  readonly attach: (
    id: string,
    events: string | ReadonlyArray<string>,
    handler: Handler,
  ) => Effect.Effect<void, TelemetryHandlerExists | TelemetryHandlersExhausted>
  /** Like `attach`, detached when the current Scope closes. */
  readonly attachScoped: (
    id: string,
    events: string | ReadonlyArray<string>,
    handler: Handler,
  ) => Effect.Effect<void, TelemetryHandlerExists | TelemetryHandlersExhausted, Scope.Scope>
  /** `true` when a handler with this id was attached. */
  readonly detach: (id: string) => Effect.Effect<boolean>
  readonly emit: (
    name: string,
    measurements?: Readonly<Record<string, number>>,
    metadata?: Readonly<Record<string, unknown>>,
  ) => Effect.Effect<void>
  /** Ids and patterns of the attached handlers, in attach order. */
  readonly handlers: Effect.Effect<
    ReadonlyArray<{ readonly id: string; readonly events: ReadonlyArray<string> }>
  >
}

interface Entry {
  readonly id: string
  readonly events: ReadonlyArray<string>
  readonly exact: ReadonlySet<string>
  readonly prefixes: ReadonlyArray<string>
  readonly handler: Handler
  attached: boolean
}

const positiveNumber = (
  name: string,
  value: number | undefined,
  fallback: number,
  integer: boolean,
): number => {
  const v = value ?? fallback
  if (!(v > 0) || (integer && !Number.isInteger(v))) {
    throw new RangeError(
      `TelemetryEvents: "${name}" must be a positive ${integer ? "integer" : "number"}, got ${v}. Pass ${name} > 0.`,
    )
  }
  return v
}

const MATCH_CACHE_LIMIT = 1024
const EMPTY: Readonly<Record<string, never>> = {}

const describe = (u: unknown): string =>
  u instanceof Error
    ? `${u.name}: ${u.message}`
    : typeof u === "string"
      ? u
      : (JSON.stringify(u) ?? String(u))

/**
 * Creates the service. Invalid options throw a `RangeError` naming the option.
 *
 * @example
 * ```ts
 * const events = yield* TelemetryEvents.make({ maxHandlers: 16 })
 * ```
 */
export const make = (options?: Options): Effect.Effect<TelemetryEventsService> =>
  Effect.suspend(() => {
    const maxHandlers = positiveNumber("maxHandlers", options?.maxHandlers, 64, true)
    const handlerTimeoutMs = positiveNumber("handlerTimeoutMs", options?.handlerTimeoutMs, 1000, false)
    const errorStore = options?.errorStore
    let entries: ReadonlyArray<Entry> = []
    // Event name -> matching handlers; rebuilt lazily, cleared on attach/detach, bounded.
    const matchCache = new Map<string, ReadonlyArray<Entry>>()

    const matching = (name: string): ReadonlyArray<Entry> => {
      let found = matchCache.get(name)
      if (found === undefined) {
        found = entries.filter((e) => e.exact.has(name) || e.prefixes.some((p) => name.startsWith(p)))
        if (matchCache.size >= MATCH_CACHE_LIMIT) matchCache.clear()
        matchCache.set(name, found)
      }
      return found
    }

    const detachUnsafe = (id: string): boolean => {
      const entry = entries.find((e) => e.id === id)
      if (entry === undefined) return false
      entry.attached = false
      entries = entries.filter((e) => e !== entry)
      matchCache.clear()
      return true
    }

    const attach = (id: string, events: string | ReadonlyArray<string>, handler: Handler) =>
      Effect.suspend((): Effect.Effect<void, TelemetryHandlerExists | TelemetryHandlersExhausted> => {
        if (entries.some((e) => e.id === id)) return Effect.fail(new TelemetryHandlerExists({ id }))
        if (entries.length >= maxHandlers) return Effect.fail(new TelemetryHandlersExhausted({ maxHandlers }))
        const list = typeof events === "string" ? [events] : [...events]
        const exact = new Set(list.filter((p) => !p.endsWith("*")))
        const prefixes = list.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1))
        entries = [...entries, { id, events: list, exact, prefixes, handler, attached: true }]
        matchCache.clear()
        return Effect.void
      })

    const fail = (entry: Entry, event: TelemetryEvent, problem: string): Effect.Effect<void> =>
      Effect.gen(function* () {
        if (!detachUnsafe(entry.id)) return
        const context = yield* Effect.context<never>()
        telemetryHandlerFailures.updateUnsafe(1, context)
        if (errorStore !== undefined) {
          const error = new TelemetryHandlerFailed({ id: entry.id, event: event.name, problem })
          yield* errorStore.record({ error, context: { handler: entry.id, event: event.name } })
        }
      })

    const runEffect = (entry: Entry, event: TelemetryEvent, effect: Effect.Effect<unknown, unknown>) =>
      Effect.flatMap(Effect.exit(Effect.timeout(effect, handlerTimeoutMs)), (exit) =>
        Exit.isSuccess(exit) ? Effect.void : fail(entry, event, describe(Cause.squash(exit.cause))),
      )

    const emit = (
      name: string,
      measurements?: Readonly<Record<string, number>>,
      metadata?: Readonly<Record<string, unknown>>,
    ): Effect.Effect<void> =>
      Effect.withFiber((fiber) => {
        telemetryEvents.updateUnsafe(1, fiber.context)
        const targets = matching(name)
        if (targets.length === 0) return Effect.void
        const event: TelemetryEvent = {
          name,
          measurements: measurements ?? EMPTY,
          metadata: metadata ?? EMPTY,
        }
        // Runs handlers from index i in order; synchronous handlers stay synchronous, an Effect result
        // suspends the loop until it has run.
        const from = (i: number): Effect.Effect<void> => {
          for (; i < targets.length; i++) {
            const entry = targets[i]
            if (!entry.attached) continue
            let result: unknown
            try {
              result = entry.handler(event)
            } catch (thrown) {
              const next = i + 1
              return Effect.flatMap(fail(entry, event, describe(thrown)), () => from(next))
            }
            if (Effect.isEffect(result)) {
              const next = i + 1
              return Effect.flatMap(runEffect(entry, event, result as Effect.Effect<unknown, unknown>), () =>
                from(next),
              )
            }
          }
          return Effect.void
        }
        return from(0)
      })

    return Effect.succeed({
      attach,
      attachScoped: (id, events, handler) =>
        Effect.flatMap(attach(id, events, handler), () =>
          Effect.addFinalizer(() => Effect.sync(() => void detachUnsafe(id))),
        ),
      detach: (id) => Effect.sync(() => detachUnsafe(id)),
      emit,
      handlers: Effect.sync(() => entries.map((e) => ({ id: e.id, events: e.events }))),
    } satisfies TelemetryEventsService)
  })

/**
 * The telemetry events service tag.
 *
 * @example
 * ```ts
 * const events = yield* TelemetryEvents.TelemetryEvents
 * ```
 */
export class TelemetryEvents extends Context.Service<TelemetryEvents, TelemetryEventsService>()(
  "troupe/TelemetryEvents",
) {}

/**
 * Layer of the service; failing handlers are reported to the `ErrorStore` passed in `options.errorStore`.
 *
 * @example
 * ```ts
 * Effect.provide(program, TelemetryEvents.layer({ maxHandlers: 64 }))
 * ```
 */
export const layer = (options?: Options): Layer.Layer<TelemetryEvents> =>
  Layer.effect(TelemetryEvents)(make(options))

/**
 * Layer of the service reporting failing handlers to the `ErrorStore` service.
 *
 * @example
 * ```ts
 * Effect.provide(program, TelemetryEvents.layerReporting().pipe(Layer.provide(ErrorStore.layer())))
 * ```
 */
export const layerReporting = (
  options?: Omit<Options, "errorStore">,
): Layer.Layer<TelemetryEvents, never, ErrorStore> =>
  Layer.effect(TelemetryEvents)(Effect.flatMap(ErrorStore, (errorStore) => make({ ...options, errorStore })))
