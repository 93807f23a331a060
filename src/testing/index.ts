/**
 * `troupe/testing`: the kit Troupe's own suites use, for users who write property tests of their agents
 * with fast-check — a test system on `TestClock`, scheduling points for `fc.scheduler()`, fault injection,
 * Schema-derived arbitraries and the kernel's invariants as assertions. See `docs/testing.md`.
 *
 * @example
 * ```ts
 * import { Arbitraries, Chaos, Invariants, TestSystem } from "troupe/testing"
 * ```
 * @module
 */
export * as Arbitraries from "./Arbitraries.ts"
export * as Chaos from "./Chaos.ts"
export * as Invariants from "./Invariants.ts"
export * as TestingError from "./TestingError.ts"
export * as TestSystem from "./TestSystem.ts"
