import { Effect } from "effect"

Deno.test("effect runs under deno", async () => {
  const n = await Effect.runPromise(Effect.succeed(1))
  if (n !== 1) throw new Error("bad")
})
