/**
 * The in-memory registry state: entries by key and by agent, and the secondary indexes
 * (capability, health, node, sorted numeric attributes). Every write is one synchronous section:
 * checks, then all writes of entries and indexes, then change notifications. On a single JavaScript
 * thread nothing can interleave with it, so each write is atomic and every read sees either all of a
 * write or none of it. Writes never fail half-way: everything that can fail is checked before the first
 * mutation.
 * @internal
 */
import type { Health, Metadata } from "./metadata.ts"
import { healthValues } from "./metadata.ts"
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

type OneOrMany<E> = E | Array<E>

/**
 * The stored form of an entry: the public fields plus its positions in the index buckets, so that
 * removal from a bucket is an O(1) swap-remove. A bucket is a plain array (≈8 bytes per member,
 * against ≈45 for a `Set` member on JavaScriptCore).
 */
export class Node<H> implements Entry<H> {
  /** Position in the health bucket. */
  hp = 0
  /** Position in the node bucket. */
  np = 0
  /** Positions in the capability buckets, parallel to `metadata.capabilities`. */
  cp: Array<number>
  constructor(
    readonly key: string,
    readonly handle: H,
    readonly metadata: Metadata,
    readonly seq: number,
  ) {
    this.cp = metadata.capabilities.length === 0 ? noPositions : new Array(metadata.capabilities.length)
  }
}
const noPositions: Array<number> = []

const bucketOf = <K, V>(m: Map<K, Array<V>>, k: K): Array<V> => {
  let b = m.get(k)
  if (b === undefined) m.set(k, (b = []))
  return b
}

export class Store<H> {
  /** Unique mode: key → entry. */
  readonly names = new Map<string, Node<H>>()
  /** Duplicate mode: key → entries. */
  readonly groups = new Map<string, Set<Node<H>>>()
  readonly byHandle = new Map<unknown, OneOrMany<Node<H>>>()
  readonly byCapability = new Map<string, Array<Node<H>>>()
  readonly byHealth = new Map<Health, Array<Node<H>>>(healthValues.map((h) => [h, []]))
  readonly byNode = new Map<string, Array<Node<H>>>()
  readonly numeric = new Map<string, SortedIndex<Node<H>>>()
  size = 0
  private seq = 0
  listeners: Array<(change: Change<H>) => void> = []

  constructor(
    readonly unique: boolean,
    readonly maxEntries: number,
    resources: Iterable<string>,
    readonly idOf: (h: H) => unknown,
  ) {
    for (const r of resources) this.numeric.set(r, new SortedIndex<Node<H>>((e) => e.metadata.resources[r]))
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** Unique mode: the entry under `key`. */
  lookupName(key: string): Node<H> | undefined {
    return this.names.get(key)
  }

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

  /** Entries under `key` as an iterable (for the planner), or undefined. */
  keyed(key: string): Iterable<Node<H>> | undefined {
    if (this.unique) {
      const e = this.names.get(key)
      return e === undefined ? undefined : [e]
    }
    return this.groups.get(key)
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
    const v = this.byHandle.get(this.idOf(handle))
    return v === undefined ? [] : Array.isArray(v) ? v.slice() : [v]
  }

  *all(): IterableIterator<Node<H>> {
    if (this.unique) yield* this.names.values()
    else for (const g of this.groups.values()) yield* g
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
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]
      const e = new Node(p.key, p.handle, p.metadata, ++this.seq)
      if (this.unique) this.names.set(e.key, e)
      else {
        const g = this.groups.get(e.key)
        if (g === undefined) this.groups.set(e.key, new Set([e]))
        else g.add(e)
      }
      const id = this.idOf(e.handle)
      const h = this.byHandle.get(id)
      if (h === undefined) this.byHandle.set(id, e)
      else if (Array.isArray(h)) h.push(e)
      else this.byHandle.set(id, [h, e])
      this.index(e)
      this.size++
      out[i] = e
    }
    if (this.listeners.length > 0) for (const e of out) this.notify({ kind: "registered", entry: e })
    return out
  }

  /** Removes one entry (it must be present). */
  remove(e: Node<H>, reason: "unregister" | "exit"): void {
    if (this.unique) this.names.delete(e.key)
    else {
      const g = this.groups.get(e.key)!
      g.delete(e)
      if (g.size === 0) this.groups.delete(e.key)
    }
    const id = this.idOf(e.handle)
    const h = this.byHandle.get(id)!
    if (Array.isArray(h)) {
      h.splice(h.indexOf(e), 1)
      if (h.length === 1) this.byHandle.set(id, h[0])
    } else this.byHandle.delete(id)
    this.unindex(e)
    this.size--
    if (this.listeners.length > 0) this.notify({ kind: "unregistered", entry: e, reason })
  }

  /** Removes every entry of an agent; returns how many. */
  removeHandle(handle: H, reason: "unregister" | "exit"): number {
    const v = this.byHandle.get(this.idOf(handle))
    if (v === undefined) return 0
    if (!Array.isArray(v)) {
      this.remove(v, reason)
      return 1
    }
    const all = v.slice()
    for (const e of all) this.remove(e, reason)
    return all.length
  }

  /** Replaces an entry's metadata (entry and all indexes), keeping key, handle and seq. */
  replace(e: Node<H>, metadata: Metadata): Entry<H> {
    const next = new Node(e.key, e.handle, metadata, e.seq)
    this.unindex(e)
    if (this.unique) this.names.set(e.key, next)
    else {
      const g = this.groups.get(e.key)!
      g.delete(e)
      g.add(next)
    }
    const id = this.idOf(e.handle)
    const h = this.byHandle.get(id)!
    if (Array.isArray(h)) h[h.indexOf(e)] = next
    else this.byHandle.set(id, next)
    this.index(next)
    if (this.listeners.length > 0) this.notify({ kind: "updated", entry: next, previous: e })
    return next
  }

  private index(e: Node<H>): void {
    const m = e.metadata
    const caps = m.capabilities
    for (let i = 0; i < caps.length; i++) {
      const b = bucketOf(this.byCapability, caps[i])
      e.cp[i] = b.length
      b.push(e)
    }
    const hb = this.byHealth.get(m.health)!
    e.hp = hb.length
    hb.push(e)
    const nb = bucketOf(this.byNode, m.node)
    e.np = nb.length
    nb.push(e)
    for (const r in m.resources) this.numeric.get(r)!.insert(e)
  }

  private unindex(e: Node<H>): void {
    const m = e.metadata
    const caps = m.capabilities
    for (let i = 0; i < caps.length; i++) {
      const c = caps[i]
      const b = this.byCapability.get(c)!
      const last = b.pop()!
      if (last !== e) {
        const pos = e.cp[i]
        b[pos] = last
        last.cp[last.metadata.capabilities.indexOf(c)] = pos
      } else if (b.length === 0) this.byCapability.delete(c)
    }
    const hb = this.byHealth.get(m.health)!
    const lh = hb.pop()!
    if (lh !== e) {
      hb[e.hp] = lh
      lh.hp = e.hp
    }
    const nb = this.byNode.get(m.node)!
    const ln = nb.pop()!
    if (ln !== e) {
      nb[e.np] = ln
      ln.np = e.np
    } else if (nb.length === 0) this.byNode.delete(m.node)
    for (const r in m.resources) this.numeric.get(r)!.remove(e)
  }

  private notify(change: Change<H>): void {
    const ls = this.listeners
    for (let i = 0; i < ls.length; i++) ls[i](change)
  }
}
