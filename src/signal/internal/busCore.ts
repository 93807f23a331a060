/**
 * The synchronous heart of the SignalBus: targets (buffered or sink), routing through the topic trie with a
 * bounded route cache, the pending-put queues of "suspend" targets, and the dead-letter ring.
 * Everything here runs in one synchronous section per call, so no decision is separated from its write.
 */
import type { Signal } from "../Signal.ts"
import { parseTopic } from "./topic.ts"
import { type Marked, TopicTrie } from "./topicTrie.ts"

/**
 * What a buffered subscription does when its buffer is full (see the SignalBus module docs).
 *
 * @example
 * ```ts
 * const policy: SignalBus.OverflowPolicy = "dropOldest"
 * ```
 */
export type OverflowPolicy = "suspend" | "dropNewest" | "dropOldest" | "fail"

/**
 * Why a signal became a dead letter: "overflow" (policy "fail"), "rejected" (a sink or agent mailbox refused),
 * "handlerFailed", "unsubscribed" (still buffered at close), "unrouted" (no subscription, when enabled).
 *
 * @example
 * ```ts
 * yield* bus.deadLetters({ reason: "rejected" })
 * ```
 */
export type DeadLetterReason = "overflow" | "rejected" | "handlerFailed" | "unsubscribed" | "unrouted"

/**
 * A signal a subscriber could not take, with why and when.
 *
 * @example
 * ```ts
 * const [d] = yield* bus.deadLetters({ limit: 1 })
 * console.log(d.reason, d.pattern, d.signal.type, d.detail)
 * ```
 */
export interface DeadLetter {
  readonly signal: Signal
  readonly reason: DeadLetterReason
  /** The subscription that could not take it (`-1` for "unrouted"). */
  readonly subscriptionId: number
  /** The pattern of that subscription (`""` for "unrouted"). */
  readonly pattern: string
  /** A human-readable explanation (the handler's failure, the sink's exception...). */
  readonly detail: string | undefined
  /** Clock time (ms) when it was dead-lettered. */
  readonly atMs: number
}

/** A growable circular buffer (power-of-two array, grows on demand up to the caller's bound). */
export class Ring<T> {
  private buf: (T | undefined)[] = new Array(32)
  private mask = 31
  private head = 0
  size = 0

  push(v: T): void {
    if (this.size === this.buf.length) this.grow()
    this.buf[(this.head + this.size) & this.mask] = v
    this.size++
  }

  shift(): T {
    const v = this.buf[this.head] as T
    this.buf[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.size--
    return v
  }

  at(i: number): T {
    return this.buf[(this.head + i) & this.mask] as T
  }

  private grow(): void {
    this.buf = doubled(this.buf, this.head, this.size)
    this.mask = this.buf.length - 1
    this.head = 0
  }
}

/** A circular buffer's contents copied in order into an array twice its length (power of two). */
const doubled = <T>(buf: ReadonlyArray<T | undefined>, head: number, size: number): (T | undefined)[] => {
  const next: (T | undefined)[] = new Array(buf.length * 2)
  const mask = buf.length - 1
  for (let i = 0; i < size; i++) next[i] = buf[(head + i) & mask]
  return next
}

/** Tracks one publish waiting for "suspend" targets to make room. */
export class PendingPublish {
  remaining = 0
  resume: (() => void) | undefined = undefined
  readonly entries: Array<{ target: BufferTarget; put: PendingPut }> = []

  settle(): void {
    if (--this.remaining === 0 && this.resume !== undefined) {
      const r = this.resume
      this.resume = undefined
      r()
    }
  }
}

interface PendingPut {
  readonly signal: Signal
  readonly pub: PendingPublish
}

export abstract class Target implements Marked {
  matchMark = 0
  trieSlot = -1
  delivered = 0
  dropped = 0
  deadLettered = 0
  state: "open" | "failed" | "closed" = "open"
  readonly core: BusCore
  readonly id: number
  readonly pattern: string
  readonly segments: ReadonlyArray<string>
  constructor(core: BusCore, id: number, pattern: string, segments: ReadonlyArray<string>) {
    this.core = core
    this.id = id
    this.pattern = pattern
    this.segments = segments
  }
  /** Offers a signal; returns true when the target is full under "suspend" and the put must wait. */
  abstract offer(signal: Signal): boolean
  abstract buffered(): number
  close(): void {
    if (this.state === "closed") return
    this.state = "closed"
    this.core.detach(this)
  }
}

export class SinkTarget extends Target {
  readonly sink: (signal: Signal) => boolean
  constructor(
    core: BusCore,
    id: number,
    pattern: string,
    segments: ReadonlyArray<string>,
    sink: (signal: Signal) => boolean,
  ) {
    super(core, id, pattern, segments)
    this.sink = sink
  }

  offer(signal: Signal): boolean {
    let ok = false
    let detail: string | undefined
    try {
      ok = this.sink(signal) === true
    } catch (e) {
      detail = `the sink threw: ${String(e)}`
    }
    if (ok) {
      this.delivered++
      this.core.sinkDelivered++ // reported once per publish by route()
    } else this.core.deadLetter(this, signal, "rejected", detail ?? "the sink refused the signal")
    return false
  }

  buffered(): number {
    return 0
  }
}

// frozen: a push into the shared empty queue (instead of a fresh one) would throw rather than corrupt every target
const NO_PENDING: PendingPut[] = Object.freeze([]) as unknown as PendingPut[]

/**
 * A buffered subscription. Its ring buffer is inlined (`buf`, `head`, `size`, `mask`) rather than a separate
 * object, and the queue of waiting puts is only allocated while a "suspend" publisher waits: a delivery to a
 * wildcard subscriber touches this object and one buffer slot, which matters when one publish reaches thousands
 * of subscribers whose buffers are not in the CPU cache.
 */
export class BufferTarget extends Target {
  /** Buffered signals: a power-of-two circular array that grows on demand up to `capacity`. */
  private buf: (Signal | undefined)[]
  private mask: number
  private head = 0
  /** Signals in `buf`. */
  size = 0
  /** Puts of "suspend" publishers waiting for room (the shared empty array when there are none). */
  pending: PendingPut[] = NO_PENDING
  readonly waiters: Array<() => void> = []
  /** Signals taken by a handler fiber but not yet handled; dead-lettered if the subscription closes first. */
  inFlight: ReadonlyArray<Signal> = []
  inFlightIndex = 0
  wakeQueued = false

  readonly capacity: number
  readonly policy: OverflowPolicy
  constructor(
    core: BusCore,
    id: number,
    pattern: string,
    segments: ReadonlyArray<string>,
    capacity: number,
    policy: OverflowPolicy,
  ) {
    super(core, id, pattern, segments)
    this.capacity = capacity
    this.policy = policy
    const initial = capacity < 16 ? 16 : 32
    this.buf = new Array(initial)
    this.mask = initial - 1
  }

  private push(signal: Signal): void {
    if (this.size === this.buf.length) this.grow()
    this.buf[(this.head + this.size) & this.mask] = signal
    this.size++
  }

  private shift(): Signal {
    const head = this.head
    const v = this.buf[head] as Signal
    this.buf[head] = undefined
    this.head = (head + 1) & this.mask
    this.size--
    return v
  }

  private grow(): void {
    this.buf = doubled(this.buf, this.head, this.size)
    this.mask = this.buf.length - 1
    this.head = 0
  }

  offer(signal: Signal): boolean {
    if (this.size < this.capacity && this.pending === NO_PENDING) {
      this.push(signal)
      if (this.size === 1 && !this.wakeQueued && this.waiters.length > 0) this.core.scheduleWake(this)
      return false
    }
    switch (this.policy) {
      case "dropNewest":
        this.dropped++
        this.core.options.onDropped(1)
        return false
      case "dropOldest":
        this.shift()
        this.dropped++
        this.core.options.onDropped(1)
        this.push(signal)
        return false
      case "fail":
        this.core.deadLetter(
          this,
          signal,
          "overflow",
          `buffer of ${this.capacity} was full under policy "fail"`,
        )
        this.fail()
        return false
      case "suspend":
        return true
    }
  }

  enqueuePending(signal: Signal, pub: PendingPublish): void {
    const put: PendingPut = { signal, pub }
    if (this.pending === NO_PENDING) this.pending = []
    this.pending.push(put)
    pub.remaining++
    pub.entries.push({ target: this, put })
  }

  /** Removes a pending put of an interrupted publisher; it counts as dropped. */
  withdraw(put: PendingPut): void {
    const i = this.pending.indexOf(put)
    if (i >= 0) {
      this.pending.splice(i, 1)
      if (this.pending.length === 0) this.pending = NO_PENDING
      this.dropped++
      this.core.options.onDropped(1)
    }
  }

  buffered(): number {
    return this.size + this.pending.length
  }

  /** Takes up to `max` buffered signals (callers ensure size > 0), counting them delivered when `count`. */
  drain(max: number, count: boolean): Signal[] {
    const n = Math.min(this.size, max)
    const out: Signal[] = new Array(n)
    const buf = this.buf
    const mask = this.mask
    let head = this.head
    for (let i = 0; i < n; i++) {
      out[i] = buf[head] as Signal
      buf[head] = undefined
      head = (head + 1) & mask
    }
    this.head = head
    this.size -= n
    if (count) {
      this.delivered += n
      this.core.options.onDelivered(n)
    }
    const pending = this.pending
    if (pending !== NO_PENDING) {
      while (pending.length > 0 && this.size < this.capacity) {
        const put = pending.shift()!
        this.push(put.signal)
        put.pub.settle()
      }
      if (pending.length === 0) this.pending = NO_PENDING
    }
    return out
  }

  wakeAll(): void {
    if (this.waiters.length === 1) {
      this.waiters.pop()!()
      return
    }
    const ws = this.waiters.splice(0, this.waiters.length)
    for (const w of ws) w()
  }

  fail(): void {
    if (this.state !== "open") return
    this.state = "failed"
    this.core.detach(this)
    this.wakeAll()
  }

  override close(): void {
    if (this.state === "closed") return
    const wasOpen = this.state === "open"
    this.state = "closed"
    if (wasOpen) this.core.detach(this)
    const core = this.core
    for (let i = this.inFlightIndex; i < this.inFlight.length; i++) {
      core.deadLetter(
        this,
        this.inFlight[i],
        "unsubscribed",
        "taken by the handler but not handled before close",
      )
    }
    this.inFlight = []
    this.inFlightIndex = 0
    while (this.size > 0) core.deadLetter(this, this.shift(), "unsubscribed", "still buffered at close")
    const pending = this.pending
    this.pending = NO_PENDING
    for (const put of pending) {
      core.deadLetter(this, put.signal, "unsubscribed", "a suspended publish was still waiting at close")
      put.pub.settle()
    }
    this.wakeAll()
  }
}

/** Bounded ring of dead letters; the oldest is evicted (and counted) when full. */
export class DeadLetterRing {
  readonly ring = new Ring<DeadLetter>()
  evicted = 0
  readonly capacity: number
  constructor(capacity: number) {
    this.capacity = capacity
  }

  add(d: DeadLetter): void {
    if (this.capacity === 0) {
      this.evicted++
      return
    }
    if (this.ring.size >= this.capacity) {
      this.ring.shift()
      this.evicted++
    }
    this.ring.push(d)
  }
}

export interface CoreOptions {
  readonly routeCacheSize: number
  readonly deadLetterCapacity: number
  readonly deadLetterUnrouted: boolean
  readonly now: () => number
  /** Telemetry hooks (the `troupe_bus_deliveries_total` / `troupe_bus_drops_total` counters). */
  readonly onDelivered: (n: number) => void
  readonly onDropped: (n: number) => void
}

const EMPTY: ReadonlyArray<Target> = []

export class BusCore {
  /** Sink deliveries of the publish being routed, reported to the metric when it ends. */
  sinkDelivered = 0
  readonly trie = new TopicTrie<Target>()
  private cache = new Map<string, ReadonlyArray<Target>>()
  readonly deadLetters: DeadLetterRing
  nextId = 1
  published = 0
  unrouted = 0
  deadLettered = 0

  readonly options: CoreOptions
  constructor(options: CoreOptions) {
    this.options = options
    this.deadLetters = new DeadLetterRing(options.deadLetterCapacity)
  }

  private wakeList: BufferTarget[] = []
  private readonly flushWakes = (): void => {
    const list = this.wakeList
    this.wakeList = []
    for (let i = 0; i < list.length; i++) {
      const t = list[i]
      t.wakeQueued = false
      t.wakeAll()
    }
  }

  /**
   * Wakes the consumers of `t` in one microtask shared by every target that received signals in the meantime,
   * so a burst of publishes costs each consumer one wake-up (and one batch) instead of one per signal.
   */
  scheduleWake(t: BufferTarget): void {
    t.wakeQueued = true
    if (this.wakeList.push(t) === 1) queueMicrotask(this.flushWakes)
  }

  attach(target: Target): void {
    this.trie.insert(target.segments, target)
    this.cache = new Map()
  }

  detach(target: Target): void {
    if (this.trie.remove(target.segments, target)) this.cache = new Map()
  }

  /** The targets of a concrete topic, or a reason string when the topic is invalid. */
  targetsOf(topic: string): ReadonlyArray<Target> | string {
    const hit = this.cache.get(topic)
    if (hit !== undefined) return hit
    const segs = parseTopic(topic, false)
    if (typeof segs === "string") return segs
    const found = this.trie.match(segs)
    const targets = found.length === 0 ? EMPTY : found
    if (this.cache.size >= this.options.routeCacheSize) this.cache = new Map()
    this.cache.set(topic, targets)
    return targets
  }

  /** Routes a validated signal; returns a PendingPublish when some "suspend" target is full. */
  route(signal: Signal, targets: ReadonlyArray<Target>): PendingPublish | undefined {
    this.published++
    const n = targets.length
    if (n === 0) {
      this.unrouted++
      if (this.options.deadLetterUnrouted) {
        this.deadLettered++
        this.deadLetters.add({
          signal,
          reason: "unrouted",
          subscriptionId: -1,
          pattern: "",
          detail: "no subscription matched",
          atMs: this.options.now(),
        })
      }
      return undefined
    }
    let pub: PendingPublish | undefined
    for (let i = 0; i < n; i++) {
      const t = targets[i]
      if (t.state !== "open") continue
      if (t.offer(signal)) {
        pub ??= new PendingPublish()
        ;(t as BufferTarget).enqueuePending(signal, pub)
      }
    }
    if (this.sinkDelivered !== 0) {
      // one metric update per publish, not one per sink delivery (a publish may reach thousands)
      this.options.onDelivered(this.sinkDelivered)
      this.sinkDelivered = 0
    }
    return pub
  }

  deadLetter(target: Target, signal: Signal, reason: DeadLetterReason, detail: string | undefined): void {
    target.deadLettered++
    this.deadLettered++
    this.deadLetters.add({
      signal,
      reason,
      subscriptionId: target.id,
      pattern: target.pattern,
      detail,
      atMs: this.options.now(),
    })
  }
}
