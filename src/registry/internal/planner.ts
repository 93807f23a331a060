/**
 * Query planning and execution over a {@link Store}. The planner picks, for an AND group, the child
 * with the smallest estimated candidate set among the indexable ones (capability, health, node, key,
 * sorted numeric ranges; ranges on one attribute are intersected first); an OR group is indexable when
 * all its children are, as the union of their candidates. It scans only when nothing applies. The
 * candidates are then filtered by the whole compiled predicate, so the result equals the brute-force
 * filter whatever plan was chosen.
 * @internal
 */
import * as Q from "../Query.ts"
import type { Health } from "./metadata.ts"
import { healthValues } from "./metadata.ts"
import type { Entry, Store } from "./store.ts"

export type Plan<H> =
  | { readonly kind: "scan"; readonly est: number }
  | {
      readonly kind: "sets"
      readonly label: string
      readonly sets: ReadonlyArray<Iterable<Entry<H>>>
      readonly est: number
    }
  | {
      readonly kind: "range"
      readonly attr: string
      readonly lo: number
      readonly loStrict: boolean
      readonly hi: number
      readonly hiStrict: boolean
      readonly est: number
    }
  | { readonly kind: "union"; readonly parts: ReadonlyArray<Plan<H>>; readonly est: number }

const none: ReadonlyArray<never> = []

const setsPlan = <H>(label: string, sets: Array<Iterable<Entry<H>> | undefined>): Plan<H> => {
  const present = sets.filter((s): s is Iterable<Entry<H>> => s !== undefined)
  let est = 0
  for (const s of present)
    est +=
      (s as Set<unknown> | ReadonlyArray<unknown>) instanceof Set
        ? (s as Set<unknown>).size
        : (s as ReadonlyArray<unknown>).length
  return { kind: "sets", label, sets: present, est }
}

interface Bounds {
  lo: number
  loStrict: boolean
  hi: number
  hiStrict: boolean
}

const rangeBounds = (op: Q.Op, v: number): Bounds | undefined => {
  switch (op) {
    case "eq":
      return { lo: v, loStrict: false, hi: v, hiStrict: false }
    case "gt":
      return { lo: v, loStrict: true, hi: Number.POSITIVE_INFINITY, hiStrict: false }
    case "gte":
      return { lo: v, loStrict: false, hi: Number.POSITIVE_INFINITY, hiStrict: false }
    case "lt":
      return { lo: Number.NEGATIVE_INFINITY, loStrict: false, hi: v, hiStrict: true }
    case "lte":
      return { lo: Number.NEGATIVE_INFINITY, loStrict: false, hi: v, hiStrict: false }
    default:
      return undefined
  }
}

const intersect = (a: Bounds, b: Bounds): Bounds => {
  const lo = a.lo > b.lo ? a : a.lo < b.lo ? b : a.loStrict ? a : b
  const hi = a.hi < b.hi ? a : a.hi > b.hi ? b : a.hiStrict ? a : b
  return { lo: lo.lo, loStrict: lo.loStrict, hi: hi.hi, hiStrict: hi.hiStrict }
}

const rangePlan = <H>(store: Store<H>, attr: string, b: Bounds): Plan<H> => {
  const idx = store.numeric.get(attr)!
  return { kind: "range", attr, ...b, est: idx.estimate(b.lo, b.loStrict, b.hi, b.hiStrict) }
}

const criterionPlan = <H>(store: Store<H>, c: Q.Criterion): Plan<H> => {
  const { path, op, value } = c
  const scan: Plan<H> = { kind: "scan", est: store.size }
  const values =
    op === "in" ? (value as ReadonlyArray<unknown>) : op === "eq" || op === "contains" ? [value] : undefined
  switch (path) {
    case "capabilities":
      if (values === undefined) return scan
      return setsPlan(
        `capability`,
        values.map((v) => (typeof v === "string" ? store.byCapability.get(v) : undefined)),
      )
    case "health": {
      if (op === "contains") return scan
      let wanted: ReadonlyArray<unknown> | undefined = values
      if (op === "neq") wanted = healthValues.filter((h) => h !== value)
      else if (op === "notIn")
        wanted = healthValues.filter((h) => !(value as ReadonlyArray<unknown>).includes(h))
      if (wanted === undefined) return scan
      return setsPlan(
        "health",
        wanted.map((h) => store.byHealth.get(h as Health)),
      )
    }
    case "node":
      if (values === undefined || op === "contains") return scan
      return setsPlan(
        "node",
        values.map((v) => (typeof v === "string" ? store.byNode.get(v) : undefined)),
      )
    case "key":
      if (values === undefined || op === "contains") return scan
      return setsPlan(
        "key",
        values.map((v) => {
          if (typeof v !== "string") return undefined
          return store.keyed(v)
        }),
      )
  }
  if (path.startsWith("resources.") && typeof value === "number") {
    const attr = path.slice(10)
    const b = rangeBounds(op, value)
    if (b !== undefined && store.numeric.has(attr)) return rangePlan(store, attr, b)
  }
  return scan
}

/** Chooses a plan for a (validated) query. */
export const plan = <H>(store: Store<H>, q: Q.Query): Plan<H> => {
  if (Array.isArray(q)) return plan(store, { and: q })
  if (Q.isCriterion(q as Q.Query)) return criterionPlan(store, q as Q.Criterion)
  if ("or" in (q as Q.Or)) {
    const parts = (q as Q.Or).or.map((p) => plan(store, p))
    if (parts.length === 0) return { kind: "sets", label: "empty", sets: none, est: 0 }
    let est = 0
    for (const p of parts) {
      if (p.kind === "scan") return { kind: "scan", est: store.size }
      est += p.est
    }
    return parts.length === 1 ? parts[0] : { kind: "union", parts, est }
  }
  let best: Plan<H> = { kind: "scan", est: store.size }
  const ranges = new Map<string, Bounds>()
  for (const child of (q as Q.And).and) {
    if (Q.isCriterion(child)) {
      const { path, op, value } = child
      if (path.startsWith("resources.") && typeof value === "number" && store.numeric.has(path.slice(10))) {
        const b = rangeBounds(op, value)
        if (b !== undefined) {
          const attr = path.slice(10)
          const prev = ranges.get(attr)
          ranges.set(attr, prev === undefined ? b : intersect(prev, b))
          continue
        }
      }
    }
    const p = plan(store, child)
    if (p.est < best.est || (best.kind === "scan" && p.kind !== "scan")) best = p
    if (best.est === 0) return best
  }
  for (const [attr, b] of ranges) {
    const p = rangePlan(store, attr, b)
    if (p.est < best.est || best.kind === "scan") best = p
  }
  return best
}

/** Calls `f` on each candidate of a plan (each at most once); stops when `f` returns false. */
const candidates = <H>(store: Store<H>, p: Plan<H>, f: (e: Entry<H>) => boolean): void => {
  switch (p.kind) {
    case "scan":
      for (const e of store.all()) if (f(e) === false) return
      return
    case "range":
      store.numeric.get(p.attr)!.range(p.lo, p.loStrict, p.hi, p.hiStrict, f)
      return
    case "sets":
      if (p.sets.length === 1) {
        for (const e of p.sets[0]) if (f(e) === false) return
        return
      }
  }
  const seen = new Set<Entry<H>>()
  let stopped = false
  const visit = (q: Plan<H>): void => {
    if (q.kind === "union") {
      for (const part of q.parts) if (!stopped) visit(part)
      return
    }
    if (q.kind === "sets") {
      for (const s of q.sets)
        for (const e of s) {
          if (seen.has(e)) continue
          seen.add(e)
          if (f(e) === false) {
            stopped = true
            return
          }
        }
      return
    }
    candidates(store, q, (e) => {
      if (seen.has(e)) return true
      seen.add(e)
      if (f(e) === false) return (stopped = true) && false
      return true
    })
  }
  visit(p)
}

/** Runs a (validated) query. */
export const execute = <H>(
  store: Store<H>,
  q: Q.Query,
  options: Q.QueryOptions | undefined,
  compiled?: (e: Entry<H>) => boolean,
): Array<Entry<H>> => {
  const pred = compiled ?? (Q.compile(q) as (e: Entry<H>) => boolean)
  const p = plan(store, q)
  const offset = options?.offset ?? 0
  const limit = options?.limit ?? Number.POSITIVE_INFINITY
  const want = offset + limit
  const out: Array<Entry<H>> = []
  if (limit <= 0) return out
  const sortBy = options?.sortBy
  if (sortBy === undefined) {
    candidates(store, p, (e) => {
      if (pred(e)) out.push(e)
      return out.length < want
    })
    return offset > 0 ? out.slice(offset) : out
  }
  const order = options?.order ?? "asc"
  const attr = sortBy.slice(10)
  const idx = store.numeric.get(attr)
  const ordered =
    idx !== undefined && (p.kind === "scan" || (p.kind === "range" && p.attr === attr && order === "asc"))
  if (ordered) {
    // the sorted index gives the order: stop as soon as enough entries matched
    const take = (e: Entry<H>) => {
      if (pred(e)) out.push(e)
      return out.length < want
    }
    if (p.kind === "range") candidates(store, p, take)
    else if (order === "asc") idx.ascending(take)
    else idx.descending(take)
    if (out.length < want && p.kind === "scan") {
      const missing: Array<Entry<H>> = []
      for (const e of store.all()) if (e.metadata.resources[attr] === undefined && pred(e)) missing.push(e)
      missing.sort((a, b) => a.seq - b.seq)
      for (const e of missing) {
        if (out.length >= want) break
        out.push(e)
      }
    }
    return offset > 0 ? out.slice(offset) : out
  }
  const cmp = Q.sortComparator<Entry<H>>(sortBy, order)
  if (want <= 64) {
    // top-k by binary insertion into a bounded sorted buffer
    candidates(store, p, (e) => {
      if (!pred(e)) return true
      if (out.length === want && cmp(e, out[want - 1]) >= 0) return true
      let lo = 0
      let hi = out.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (cmp(out[mid], e) < 0) lo = mid + 1
        else hi = mid
      }
      out.splice(lo, 0, e)
      if (out.length > want) out.pop()
      return true
    })
    return offset > 0 ? out.slice(offset) : out
  }
  candidates(store, p, (e) => {
    if (pred(e)) out.push(e)
    return true
  })
  out.sort(cmp)
  return out.slice(offset, want)
}

/** A one-line description of the plan (for `explain`). */
export const describe = <H>(p: Plan<H>): string => {
  switch (p.kind) {
    case "scan":
      return `scan (${p.est} entries)`
    case "sets":
      return `index ${p.label} (~${p.est} candidates)`
    case "range":
      return `range resources.${p.attr} ${p.loStrict ? "(" : "["}${p.lo}, ${p.hi}${p.hiStrict ? ")" : "]"} (~${p.est} candidates)`
    case "union":
      return `union of ${p.parts.map(describe).join(" | ")} (~${p.est} candidates)`
  }
}
