/**
 * Troupe: a TypeScript runtime for supervised multi-agent systems, built on Effect.
 * Each area is re-exported as a namespace.
 * @module
 */
export * from "./Version.ts"
