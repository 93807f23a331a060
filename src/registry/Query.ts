/**
 * Queries over registry entries: criteria `{ path, op, value }` combined with AND and OR groups,
 * plus `limit`, `offset` and a sort by a numeric attribute.
 *
 * ## Paths
 * `key`, `capabilities`, `health`, `node`, `resources.<attribute>` (memory, cpu, load or a declared one)
 * and `tags.<name>`.
 *
 * ## Operators
 * `eq neq gt gte lt lte in notIn contains`. Comparisons are strict (`===`, no coercion); range operators
 * compare numbers with numbers and strings with strings, anything else does not match.
 * On an array field (`capabilities`) the semantics are those of MongoDB: `eq`, `contains`, `in` and the
 * range operators match when **some** element matches; `neq` and `notIn` match when **no** element
 * equals the value (or any of the values). On a string field `contains` is a substring test.
 * A missing field matches only `neq` and `notIn`.
 *
 * ## Planning
 * {@link Registry} answers a query from its most selective index (capability, health, node, key, or a
 * sorted numeric index for range criteria) and falls back to a scan only when no index applies. Results
 * are always exactly those of {@link matches} applied to every entry (the brute-force reference; the
 * property tests check this). Without `sortBy` the order of results is unspecified.
 *
 * @example
 * ```ts
 * import * as Query from "./Query.ts"
 *
 * const q = Query.and(
 *   Query.where("capabilities", "contains", "vision"),
 *   Query.where("health", "eq", "healthy"),
 *   Query.or(Query.where("resources.memory", "gte", 4096), Query.where("tags.tier", "eq", "gold")),
 * )
 * ```
 * @module
 */
import { InvalidQuery } from "./RegistryError.ts"

/**
 * A comparison operator.
 * @example
 * ```ts
 * const op: Query.Op = "gte"
 * ```
 */
export type Op = "eq" | "neq" | "gt" | "gte" | "lt" | "lte" | "in" | "notIn" | "contains"

/**
 * All operators, in documentation order.
 * @example
 * ```ts
 * Query.ops.includes("contains") // true
 * ```
 */
export const ops: ReadonlyArray<Op> = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "notIn", "contains"]

/**
 * One condition on one field.
 * @example
 * ```ts
 * const c: Query.Criterion = { path: "resources.memory", op: "gte", value: 4096 }
 * ```
 */
export interface Criterion {
  readonly path: string
  readonly op: Op
  readonly value: unknown
}

/**
 * All sub-queries must match. An empty `and` matches everything.
 * @example
 * ```ts
 * const q: Query.And = { and: [Query.where("health", "eq", "healthy"), Query.where("node", "eq", "n1")] }
 * ```
 */
export interface And {
  readonly and: ReadonlyArray<Query>
}

/**
 * At least one sub-query must match. An empty `or` matches nothing.
 * @example
 * ```ts
 * const q: Query.Or = { or: [Query.where("node", "eq", "n1"), Query.where("node", "eq", "n2")] }
 * ```
 */
export interface Or {
  readonly or: ReadonlyArray<Query>
}

/**
 * A criterion or a group; an array is shorthand for `and`.
 * @example
 * ```ts
 * const q: Query.Query = [Query.where("capabilities", "contains", "ocr"), Query.or(Query.where("node", "eq", "n1"))]
 * ```
 */
export type Query = Criterion | And | Or | ReadonlyArray<Query>

/**
 * Options of a query.
 * @example
 * ```ts
 * registry.query(q, { sortBy: "resources.load", order: "asc", limit: 10, offset: 20 })
 * ```
 */
export interface QueryOptions {
  /** Maximum number of results. Default: no limit (the registry's size is bounded by `maxEntries`). */
  readonly limit?: number
  /** Number of matching results to skip (after sorting). Default 0. */
  readonly offset?: number
  /** A numeric path to sort by (`resources.<attribute>`). Entries without it come last; ties by registration order (reversed with `desc`). */
  readonly sortBy?: string
  /** Sort direction. Default `"asc"`. */
  readonly order?: "asc" | "desc"
}

/**
 * Builds a criterion.
 * @example
 * ```ts
 * Query.where("resources.load", "lt", 0.5)
 * ```
 */
export const where = (path: string, op: Op, value: unknown): Criterion => ({ path, op, value })

/**
 * An AND group.
 * @example
 * ```ts
 * Query.and(Query.where("health", "eq", "healthy"), Query.where("node", "eq", "n1"))
 * ```
 */
export const and = (...queries: ReadonlyArray<Query>): And => ({ and: queries })

/**
 * An OR group.
 * @example
 * ```ts
 * Query.or(Query.where("capabilities", "contains", "a"), Query.where("capabilities", "contains", "b"))
 * ```
 */
export const or = (...queries: ReadonlyArray<Query>): Or => ({ or: queries })

/**
 * The minimal shape a query runs against (a registry entry's key and metadata).
 * @example
 * ```ts
 * Query.matches({ key: "a", metadata: { capabilities: [], health: "healthy", node: "n", resources: {}, tags: {} } }, q)
 * ```
 */
export interface Queryable {
  readonly key: string
  readonly metadata: {
    readonly capabilities: ReadonlyArray<string>
    readonly health: string
    readonly node: string
    readonly resources: Readonly<Record<string, number>>
    readonly tags: Readonly<Record<string, string | number | boolean>>
  }
}

/**
 * Maximum number of values of an `in` / `notIn` criterion.
 * @example
 * ```ts
 * Query.where("node", "in", nodes.slice(0, Query.maxInValues))
 * ```
 */
export const maxInValues = 1024
/**
 * Maximum number of criteria in one query (all groups together).
 * @example
 * ```ts
 * if (criteria.length > Query.maxCriteria) throw new RangeError("split the query")
 * ```
 */
export const maxCriteria = 256

/**
 * Normalises a query: arrays become `and` groups.
 * @example
 * ```ts
 * Query.isCriterion(Query.where("node", "eq", "n1")) // true
 * ```
 */
export const isCriterion = (q: Query): q is Criterion =>
  !Array.isArray(q) && typeof (q as Criterion).path === "string" && "op" in q

const fieldGetter = (path: string): ((e: Queryable) => unknown) => {
  switch (path) {
    case "key":
      return (e) => e.key
    case "capabilities":
      return (e) => e.metadata.capabilities
    case "health":
      return (e) => e.metadata.health
    case "node":
      return (e) => e.metadata.node
  }
  if (path.startsWith("resources.")) {
    const k = path.slice(10)
    return (e) => e.metadata.resources[k]
  }
  const k = path.slice(5)
  return (e) => {
    const tags = e.metadata.tags
    return Object.hasOwn(tags, k) ? tags[k] : undefined
  }
}

const scalar = (op: Op, value: unknown): ((x: unknown) => boolean) => {
  switch (op) {
    case "eq":
    case "neq":
      return (x) => x === value
    case "gt":
      return (x) => typeof x === typeof value && (x as number) > (value as number)
    case "gte":
      return (x) => typeof x === typeof value && (x as number) >= (value as number)
    case "lt":
      return (x) => typeof x === typeof value && (x as number) < (value as number)
    case "lte":
      return (x) => typeof x === typeof value && (x as number) <= (value as number)
    case "in":
    case "notIn": {
      const set = new Set(value as ReadonlyArray<unknown>)
      return (x) => set.has(x)
    }
    case "contains":
      return typeof value === "string"
        ? (x) => x === value || (typeof x === "string" && x.includes(value))
        : (x) => x === value
  }
}

const compileCriterion = (c: Criterion): ((e: Queryable) => boolean) => {
  const get = fieldGetter(c.path)
  const test = scalar(c.op, c.value)
  const negated = c.op === "neq" || c.op === "notIn"
  if (c.path === "capabilities") {
    // arrays: some element matches; negated operators: no element matches
    const elem = c.op === "contains" ? (x: unknown) => x === c.value : test
    return negated
      ? (e) => !e.metadata.capabilities.some(elem)
      : (e) => {
          const caps = e.metadata.capabilities
          for (let i = 0; i < caps.length; i++) if (elem(caps[i])) return true
          return false
        }
  }
  return negated
    ? (e) => {
        const x = get(e)
        return x === undefined || !test(x)
      }
    : (e) => {
        const x = get(e)
        return x !== undefined && test(x)
      }
}

/**
 * Compiles a (valid) query to a predicate. Use {@link validate} first for untrusted input.
 * @example
 * ```ts
 * const healthy = Query.compile(Query.where("health", "eq", "healthy"))
 * ```
 */
export const compile = (q: Query): ((e: Queryable) => boolean) => {
  if (Array.isArray(q)) return compile({ and: q })
  if (isCriterion(q as Query)) return compileCriterion(q as Criterion)
  if ("and" in (q as And)) {
    const parts = (q as And).and.map(compile)
    if (parts.length === 1) return parts[0]
    if (parts.length === 2) {
      const [a, b] = parts
      return (e) => a(e) && b(e)
    }
    return (e) => {
      for (let i = 0; i < parts.length; i++) if (!parts[i](e)) return false
      return true
    }
  }
  const parts = (q as Or).or.map(compile)
  return (e) => {
    for (let i = 0; i < parts.length; i++) if (parts[i](e)) return true
    return false
  }
}

/**
 * The brute-force reference: does `entry` match `query`?
 * @example
 * ```ts
 * Query.matches(entry, Query.where("node", "eq", "local"))
 * ```
 */
export const matches = (entry: Queryable, query: Query): boolean => compile(query)(entry)

const fail = (path: string, reason: string): InvalidQuery => new InvalidQuery({ path, reason })

/**
 * Checks a query's structure, paths, operators and values; returns the first problem or `undefined`.
 * `resources` lists the resource attributes a `resources.<name>` path may name (omit to accept any).
 * @example
 * ```ts
 * Query.validate(Query.where("helth", "eq", "healthy")) // InvalidQuery naming "helth"
 * ```
 */
export const validate = (q: unknown, resources?: ReadonlySet<string>): InvalidQuery | undefined => {
  budget = maxCriteria
  trail.length = 0
  return check(q, resources)
}

// Validation allocates nothing on success: the path of a failing group is rebuilt from `trail`
// (group name, index, group name, index, ...) only when there is an error to report.
let budget = 0
const trail: Array<string | number> = []

const at = (): string => {
  let s = "query"
  for (let i = 0; i < trail.length; i += 2) s += `.${trail[i]}[${trail[i + 1]}]`
  return s
}

const checkGroup = (
  parts: ReadonlyArray<unknown>,
  name: "and" | "or",
  resources: ReadonlySet<string> | undefined,
): InvalidQuery | undefined => {
  const depth = trail.length
  trail.push(name, 0)
  for (let i = 0; i < parts.length; i++) {
    trail[depth + 1] = i
    const err = check(parts[i], resources)
    if (err) return err
  }
  trail.length = depth
  return undefined
}

const check = (q: unknown, resources: ReadonlySet<string> | undefined): InvalidQuery | undefined => {
  if (Array.isArray(q)) return checkGroup(q, "and", resources)
  if (q === null || typeof q !== "object")
    return fail(at(), "expected a criterion { path, op, value } or an and/or group")
  const isGroup = "and" in q || "or" in q
  if (isGroup && ("path" in q || "op" in q || ("and" in q && "or" in q)))
    return fail(at(), "an object is either a criterion { path, op, value } or one group { and } / { or }")
  if (isGroup) {
    const isAnd = "and" in q
    const parts = isAnd ? (q as any).and : (q as any).or
    if (!Array.isArray(parts)) return fail(at(), "and/or groups take an array of sub-queries")
    return checkGroup(parts, isAnd ? "and" : "or", resources)
  }
  if (--budget < 0) return fail(at(), `more than ${maxCriteria} criteria; split the query`)
  const { path, op, value } = q as Criterion
  if (typeof path !== "string") return fail(at(), "a criterion needs a string path")
  const isResource = path.startsWith("resources.")
  const known =
    path === "key" ||
    path === "capabilities" ||
    path === "health" ||
    path === "node" ||
    (isResource && path.length > 10) ||
    (path.startsWith("tags.") && path.length > 5)
  if (!known)
    return fail(
      path,
      "unknown path; use key, capabilities, health, node, resources.<attribute> or tags.<name>",
    )
  if (isResource && resources !== undefined && !resources.has(path.slice(10)))
    return fail(path, `undeclared resource attribute; known: ${[...resources].join(", ")}`)
  if (!ops.includes(op))
    return fail(path, `unknown operator ${JSON.stringify(op)}; use one of ${ops.join(" ")}`)
  if (op === "in" || op === "notIn") {
    if (!Array.isArray(value)) return fail(path, `${op} takes an array of values`)
    if (value.length > maxInValues) return fail(path, `${op} takes at most ${maxInValues} values`)
  } else if (op === "gt" || op === "gte" || op === "lt" || op === "lte") {
    if (!((typeof value === "number" && !Number.isNaN(value)) || typeof value === "string"))
      return fail(path, `${op} takes a number or a string`)
  } else if (value === undefined) return fail(path, `${op} needs a value`)
  return undefined
}

/**
 * Applies sort, offset and limit to already-matching entries, exactly as the registry does
 * (the reference used by tests and by backends without a sorted index).
 * @example
 * ```ts
 * Query.arrange(matching, { sortBy: "resources.load", limit: 5 })
 * ```
 */
export const arrange = <E extends Queryable & { readonly seq: number }>(
  entries: ReadonlyArray<E>,
  options: QueryOptions = {},
): Array<E> => {
  let out = entries.slice()
  if (options.sortBy !== undefined) out.sort(sortComparator(options.sortBy, options.order ?? "asc"))
  const offset = options.offset ?? 0
  if (offset > 0 || options.limit !== undefined)
    out = out.slice(offset, options.limit === undefined ? undefined : offset + options.limit)
  return out
}

/**
 * The comparator behind `sortBy`: by value (asc/desc), missing values last, ties by registration order; `desc` is the exact reverse of `asc` except that missing values stay last.
 * @example
 * ```ts
 * entries.slice().sort(Query.sortComparator("resources.load", "asc"))
 * ```
 */
export const sortComparator = <E extends Queryable & { readonly seq: number }>(
  sortBy: string,
  order: "asc" | "desc",
): ((a: E, b: E) => number) => {
  const get = fieldGetter(sortBy) as (e: E) => number | undefined
  const sign = order === "desc" ? -1 : 1
  return (a, b) => {
    const va = get(a)
    const vb = get(b)
    if (va === undefined) return vb === undefined ? a.seq - b.seq : 1
    if (vb === undefined) return -1
    return sign * (va === vb ? a.seq - b.seq : va < vb ? -1 : 1)
  }
}
