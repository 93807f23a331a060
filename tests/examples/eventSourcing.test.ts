import { afterAll, describe, expect, it } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { main } from "../../examples/event-sourcing/main.ts"

const dir = mkdtempSync(join(tmpdir(), "troupe-es-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("examples/event-sourcing", () => {
  it("rebuilds the agents' balances from the SQLite log after a restart", async () => {
    const lines: string[] = []
    const r = await Effect.runPromise(main(join(dir, "bank.db"), (l) => lines.push(l)))
    expect(r.rebuilt).toEqual(r.live)
    // 3 accounts x 20 deposits, plus the accepted withdrawals
    expect(r.events).toBe(3 * 40 - r.refused)
    expect(r.audited).toBe(r.events)
    expect(r.resumedFrom).toBe(50)
    for (const balance of Object.values(r.live)) expect(balance).toBeGreaterThanOrEqual(0)
    expect(lines).toHaveLength(2)
  })
})
