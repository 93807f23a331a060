import assert from "node:assert/strict"
import { test } from "node:test"
import { Effect } from "effect"
import * as Discovery from "../../../src/registry/Discovery.ts"
import * as Query from "../../../src/registry/Query.ts"
import * as Registry from "../../../src/registry/Registry.ts"
import { registryScenario } from "../../suites/registryScenario.ts"

test("registry: atomic registration, indexed queries, discovery helpers", () => {
  const registry = Registry.makeUnsafe<{ id: number }>({ resources: ["gpu"] })
  for (let i = 0; i < 100; i++)
    Effect.runSync(
      registry.register(
        `a${i}`,
        { id: i },
        {
          capabilities: [i % 2 === 0 ? "even" : "odd"],
          health: i % 10 === 0 ? "degraded" : "healthy",
          resources: { memory: i, load: (i % 7) / 7, gpu: i % 3 },
        },
      ),
    )
  const taken = Effect.runSync(Effect.flip(registry.register("a1", { id: 1000 })))
  assert.equal(taken._tag, "AlreadyRegistered")
  const q = Query.and(Query.where("capabilities", "contains", "even"), Query.where("resources.gpu", "gte", 2))
  const got = Effect.runSync(registry.query(q)).map((e) => e.key)
  const all = Effect.runSync(registry.query([]))
  assert.deepEqual(
    got.sort(),
    all
      .filter((e) => Query.matches(e, q))
      .map((e) => e.key)
      .sort(),
  )
  assert.equal(Effect.runSync(Discovery.healthSummary(registry)).degraded, 10)
  assert.equal(Effect.runSync(Discovery.leastLoaded(registry, "odd", 1))[0].metadata.resources.load, 0)
})

test("registry scenario with the kernel: named spawns, indexed queries, dispatch, exit removes", async () => {
  await registryScenario()
})
