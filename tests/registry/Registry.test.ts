import { describe, expect, it } from "bun:test"
import { Effect, Exit } from "effect"
import fc from "fast-check"
import * as Q from "../../src/registry/Query.ts"
import * as Registry from "../../src/registry/Registry.ts"
import { agent, caps, type FakeAgent, metadataArb } from "../suites/registrySuite.ts"

/** Recomputes every index from the entries and compares it with the registry's own indexes. */
const checkIndexes = (r: Registry.Registry<FakeAgent>): void => {
  const snap = Registry.inspect(r)!
  const entries = snap.entries as ReadonlyArray<Registry.Entry<FakeAgent>>
  const group = (f: (e: Registry.Entry<FakeAgent>) => ReadonlyArray<string>) => {
    const out: Record<string, Array<number>> = {}
    for (const e of entries) for (const k of f(e)) (out[k] ??= []).push(e.seq)
    return out
  }
  expect(snap.capability).toEqual(group((e) => e.metadata.capabilities))
  expect(snap.health).toEqual({
    healthy: [],
    degraded: [],
    unhealthy: [],
    ...group((e) => [e.metadata.health]),
  })
  expect(snap.node).toEqual(group((e) => [e.metadata.node]))
  expect(snap.handles).toEqual(group((e) => [String(e.handle.id)]))
  expect(snap.keys).toEqual([...new Set(entries.map((e) => e.key))].sort())
  for (const attr of r.resources) {
    const expected = entries
      .filter((e) => e.metadata.resources[attr] !== undefined)
      .sort((a, b) => a.metadata.resources[attr] - b.metadata.resources[attr] || a.seq - b.seq)
      .map((e) => e.seq)
    expect(snap.numeric[attr]).toEqual(expected)
  }
  for (const e of entries) {
    expect(snap.columns.health[e.seq]).toBe(e.metadata.health)
    for (const attr of r.resources) expect(snap.columns[attr][e.seq]).toBe(e.metadata.resources[attr] ?? null)
  }
  expect(snap.columns.health[-1]).toBeUndefined() // covering capability buckets agree with the columns
  // no entry of a stopped agent, ever
  for (const e of entries) expect(e.handle.alive).toBe(true)
}

type Cmd =
  | {
      readonly op: "register"
      readonly key: number
      readonly agent: number
      readonly meta: Registry.MetadataInput
    }
  | { readonly op: "update"; readonly key: number; readonly meta: Registry.MetadataInput }
  | { readonly op: "unregister"; readonly key: number }
  | { readonly op: "crash"; readonly agent: number }
  | { readonly op: "many"; readonly keys: ReadonlyArray<number>; readonly agent: number }

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({
    op: fc.constant("register" as const),
    key: fc.nat(9),
    agent: fc.nat(5),
    meta: metadataArb,
  }),
  fc.record({ op: fc.constant("update" as const), key: fc.nat(9), meta: metadataArb }),
  fc.record({ op: fc.constant("unregister" as const), key: fc.nat(9) }),
  fc.record({ op: fc.constant("crash" as const), agent: fc.nat(5) }),
  fc.record({
    op: fc.constant("many" as const),
    keys: fc.uniqueArray(fc.nat(9), { maxLength: 4 }),
    agent: fc.nat(5),
  }),
)

describe("Registry (in-memory)", () => {
  for (const keys of ["unique", "duplicate"] as const)
    it(`keeps every index equal to a recomputation from the entries under random interleavings (${keys})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler(),
          fc.array(cmdArb, { minLength: 1, maxLength: 25 }),
          async (s, cmds) => {
            const agents = Array.from({ length: 6 }, (_, i) => agent(i))
            const r = Registry.makeUnsafe<FakeAgent>({
              keys,
              resources: ["gpu"],
              maxEntries: 12,
              isAlive: (a) => a.alive,
            })
            // each step runs in one tick (the operations are synchronous sections); the scheduler picks the order
            const step = (c: Cmd): void => {
              switch (c.op) {
                case "register":
                  Effect.runSyncExit(r.register(`k${c.key}`, agents[c.agent], c.meta))
                  return
                case "update":
                  Effect.runSyncExit(r.updateMetadata(`k${c.key}`, c.meta))
                  return
                case "unregister":
                  Effect.runSync(r.unregister(`k${c.key}`))
                  return
                case "crash":
                  // the agent stops: status and removal in the same tick, as the kernel hook does it
                  agents[c.agent].alive = false
                  r.agentExitedUnsafe(agents[c.agent])
                  return
                case "many": {
                  const before = Effect.runSync(r.count)
                  const exit = Effect.runSyncExit(
                    r.registerMany(c.keys.map((k) => ({ key: `m${k}`, handle: agents[c.agent] }))),
                  )
                  const mine = new Set(Effect.runSync(r.entriesOf(agents[c.agent])).map((e) => e.key))
                  const present = c.keys.filter((k) => mine.has(`m${k}`)).length
                  if (Exit.isSuccess(exit)) {
                    expect(present).toBe(c.keys.length)
                    expect(Effect.runSync(r.count)).toBe(before + c.keys.length)
                  } else expect(Effect.runSync(r.count)).toBe(before)
                }
              }
            }
            const done = Promise.all(
              cmds.map((c) =>
                s
                  .schedule(Promise.resolve(c), c.op)
                  .then(step)
                  .then(() => checkIndexes(r)),
              ),
            )
            await s.waitAll()
            await done
            checkIndexes(r)
          },
        ),
        { numRuns: 60 },
      )
    })

  it("registers a batch entirely or not at all when its agent crashes at any point", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 6 }), async (s, n) => {
        const a = agent(1)
        const other = agent(2)
        const r = Registry.makeUnsafe<FakeAgent>({ isAlive: (h) => h.alive })
        const items = Array.from({ length: n }, (_, i) => ({
          key: `job${i}`,
          handle: i % 2 === 0 ? a : other,
        }))
        const batch = s
          .schedule(Promise.resolve(), "registerMany")
          .then(() => Effect.runPromiseExit(r.registerMany(items)))
        const crash = s.schedule(Promise.resolve(), "crash").then(() => {
          a.alive = false
          r.agentExitedUnsafe(a)
        })
        const later = s
          .schedule(Promise.resolve(), "observe")
          .then(() => items.filter((it) => r.lookupUnsafe(it.key)).length)
        await s.waitAll()
        const [exit, , seen] = await Promise.all([batch, crash, later])
        const present = items.filter((it) => r.lookupUnsafe(it.key) !== undefined).length
        // after the crash: none of the dead agent's entries; the batch was all (then trimmed by the exit) or none
        expect(items.filter((it) => it.handle === a && r.lookupUnsafe(it.key)).length).toBe(0)
        if (Exit.isSuccess(exit)) expect(present).toBe(items.filter((it) => it.handle === other).length)
        else expect(present).toBe(0)
        // an observer between steps sees all, none, or all minus the crashed agent's: never a partial batch
        expect([0, n, items.filter((it) => it.handle === other).length]).toContain(seen)
      }),
      { numRuns: 100 },
    )
  })

  it("plans from the most selective index and scans only when no index applies", () => {
    const r = Registry.makeUnsafe<FakeAgent>()
    for (let i = 0; i < 3000; i++)
      Effect.runSync(
        r.register(`a${i}`, agent(i), {
          capabilities: [caps[i % 5], i % 750 === 0 ? "rare" : "common"],
          health: i % 3 === 0 ? "degraded" : "healthy",
          resources: { memory: i },
        }),
      )
    const explain = (q: Q.Query) => Effect.runSync(r.explain(q))
    expect(explain([Q.where("capabilities", "contains", "rare"), Q.where("health", "eq", "healthy")])).toBe(
      "index capability (~4 candidates)",
    )
    expect(explain([Q.where("health", "eq", "healthy"), Q.where("resources.memory", "gte", 2990)])).toMatch(
      /^range/,
    )
    expect(explain([Q.where("resources.memory", "gte", 10), Q.where("resources.memory", "lt", 12)])).toMatch(
      /^range resources\.memory \[10, 12\)/,
    )
    expect(explain(Q.or(Q.where("key", "eq", "a1"), Q.where("node", "eq", "x")))).toMatch(/^union/)
    expect(explain(Q.where("tags.tier", "eq", "gold"))).toMatch(/^scan/)
    expect(explain(Q.or(Q.where("tags.tier", "eq", "gold"), Q.where("key", "eq", "a1")))).toMatch(/^scan/)
  })

  it("keeps columns and indexes exact while growing past its initial capacity and reusing slots", () => {
    const r = Registry.makeUnsafe<FakeAgent>({ resources: ["gpu"] })
    const samples = fc.sample(metadataArb, { numRuns: 3000, seed: 7 })
    samples.forEach((m, i) => {
      Effect.runSync(r.register(`g${i}`, agent(i), m))
    })
    for (let i = 0; i < 3000; i += 3) Effect.runSync(r.unregister(`g${i}`))
    for (let i = 0; i < 500; i++) Effect.runSync(r.register(`h${i}`, agent(5000 + i), samples[i]))
    checkIndexes(r)
    const q = Q.and(
      Q.where("capabilities", "contains", "a"),
      Q.where("health", "neq", "unhealthy"),
      Q.where("resources.memory", "gte", 4),
    )
    const all = Effect.runSync(r.query([]))
    expect(Effect.runSync(r.query(q)).length).toBe(all.filter((e) => Q.matches(e, q)).length)
  })

  it("throws a RangeError naming the option on invalid construction", () => {
    expect(() => Registry.makeUnsafe({ maxEntries: 0 })).toThrow(/"maxEntries" must be a positive integer/)
    expect(() => Registry.makeUnsafe({ keys: "many" as any })).toThrow(/"keys"/)
    expect(() => Registry.makeUnsafe({ resources: ["bad name"] })).toThrow(/"resources"/)
  })
})
