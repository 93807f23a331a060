/**
 * Typed failures of the signal area (`SignalBus`, `EventStore`). Every message states the problem and the fix.
 *
 * Each class is a `Schema.TaggedError`, so it is yielded in `Effect.gen` (`return yield* new InvalidTopic({...})`)
 * and matched by `_tag` (`Effect.catchTag("InvalidTopic", ...)`).
 *
 * @module
 */
import { Schema } from "effect"

/**
 * A topic or topic pattern is malformed. Nothing was published or subscribed.
 *
 * @example
 * ```ts
 * bus.publish({ type: "orders..created", data: {} }) // fails with InvalidTopic (empty segment)
 * ```
 */
export class InvalidTopic extends Schema.TaggedError<InvalidTopic>()("InvalidTopic", {
  topic: Schema.String,
  reason: Schema.String,
}) {
  override get message(): string {
    return (
      `Topic "${this.topic}" is invalid: ${this.reason}. Use dot-separated non-empty segments of ` +
      `letters, digits, "_", "-", ":" or "/" (at most 32 segments, 256 characters); "*" (one segment) and ` +
      `"**" (any number of segments) are allowed only as whole segments of subscription patterns.`
    )
  }
}

/**
 * A signal or event carries data that is not plain JSON (a function, `undefined`, a class instance, a cycle,
 * `NaN`...). Nothing was published or appended.
 *
 * @example
 * ```ts
 * bus.publish({ type: "orders.created", data: { at: new Date() } }) // fails with InvalidSignal at $.at
 * ```
 */
export class InvalidSignal extends Schema.TaggedError<InvalidSignal>()("InvalidSignal", {
  path: Schema.String,
  reason: Schema.String,
}) {
  override get message(): string {
    return (
      `Signal data is not JSON-serialisable at ${this.path}: ${this.reason}. Send only null, booleans, finite ` +
      `numbers, strings, arrays and plain objects (convert dates to ISO strings, drop functions and undefined).`
    )
  }
}

/**
 * The subscription used overflow policy `"fail"` and its buffer was full when a signal arrived: the subscription
 * ended. Signals buffered before the overflow were still delivered; the overflowing one went to the dead letters.
 *
 * @example
 * ```ts
 * const sub = yield* bus.subscribe("orders.*", { capacity: 16, overflow: "fail" })
 * yield* sub.take // ... eventually fails with SubscriberOverflow if the consumer falls 16 signals behind
 * ```
 */
export class SubscriberOverflow extends Schema.TaggedError<SubscriberOverflow>()("SubscriberOverflow", {
  subscriptionId: Schema.Number,
  pattern: Schema.String,
  capacity: Schema.Number,
}) {
  override get message(): string {
    return (
      `Subscription #${this.subscriptionId} on "${this.pattern}" overflowed its buffer (capacity ` +
      `${this.capacity}) under policy "fail" and was closed. Raise capacity, consume faster, or pick overflow ` +
      `"suspend", "dropOldest" or "dropNewest".`
    )
  }
}

/**
 * The subscription was closed (its Scope ended or `unsubscribe` ran) and has nothing more to deliver.
 *
 * @example
 * ```ts
 * yield* sub.unsubscribe
 * yield* sub.take // fails with SubscriptionClosed
 * ```
 */
export class SubscriptionClosed extends Schema.TaggedError<SubscriptionClosed>()("SubscriptionClosed", {
  subscriptionId: Schema.Number,
  pattern: Schema.String,
}) {
  override get message(): string {
    return (
      `Subscription #${this.subscriptionId} on "${this.pattern}" is closed. Subscribe again inside a live ` +
      `Scope, and stop taking once the scope that owns the subscription has ended.`
    )
  }
}

/**
 * An event handed to `EventStore.append` is malformed (bad type, bad time, non-JSON data). The whole batch was
 * rejected; nothing was appended.
 *
 * @example
 * ```ts
 * store.append([{ type: "ok", data: 1 }, { type: "", data: 2 }]) // fails with InvalidEvent at index 1
 * ```
 */
export class InvalidEvent extends Schema.TaggedError<InvalidEvent>()("InvalidEvent", {
  index: Schema.Number,
  reason: Schema.String,
}) {
  override get message(): string {
    return (
      `Event #${this.index} of the batch is invalid: ${this.reason}. The batch was not appended; fix that ` +
      `event (non-empty "type" of at most 256 characters, ISO "time" if given, plain JSON "data") and retry.`
    )
  }
}

/**
 * A subscription or consumer asked for an offset that retention has already removed from the log.
 *
 * @example
 * ```ts
 * store.subscribe({ from: 0 }) // fails with OffsetEvicted when offsets below 1000 were pruned
 * ```
 */
export class OffsetEvicted extends Schema.TaggedError<OffsetEvicted>()("OffsetEvicted", {
  requested: Schema.Number,
  oldest: Schema.Number,
}) {
  override get message(): string {
    return (
      `Offset ${this.requested} was removed by retention; the oldest retained offset is ${this.oldest}. ` +
      `Resume from ${this.oldest} (accepting the gap), rebuild from a snapshot, or loosen the retention limits.`
    )
  }
}

/**
 * The storage backend failed (disk full, database locked, database closed...). The operation had no effect:
 * batch appends run in one transaction that was rolled back.
 *
 * @example
 * ```ts
 * store.append(events).pipe(Effect.catchTag("StorageFailure", (e) => Effect.logError(e.message)))
 * ```
 */
export class StorageFailure extends Schema.TaggedError<StorageFailure>()("StorageFailure", {
  operation: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return (
      `Event storage failed during ${this.operation}: ${this.detail}. Nothing was changed. Check that the ` +
      `database file is writable and not opened by another process, and that the store's Scope is still open.`
    )
  }
}

/**
 * Every failure of the signal area.
 *
 * @example
 * ```ts
 * bus.publish(input).pipe(Effect.catchAll((e: SignalError.SignalError) => Effect.log(e.message)))
 * ```
 */
export type SignalError =
  | InvalidTopic
  | InvalidSignal
  | SubscriberOverflow
  | SubscriptionClosed
  | InvalidEvent
  | OffsetEvicted
  | StorageFailure
