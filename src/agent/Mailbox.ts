/**
 * Mailbox options: every agent has a bounded mailbox with an overflow policy.
 *
 * Guarantees:
 * - A mailbox never holds more than `capacity` messages.
 * - Messages from one sender are handled in the order they were sent (FIFO per mailbox).
 * - `"suspend"`: a sender that finds the mailbox full waits until there is room (backpressure); its
 *   message is then enqueued in order. `tellUnsafe` cannot wait and reports `false` instead.
 * - `"dropping"`: the new message is dropped (counted, recorded as a dead letter).
 * - `"sliding"`: the oldest message is dropped to make room (counted, recorded; a dropped ask fails
 *   with `MailboxFull`).
 * - `"fail"`: the sender gets `MailboxFull`.
 *
 * Storage grows with use: an empty mailbox holds no buffer.
 *
 * @example
 * ```ts
 * import { Agent } from "troupe"
 *
 * const Logger = Agent.behavior<number, string>({
 *   init: () => 0,
 *   receive: (n, line) => n + 1,
 *   mailbox: { capacity: 10_000, overflow: "sliding" },
 * })
 * ```
 * @module
 */

/**
 * What happens when a message arrives at a full mailbox.
 *
 * @example
 * ```ts
 * const policy: Mailbox.Overflow = "sliding"
 * ```
 */
export type Overflow = "suspend" | "dropping" | "sliding" | "fail"

/**
 * The overflow policies, for validation.
 *
 * @example
 * ```ts
 * Mailbox.overflowPolicies.includes("fail") // true
 * ```
 */
export const overflowPolicies: ReadonlyArray<Overflow> = ["suspend", "dropping", "sliding", "fail"]

/**
 * Mailbox options.
 *
 * @example
 * ```ts
 * const options: Mailbox.Options = { capacity: 256, overflow: "fail" }
 * ```
 */
export interface Options {
  /** Maximum number of queued messages. Default {@link defaultCapacity} (1024). */
  readonly capacity?: number
  /** Policy when full. Default `"suspend"`. */
  readonly overflow?: Overflow
}

/**
 * Resolved mailbox options.
 *
 * @example
 * ```ts
 * const r: Mailbox.Resolved = Mailbox.resolve({ capacity: 64 }) // { capacity: 64, overflow: "suspend" }
 * ```
 */
export interface Resolved {
  readonly capacity: number
  readonly overflow: Overflow
}

/**
 * Default capacity: 1024 messages.
 *
 * @example
 * ```ts
 * Mailbox.resolve(undefined).capacity === Mailbox.defaultCapacity // true
 * ```
 */
export const defaultCapacity = 1024

/**
 * Default overflow policy: `"suspend"` (backpressure).
 *
 * @example
 * ```ts
 * Mailbox.resolve({ capacity: 8 }).overflow === Mailbox.defaultOverflow // "suspend"
 * ```
 */
export const defaultOverflow: Overflow = "suspend"

/**
 * The defaults, shared by every agent that does not set its own.
 *
 * @example
 * ```ts
 * Mailbox.resolve(undefined) === Mailbox.defaults // true: shared by every agent without options
 * ```
 */
export const defaults: Resolved = { capacity: defaultCapacity, overflow: defaultOverflow }

/**
 * Validates options, raising a defect at construction with the option name and the fix.
 *
 * @example
 * ```ts
 * Mailbox.resolve({ capacity: 0 }) // throws RangeError: mailbox "capacity" must be an integer >= 1 ...
 * ```
 */
export const resolve = (options: Options | undefined, owner = "agent"): Resolved => {
  if (options === undefined) return defaults
  const capacity = options.capacity ?? defaultCapacity
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(
      `${owner}: mailbox "capacity" must be an integer >= 1, got ${String(capacity)}. Pass e.g. { capacity: 1024 }.`,
    )
  }
  const overflow = options.overflow ?? defaultOverflow
  if (!overflowPolicies.includes(overflow)) {
    throw new RangeError(
      `${owner}: mailbox "overflow" must be one of ${overflowPolicies.map((p) => `"${p}"`).join(", ")}, got ${JSON.stringify(overflow)}.`,
    )
  }
  if (capacity === defaultCapacity && overflow === defaultOverflow) return defaults
  return { capacity, overflow }
}

/**
 * A message that was not handled, kept in the system's bounded dead-letter record.
 *
 * @example
 * ```ts
 * const letters = system.deadLetters() // ReadonlyArray<Mailbox.DeadLetter>
 * ```
 */
export interface DeadLetter {
  readonly agentId: number
  readonly agent: string
  readonly message: unknown
  /** Why: `"dropped"` (dropping policy), `"slid"` (sliding policy), `"stopped"`, `"crashed"`. */
  readonly reason: "dropped" | "slid" | "stopped" | "crashed"
  readonly at: number
}
