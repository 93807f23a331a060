/**
 * SignalBus: in-process publish/subscribe of CloudEvents signals on dotted topics.
 *
 * ## Topics and patterns
 * A topic is `segment(.segment)*` (letters, digits, `_ - : /`; at most 32 segments and 256 characters).
 * Subscription patterns may also use `*` (exactly one segment) and `**` (zero or more segments) as whole
 * segments: `orders.*.created`, `orders.**`, `**.failed`. Matching walks a trie of segments with dedicated
 * `*`/`**` branches (cost independent of the number of subscriptions), and the result per concrete topic is
 * kept in a bounded route cache (`routeCacheSize`, default 4,096 topics; emptied when full and whenever a
 * subscription is added or removed).
 *
 * ## Guarantees
 * - **Validation first.** An invalid topic (`InvalidTopic`) or non-JSON data (`InvalidSignal`) fails the
 *   publish before anything is routed; an invalid pattern fails `subscribe` before anything is registered.
 * - **Bounded buffers.** Every buffered subscription has a `capacity` (default 1,024) and an `overflow` policy:
 *   `"suspend"` (default: the publisher waits until the subscriber has room; waiting puts are served FIFO),
 *   `"dropNewest"` (the incoming signal is dropped), `"dropOldest"` (the oldest buffered signal is dropped),
 *   `"fail"` (the subscription ends with `SubscriberOverflow`; what it had buffered is still delivered first).
 * - **Order.** Routing a signal to all its subscribers happens in one synchronous section, and a publish
 *   returns only when every "suspend" subscriber has accepted it, so the signals of one publisher (one fiber
 *   publishing sequentially) reach every subscriber in publish order (minus drops).
 * - **Accounting.** For every subscription, each matching signal is exactly one of: delivered (taken by the
 *   consumer, accepted by the sink, or handled without failure), dropped (by policy, or withdrawn because its
 *   suspended publisher was interrupted), dead-lettered, or still buffered. So once a subscription is closed,
 *   `delivered + dropped + deadLettered` equals the number of matching signals published while it was open.
 * - **Dead letters.** Signals a subscriber could not take ("overflow" under `"fail"`, "rejected" by a sink,
 *   "handlerFailed", "unsubscribed" while still buffered, and optionally "unrouted") go to a bounded ring
 *   (`deadLetterCapacity`, default 1,024; the oldest is evicted and counted) that `deadLetters` queries.
 * - **Scoped.** Every subscription belongs to the `Scope` it was made in and closes with it.
 * - **Telemetry.** Deliveries and drops also add to the `troupe_bus_deliveries_total` / `troupe_bus_drops_total`
 *   counters of the `MetricRegistry` in the context where the bus was made.
 *
 * ## Caveats
 * Signals are shared, not copied: treat them as immutable. A `"suspend"` subscriber that never consumes
 * stalls its publishers (that is the point of the policy); pick a dropping policy for telemetry-like topics.
 * Sinks run synchronously inside `publish`: keep them to an enqueue (such as an agent's `tellUnsafe`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as SignalBus from "./SignalBus.ts"
 *
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const bus = yield* SignalBus.make()
 *   const sub = yield* bus.subscribe("orders.*", { capacity: 256, overflow: "dropOldest" })
 *   yield* bus.publish({ type: "orders.created", source: "/shop", data: { sku: "a1" } })
 *   const signal = yield* sub.take
 *   return signal.data // { sku: "a1" }
 * }))
 * ```
 *
 * @module
 */
import { Cause, type Clock, Context, Effect, Exit, Layer, type Scope } from "effect"
import type { AgentRef } from "../agent/Agent.ts"
import * as Metrics from "../telemetry/Metrics.ts"
import {
  BufferTarget,
  BusCore,
  type DeadLetter,
  type DeadLetterReason,
  type OverflowPolicy,
  type PendingPublish,
  SinkTarget,
  type Target,
} from "./internal/busCore.ts"
import { makeIdGenerator } from "./internal/ids.ts"
import { validateJson } from "./internal/json.ts"
import { parseTopic } from "./internal/topic.ts"
import { TopicTrie } from "./internal/topicTrie.ts"
import type { Signal, SignalInput } from "./Signal.ts"
import { InvalidSignal, InvalidTopic, SubscriberOverflow, SubscriptionClosed } from "./SignalError.ts"

export type { DeadLetter, DeadLetterReason, OverflowPolicy }

/**
 * Bus options. All optional.
 *
 * @example
 * ```ts
 * SignalBus.make({ source: "/billing", deadLetterCapacity: 10_000 })
 * ```
 */
export interface Options {
  /** Default `source` of signals published without one. Default `"troupe"`. */
  readonly source?: string
  /** Concrete topics whose routes are cached. Default 4,096; the cache is emptied when full. */
  readonly routeCacheSize?: number
  /** Dead letters kept; the oldest is evicted beyond it. Default 1,024. `0` keeps none (they are still counted). */
  readonly deadLetterCapacity?: number
  /** Also dead-letter signals no subscription matched (reason "unrouted"). Default `false` (only counted). */
  readonly deadLetterUnrouted?: boolean
}

/**
 * Options of a buffered subscription.
 *
 * @example
 * ```ts
 * bus.subscribe("metrics.**", { capacity: 64, overflow: "dropOldest" })
 * ```
 */
export interface SubscribeOptions {
  /** Signals buffered for this subscriber. Default 1,024. */
  readonly capacity?: number
  /** What happens when the buffer is full. Default `"suspend"`. */
  readonly overflow?: OverflowPolicy
}

/**
 * Counters of one subscription.
 *
 * @example
 * ```ts
 * const { delivered, dropped, deadLettered, buffered } = yield* sub.stats
 * ```
 */
export interface SubscriptionStats {
  readonly delivered: number
  readonly dropped: number
  readonly deadLettered: number
  /** Buffered plus waiting ("suspend") signals. */
  readonly buffered: number
  readonly state: "open" | "failed" | "closed"
}

/**
 * A subscription. Buffered subscriptions are consumed with `take`/`takeBatch`; sink and handler subscriptions
 * deliver by themselves (their `take` fails with `SubscriptionClosed`).
 *
 * @example
 * ```ts
 * const sub = yield* bus.subscribe("orders.**")
 * const batch = yield* sub.takeBatch(100) // waits for at least one
 * ```
 */
export interface Subscription {
  readonly id: number
  readonly pattern: string
  /** Waits for the next signal. Fails with `SubscriberOverflow` (policy "fail") or `SubscriptionClosed`. */
  readonly take: Effect.Effect<Signal, SubscriberOverflow | SubscriptionClosed>
  /** Waits for at least one signal and returns up to `max` (in order). */
  readonly takeBatch: (
    max: number,
  ) => Effect.Effect<ReadonlyArray<Signal>, SubscriberOverflow | SubscriptionClosed>
  readonly stats: Effect.Effect<SubscriptionStats>
  /** Closes now (idempotent): still-buffered signals go to the dead letters, suspended publishers are released. */
  readonly unsubscribe: Effect.Effect<void>
}

/**
 * Bus-wide counters.
 *
 * @example
 * ```ts
 * const { published, unrouted, deadLettered } = yield* bus.stats
 * ```
 */
export interface BusStats {
  readonly published: number
  readonly unrouted: number
  readonly deadLettered: number
  /** Dead letters evicted from the bounded ring. */
  readonly deadLettersEvicted: number
  readonly subscriptions: number
}

/**
 * A dead-letter query. All filters optional; results are oldest first, the most recent `limit` (default 100).
 *
 * @example
 * ```ts
 * yield* bus.deadLetters({ reason: "overflow", type: "orders.**", limit: 10 })
 * ```
 */
export interface DeadLetterQuery {
  readonly reason?: DeadLetterReason
  readonly subscriptionId?: number
  /** A topic pattern the dead signal's `type` must match. */
  readonly type?: string
  readonly limit?: number
}

/**
 * The bus.
 *
 * @example
 * ```ts
 * const bus = yield* SignalBus.make()
 * yield* bus.publish({ type: "agents.pricer.started", data: null })
 * ```
 */
export interface SignalBus {
  /** Validates, stamps (id, time, source) and routes a signal; waits while a "suspend" subscriber is full. */
  readonly publish: <A>(input: SignalInput<A>) => Effect.Effect<Signal<A>, InvalidTopic | InvalidSignal>
  /** A buffered subscription consumed with `take`/`takeBatch`. */
  readonly subscribe: (
    pattern: string,
    options?: SubscribeOptions,
  ) => Effect.Effect<Subscription, InvalidTopic, Scope.Scope>
  /**
   * A buffered subscription drained by a fiber (forked in the same Scope) that runs `handler` on each signal in
   * order. A failing handler sends that signal to the dead letters ("handlerFailed") and goes on with the next.
   */
  readonly subscribeWith: <E, R>(
    pattern: string,
    handler: (signal: Signal) => Effect.Effect<unknown, E, R>,
    options?: SubscribeOptions,
  ) => Effect.Effect<Subscription, InvalidTopic, Scope.Scope | R>
  /**
   * A synchronous sink, called inside `publish`: `true` means accepted (delivered), `false` or a throw means
   * refused (dead letter "rejected"). Fits `ref.tellUnsafe` of an agent, whose mailbox applies its own bound.
   */
  readonly subscribeSink: (
    pattern: string,
    sink: (signal: Signal) => boolean,
  ) => Effect.Effect<Subscription, InvalidTopic, Scope.Scope>
  /**
   * Delivers matching signals to an agent as messages (`toMessage(signal)`, by default `SignalBus.asMessage`,
   * i.e. `{ _tag: "Signal", signal }`) through
   * `ref.tellUnsafe`: the agent's mailbox bound and overflow policy apply; a refused message is dead-lettered
   * ("rejected"). Ends with the Scope.
   */
  readonly subscribeAgent: {
    (ref: AgentRef<SignalMessage>, pattern: string): Effect.Effect<Subscription, InvalidTopic, Scope.Scope>
    <M>(
      ref: AgentRef<M>,
      pattern: string,
      toMessage: (signal: Signal) => M,
    ): Effect.Effect<Subscription, InvalidTopic, Scope.Scope>
  }
  /** Dead letters matching the query. */
  readonly deadLetters: (query?: DeadLetterQuery) => Effect.Effect<ReadonlyArray<DeadLetter>, InvalidTopic>
  readonly stats: Effect.Effect<BusStats>
}

/**
 * The message an agent receives from `subscribeAgent(ref, pattern)` (without a `toMessage`).
 *
 * @example
 * ```ts
 * type Msg = SignalBus.SignalMessage | { readonly _tag: "Other" }
 * ```
 */
export interface SignalMessage {
  readonly _tag: "Signal"
  readonly signal: Signal
}

// the last message made: a signal fanned out to many agents is wrapped once, not once per agent
let lastMessage: SignalMessage = { _tag: "Signal", signal: undefined as unknown as Signal }

/**
 * Wraps a signal as a `SignalMessage`. Messages are immutable, so consecutive calls with the same signal (one
 * publish fanned out to many agents) return the same message object.
 *
 * @example
 * ```ts
 * yield* bus.subscribeAgent(ref, "orders.**", SignalBus.asMessage)
 * ```
 */
export const asMessage = (signal: Signal): SignalMessage => {
  if (lastMessage.signal !== signal) lastMessage = { _tag: "Signal", signal }
  return lastMessage
}

/**
 * The bus as a service.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const bus = yield* SignalBus.Service
 *   yield* bus.publish({ type: "hello", data: 1 })
 * }).pipe(Effect.provide(SignalBus.layer()))
 * ```
 */
export class Service extends Context.Service<Service, SignalBus>()("troupe/SignalBus") {}

const positiveInt = (name: string, v: number | undefined, dflt: number, min = 1): number => {
  if (v === undefined) return dflt
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(
      `SignalBus: "${name}" must be an integer >= ${min}, got ${v}. Pass ${name} >= ${min}.`,
    )
  }
  return v
}

const POLICIES: ReadonlyArray<OverflowPolicy> = ["suspend", "dropNewest", "dropOldest", "fail"]

const checkSubscribeOptions = (options: SubscribeOptions | undefined): [number, OverflowPolicy] => {
  const capacity = positiveInt("capacity", options?.capacity, 1024)
  const policy = options?.overflow ?? "suspend"
  if (!POLICIES.includes(policy)) {
    throw new RangeError(
      `SignalBus: "overflow" must be one of ${POLICIES.join(", ")}, got ${JSON.stringify(policy)}. Pick one of them.`,
    )
  }
  return [capacity, policy]
}

const isoOk = (time: string): boolean => !Number.isNaN(Date.parse(time))

/**
 * Makes a bus. It owns nothing that needs closing; subscriptions belong to the Scopes they are made in.
 * Throws a `RangeError` for invalid options.
 *
 * @example
 * ```ts
 * const bus = yield* SignalBus.make({ source: "/shop" })
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<SignalBus> =>
  Effect.clockWith((clock) =>
    Effect.map(Effect.context<never>(), (context) =>
      makeWithClock(
        options,
        clock,
        Metrics.bindUnsafe(Metrics.busDeliveries, context),
        Metrics.bindUnsafe(Metrics.busDrops, context),
      ),
    ),
  )

const makeWithClock = (
  options: Options,
  clock: Clock.Clock,
  deliveries: Metrics.Bound<number, unknown>,
  drops: Metrics.Bound<number, unknown>,
): SignalBus => {
  const defaultSource = options.source ?? "troupe"
  const now = () => clock.currentTimeMillisUnsafe()
  const core = new BusCore({
    routeCacheSize: positiveInt("routeCacheSize", options.routeCacheSize, 4096),
    deadLetterCapacity: positiveInt("deadLetterCapacity", options.deadLetterCapacity, 1024, 0),
    deadLetterUnrouted: options.deadLetterUnrouted ?? false,
    now,
    onDelivered: deliveries.update,
    onDropped: drops.update,
  })
  const nextId = makeIdGenerator()

  const awaitPending = (pub: PendingPublish): Effect.Effect<void> =>
    Effect.callback<void>((resume) => {
      if (pub.remaining === 0) return resume(Effect.void)
      pub.resume = () => resume(Effect.void)
      return Effect.sync(() => {
        // interrupted while waiting: withdraw the puts not yet placed (they count as dropped)
        pub.resume = undefined
        for (const { target, put } of pub.entries) target.withdraw(put)
      })
    })

  const publish = <A>(input: SignalInput<A>): Effect.Effect<Signal<A>, InvalidTopic | InvalidSignal> =>
    Effect.suspend((): Effect.Effect<Signal<A>, InvalidTopic | InvalidSignal> => {
      const targets = core.targetsOf(input.type)
      if (typeof targets === "string")
        return Effect.fail(new InvalidTopic({ topic: String(input.type), reason: targets }))
      const problem = validateJson(input.data)
      if (problem !== undefined) return Effect.fail(new InvalidSignal(problem))
      if (input.time !== undefined && (typeof input.time !== "string" || !isoOk(input.time))) {
        return Effect.fail(
          new InvalidSignal({ path: "time", reason: `${String(input.time)} is not an RFC 3339 time` }),
        )
      }
      const signal: Signal<A> = {
        specversion: "1.0",
        id: input.id ?? nextId(),
        source: input.source ?? defaultSource,
        type: input.type,
        time: input.time ?? new Date(now()).toISOString(),
        subject: input.subject,
        datacontenttype: "application/json",
        data: input.data,
        correlationId: input.correlationId,
        causationId: input.causationId,
      }
      const pub = core.route(signal, targets)
      if (pub === undefined) return Effect.succeed(signal)
      return Effect.as(awaitPending(pub), signal)
    })

  const parsePattern = (pattern: string): Effect.Effect<ReadonlyArray<string>, InvalidTopic> => {
    const segs = parseTopic(pattern, true)
    return typeof segs === "string"
      ? Effect.fail(new InvalidTopic({ topic: String(pattern), reason: segs }))
      : Effect.succeed(segs)
  }

  const statsOf = (t: Target): Effect.Effect<SubscriptionStats> =>
    Effect.sync(() => ({
      delivered: t.delivered,
      dropped: t.dropped,
      deadLettered: t.deadLettered,
      buffered: t.buffered(),
      state: t.state,
    }))

  const takeBatchOf = (
    t: BufferTarget,
    max: number,
    count: boolean,
  ): Effect.Effect<ReadonlyArray<Signal>, SubscriberOverflow | SubscriptionClosed> => {
    // what a take can answer right now, or undefined when it has to wait
    const now = ():
      | Effect.Effect<ReadonlyArray<Signal>, SubscriberOverflow | SubscriptionClosed>
      | undefined => {
      if (t.size > 0) return Effect.succeed(t.drain(max, count))
      if (t.state === "failed") {
        return Effect.fail(
          new SubscriberOverflow({ subscriptionId: t.id, pattern: t.pattern, capacity: t.capacity }),
        )
      }
      if (t.state === "closed")
        return Effect.fail(new SubscriptionClosed({ subscriptionId: t.id, pattern: t.pattern }))
      return undefined
    }
    return Effect.suspend(
      () =>
        now() ??
        Effect.callback<ReadonlyArray<Signal>, SubscriberOverflow | SubscriptionClosed>((resume) => {
          // woken by the bus: answer in the same synchronous section, or wait again if another taker was first
          const w = (): void => {
            const r = now()
            if (r === undefined) t.waiters.push(w)
            else resume(r)
          }
          t.waiters.push(w)
          return Effect.sync(() => {
            const i = t.waiters.indexOf(w)
            if (i >= 0) t.waiters.splice(i, 1)
          })
        }),
    )
  }

  const closedTake = (t: Target) =>
    Effect.fail(new SubscriptionClosed({ subscriptionId: t.id, pattern: t.pattern }))

  const handleOf = (t: Target): Subscription => {
    const take =
      t instanceof BufferTarget
        ? Effect.map(takeBatchOf(t, 1, true), (b) => b[0])
        : (closedTake(t) as Effect.Effect<Signal, SubscriptionClosed>)
    return {
      id: t.id,
      pattern: t.pattern,
      take,
      takeBatch: (max) =>
        Effect.suspend(() => {
          positiveInt("max", max, 1)
          return t instanceof BufferTarget ? takeBatchOf(t, max, true) : closedTake(t)
        }),
      stats: statsOf(t),
      unsubscribe: Effect.sync(() => t.close()),
    }
  }

  const register = <T extends Target>(make: (id: number) => T): Effect.Effect<T, never, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const t = make(core.nextId++)
        core.attach(t)
        return t
      }),
      (t) => Effect.sync(() => t.close()),
    )

  const subscribe = (pattern: string, options?: SubscribeOptions) =>
    Effect.suspend(() => {
      const [capacity, policy] = checkSubscribeOptions(options)
      return Effect.flatMap(parsePattern(pattern), (segs) =>
        Effect.map(
          register((id) => new BufferTarget(core, id, pattern, segs, capacity, policy)),
          handleOf,
        ),
      )
    })

  const subscribeWith = <E, R>(
    pattern: string,
    handler: (signal: Signal) => Effect.Effect<unknown, E, R>,
    options?: SubscribeOptions,
  ): Effect.Effect<Subscription, InvalidTopic, Scope.Scope | R> =>
    Effect.suspend(() => {
      // misuse (bad options) is a defect raised here, before anything is registered
      const [capacity, policy] = checkSubscribeOptions(options)
      return subscribeWithChecked(pattern, handler, capacity, policy)
    })

  const subscribeWithChecked = <E, R>(
    pattern: string,
    handler: (signal: Signal) => Effect.Effect<unknown, E, R>,
    capacity: number,
    policy: OverflowPolicy,
  ): Effect.Effect<Subscription, InvalidTopic, Scope.Scope | R> => {
    return Effect.gen(function* () {
      const segs = yield* parsePattern(pattern)
      const t = yield* register((id) => new BufferTarget(core, id, pattern, segs, capacity, policy))
      const step = Effect.flatMap(takeBatchOf(t, 64, false), (batch) => {
        t.inFlight = batch
        t.inFlightIndex = 0
        return Effect.forEach(
          batch,
          (signal) =>
            Effect.map(Effect.exit(Effect.suspend(() => handler(signal))), (exit) => {
              t.inFlightIndex++
              if (Exit.isSuccess(exit)) {
                t.delivered++
                core.options.onDelivered(1)
              } else core.deadLetter(t, signal, "handlerFailed", Cause.pretty(exit.cause))
            }),
          { discard: true },
        )
      })
      // ends quietly when the subscription fails ("fail" policy) or closes
      yield* Effect.forkScoped(Effect.ignore(Effect.forever(step)))
      return handleOf(t)
    })
  }

  const subscribeSink = (pattern: string, sink: (signal: Signal) => boolean) =>
    Effect.flatMap(parsePattern(pattern), (segs) =>
      Effect.map(
        register((id) => new SinkTarget(core, id, pattern, segs, sink)),
        handleOf,
      ),
    )

  const subscribeAgent = <M>(ref: AgentRef<M>, pattern: string, toMessage?: (signal: Signal) => M) => {
    const wrap = toMessage ?? (asMessage as unknown as (signal: Signal) => M)
    return subscribeSink(pattern, (signal) => ref.tellUnsafe(wrap(signal)))
  }

  const deadLetters = (query: DeadLetterQuery = {}): Effect.Effect<ReadonlyArray<DeadLetter>, InvalidTopic> =>
    Effect.suspend(() => {
      let matcher: TopicTrie<{ matchMark: number }> | undefined
      const token = { matchMark: 0 }
      if (query.type !== undefined) {
        const segs = parseTopic(query.type, true)
        if (typeof segs === "string")
          return Effect.fail(new InvalidTopic({ topic: query.type, reason: segs }))
        matcher = new TopicTrie()
        matcher.insert(segs, token)
      }
      const limit = positiveInt("limit", query.limit, 100)
      const ring = core.deadLetters.ring
      const out: DeadLetter[] = []
      for (let i = ring.size - 1; i >= 0 && out.length < limit; i--) {
        const d = ring.at(i)
        if (query.reason !== undefined && d.reason !== query.reason) continue
        if (query.subscriptionId !== undefined && d.subscriptionId !== query.subscriptionId) continue
        if (matcher !== undefined) {
          const segs = parseTopic(d.signal.type, false)
          if (typeof segs === "string" || matcher.match(segs).length === 0) continue
        }
        out.push(d)
      }
      return Effect.succeed(out.reverse())
    })

  return {
    publish,
    subscribe,
    subscribeWith,
    subscribeSink,
    subscribeAgent,
    deadLetters,
    stats: Effect.sync(() => ({
      published: core.published,
      unrouted: core.unrouted,
      deadLettered: core.deadLettered,
      deadLettersEvicted: core.deadLetters.evicted,
      subscriptions: core.trie.size,
    })),
  }
}

/**
 * A layer providing `SignalBus`.
 *
 * @example
 * ```ts
 * Effect.provide(program, SignalBus.layer({ deadLetterCapacity: 4096 }))
 * ```
 */
export const layer = (options: Options = {}): Layer.Layer<Service> => Layer.effect(Service, make(options))
