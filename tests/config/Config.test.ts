import { describe, expect, it } from "bun:test"
import { Effect, Exit, Schema } from "effect"
import * as fc from "fast-check"
import * as Config from "../../src/config/Config.ts"
import { loadTroupeConfig } from "../../src/runtime/config.ts"

const run = <A, E>(effect: Effect.Effect<A, E, any>): Promise<A> =>
  Effect.runPromise(Effect.scoped(effect) as Effect.Effect<A, E>)

const withConfig = <A, E>(f: (c: Config.ConfigService<Config.TroupeConfig>) => Effect.Effect<A, E, any>) =>
  run(
    Effect.gen(function* () {
      const c = yield* Config.Config
      return yield* f(c)
    }).pipe(Effect.provide(Config.layer())),
  )

describe("Config", () => {
  it("serves defaults and typed values by path", async () => {
    const [t, section] = await withConfig((c) => Effect.all([c.get("agent.askTimeoutMs"), c.get("health")]))
    expect(t).toBe(5000)
    expect(section).toEqual({ intervalMs: 10_000, timeoutMs: 1000 })
  })

  it("applies a valid update to an updatable path and publishes it to subscribers", async () => {
    const out = await withConfig((c) =>
      Effect.gen(function* () {
        const sub = yield* c.subscribe
        yield* c.update("agent.askTimeoutMs", 250)
        const change = yield* sub.take
        return { value: yield* c.get("agent.askTimeoutMs"), change, version: yield* c.version }
      }),
    )
    expect(out.value).toBe(250)
    expect(out.version).toBe(1)
    expect(out.change).toMatchObject({
      _tag: "Updated",
      path: "agent.askTimeoutMs",
      previous: 5000,
      value: 250,
    })
  })

  it("rejects a value of the wrong type with ConfigInvalid naming the path, and changes nothing", async () => {
    const out = await withConfig((c) =>
      Effect.gen(function* () {
        const sub = yield* c.subscribe
        const err = yield* Effect.flip(c.update("agent.askTimeoutMs", "fast"))
        const neg = yield* Effect.flip(c.update("agent.askTimeoutMs", -5))
        return { err, neg, after: yield* c.current, version: yield* c.version, pending: yield* sub.poll }
      }),
    )
    expect(out.err._tag).toBe("ConfigInvalid")
    expect(out.err.message).toContain('"agent.askTimeoutMs"')
    expect(out.err.message).toContain("Expected")
    expect(out.neg._tag).toBe("ConfigInvalid")
    expect(out.neg.message).toContain("greater than 0")
    expect(out.after).toEqual(Config.defaults)
    expect(out.version).toBe(0)
    expect(out.pending).toEqual([])
  })

  it("rejects a path that is not updatable with ConfigNotUpdatable", async () => {
    const err = await withConfig((c) => Effect.flip(c.update("http.port", 8080)))
    expect(err._tag).toBe("ConfigNotUpdatable")
    expect(err.message).toContain('"http.port"')
  })

  it("rejects unknown paths with ConfigUnknownPath, also inside a section update", async () => {
    const out = await withConfig((c) =>
      Effect.gen(function* () {
        const a = yield* Effect.flip(c.update("agent.askTimeout", 1))
        const b = yield* Effect.flip(c.get("nope"))
        const d = yield* Effect.flip(c.update("health", { intervalMs: 5, typo: 1 }))
        return { a, b, d, after: yield* c.current }
      }),
    )
    expect(out.a._tag).toBe("ConfigUnknownPath")
    expect(out.a.message).toContain('"agent.askTimeout"')
    expect(out.b._tag).toBe("ConfigUnknownPath")
    expect(out.d._tag).toBe("ConfigUnknownPath")
    expect((out.d as any).path).toBe("health.typo")
    expect(out.after).toEqual(Config.defaults)
  })

  it("reset returns to the initial config and publishes a Reset", async () => {
    const out = await withConfig((c) =>
      Effect.gen(function* () {
        const sub = yield* c.subscribe
        yield* c.update("slo.errorRate", 0.01)
        yield* c.reset
        return { changes: yield* sub.poll, now: yield* c.get("slo.errorRate") }
      }),
    )
    expect(out.now).toBe(0.001)
    expect(out.changes.map((x) => x._tag)).toEqual(["Updated", "Reset"])
    expect(out.changes.map((x) => x.version)).toEqual([1, 2])
  })

  it("bounds subscribers and releases a slot when the scope closes", async () => {
    const out = await run(
      Effect.gen(function* () {
        const c = yield* Config.make({
          schema: Config.TroupeConfig,
          defaults: Config.defaults,
          maxSubscribers: 1,
        })
        yield* Effect.scoped(c.subscribe)
        const first = yield* c.subscribe
        const refused = yield* Effect.flip(c.subscribe)
        return { first: first !== undefined, refused }
      }),
    )
    expect(out.first).toBe(true)
    expect(out.refused._tag).toBe("ConfigSubscribersExhausted")
  })

  it("keeps at most subscriberCapacity unread changes, dropping the oldest", async () => {
    const changes = await run(
      Effect.gen(function* () {
        const c = yield* Config.make({
          schema: Config.TroupeConfig,
          defaults: Config.defaults,
          updatable: ["agent"],
          subscriberCapacity: 2,
        })
        const sub = yield* c.subscribe
        for (let i = 1; i <= 5; i++) yield* c.update("agent.askTimeoutMs", i)
        return yield* sub.poll
      }),
    )
    expect(changes.map((x) => x.version)).toEqual([4, 5])
  })

  it("fails at construction naming the option when options are invalid", () => {
    expect(() =>
      Effect.runSync(
        Config.make({ schema: Config.TroupeConfig, defaults: Config.defaults, maxSubscribers: 0 }),
      ),
    ).toThrow(/"maxSubscribers" must be a positive integer/)
    expect(() =>
      Effect.runSync(
        Config.make({ schema: Config.TroupeConfig, defaults: Config.defaults, updatable: ["nope"] }),
      ),
    ).toThrow(/"updatable" names "nope"/)
    expect(() =>
      Effect.runSync(
        Config.make({
          schema: Config.TroupeConfig,
          defaults: { ...Config.defaults, logLevel: "Loud" as any },
        }),
      ),
    ).toThrow(/"defaults" does not match/)
  })

  it("maps environment variables to leaf paths with coercion", async () => {
    const { overrides, unknown } = Config.fromEnvRecord(
      { TROUPE_AGENT_ASK_TIMEOUT_MS: "250", TROUPE_LOG_LEVEL: "Debug", TROUPE_NOPE: "1", HOME: "/root" },
      Config.defaults,
    )
    expect(overrides).toEqual({ agent: { askTimeoutMs: 250 }, logLevel: "Debug" })
    expect(unknown).toEqual(["TROUPE_NOPE"])
    const loaded = await run(loadTroupeConfig({ env: { TROUPE_HTTP_PORT: "8080" } }))
    expect(loaded.overrides).toEqual({ http: { port: 8080 } })
  })

  it("fails with ConfigInvalid when a loaded value is invalid", async () => {
    const exit = await Effect.runPromiseExit(
      Config.make({
        schema: Config.TroupeConfig,
        defaults: Config.defaults,
        initial: { http: { port: 70000 } },
      }),
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const err = await Effect.runPromise(
      Effect.flip(
        Config.make({
          schema: Config.TroupeConfig,
          defaults: Config.defaults,
          initial: Config.fromEnvRecord({ TROUPE_HTTP_PORT: "eighty" }, Config.defaults).overrides,
        }),
      ),
    )
    expect(err._tag).toBe("ConfigInvalid")
    expect(err.message).toContain("http")
  })

  it("publishes concurrent updates once each, in strictly increasing version order", async () => {
    const out = await withConfig((c) =>
      Effect.gen(function* () {
        const sub = yield* c.subscribe
        const results = yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => i),
          (i) => Effect.exit(c.update("agent.askTimeoutMs", i % 5 === 0 ? -1 : i + 1)),
          { concurrency: "unbounded" },
        )
        return { ok: results.filter(Exit.isSuccess).length, version: yield* c.version, seen: yield* sub.poll }
      }),
    )
    expect(out.ok).toBe(40)
    expect(out.version).toBe(40)
    expect(out.seen.map((x) => x.version)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
  })

  it("never lets an invalid update change the config (property)", async () => {
    const leaf = fc.constantFrom(
      "agent.askTimeoutMs",
      "health.intervalMs",
      "slo.errorRate",
      "logLevel",
      "http.port",
    )
    const value = fc.oneof(
      fc.integer({ min: -10, max: 100_000 }),
      fc.double(),
      fc.string(),
      fc.constant(null),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(leaf, value), { maxLength: 20 }), async (ops) => {
        await withConfig((c) =>
          Effect.gen(function* () {
            for (const [path, v] of ops) {
              const before = yield* c.current
              const exit = yield* Effect.exit(c.update(path, v))
              const after = yield* c.current
              if (Exit.isFailure(exit)) expect(after).toBe(before)
              expect(Schema.is(Config.TroupeConfig)(after)).toBe(true)
            }
          }),
        )
      }),
      { numRuns: 50 },
    )
  })
})
