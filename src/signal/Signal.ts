/**
 * The signal envelope shared by `SignalBus` and `EventStore`: a CloudEvents 1.0 event
 * (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md) with two tracing extensions.
 *
 * - `type` is the dotted topic the signal is routed on (`orders.eu.created`).
 * - `data` is plain JSON (validated on publish/append; see `InvalidSignal`).
 * - `correlationId` groups every signal of one conversation/workflow; `causationId` is the `id` of the signal
 *   that directly caused this one. On the wire (`toCloudEvent`) they become the lower-case extension attributes
 *   `correlationid` and `causationid`, as CloudEvents requires.
 *
 * Signals are shared between subscribers without copying: treat them (and their `data`) as immutable.
 *
 * @module
 */

/**
 * A CloudEvents 1.0 envelope.
 *
 * @example
 * ```ts
 * const s: Signal.Signal<{ sku: string }> = yield* bus.publish({ type: "orders.created", data: { sku: "a1" } })
 * s.specversion // "1.0"
 * ```
 */
export interface Signal<A = unknown> {
  readonly specversion: "1.0"
  /** Unique per `source`. Generated unless given. */
  readonly id: string
  /** Who emitted it (a URI-reference such as `/agents/pricer`). */
  readonly source: string
  /** The dotted topic. */
  readonly type: string
  /** RFC 3339 timestamp, taken from the Effect `Clock` when not given. */
  readonly time: string
  readonly subject: string | undefined
  readonly datacontenttype: "application/json"
  readonly data: A
  readonly correlationId: string | undefined
  readonly causationId: string | undefined
}

/**
 * What a publisher supplies; the rest of the envelope is filled in.
 *
 * @example
 * ```ts
 * const input: Signal.SignalInput = { type: "orders.created", source: "/shop", data: { sku: "a1" }, correlationId: "o-1" }
 * ```
 */
export interface SignalInput<A = unknown> {
  readonly type: string
  readonly data: A
  readonly source?: string | undefined
  readonly subject?: string | undefined
  readonly id?: string | undefined
  readonly time?: string | undefined
  readonly correlationId?: string | undefined
  readonly causationId?: string | undefined
}

/**
 * The structured-mode JSON form of a signal, with extension attributes in CloudEvents' lower-case spelling.
 *
 * @example
 * ```ts
 * JSON.stringify(Signal.toCloudEvent(signal)) // {"specversion":"1.0","id":"...","correlationid":"o-1",...}
 * ```
 */
export const toCloudEvent = (signal: Signal): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    specversion: "1.0",
    id: signal.id,
    source: signal.source,
    type: signal.type,
    time: signal.time,
    datacontenttype: signal.datacontenttype,
    data: signal.data,
  }
  if (signal.subject !== undefined) out.subject = signal.subject
  if (signal.correlationId !== undefined) out.correlationid = signal.correlationId
  if (signal.causationId !== undefined) out.causationid = signal.causationId
  return out
}

/**
 * A follow-up signal input caused by `cause`: same correlation id (or the cause's id when it has none) and
 * `causationId` set to the cause's id.
 *
 * @example
 * ```ts
 * yield* bus.publish(Signal.causedBy(order, { type: "payments.requested", data: { amount: 10 } }))
 * ```
 */
export const causedBy = <A>(cause: Signal, input: SignalInput<A>): SignalInput<A> => ({
  ...input,
  correlationId: cause.correlationId ?? cause.id,
  causationId: cause.id,
})
