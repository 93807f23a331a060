/**
 * `node --import ./tests/runtime/node/support/register.ts --test ...` runs the bun:test suites on Node:
 * `bun:test` resolves to a node:test-based shim and the Bun SQLite driver to the node:sqlite one.
 */
import { register } from "node:module"

register("./hooks.ts", import.meta.url)
