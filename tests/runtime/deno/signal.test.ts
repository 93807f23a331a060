import { open } from "../../../src/runtime/sqlite/deno.ts"
import { busExpected, busScenario, storeExpected, storeScenario } from "../../suites/signalScenario.ts"

const same = (got: unknown, want: unknown, what: string) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what} under Deno: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
  }
}

Deno.test("signal: bus routes wildcards, drops by policy, rejects bad input", async () => {
  same(await busScenario(), busExpected, "bus scenario")
})

Deno.test("signal: SQLite event store (node:sqlite) survives a close and reopen", async () => {
  const dir = await Deno.makeTempDir()
  try {
    same(await storeScenario(open, `${dir}/events.db`), storeExpected, "store scenario")
  } finally {
    await Deno.remove(dir, { recursive: true })
  }
})
