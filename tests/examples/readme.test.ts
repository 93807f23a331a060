import { describe, expect, it } from "bun:test"
import { Effect } from "effect"
import { program } from "../../examples/readme/main.ts"
import { AgentSystem } from "../../src/index.ts"

describe("README example", () => {
  it("supervises a summer with a bounded mailbox, asks it and gets 40", async () => {
    expect(await Effect.runPromise(program.pipe(Effect.provide(AgentSystem.layer())))).toBe(40)
  })
})
