import { describe, expect, it } from "bun:test"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Demo } from "../../src/index.ts"

describe("Demo", () => {
  it("shows a crash, a restart and the tree, on the TestClock", async () => {
    const lines: string[] = []
    await Effect.runPromise(
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(Demo.program((l) => lines.push(l)))
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow
        yield* TestClock.adjust(250)
        yield* Fiber.join(fiber)
      }).pipe(Effect.provide(TestClock.layer())),
    )
    expect(lines.some((l) => l.includes("pricer-c failed on durian: AgentStopped"))).toBe(true)
    expect(lines.some((l) => l.includes("pricer-c [running] mailbox=0 restarts=1"))).toBe(true)
    expect(lines.at(-1)).toBe("pricer-c is back and quotes 1 × pear = 4")
  })
})
