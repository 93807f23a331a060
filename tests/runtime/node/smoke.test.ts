import assert from "node:assert/strict"
import { test } from "node:test"
import { Effect } from "effect"

test("effect runs under node", async () => {
  assert.equal(await Effect.runPromise(Effect.succeed(1)), 1)
})
