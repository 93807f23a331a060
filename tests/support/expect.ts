/**
 * The `expect` of the bun:test subset this project's suites use, shared by the Deno and Node shims
 * (tests/runtime/deno/support/bunTest.ts, tests/runtime/node/support/bunTest.ts).
 */
const isObject = (u: unknown): u is Record<PropertyKey, unknown> => typeof u === "object" && u !== null

const equals = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  if (!isObject(a) || !isObject(b)) return false
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime()
  if (a instanceof RegExp && b instanceof RegExp) return String(a) === String(b)
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equals(x, b[i]))
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false
    for (const [k, v] of a) if (!b.has(k) || !equals(v, b.get(k))) return false
    return true
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false
    for (const v of a) if (![...b].some((w) => equals(v, w))) return false
    return true
  }
  const keys = (o: Record<PropertyKey, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined)
  const ka = keys(a)
  const kb = keys(b)
  return ka.length === kb.length && ka.every((k) => kb.includes(k) && equals(a[k], b[k]))
}

const matchesObject = (actual: unknown, expected: unknown): boolean => {
  if (!isObject(expected)) return equals(actual, expected)
  if (!isObject(actual)) return false
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => matchesObject(actual[i], e))
    )
  }
  return Object.keys(expected).every((k) =>
    matchesObject((actual as Record<string, unknown>)[k], expected[k]),
  )
}

const show = (u: unknown): string => {
  const g = globalThis as { Deno?: { inspect: (u: unknown, o: object) => string } }
  try {
    if (g.Deno !== undefined) return g.Deno.inspect(u, { depth: 6 })
    return JSON.stringify(u, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(u)
  } catch {
    return String(u)
  }
}

class Expectation {
  private readonly actual: unknown
  private readonly negated: boolean
  constructor(actual: unknown, negated = false) {
    this.actual = actual
    this.negated = negated
  }

  get not(): Expectation {
    return new Expectation(this.actual, !this.negated)
  }

  /** Awaits a promise expected to reject, then applies the matcher to a thrower of its reason. */
  get rejects(): {
    toThrow: (expected?: string | RegExp | (new (...args: any[]) => unknown)) => Promise<void>
  } {
    const promise = this.actual as Promise<unknown>
    return {
      toThrow: async (expected) => {
        let reason: unknown
        let rejected = false
        try {
          await promise
        } catch (e) {
          rejected = true
          reason = e
        }
        if (!rejected) throw new Error("expect(promise).rejects: the promise resolved")
        new Expectation(() => {
          throw reason
        }).toThrow(expected)
      },
    }
  }

  private check(pass: boolean, what: string, ...expected: [unknown?]): void {
    if (pass === this.negated) {
      const exp = expected.length > 0 ? ` ${show(expected[0])}` : ""
      throw new Error(`expect(${show(this.actual)})${this.negated ? ".not" : ""}.${what}${exp} failed`)
    }
  }

  toBe(expected: unknown): void {
    this.check(Object.is(this.actual, expected), "toBe", expected)
  }
  toEqual(expected: unknown): void {
    this.check(equals(this.actual, expected), "toEqual", expected)
  }
  toStrictEqual(expected: unknown): void {
    this.check(equals(this.actual, expected), "toStrictEqual", expected)
  }
  toMatchObject(expected: unknown): void {
    this.check(matchesObject(this.actual, expected), "toMatchObject", expected)
  }
  toContain(item: unknown): void {
    const a = this.actual
    const pass =
      typeof a === "string"
        ? a.includes(String(item))
        : Array.isArray(a) || a instanceof Set
          ? [...a].includes(item)
          : false
    this.check(pass, "toContain", item)
  }
  toMatch(pattern: RegExp | string): void {
    const s = String(this.actual)
    this.check(typeof pattern === "string" ? s.includes(pattern) : pattern.test(s), "toMatch", pattern)
  }
  toHaveLength(n: number): void {
    this.check((this.actual as { length?: number })?.length === n, "toHaveLength", n)
  }
  toHaveProperty(key: string): void {
    this.check(isObject(this.actual) && key in this.actual, "toHaveProperty", key)
  }
  toBeDefined(): void {
    this.check(this.actual !== undefined, "toBeDefined")
  }
  toBeUndefined(): void {
    this.check(this.actual === undefined, "toBeUndefined")
  }
  toBeNull(): void {
    this.check(this.actual === null, "toBeNull")
  }
  toBeTruthy(): void {
    this.check(Boolean(this.actual), "toBeTruthy")
  }
  toBeFalsy(): void {
    this.check(!this.actual, "toBeFalsy")
  }
  toBeGreaterThan(n: number): void {
    this.check((this.actual as number) > n, "toBeGreaterThan", n)
  }
  toBeGreaterThanOrEqual(n: number): void {
    this.check((this.actual as number) >= n, "toBeGreaterThanOrEqual", n)
  }
  toBeLessThan(n: number): void {
    this.check((this.actual as number) < n, "toBeLessThan", n)
  }
  toBeLessThanOrEqual(n: number): void {
    this.check((this.actual as number) <= n, "toBeLessThanOrEqual", n)
  }
  toBeCloseTo(n: number, digits = 2): void {
    this.check(Math.abs((this.actual as number) - n) < 10 ** -digits / 2, "toBeCloseTo", n)
  }
  toBeInstanceOf(cls: new (...args: any[]) => unknown): void {
    this.check(this.actual instanceof cls, "toBeInstanceOf", cls.name)
  }
  toThrow(expected?: string | RegExp | (new (...args: any[]) => unknown)): void {
    let threw = false
    let error: unknown
    try {
      ;(this.actual as () => unknown)()
    } catch (e) {
      threw = true
      error = e
    }
    let pass = threw
    if (threw && expected !== undefined) {
      const message = error instanceof Error ? error.message : String(error)
      pass =
        typeof expected === "string"
          ? message.includes(expected)
          : expected instanceof RegExp
            ? expected.test(message)
            : error instanceof expected
    }
    this.check(pass, "toThrow", expected)
  }
}

export const expect = (actual: unknown): Expectation => new Expectation(actual)
