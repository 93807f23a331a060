/**
 * Strict JSON validation: accepts exactly the values that survive `JSON.parse(JSON.stringify(x))` unchanged
 * (null, booleans, finite numbers, strings, arrays, plain objects without `undefined` members), bounded in depth.
 */
export const MAX_DEPTH = 64

export interface JsonProblem {
  readonly path: string
  readonly reason: string
}

const describe = (v: unknown): string => {
  if (v === undefined) return "undefined"
  if (typeof v === "number") return `the number ${v}`
  if (typeof v === "function") return "a function"
  if (typeof v === "object" && v !== null)
    return `an instance of ${v.constructor?.name ?? "an unknown class"}`
  return `a ${typeof v}`
}

// accumulated by `check`: the approximate JSON size of what it walked
let size = 0

const check = (v: unknown, path: string, depth: number, seen: unknown[]): JsonProblem | undefined => {
  switch (typeof v) {
    case "string":
      size += v.length + 2
      return undefined
    case "boolean":
      size += 5
      return undefined
    case "number":
      size += 8
      return Number.isFinite(v) ? undefined : { path, reason: `${describe(v)} is not finite` }
    case "object": {
      size += 2
      if (v === null) return undefined
      if (depth >= MAX_DEPTH) return { path, reason: `nesting is deeper than ${MAX_DEPTH}` }
      if (seen.includes(v)) return { path, reason: "the value refers to itself (a cycle)" }
      seen.push(v)
      try {
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            const p = check(v[i], `${path}[${i}]`, depth + 1, seen)
            if (p !== undefined) return p
          }
          return undefined
        }
        const proto = Object.getPrototypeOf(v)
        if (proto !== Object.prototype && proto !== null) {
          return { path, reason: `${describe(v)} is not a plain object` }
        }
        for (const key in v) {
          size += key.length + 4
          const p = check((v as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, seen)
          if (p !== undefined) return p
        }
        return undefined
      } finally {
        seen.pop()
      }
    }
    default:
      return { path, reason: `${describe(v)} cannot be encoded as JSON` }
  }
}

/** `undefined` when `value` is plain JSON, otherwise where and why it is not. */
export const validateJson = (value: unknown): JsonProblem | undefined => {
  const t = typeof value
  if (t === "string" || t === "boolean" || value === null) return undefined
  return check(value, "$", 0, [])
}

/**
 * The approximate size of `value` encoded as JSON (strings and keys by length plus quotes, numbers as 8,
 * punctuation counted), or where and why it is not plain JSON. One walk does both.
 */
export const measureJson = (value: unknown): number | JsonProblem => {
  size = 0
  const problem = check(value, "$", 0, [])
  return problem === undefined ? size : problem
}
