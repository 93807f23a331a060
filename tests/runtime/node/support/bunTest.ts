/**
 * The subset of `bun:test` this project's suites use, on top of `node:test`, so Node runs the same
 * files as `bun test` (register.ts maps the `bun:test` specifier here).
 */
import { after, before, describe as nodeDescribe, it as nodeIt } from "node:test"

type Fn = () => unknown | Promise<unknown>

export const describe = (name: string, body: () => void): void => {
  nodeDescribe(name, body)
}
export const it = (name: string, fn: Fn, _timeoutMs?: number): void => {
  nodeIt(name, async () => {
    await fn()
  })
}
export const test = it
export const afterAll = (fn: Fn): void => {
  after(async () => {
    await fn()
  })
}
export const beforeAll = (fn: Fn): void => {
  before(async () => {
    await fn()
  })
}

export { expect } from "../../../support/expect.ts"
