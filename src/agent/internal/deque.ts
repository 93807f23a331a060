/**
 * A growable ring buffer used for mailboxes and run queues. It starts at 0 slots (an idle agent pays
 * nothing), doubles up to the needed size and never shrinks below 16 once grown; the caller enforces
 * capacity.
 * @internal
 */
export class Deque<A> {
  private buf: Array<A | undefined> = []
  private head = 0
  length = 0

  push(a: A): void {
    const buf = this.buf
    if (this.length === buf.length) this.grow()
    this.buf[(this.head + this.length) & (this.buf.length - 1)] = a
    this.length++
  }

  /** Removes and returns the oldest element; undefined when empty. */
  shift(): A | undefined {
    if (this.length === 0) return undefined
    const buf = this.buf
    const a = buf[this.head]
    buf[this.head] = undefined
    this.head = (this.head + 1) & (buf.length - 1)
    this.length--
    if (this.length === 0) this.head = 0
    return a
  }

  peek(): A | undefined {
    return this.length === 0 ? undefined : this.buf[this.head]
  }

  /** Removes every element and returns them oldest first. Releases the storage. */
  drainAll(): Array<A> {
    const out: Array<A> = new Array(this.length)
    for (let i = 0; i < out.length; i++) out[i] = this.shift() as A
    this.buf = []
    this.head = 0
    return out
  }

  /** Iterates oldest first without removing. */
  forEach(f: (a: A) => void): void {
    const mask = this.buf.length - 1
    for (let i = 0; i < this.length; i++) f(this.buf[(this.head + i) & mask] as A)
  }

  private grow(): void {
    const old = this.buf
    const size = old.length === 0 ? 4 : old.length * 2
    const next: Array<A | undefined> = new Array(size)
    for (let i = 0; i < this.length; i++) next[i] = old[(this.head + i) & (old.length - 1)]
    this.buf = next
    this.head = 0
  }
}
