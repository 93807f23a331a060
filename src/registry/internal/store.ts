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

const getOrCreate = <K, V>(m: Map<K, Set<V>>, k: K): Set<V> => {
  let s = m.get(k)
  if (s === undefined) m.set(k, (s = new Set()))
  return s
}

export class Store<H> {
  readonly byKey = new Map<string, Entry<H> | Set<Entry<H>>>()
  readonly byHandle = new Map<unknown, OneOrMany<Entry<H>>>()
  readonly byCapability = new Map<string, Set<Entry<H>>>()
  readonly byHealth = new Map<Health, Set<Entry<H>>>(healthValues.map((h) => [h, new Set()]))
  readonly byNode = new Map<string, Set<Entry<H>>>()
  readonly numeric = new Map<string, SortedIndex<Entry<H>>>()
  size = 0
  private seq = 0
  listeners: Array<(change: Change<H>) => void> = []

  constructor(
    readonly unique: boolean,
    readonly maxEntries: number,
    resources: Iterable<string>,
    readonly idOf: (h: H) => unknown,
  ) {
    for (const r of resources) this.numeric.set(r, new SortedIndex<Entry<H>>((e) => e.metadata.resources[r]))
  }

  // ---- reads ----------------------------------------------------------------------------------

  lookup(key: string): Entry<H> | undefined {
    const v = this.byKey.get(key)
    if (v === undefined || !(v instanceof Set)) return v
    for (const e of v) return e
    return undefined
  }

  lookupAll(key: string): ReadonlyArray<Entry<H>> {
    const v = this.byKey.get(key)
    if (v === undefined) return []
    return v instanceof Set ? [...v] : [v]
  }

  find(key: string, handle: H | undefined): Entry<H> | undefined {
    const v = this.byKey.get(key)
    if (v === undefined) return undefined
    if (!(v instanceof Set))
      return handle === undefined || this.idOf(v.handle) === this.idOf(handle) ? v : undefined
    if (handle === undefined) {
      for (const e of v) return e
      return undefined
    }
    const id = this.idOf(handle)
    for (const e of v) if (this.idOf(e.handle) === id) return e
    return undefined
  }

  entriesOf(handle: H): ReadonlyArray<Entry<H>> {
    const v = this.byHandle.get(this.idOf(handle))
    return v === undefined ? [] : Array.isArray(v) ? v.slice() : [v]
  }

  *all(): IterableIterator<Entry<H>> {
    for (const v of this.byKey.values()) {
      if (v instanceof Set) yield* v
      else yield v
    }
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
    const out: Array<Entry<H>> = new Array(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]
      const e: Entry<H> = { key: p.key, handle: p.handle, metadata: p.metadata, seq: ++this.seq }
      if (this.unique) this.byKey.set(e.key, e)
      else {
        const s = this.byKey.get(e.key) as Set<Entry<H>> | undefined
        if (s === undefined) this.byKey.set(e.key, new Set([e]))
        else s.add(e)
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
  remove(e: Entry<H>, reason: "unregister" | "exit"): void {
    if (this.unique) this.byKey.delete(e.key)
    else {
      const s = this.byKey.get(e.key) as Set<Entry<H>>
      s.delete(e)
      if (s.size === 0) this.byKey.delete(e.key)
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
  replace(e: Entry<H>, metadata: Metadata): Entry<H> {
    const next: Entry<H> = { key: e.key, handle: e.handle, metadata, seq: e.seq }
    this.unindex(e)
    if (this.unique) this.byKey.set(e.key, next)
    else {
      const s = this.byKey.get(e.key) as Set<Entry<H>>
      s.delete(e)
      s.add(next)
    }
    const id = this.idOf(e.handle)
    const h = this.byHandle.get(id)!
    if (Array.isArray(h)) h[h.indexOf(e)] = next
    else this.byHandle.set(id, next)
    this.index(next)
    if (this.listeners.length > 0) this.notify({ kind: "updated", entry: next, previous: e })
    return next
  }

  private index(e: Entry<H>): void {
    const m = e.metadata
    const caps = m.capabilities
    for (let i = 0; i < caps.length; i++) getOrCreate(this.byCapability, caps[i]).add(e)
    this.byHealth.get(m.health)!.add(e)
    getOrCreate(this.byNode, m.node).add(e)
    for (const r in m.resources) this.numeric.get(r)!.insert(e)
  }

  private unindex(e: Entry<H>): void {
    const m = e.metadata
    const caps = m.capabilities
    for (let i = 0; i < caps.length; i++) {
      const s = this.byCapability.get(caps[i])!
      s.delete(e)
      if (s.size === 0) this.byCapability.delete(caps[i])
    }
    this.byHealth.get(m.health)!.delete(e)
    const n = this.byNode.get(m.node)!
    n.delete(e)
    if (n.size === 0) this.byNode.delete(m.node)
    for (const r in m.resources) this.numeric.get(r)!.remove(e)
  }

  private notify(change: Change<H>): void {
    const ls = this.listeners
    for (let i = 0; i < ls.length; i++) ls[i](change)
  }
}
