/**
 * The in-memory registry state: entries by key and by agent, and the secondary indexes
 * (capability, health, node, sorted numeric attributes). Every write is one synchronous section:
 * checks, then all writes of entries and indexes, then change notifications. On a single JavaScript
 * thread nothing can interleave with it, so each write is atomic and every read sees either all of a
 * write or none of it. Writes never fail half-way: everything that can fail is checked before the first
 * mutation.
 * @internal
 */
import { HandleIndex } from "./handleIndex.ts"
import type { Health, Metadata } from "./metadata.ts"
import { SortedIndex } from "./sortedIndex.ts"

export interface Entry<H> {
  readonly key: string
  readonly handle: H
  readonly metadata: Metadata
  /** Registration sequence number: unique, increasing; kept across metadata updates. */
  readonly seq: number
}

export type ChangeKind = "registered" | "updated" | "unregistered"

export interface Change<H> {
  readonly kind: ChangeKind
  readonly entry: Entry<H>
  /** For `updated`: the entry before the update. */
  readonly previous?: Entry<H>
  /** For `unregistered`: `"unregister"` (explicit) or `"exit"` (the agent ended). */
  readonly reason?: "unregister" | "exit"
}

export interface Pending<H> {
  readonly key: string
  readonly handle: H
  readonly metadata: Metadata
}

export type Conflict<H> =
  | { readonly _tag: "full"; readonly requested: number }
  | { readonly _tag: "taken"; readonly key: string; readonly holder: H }
  | { readonly _tag: "dead"; readonly key: string }
  | { readonly _tag: "batchDuplicate"; readonly index: number; readonly key: string }

/** Health as a column code. */
export const healthCode: Readonly<Record<Health, number>> = { healthy: 0, degraded: 1, unhealthy: 2 }

/**
 * The stored form of an entry: the public fields plus its slot (its row in the store's columns). Its
 * positions in its first two capability buckets live in the store's `cpos0`/`cpos1` columns; `cp` holds
 * the positions in the buckets of any further capabilities (empty, shared, for two or fewer), so that
 * removal from a bucket is an O(1) swap-remove without a positions array per entry.
 */
export class Node<H> implements Entry<H> {
  readonly key: string
  readonly handle: H
  readonly metadata: Metadata
  readonly seq: number
  readonly slot: number
  /** Positions in the buckets of `metadata.capabilities[2..]`. */
  readonly cp: Array<number>
  constructor(key: string, handle: H, metadata: Metadata, seq: number, slot: number) {
    this.key = key
    this.handle = handle
    this.metadata = metadata
    this.seq = seq
    this.slot = slot
    this.cp = metadata.capabilities.length <= 2 ? noPositions : new Array(metadata.capabilities.length - 2)
  }
}
const noPositions: Array<number> = []

/** Marks an absent value in a bucket's 16-bit value keys (valid keys are at most 0x7f80). */
export const ABSENT = 0xffff

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/**
 * An order-preserving 16-bit key of a value >= 0: the top half of its float32 encoding (sign, exponent,
 * 7 mantissa bits). Rounding to float32 and truncating are both monotone, so `valueKey(x) < valueKey(t)`
 * implies `x < t` and `valueKey(x) > valueKey(t)` implies `x > t`; only equal keys need the exact value.
 * NaN (an absent value) maps to {@link ABSENT}.
 */
export const valueKey = (x: number): number => {
  if (Number.isNaN(x)) return ABSENT
  if (x <= 0) return 0
  f32[0] = x
  return u32[0] >>> 16
}

/**
 * A covering capability bucket: the member slots plus, in parallel arrays, a copy of each member's health
 * code and a 16-bit order-preserving key of each numeric resource value ({@link valueKey}). A query driven
 * by one capability filters its candidates by reading these arrays sequentially, without a random access
 * per candidate; only a candidate whose key equals a bound's key reads its exact value from the store's
 * column. Swap-remove keeps every array dense.
 */
export class CapabilityBucket {
  /** Number of members. */
  length = 0
  slots: Int32Array
  health: Uint8Array
  values: Array<Uint16Array>
  constructor(attributes: number) {
    this.slots = new Int32Array(4)
    this.health = new Uint8Array(4)
    this.values = Array.from({ length: attributes }, () => new Uint16Array(4))
  }
  /** Appends a member; returns its position. */
  add(slot: number, health: number, cols: ReadonlyArray<Float64Array>): number {
    const pos = this.length
    if (pos === this.slots.length) this.resize(pos * 2)
    this.slots[pos] = slot
    this.health[pos] = health
    for (let r = 0; r < cols.length; r++) this.values[r][pos] = valueKey(cols[r][slot])
    this.length = pos + 1
    return pos
  }
  /** Removes the member at `pos` by moving the last one there; returns the moved slot, or -1. */
  removeAt(pos: number): number {
    const last = this.length - 1
    const moved = last === pos ? -1 : this.slots[last]
    if (moved !== -1) {
      this.slots[pos] = moved
      this.health[pos] = this.health[last]
      for (const v of this.values) v[pos] = v[last]
    }
    this.length = last
    if (last >= 16 && last * 4 <= this.slots.length) this.resize(this.slots.length >> 1)
    return moved
  }
  /** The member slots (a view; valid until the next write). */
  members(): Int32Array {
    return this.slots.subarray(0, this.length)
  }
  private resize(n: number): void {
    const grow = <T extends Int32Array | Uint8Array | Uint16Array>(a: T, b: T): T => {
      b.set(a.subarray(0, Math.min(this.length, n)))
      return b
    }
    this.slots = grow(this.slots, new Int32Array(n))
    this.health = grow(this.health, new Uint8Array(n))
    this.values = this.values.map((v) => grow(v, new Uint16Array(n)))
  }
}

/** A bucket of slots in a typed array that doubles and halves (swap-remove keeps it dense). */
export class SlotList {
  length = 0
  items = new Int32Array(4)
  push(slot: number): number {
    const pos = this.length
    if (pos === this.items.length) {
      const n = new Int32Array(pos * 2)
      n.set(this.items)
      this.items = n
    }
    this.items[pos] = slot
    this.length = pos + 1
    return pos
  }
  /** Removes the last slot and returns it. */
  pop(): number {
    const last = this.items[--this.length]
    if (this.length >= 16 && this.length * 4 <= this.items.length)
      this.items = this.items.slice(0, this.items.length >> 1)
    return last
  }
  /** The slots (a view; valid until the next write). */
  members(): Int32Array {
    return this.items.subarray(0, this.length)
  }
}

/**
 * Entries live in slots (rows). Hot attributes are kept in typed columns indexed by slot — health, the
 * numeric resources (NaN when absent), the sequence number and bucket positions — and the indexes hold
 * slots, not objects. A query therefore filters candidates by reading a few typed arrays instead of
 * chasing pointers through entry, metadata and resource objects (≈10× fewer cache misses).
 * Columns grow by doubling up to `maxEntries`; freed slots are reused.
 */
export class Store<H> {
  /** Unique mode: key → entry. */
  readonly names = new Map<string, Node<H>>()
  /** Duplicate mode: key → entries. */
  readonly groups = new Map<string, Set<Node<H>>>()
  /** Entries by handle identity (chains of slots). */
  readonly handles = new HandleIndex()
  /** Slot → entry (undefined for a free slot). */
  nodes: Array<Node<H> | undefined> = []
  private free: Array<number> = []
  private capacity = 0
  health = new Uint8Array(0)
  /** Position of each slot in its health bucket and in its node bucket. */
  private hpos = new Int32Array(0)
  private npos = new Int32Array(0)
  /** Position of each slot in the buckets of its first and second capability. */
  private cpos0 = new Int32Array(0)
  private cpos1 = new Int32Array(0)
  seqs = new Float64Array(0)
  readonly columns = new Map<string, Float64Array>()
  /** The same columns by resource position (the sorted indexes read these). */
  cols: Array<Float64Array> = []
  readonly byCapability = new Map<string, CapabilityBucket>()
  readonly byHealth: Array<SlotList> = [new SlotList(), new SlotList(), new SlotList()]
  readonly byNode = new Map<string, SlotList>()
  readonly numeric = new Map<string, SortedIndex>()
  /** The sorted indexes by resource position. */
  readonly sorted: Array<SortedIndex> = []
  /** `resources.<attribute>` → resource position. */
  readonly resourcePath = new Map<string, number>()
  /**
   * Query scratch space by resource position: bounds of a conjunction's numeric criteria and their
   * 16-bit keys (queries run synchronously, one at a time, so one set per store is enough).
   */
  readonly lo: Float64Array
  readonly hi: Float64Array
  readonly loStrict: Uint8Array
  readonly hiStrict: Uint8Array
  readonly qlo: Int32Array
  readonly qhi: Int32Array
  /** Resource positions bounded by the current query, in order of first appearance. */
  readonly bounded: Int32Array
  size = 0
  /** Reports entries added (+1) and removed (−1) to the telemetry gauge (set by the registry). */
  onSizeChange: ((delta: number) => void) | undefined = undefined
  private seq = 0
  listeners: Array<(change: Change<H>) => void> = []

  readonly unique: boolean
  readonly maxEntries: number
  readonly resources: ReadonlyArray<string>
  readonly idOf: (h: H) => unknown

  constructor(
    unique: boolean,
    maxEntries: number,
    resources: ReadonlyArray<string>,
    idOf: (h: H) => unknown,
  ) {
    this.unique = unique
    this.maxEntries = maxEntries
    this.resources = resources
    this.idOf = idOf
    resources.forEach((r, ri) => {
      this.columns.set(r, new Float64Array(0))
      this.cols.push(new Float64Array(0))
      const idx = new SortedIndex(
        (slot) => this.cols[ri][slot],
        (slot) => this.seqs[slot],
      )
      this.numeric.set(r, idx)
      this.sorted.push(idx)
      this.resourcePath.set(`resources.${r}`, ri)
    })
    const r = resources.length
    this.lo = new Float64Array(r)
    this.hi = new Float64Array(r)
    this.loStrict = new Uint8Array(r)
    this.hiStrict = new Uint8Array(r)
    this.qlo = new Int32Array(r)
    this.qhi = new Int32Array(r)
    this.bounded = new Int32Array(r)
    this.grow(Math.min(1024, maxEntries))
  }

  private grow(capacity: number): void {
    const copy = <T extends Uint8Array | Int32Array | Float64Array>(
      a: T,
      make: (n: number) => T,
      fill?: number,
    ): T => {
      const b = make(capacity)
      b.set(a)
      if (fill !== undefined) b.fill(fill, a.length)
      return b
    }
    this.health = copy(this.health, (n) => new Uint8Array(n), 255)
    this.hpos = copy(this.hpos, (n) => new Int32Array(n))
    this.npos = copy(this.npos, (n) => new Int32Array(n))
    this.cpos0 = copy(this.cpos0, (n) => new Int32Array(n))
    this.cpos1 = copy(this.cpos1, (n) => new Int32Array(n))
    this.handles.resize(capacity)
    this.seqs = copy(this.seqs, (n) => new Float64Array(n))
    this.resources.forEach((r, ri) => {
      const col = copy(this.cols[ri], (n) => new Float64Array(n), Number.NaN)
      this.cols[ri] = col
      this.columns.set(r, col)
    })
    this.capacity = capacity
  }

  private allocSlot(): number {
    const f = this.free.pop()
    if (f !== undefined) return f
    const slot = this.nodes.length
    if (slot >= this.capacity)
      this.grow(Math.min(Math.max(1024, this.capacity * 2), Math.max(this.maxEntries, slot + 1)))
    this.nodes.push(undefined)
    return slot
  }

  // ---- reads ----------------------------------------------------------------------------------

  lookup(key: string): Node<H> | undefined {
    if (this.unique) return this.names.get(key)
    const g = this.groups.get(key)
    if (g !== undefined) for (const e of g) return e
    return undefined
  }

  lookupAll(key: string): Array<Node<H>> {
    if (this.unique) {
      const e = this.names.get(key)
      return e === undefined ? [] : [e]
    }
    const g = this.groups.get(key)
    return g === undefined ? [] : [...g]
  }

  find(key: string, handle: H | undefined): Node<H> | undefined {
    if (this.unique) {
      const e = this.names.get(key)
      return e === undefined || handle === undefined || this.idOf(e.handle) === this.idOf(handle)
        ? e
        : undefined
    }
    const g = this.groups.get(key)
    if (g === undefined) return undefined
    if (handle === undefined) {
      for (const e of g) return e
      return undefined
    }
    const id = this.idOf(handle)
    for (const e of g) if (this.idOf(e.handle) === id) return e
    return undefined
  }

  entriesOf(handle: H): ReadonlyArray<Entry<H>> {
    return this.handles.slots(this.idOf(handle)).map((s) => this.nodes[s]!)
  }

  *all(): IterableIterator<Node<H>> {
    const ns = this.nodes
    for (let i = 0; i < ns.length; i++) {
      const e = ns[i]
      if (e !== undefined) yield e
    }
  }

  keyList(): Array<string> {
    return this.unique ? [...this.names.keys()] : [...this.groups.keys()]
  }

  // ---- writes (each one synchronous section) ------------------------------------------------

  /** Checks a batch without writing: capacity, conflicts (with the registry and within the batch), liveness. */
  check(batch: ReadonlyArray<Pending<H>>, isAlive: ((h: H) => boolean) | undefined): Conflict<H> | undefined {
    if (this.size + batch.length > this.maxEntries) return { _tag: "full", requested: batch.length }
    const seen = batch.length > 1 ? new Set<string>() : undefined
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]
      const existing = this.find(p.key, this.unique ? undefined : p.handle)
      if (existing !== undefined) return { _tag: "taken", key: p.key, holder: existing.handle }
      if (seen !== undefined) {
        const id = this.unique ? p.key : `${p.key}\u0000${String(this.idOf(p.handle))}`
        if (seen.has(id)) return { _tag: "batchDuplicate", index: i, key: p.key }
        seen.add(id)
      }
      if (isAlive !== undefined && !isAlive(p.handle)) return { _tag: "dead", key: p.key }
    }
    return undefined
  }

  /** Writes a checked batch. Call only right after {@link check} returned undefined, in the same synchronous section. */
  insertAll(batch: ReadonlyArray<Pending<H>>): Array<Entry<H>> {
    const out: Array<Node<H>> = new Array(batch.length)
    for (let i = 0; i < batch.length; i++)
      out[i] = this.insertNode(batch[i].key, batch[i].handle, batch[i].metadata)
    if (this.listeners.length > 0) for (const e of out) this.notify({ kind: "registered", entry: e })
    return out
  }

  /** Writes one checked entry (same contract as {@link insertAll}). */
  insertOne(key: string, handle: H, metadata: Metadata): Entry<H> {
    const e = this.insertNode(key, handle, metadata)
    if (this.listeners.length > 0) this.notify({ kind: "registered", entry: e })
    return e
  }

  private insertNode(key: string, handle: H, metadata: Metadata): Node<H> {
    const e = new Node(key, handle, metadata, ++this.seq, this.allocSlot())
    if (this.unique) this.names.set(key, e)
    else {
      const g = this.groups.get(key)
      if (g === undefined) this.groups.set(key, new Set([e]))
      else g.add(e)
    }
    this.index(e)
    this.handles.add(this.idOf(handle), e.slot)
    this.size++
    this.onSizeChange?.(1)
    return e
  }

  /** Removes one entry (it must be present). */
  remove(e: Node<H>, reason: "unregister" | "exit"): void {
    if (this.unique) this.names.delete(e.key)
    else {
      const g = this.groups.get(e.key)!
      g.delete(e)
      if (g.size === 0) this.groups.delete(e.key)
    }
    this.handles.remove(this.idOf(e.handle), e.slot)
    this.unindex(e)
    this.nodes[e.slot] = undefined
    this.health[e.slot] = 255
    this.free.push(e.slot)
    this.size--
    this.onSizeChange?.(-1)
    if (this.listeners.length > 0) this.notify({ kind: "unregistered", entry: e, reason })
  }

  /** Removes every entry of an agent; returns how many. */
  removeHandle(handle: H, reason: "unregister" | "exit"): number {
    const id = this.idOf(handle)
    const first = this.handles.head(id)
    if (first === -1) return 0
    if (this.handles.next[first] === -1) {
      this.remove(this.nodes[first]!, reason)
      return 1
    }
    const slots = this.handles.slots(id)
    for (const s of slots) this.remove(this.nodes[s]!, reason)
    return slots.length
  }

  /** Replaces an entry's metadata (entry and all indexes), keeping key, handle, seq and slot. */
  replace(e: Node<H>, metadata: Metadata): Entry<H> {
    this.unindex(e)
    const next = new Node(e.key, e.handle, metadata, e.seq, e.slot)
    if (this.unique) this.names.set(e.key, next)
    else {
      const g = this.groups.get(e.key)!
      g.delete(e)
      g.add(next)
    }
    // same slot and handle: the handle chains do not change
    this.index(next)
    if (this.listeners.length > 0) this.notify({ kind: "updated", entry: next, previous: e })
    return next
  }

  /** Slots of the entries under `key`, or undefined. */
  keyed(key: string): Array<number> | undefined {
    if (this.unique) {
      const e = this.names.get(key)
      return e === undefined ? undefined : [e.slot]
    }
    const g = this.groups.get(key)
    return g === undefined ? undefined : [...g].map((e) => e.slot)
  }

  /** Writes the entry's row and adds its slot to every index. */
  private index(e: Node<H>): void {
    const slot = e.slot
    const m = e.metadata
    this.nodes[slot] = e
    this.seqs[slot] = e.seq
    const res = m.resources
    for (const r in res) this.columns.get(r)![slot] = res[r]
    const code = healthCode[m.health]
    this.health[slot] = code
    const caps = m.capabilities
    for (let i = 0; i < caps.length; i++) {
      let b = this.byCapability.get(caps[i])
      if (b === undefined) this.byCapability.set(caps[i], (b = new CapabilityBucket(this.cols.length)))
      this.setCapPos(e, i, b.add(slot, code, this.cols))
    }
    this.hpos[slot] = this.byHealth[code].push(slot)
    let nb = this.byNode.get(m.node)
    if (nb === undefined) this.byNode.set(m.node, (nb = new SlotList()))
    this.npos[slot] = nb.push(slot)
    for (const r in res) this.numeric.get(r)!.insert(slot)
  }

  /** Removes the entry's slot from every index and clears its numeric columns (its row stays allocated). */
  private unindex(e: Node<H>): void {
    const slot = e.slot
    const m = e.metadata
    const caps = m.capabilities
    for (let i = 0; i < caps.length; i++) {
      const c = caps[i]
      const b = this.byCapability.get(c)!
      const pos = this.capPos(e, i)
      const moved = b.removeAt(pos)
      if (moved !== -1) {
        const mn = this.nodes[moved]!
        this.setCapPos(mn, mn.metadata.capabilities.indexOf(c), pos)
      } else if (b.length === 0) this.byCapability.delete(c)
    }
    const hb = this.byHealth[this.health[slot]]
    const lh = hb.pop()
    if (lh !== slot) {
      hb.items[this.hpos[slot]] = lh
      this.hpos[lh] = this.hpos[slot]
    }
    const nb = this.byNode.get(m.node)!
    const ln = nb.pop()
    if (ln !== slot) {
      nb.items[this.npos[slot]] = ln
      this.npos[ln] = this.npos[slot]
    } else if (nb.length === 0) this.byNode.delete(m.node)
    const res = m.resources
    for (const r in res) {
      this.numeric.get(r)!.remove(slot)
      this.columns.get(r)![slot] = Number.NaN
    }
  }

  /** Position of entry `e` in the bucket of its `i`-th capability. */
  private capPos(e: Node<H>, i: number): number {
    return i === 0 ? this.cpos0[e.slot] : i === 1 ? this.cpos1[e.slot] : e.cp[i - 2]
  }

  private setCapPos(e: Node<H>, i: number, pos: number): void {
    if (i === 0) this.cpos0[e.slot] = pos
    else if (i === 1) this.cpos1[e.slot] = pos
    else e.cp[i - 2] = pos
  }

  private notify(change: Change<H>): void {
    const ls = this.listeners
    for (let i = 0; i < ls.length; i++) ls[i](change)
  }
}
