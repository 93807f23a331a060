import { describe, expect, it } from "bun:test"
import { Effect } from "effect"
import * as Discovery from "../../src/registry/Discovery.ts"
import * as Registry from "../../src/registry/Registry.ts"
import { agent, type FakeAgent } from "../suites/registrySuite.ts"

const setup = () => {
  const r = Registry.makeUnsafe<FakeAgent>({ resources: ["gpu"] })
  const reg = (key: string, m: Registry.MetadataInput) =>
    Effect.runSync(r.register(key, agent(key.length), m))
  reg("a", { capabilities: ["nlp", "vision"], resources: { memory: 8, cpu: 4, load: 0.5, gpu: 1 } })
  reg("b", { capabilities: ["nlp"], health: "degraded", resources: { memory: 2, cpu: 1, load: 0.1 } })
  reg("c", { capabilities: ["vision"], resources: { memory: 16, cpu: 8, load: 0.9 } })
  reg("d", { capabilities: ["nlp"], health: "unhealthy", resources: { memory: 32, cpu: 16, load: 0 } })
  reg("e", { capabilities: ["nlp"] })
  return r
}
const keys = (es: ReadonlyArray<Registry.Entry<FakeAgent>>) => es.map((e) => e.key).sort()

describe("Discovery", () => {
  it("finds capable and healthy agents", () => {
    expect(keys(Effect.runSync(Discovery.findCapableAndHealthy(setup(), "nlp")))).toEqual(["a", "e"])
  })

  it("finds agents by minimum resources", () => {
    const r = setup()
    expect(keys(Effect.runSync(Discovery.findByResources(r, { minMemory: 8, minCpu: 5 })))).toEqual([
      "c",
      "d",
    ])
    expect(keys(Effect.runSync(Discovery.findCapableWithResources(r, "nlp", { minMemory: 4 })))).toEqual([
      "a",
    ])
  })

  it("finds agents that have all of several capabilities", () => {
    expect(keys(Effect.runSync(Discovery.findByCapabilities(setup(), ["nlp", "vision"])))).toEqual(["a"])
  })

  it("lists the least loaded non-unhealthy agents, those without a load last", () => {
    const got = Effect.runSync(Discovery.leastLoaded(setup(), "nlp", 3)).map((e) => e.key)
    expect(got).toEqual(["b", "a", "e"])
  })

  it("summarises capabilities, health and resources", () => {
    const r = setup()
    expect(Effect.runSync(Discovery.countByCapability(r))).toEqual({ nlp: 4, vision: 2 })
    expect(Effect.runSync(Discovery.healthSummary(r))).toEqual({
      total: 5,
      healthy: 3,
      degraded: 1,
      unhealthy: 1,
    })
    const res = Effect.runSync(Discovery.resourceSummary(r))
    expect(res.memory).toEqual({ attribute: "memory", count: 4, sum: 58, mean: 14.5, min: 2, max: 32 })
    expect(res.gpu.count).toBe(1)
    expect(Object.keys(res).sort()).toEqual(["cpu", "gpu", "load", "memory"])
  })
})
