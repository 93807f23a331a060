/**
 * The subset of `bun:test` this project's suites use, on top of `Deno.test`, so `deno test` runs the
 * same files as `bun test` (deno.json maps the `bun:test` specifier here). `describe` blocks become
 * name prefixes; `afterAll` runs after the file's last test.
 */
type Fn = () => unknown | Promise<unknown>

const prefix: string[] = []
const afterAllHooks: Fn[] = []
let pending = 0

const register = (name: string, fn: Fn): void => {
  const full = [...prefix, name].join(" > ")
  pending++
  Deno.test({
    name: full,
    sanitizeOps: false,
    sanitizeResources: false,
    sanitizeExit: false,
    fn: async () => {
      try {
        await fn()
      } finally {
        if (--pending === 0) for (const hook of afterAllHooks) await hook()
      }
    },
  })
}

export const describe = (name: string, body: () => void): void => {
  prefix.push(name)
  try {
    body()
  } finally {
    prefix.pop()
  }
}

export const it = (name: string, fn: Fn, _timeoutMs?: number): void => register(name, fn)
export const test = it
export const afterAll = (fn: Fn): void => {
  afterAllHooks.push(fn)
}
export const beforeAll = (fn: Fn): void => {
  register("(beforeAll)", fn)
}

export { expect } from "../../../support/expect.ts"
