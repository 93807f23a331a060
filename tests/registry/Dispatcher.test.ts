import { describe, expect, it } from "bun:test"
import { Effect, Random } from "effect"
import * as Dispatcher from "../../src/registry/Dispatcher.ts"
import * as Registry from "../../src/registry/Registry.ts"
import { agent, type FakeAgent } from "../suites/registrySuite.ts"

const setup = () => {
  const r = Registry.makeUnsafe<FakeAgent>()
  const reg = (key: string, id: number, m: Registry.MetadataInput) =>
    Effect.runSync(r.register(key, agent(id), m))
  reg("w1", 1, { capabilities: ["work"], resources: { load: 0.7 } })
  reg("w2", 2, { capabilities: ["work", "gpu"], resources: { load: 0.2 } })
  reg("w3", 3, { capabilities: ["work", "gpu", "fp16"], resources: { load: 0.1 } })
  reg("sick", 4, { capabilities: ["work"], health: "unhealthy", resources: { load: 0 } })
  return r
}
const pick = <M>(d: Dispatcher.Dispatcher<FakeAgent, M>, cap: string, msg?: M) =>
  Effect.runSync(d.select(cap, msg)).key

describe("Dispatcher", () => {
  it("round-robins over capable agents in registration order, skipping unhealthy ones", () => {
    const d = Dispatcher.make(setup(), Dispatcher.roundRobin)
    expect([1, 2, 3, 4, 5, 6].map(() => pick(d, "work"))).toEqual(["w1", "w2", "w3", "w1", "w2", "w3"])
  })

  it("keeps round-robin going when agents join and leave", () => {
    const r = setup()
    const d = Dispatcher.make(r, Dispatcher.roundRobin)
    expect(pick(d, "work")).toBe("w1")
    Effect.runSync(r.unregister("w2"))
    expect(pick(d, "work")).toBe("w3")
    Effect.runSync(r.register("w5", agent(5), { capabilities: ["work"] }))
    expect(pick(d, "work")).toBe("w5")
    expect(pick(d, "work")).toBe("w1")
  })

  it("picks the least loaded capable agent", () => {
    const r = setup()
    const d = Dispatcher.make(r, Dispatcher.leastLoaded)
    expect(pick(d, "work")).toBe("w3")
    Effect.runSync(r.updateMetadata("w3", { resources: { load: 0.9 } }))
    expect(pick(d, "work")).toBe("w2")
  })

  it("prefers healthy agents and falls back to degraded ones", () => {
    const r = setup()
    const d = Dispatcher.make(r, Dispatcher.leastLoaded)
    Effect.runSync(r.updateMetadata("w3", { health: "degraded" }))
    expect(pick(d, "work")).toBe("w2")
    Effect.runSync(r.updateMetadata("w1", { health: "degraded" }))
    Effect.runSync(r.updateMetadata("w2", { health: "degraded" }))
    expect(pick(d, "work")).toBe("w3")
  })

  it("matches required capabilities and prefers the most specialised agent", () => {
    const d = Dispatcher.make(setup(), Dispatcher.capabilityMatch(["gpu"]))
    expect(pick(d, "work")).toBe("w2")
    const fp = Dispatcher.make(setup(), Dispatcher.capabilityMatch(["fp16"]))
    expect(pick(fp, "work")).toBe("w3")
  })

  it("draws in proportion to weights with a seeded Random", () => {
    const d = Dispatcher.make(
      setup(),
      Dispatcher.weightedRandom((e) => (e.key === "w1" ? 3 : e.key === "w2" ? 1 : 0)),
    )
    const counts: Record<string, number> = {}
    const draws = Effect.runSync(
      Effect.forEach(Array.from({ length: 4000 }), () => d.select("work")).pipe(Random.withSeed(42)),
    )
    for (const e of draws) counts[e.key] = (counts[e.key] ?? 0) + 1
    expect(counts.w3).toBeUndefined()
    expect(counts.w1 / 4000).toBeGreaterThan(0.7)
    expect(counts.w1 / 4000).toBeLessThan(0.8)
  })

  it("sends a message key to the same agent, and moves only the removed agent's keys", () => {
    const r = Registry.makeUnsafe<FakeAgent>()
    for (let i = 0; i < 10; i++) Effect.runSync(r.register(`n${i}`, agent(i), { capabilities: ["shard"] }))
    const d = Dispatcher.make(
      r,
      Dispatcher.consistentHash((m: { user: string }) => m.user),
    )
    const users = Array.from({ length: 500 }, (_, i) => ({ user: `u${i}` }))
    const before = users.map((u) => pick(d, "shard", u))
    expect(users.map((u) => pick(d, "shard", u))).toEqual(before)
    expect(new Set(before).size).toBe(10)
    Effect.runSync(r.unregister("n3"))
    const after = users.map((u) => pick(d, "shard", u))
    for (let i = 0; i < users.length; i++) if (before[i] !== "n3") expect(after[i]).toBe(before[i])
    expect(after).not.toContain("n3")
  })

  it("fails with NoAgentAvailable when no agent fits, and routes to the chosen handle", () => {
    const d = Dispatcher.make<FakeAgent, string>(setup(), Dispatcher.roundRobin)
    const err = Effect.runSync(Effect.flip(d.select("nothing")))
    expect(err._tag).toBe("NoAgentAvailable")
    expect(err.message).toContain('"nothing"')
    const sent: Array<[number, string]> = []
    Effect.runSync(d.route("work", "hello", (h, m) => Effect.sync(() => sent.push([h.id, m]))))
    expect(sent).toEqual([[1, "hello"]])
  })
})
