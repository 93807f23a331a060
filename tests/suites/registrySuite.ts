/**
 * The behaviour every registry backend must pass. Run it with the backend's constructor:
 * `registrySuite("in-memory", Registry.makeUnsafe)`.
 */
import { describe, expect, it } from "bun:test"
import { Effect, Exit, Fiber, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as Q from "../../src/registry/Query.ts"
import type * as Registry from "../../src/registry/Registry.ts"

/** A stand-in for an agent reference: an id and a liveness flag. */
export interface FakeAgent {
  readonly id: number
  alive: boolean
}

export const agent = (id: number): FakeAgent => ({ id, alive: true })

export type MakeRegistry = (options?: Registry.Options<FakeAgent>) => Registry.Registry<FakeAgent>

const run = <A, E>(e: Effect.Effect<A, E>): A => Effect.runSync(e)
const fail = <A, E>(e: Effect.Effect<A, E>): E => {
  const r = Effect.runSync(Effect.result(e))
  if (Result.isSuccess(r)) throw new Error(`expected a failure, got ${JSON.stringify(r.success)}`)
  return r.failure
}

export const caps = ["a", "b", "c", "d", "e"] as const
export const nodes = ["n1", "n2", "n3"] as const

export const metadataArb = fc.record(
  {
    capabilities: fc.subarray([...caps]),
    health: fc.constantFrom("healthy", "degraded", "unhealthy"),
    node: fc.constantFrom(...nodes),
    resources: fc.record(
      {
        memory: fc.integer({ min: 0, max: 8 }),
        cpu: fc.integer({ min: 0, max: 4 }),
        load: fc.integer({ min: 0, max: 10 }).map((x) => x / 10),
        gpu: fc.integer({ min: 0, max: 2 }),
      },
      { requiredKeys: ["memory"] },
    ),
    tags: fc.record({ tier: fc.constantFrom("gold", "silver") }, { requiredKeys: [] }),
  },
  { requiredKeys: ["capabilities", "health", "resources"] },
) as fc.Arbitrary<Registry.MetadataInput>

const valueFor = (path: string): fc.Arbitrary<unknown> => {
  switch (path) {
    case "capabilities":
      return fc.constantFrom(...caps, "zz")
    case "health":
      return fc.constantFrom("healthy", "degraded", "unhealthy")
    case "node":
      return fc.constantFrom(...nodes)
    case "tags.tier":
      return fc.constantFrom("gold", "silver", "old")
    case "key":
      return fc.integer({ min: 0, max: 30 }).map((i) => `k${i}`)
    default:
      return fc.integer({ min: -1, max: 9 }).map((x) => (path === "resources.load" ? x / 10 : x))
  }
}

export const criterionArb: fc.Arbitrary<Q.Criterion> = fc
  .constantFrom(
    "capabilities",
    "health",
    "node",
    "key",
    "tags.tier",
    "resources.memory",
    "resources.cpu",
    "resources.load",
    "resources.gpu",
  )
  .chain((path) =>
    fc
      .constantFrom(...Q.ops)
      .chain((op) =>
        (op === "in" || op === "notIn" ? fc.array(valueFor(path), { maxLength: 3 }) : valueFor(path)).map(
          (value) => ({ path, op, value }) as Q.Criterion,
        ),
      ),
  )

export const queryArb: fc.Arbitrary<Q.Query> = fc.letrec<{ q: Q.Query }>((tie) => ({
  q: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    criterionArb,
    fc.array(tie("q"), { maxLength: 3 }).map((qs) => Q.and(...qs)),
    fc.array(tie("q"), { maxLength: 3 }).map((qs) => Q.or(...qs)),
    fc.array(criterionArb, { minLength: 2, maxLength: 4 }),
  ),
})).q

export const registrySuite = (backend: string, make: MakeRegistry): void => {
  describe(`Registry behaviour (${backend})`, () => {
    it("looks up what was registered, through the Effect and the synchronous API", () => {
      const r = make()
      const a = agent(1)
      const e = run(r.register("worker", a, { capabilities: ["x"] }))
      expect(e.key).toBe("worker")
      expect(r.lookupUnsafe("worker")?.handle).toBe(a)
      expect(run(r.get("worker")).handle).toBe(a)
      expect(run(r.count)).toBe(1)
      expect(fail(r.get("nobody"))._tag).toBe("NotRegistered")
    })

    it("refuses a taken name with AlreadyRegistered carrying the holder", () => {
      const r = make()
      const a = agent(1)
      run(r.register("n", a))
      const err = fail(r.register("n", agent(2)))
      expect(err._tag).toBe("AlreadyRegistered")
      if (err._tag === "AlreadyRegistered") expect(err.holder).toBe(a)
    })

    it("lets exactly one of N racing registrations of a name win (fc.scheduler)", async () => {
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 12 }), async (s, n) => {
          const r = make()
          const agents = Array.from({ length: n }, (_, i) => agent(i))
          const all = Promise.all(
            agents.map((a) =>
              s.schedule(Promise.resolve(a)).then((a) => Effect.runPromiseExit(r.register("name", a))),
            ),
          )
          await s.waitAll()
          const exits = await all
          const wins = exits.filter(Exit.isSuccess)
          expect(wins.length).toBe(1)
          const holder = wins[0].value.handle
          for (const x of exits.filter(Exit.isFailure)) {
            const err = Effect.runSync(Effect.flip(x))
            expect(err._tag).toBe("AlreadyRegistered")
            expect((err as { holder: unknown }).holder).toBe(holder)
          }
          expect(r.lookupUnsafe("name")?.handle).toBe(holder)
        }),
        { numRuns: 40 },
      )
    })

    it("lets exactly one of many concurrent fibers register a name", async () => {
      const r = make()
      const exits = await Effect.runPromise(
        Effect.forEach(
          Array.from({ length: 200 }, (_, i) => agent(i)),
          (a) => Effect.exit(Effect.yieldNow.pipe(Effect.andThen(r.register("hot", a)))),
          { concurrency: "unbounded" },
        ),
      )
      expect(exits.filter(Exit.isSuccess).length).toBe(1)
    })

    it("registers a batch all-or-nothing (conflict, invalid field, capacity)", () => {
      const r = make({ maxEntries: 5 })
      run(r.register("taken", agent(0)))
      const batch = (keys: ReadonlyArray<string>) => keys.map((key, i) => ({ key, handle: agent(i + 1) }))
      expect(fail(r.registerMany(batch(["x1", "x2", "taken", "x3"])))._tag).toBe("AlreadyRegistered")
      const bad = [
        ...batch(["x1", "x2"]),
        { key: "x3", handle: agent(9), metadata: { health: "sick" } as any },
      ]
      const err = fail(r.registerMany(bad))
      expect(err._tag).toBe("InvalidRegistration")
      expect((err as { field: string }).field).toBe("items[2].metadata.health")
      expect(fail(r.registerMany(batch(["x1", "x2", "x3", "x4", "x5"])))._tag).toBe("RegistryFull")
      expect(fail(r.registerMany(batch(["x1", "x1"])))._tag).toBe("InvalidRegistration")
      expect(run(r.count)).toBe(1)
      expect(run(r.registerMany(batch(["x1", "x2", "x3", "x4"]))).length).toBe(4)
      expect(run(r.count)).toBe(5)
    })

    it("fails with RegistryFull at maxEntries and writes nothing", () => {
      const r = make({ maxEntries: 2 })
      run(r.register("a", agent(1), { capabilities: ["x"] }))
      run(r.register("b", agent(2), { capabilities: ["x"] }))
      const err = fail(r.register("c", agent(3), { capabilities: ["x"] }))
      expect(err._tag).toBe("RegistryFull")
      expect(run(r.query(Q.where("capabilities", "contains", "x"))).length).toBe(2)
      run(r.unregister("a"))
      run(r.register("c", agent(3)))
    })

    it("names the offending field in InvalidRegistration", () => {
      const r = make()
      const field = (key: unknown, m?: unknown) =>
        (fail(r.register(key as string, agent(1), m as Registry.MetadataInput)) as { field: string }).field
      expect(field("")).toBe("name")
      expect(field("x".repeat(300))).toBe("name")
      expect(field(42)).toBe("name")
      expect(field("ok", { health: "fine" })).toBe("metadata.health")
      expect(field("ok", { capabilities: ["a", 3] })).toBe("metadata.capabilities[1]")
      expect(field("ok", { resources: { memory: -1 } })).toBe("metadata.resources.memory")
      expect(field("ok", { resources: { watts: 1 } })).toBe("metadata.resources.watts")
      expect(field("ok", { capabilty: ["a"] })).toBe("metadata.capabilty")
      expect(field("ok", { tags: { t: { nested: true } } })).toBe("metadata.tags.t")
      expect(run(r.count)).toBe(0)
    })

    it("keeps many agents per key in duplicate mode, each pair once", () => {
      const r = make({ keys: "duplicate" })
      const [a, b] = [agent(1), agent(2)]
      run(r.register("topic", a))
      run(r.register("topic", b))
      expect(fail(r.register("topic", a))._tag).toBe("AlreadyRegistered")
      expect(
        run(r.lookupAll("topic"))
          .map((e) => e.handle.id)
          .sort(),
      ).toEqual([1, 2])
      expect(run(r.unregister("topic", a))).toBe(1)
      expect(run(r.lookupAll("topic")).map((e) => e.handle)).toEqual([b])
      run(r.register("topic", a))
      expect(run(r.unregister("topic"))).toBe(2)
      expect(run(r.count)).toBe(0)
    })

    it("updates metadata and every index together", () => {
      const r = make()
      run(r.register("w", agent(1), { capabilities: ["old"], resources: { memory: 1 } }))
      run(r.updateMetadata("w", { capabilities: ["new"], health: "degraded", resources: { memory: 9 } }))
      expect(run(r.query(Q.where("capabilities", "contains", "old")))).toEqual([])
      expect(run(r.query(Q.where("capabilities", "contains", "new"))).length).toBe(1)
      expect(run(r.query(Q.where("health", "eq", "degraded"))).length).toBe(1)
      expect(run(r.query(Q.where("resources.memory", "gt", 5))).length).toBe(1)
      run(r.updateMetadata("w", (m) => ({ ...m, resources: { ...m.resources, load: 0.5 } })))
      expect(r.lookupUnsafe("w")?.metadata.resources).toEqual({ memory: 9, load: 0.5 })
      expect(fail(r.updateMetadata("w", { health: "bad" as any }))._tag).toBe("InvalidRegistration")
      expect(r.lookupUnsafe("w")?.metadata.health).toBe("degraded")
      expect(fail(r.updateMetadata("none", {}))._tag).toBe("NotRegistered")
    })

    it("removes every entry of an agent that ended, and refuses agents that already stopped", () => {
      const r = make({ keys: "duplicate", isAlive: (a) => a.alive })
      const a = agent(1)
      run(r.register("g1", a, { capabilities: ["x"] }))
      run(r.register("g2", a, { capabilities: ["x"] }))
      run(r.register("g1", agent(2), { capabilities: ["x"] }))
      a.alive = false
      expect(r.agentExitedUnsafe(a)).toBe(2)
      expect(run(r.query(Q.where("capabilities", "contains", "x"))).map((e) => e.handle.id)).toEqual([2])
      expect(fail(r.register("g3", a))._tag).toBe("AgentNotAlive")
      expect(
        fail(
          r.registerMany([
            { key: "g4", handle: agent(3) },
            { key: "g5", handle: a },
          ]),
        )._tag,
      ).toBe("AgentNotAlive")
      expect(run(r.count)).toBe(1)
    })

    it("answers every query exactly as the brute-force filter does", () => {
      fc.assert(
        fc.property(
          fc.array(metadataArb, { maxLength: 30 }),
          queryArb,
          fc.option(fc.constantFrom("resources.memory", "resources.load", "resources.gpu"), {
            nil: undefined,
          }),
          fc.constantFrom("asc", "desc") as fc.Arbitrary<"asc" | "desc">,
          fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
          fc.integer({ min: 0, max: 3 }),
          (metas, q, sortBy, order, limit, offset) => {
            const r = make({ resources: ["gpu"] })
            for (const [i, m] of metas.entries()) run(r.register(`k${i}`, agent(i), m))
            const all = run(r.query([]))
            expect(all.length).toBe(metas.length)
            const expected = all.filter((e) => Q.matches(e, q))
            const got = run(r.query(q))
            expect(got.map((e) => e.seq).sort((a, b) => a - b)).toEqual(
              expected.map((e) => e.seq).sort((a, b) => a - b),
            )
            if (sortBy !== undefined) {
              const opts = { sortBy, order, limit, offset }
              expect(run(r.query(q, opts)).map((e) => e.seq)).toEqual(
                Q.arrange(expected, opts).map((e) => e.seq),
              )
            } else if (limit !== undefined) {
              const page = run(r.query(q, { limit, offset }))
              expect(page.length).toBe(Math.max(0, Math.min(limit, expected.length - offset)))
              for (const e of page) expect(Q.matches(e, q)).toBe(true)
            }
          },
        ),
        { numRuns: 300 },
      )
    })

    it("rejects malformed queries with InvalidQuery naming the path", () => {
      const r = make()
      const path = (q: unknown, o?: Q.QueryOptions) =>
        (fail(r.query(q as Q.Query, o)) as { path: string }).path
      expect(path(Q.where("helth", "eq", "x"))).toBe("helth")
      expect(path(Q.where("resources.watts", "gt", 1))).toBe("resources.watts")
      expect(path(Q.where("health", "in", "healthy"))).toBe("health")
      expect(path(Q.where("node", "like" as Q.Op, "x"))).toBe("node")
      expect(path([], { sortBy: "tags.x" })).toBe("sortBy")
      expect(path([], { limit: -1 })).toBe("limit")
      expect(path({ and: [], or: [] })).toBe("query")
      expect(path({ path: "node", op: "eq", value: "n", and: [] })).toBe("query")
    })

    it("streams the changes that match the filter (an update matches before or after)", async () => {
      const r = make()
      const changes = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const stream = yield* r.subscribe({ where: Q.where("capabilities", "contains", "x") })
            const fiber = yield* Effect.forkChild(Stream.runCollect(Stream.take(stream, 3)))
            yield* r.register("a", agent(1), { capabilities: ["x"] })
            yield* r.register("b", agent(2), { capabilities: ["y"] })
            yield* r.updateMetadata("a", { capabilities: ["y"] })
            yield* r.unregister("b")
            yield* r.unregister("a") // no longer matches: not delivered
            yield* r.register("c", agent(3), { capabilities: ["x"] })
            return yield* Fiber.join(fiber)
          }),
        ),
      )
      expect(changes.map((c) => `${c.kind}:${c.entry.key}`)).toEqual([
        "registered:a",
        "updated:a",
        "registered:c",
      ])
    })

    it("ends a watcher that falls behind with WatchOverflow, or keeps the newest with sliding", async () => {
      const r = make()
      const result = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const failing = yield* r.subscribe({ bufferSize: 2 })
            const sliding = yield* r.subscribe({ bufferSize: 2, overflow: "sliding" })
            for (let i = 0; i < 5; i++) yield* r.register(`k${i}`, agent(i))
            const a = yield* Effect.flip(Stream.runCollect(failing))
            const b = yield* Stream.runCollect(Stream.take(sliding, 2))
            return { a, b }
          }),
        ),
      )
      expect(result.a._tag).toBe("WatchOverflow")
      expect(result.b.map((c) => c.entry.key)).toEqual(["k3", "k4"])
    })

    it("awaits a name: at once when registered, on registration otherwise, NotRegistered after the timeout", async () => {
      const r = make()
      run(r.register("ready", agent(1)))
      const result = await Effect.runPromise(
        Effect.gen(function* () {
          const now = yield* r.awaitRegistered("ready")
          const later = yield* Effect.forkChild(r.awaitRegistered("later", { timeoutMs: 1000 }))
          const never = yield* Effect.forkChild(Effect.flip(r.awaitRegistered("never", { timeoutMs: 1000 })))
          yield* Effect.yieldNow
          yield* r.register("later", agent(2))
          yield* TestClock.adjust(1000)
          return {
            now: now.handle.id,
            later: (yield* Fiber.join(later)).handle.id,
            never: (yield* Fiber.join(never))._tag,
          }
        }).pipe(Effect.provide(TestClock.layer())),
      )
      expect(result).toEqual({ now: 1, later: 2, never: "NotRegistered" })
      // waiters were removed: all watcher slots are free again
      const limited = make({ maxWatchers: 1 })
      await Effect.runPromise(
        Effect.gen(function* () {
          const f = yield* Effect.forkChild(limited.awaitRegistered("x"))
          yield* Effect.yieldNow
          expect((yield* Effect.flip(limited.awaitRegistered("y")))._tag).toBe("WatchLimitReached")
          yield* Fiber.interrupt(f)
          yield* Effect.scoped(limited.subscribe())
        }),
      )
    })

    it("never runs a waiter inside a write: a waiter that writes cannot reorder other watchers' changes", async () => {
      const r = make()
      const kinds = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const stream = yield* r.subscribe()
            const collected = yield* Effect.forkChild(Stream.runCollect(Stream.take(stream, 3)))
            const waiter = yield* Effect.forkChild(
              Effect.flatMap(r.awaitRegistered("a"), () => r.register("c", agent(3))),
            )
            yield* Effect.yieldNow
            yield* r.registerMany([
              { key: "a", handle: agent(1) },
              { key: "b", handle: agent(2) },
            ])
            yield* Fiber.join(waiter)
            return (yield* Fiber.join(collected)).map((c) => c.entry.key)
          }),
        ),
      )
      expect(kinds).toEqual(["a", "b", "c"])
    })

    it("limits the number of open watchers", async () => {
      const r = make({ maxWatchers: 1 })
      const tag = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            yield* r.subscribe()
            return (yield* Effect.flip(r.subscribe()))._tag
          }),
        ),
      )
      expect(tag).toBe("WatchLimitReached")
      // the first watcher's scope closed: there is room again
      await Effect.runPromise(Effect.scoped(r.subscribe()))
    })

    it("answers counts and resource aggregates from the indexes", () => {
      const r = make()
      run(r.register("a", agent(1), { capabilities: ["x", "y"], resources: { memory: 4, load: 0.5 } }))
      run(r.register("b", agent(2), { capabilities: ["x"], health: "degraded", resources: { memory: 8 } }))
      expect(Object.fromEntries(run(r.countBy("capabilities")))).toEqual({ x: 2, y: 1 })
      expect(run(r.countBy("health")).get("degraded")).toBe(1)
      expect(run(r.resourceStats("memory"))).toEqual({
        attribute: "memory",
        count: 2,
        sum: 12,
        mean: 6,
        min: 4,
        max: 8,
      })
    })
  })
}
