import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { test } from "node:test"
import { open } from "../../../src/runtime/sqlite/deno.ts"
import { busExpected, busScenario, storeExpected, storeScenario } from "../../suites/signalScenario.ts"

test("signal: bus routes wildcards, drops by policy, rejects bad input", async () => {
  assert.deepEqual(await busScenario(), busExpected)
})

test("signal: SQLite event store (node:sqlite) survives a close and reopen", async () => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-signal-"))
  try {
    assert.deepEqual(await storeScenario(open, join(dir, "events.db")), storeExpected)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
