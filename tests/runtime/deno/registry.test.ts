import { Effect } from "effect"
import * as Registry from "../../../src/registry/Registry.ts"
import { registryScenario } from "../../suites/registryScenario.ts"

const check = (cond: boolean, what: string) => {
  if (!cond) throw new Error(`registry smoke: ${what}`)
}

Deno.test(
  "registry: named spawns register, queries use indexes, dispatch works, stopped agents leave",
  registryScenario,
)

Deno.test("registry: registerMany is all-or-nothing", () => {
  const registry = Registry.makeUnsafe<{ id: number }>({ maxEntries: 3 })
  Effect.runSync(registry.register("a", { id: 1 }))
  const err = Effect.runSync(
    Effect.flip(
      registry.registerMany([
        { key: "b", handle: { id: 2 } },
        { key: "a", handle: { id: 3 } },
      ]),
    ),
  )
  check(err._tag === "AlreadyRegistered", `conflict, got ${err._tag}`)
  check(Effect.runSync(registry.count) === 1, "nothing of the batch was written")
})
