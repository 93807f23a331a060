import { describe, expect, it } from "bun:test"
import { Cause, Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as Pool from "../../src/resource/Pool.ts"

const run = <A, E>(effect: Effect.Effect<A, E, any>): Promise<A> =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())) as Effect.Effect<A, E>)

const runExit = <A, E>(effect: Effect.Effect<A, E, any>): Promise<Exit.Exit<A, E>> =>
  Effect.runPromiseExit(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())) as Effect.Effect<A, E>)

interface Tracker {
  created: number
  readonly destroyed: Array<number>
  readonly live: Set<number>
  readonly acquire: Effect.Effect<number>
  readonly release: (id: number) => Effect.Effect<void>
}

/** A resource factory that records creations and destructions. */
const tracker = (): Tracker => {
  const t: Tracker = {
    created: 0,
    destroyed: [],
    live: new Set<number>(),
    acquire: Effect.sync(() => {
      const id = ++t.created
      t.live.add(id)
      return id
    }),
    release: (id: number) =>
      Effect.sync(() => {
        t.destroyed.push(id)
        t.live.delete(id)
      }),
  }
  return t
}

/** A pool over the tracker's resources. */
const tracked = (t: Tracker, options: Omit<Pool.Options<number, never, never>, "acquire" | "release">) =>
  Pool.make({ acquire: t.acquire, release: t.release, ...options })

describe("Pool", () => {
  describe("construction", () => {
    const bad: Array<[string, Partial<Pool.Options<number, never, never>>]> = [
      ["max", { max: 0 }],
      ["max", { max: -1 }],
      ["min", { max: 2, min: -1 }],
      ["min", { max: 2, min: 3 }],
      ["acquireTimeout", { max: 2, acquireTimeout: 0 }],
      ["acquireTimeout", { max: 2, acquireTimeout: -5 }],
      ["maxWaiters", { max: 2, maxWaiters: -1 }],
      ["idleTimeout", { max: 2, idleTimeout: 0 }],
      ["maxLifetime", { max: 2, maxLifetime: -1 }],
    ]
    for (const [option, options] of bad) {
      it(`rejects invalid "${option}" (${JSON.stringify(options)}) with a message naming it`, async () => {
        const exit = await runExit(
          Pool.make({ acquire: Effect.succeed(1), ...options } as Pool.Options<number, never, never>),
        )
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
        if (Exit.isFailure(exit))
          expect(String((Cause.squash(exit.cause) as Error).message)).toContain(option)
      })
    }
  })

  it("creates min resources up front and reuses an idle one", () =>
    run(
      Effect.gen(function* () {
        const t = tracker()
        const pool = yield* tracked(t, { min: 2, max: 4 })
        expect(t.created).toBe(2)
        const a = yield* pool.use((id) => Effect.succeed(id))
        const b = yield* pool.use((id) => Effect.succeed(id))
        expect(a).toBe(b)
        expect(t.created).toBe(2)
        expect(pool.statsUnsafe()).toMatchObject({ size: 2, idle: 2, inUse: 0 })
      }),
    ))

  it("fails make when creating the min resources fails", async () => {
    const exit = await runExit(Pool.make({ acquire: Effect.fail("down"), min: 1, max: 2 }))
    expect(exit).toEqual(Exit.fail("down"))
  })

  it("never exceeds max and returns every resource when scopes close (many fibers)", () =>
    run(
      Effect.gen(function* () {
        const t = tracker()
        let borrowed = 0
        let peak = 0
        const pool = yield* tracked(t, { max: 5, maxWaiters: 1000 })
        const fiber = yield* Effect.forkChild(
          Effect.forEach(
            Array.from({ length: 200 }, (_, i) => i),
            (i) =>
              Effect.scoped(
                Effect.gen(function* () {
                  yield* pool.get
                  borrowed++
                  peak = Math.max(peak, borrowed)
                  yield* Effect.sleep(i % 7)
                  borrowed--
                }),
              ),
            { concurrency: "unbounded" },
          ),
        )
        for (let i = 0; i < 400; i++) yield* TestClock.adjust(1)
        yield* Fiber.join(fiber)
        expect(peak).toBe(5)
        expect(t.created).toBeLessThanOrEqual(5)
        expect(pool.statsUnsafe()).toMatchObject({ inUse: 0, waiters: 0 })
      }),
    ))

  it("never exceeds max and leaks nothing under random interleavings and interruptions (fc.scheduler)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.record({ interrupt: fc.boolean(), die: fc.boolean() }), { minLength: 1, maxLength: 10 }),
        async (s, max, callers) => {
          const t = tracker()
          let borrowed = 0
          let peak = 0
          const program = Effect.gen(function* () {
            const pool = yield* Pool.make({
              acquire: Effect.andThen(
                Effect.promise(() => s.schedule(Promise.resolve(), "create")),
                t.acquire,
              ),
              release: t.release,
              max,
              maxWaiters: 100,
            })
            const fibers = yield* Effect.forEach(callers, (c, i) =>
              Effect.forkChild(
                pool.use(() =>
                  Effect.gen(function* () {
                    borrowed++
                    peak = Math.max(peak, borrowed)
                    yield* Effect.promise(() => s.schedule(Promise.resolve(), `use ${i}`))
                    borrowed--
                    if (c.die) return yield* Effect.die("crash")
                  }).pipe(Effect.onInterrupt(() => Effect.sync(() => borrowed--))),
                ),
              ),
            )
            const interrupters = yield* Effect.forEach(callers, (c, i) =>
              c.interrupt
                ? Effect.forkChild(
                    Effect.andThen(
                      Effect.promise(() => s.schedule(Promise.resolve(), `interrupt ${i}`)),
                      Fiber.interrupt(fibers[i]),
                    ),
                  )
                : Effect.succeed(undefined),
            )
            for (const f of fibers) yield* Fiber.await(f)
            for (const f of interrupters) if (f) yield* Fiber.await(f)
            const stats = pool.statsUnsafe()
            expect(stats.inUse).toBe(0)
            expect(stats.waiters).toBe(0)
            expect(stats.size).toBeLessThanOrEqual(max)
          })
          const done = Effect.runPromise(Effect.scoped(program))
          await s.waitFor(done)
          await done
          expect(peak).toBeLessThanOrEqual(max)
          // after the pool's scope closed, every created resource was destroyed
          expect(t.live.size).toBe(0)
          expect(t.destroyed.length).toBe(t.created)
        },
      ),
      { numRuns: 120 },
    )
  })

  it("keeps its bounds with timeouts, a full wait queue and interruptions over time (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          max: fc.integer({ min: 1, max: 3 }),
          maxWaiters: fc.integer({ min: 0, max: 4 }),
          timeout: fc.integer({ min: 1, max: 20 }),
        }),
        fc.array(
          fc.record({
            start: fc.integer({ min: 0, max: 20 }),
            hold: fc.integer({ min: 0, max: 15 }),
            interruptAt: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
            die: fc.boolean(),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (config, borrowers) => {
          const t = tracker()
          let borrowed = 0
          let peak = 0
          const outcomes: Array<string> = []
          await run(
            Effect.gen(function* () {
              const scope = yield* Scope.make()
              const pool = yield* Scope.provide(scope)(
                tracked(t, {
                  max: config.max,
                  maxWaiters: config.maxWaiters,
                  acquireTimeout: config.timeout,
                }),
              )
              const fibers = yield* Effect.forEach(borrowers, (b) =>
                Effect.forkChild(
                  Effect.sleep(b.start).pipe(
                    Effect.andThen(
                      pool.use(() =>
                        Effect.acquireUseRelease(
                          Effect.sync(() => {
                            borrowed++
                            peak = Math.max(peak, borrowed)
                          }),
                          () =>
                            b.die
                              ? Effect.andThen(Effect.sleep(b.hold), Effect.die("crash"))
                              : Effect.sleep(b.hold),
                          () => Effect.sync(() => void borrowed--),
                        ),
                      ),
                    ),
                    Effect.catchCause((cause) =>
                      Effect.sync(() => {
                        outcomes.push(
                          Cause.hasDies(cause) ? "died" : String((Cause.squash(cause) as any)?._tag),
                        )
                      }),
                    ),
                  ),
                ),
              )
              yield* Effect.forEach(borrowers, (b, i) =>
                b.interruptAt === undefined
                  ? Effect.void
                  : Effect.forkChild(Effect.andThen(Effect.sleep(b.interruptAt), Fiber.interrupt(fibers[i]))),
              )
              for (let step = 0; step < 80; step++) yield* TestClock.adjust(1)
              for (const f of fibers) yield* Fiber.await(f)
              const stats = pool.statsUnsafe()
              expect(stats).toMatchObject({ inUse: 0, waiters: 0 })
              expect(stats.size).toBeLessThanOrEqual(config.max)
              yield* Scope.close(scope, Exit.void)
            }),
          )
          expect(peak).toBeLessThanOrEqual(config.max)
          expect(borrowed).toBe(0)
          expect(t.live.size).toBe(0)
          for (const o of outcomes) expect(["died", "PoolTimeout", "PoolQueueFull", "undefined"]).toContain(o)
        },
      ),
      { numRuns: 100 },
    )
  })

  it("fails with PoolTimeout when no resource frees up in time", () =>
    run(
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), max: 1, acquireTimeout: 100 })
        yield* pool.get
        const waiter = yield* Effect.forkChild(Effect.scoped(pool.get))
        yield* TestClock.adjust(99)
        expect(waiter.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust(1)
        const exit = yield* Fiber.await(waiter)
        expect(Exit.isFailure(exit) && (Cause.squash(exit.cause) as any)._tag).toBe("PoolTimeout")
        expect(pool.statsUnsafe()).toMatchObject({ waiters: 0, timeouts: 1 })
      }),
    ))

  it("counts creation against acquireTimeout and frees the slot of a creation that timed out", () =>
    run(
      Effect.gen(function* () {
        let started = 0
        const pool = yield* Pool.make({
          acquire: Effect.sync(() => started++).pipe(Effect.andThen(Effect.sleep(200)), Effect.as(1)),
          max: 1,
          acquireTimeout: 100,
        })
        const fiber = yield* Effect.forkChild(Effect.scoped(pool.get))
        yield* TestClock.adjust(100)
        const exit = yield* Fiber.await(fiber)
        expect(Exit.isFailure(exit) && (Cause.squash(exit.cause) as any)._tag).toBe("PoolTimeout")
        expect(started).toBe(1)
        expect(pool.statsUnsafe()).toMatchObject({ size: 0, inUse: 0 })
      }),
    ))

  it("refuses at once with PoolQueueFull when maxWaiters callers already wait", () =>
    run(
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), max: 1, maxWaiters: 2 })
        yield* pool.get
        yield* Effect.forkChild(Effect.scoped(pool.get))
        yield* Effect.forkChild(Effect.scoped(pool.get))
        yield* Effect.yieldNow
        const error = yield* Effect.flip(Effect.scoped(pool.get))
        expect(error._tag).toBe("PoolQueueFull")
        expect(error.message).toContain("maxWaiters")
      }),
    ))

  it("serves waiters in FIFO order", () =>
    run(
      Effect.gen(function* () {
        const pool = yield* Pool.make({ acquire: Effect.succeed(1), max: 1 })
        const order: Array<number> = []
        const holder = yield* Effect.forkChild(Effect.scoped(Effect.andThen(pool.get, Effect.sleep(10))))
        yield* Effect.yieldNow
        const waiters = yield* Effect.forEach([1, 2, 3, 4], (i) =>
          Effect.forkChild(pool.use(() => Effect.sync(() => order.push(i)))).pipe(
            Effect.tap(() => Effect.yieldNow),
          ),
        )
        yield* TestClock.adjust(10)
        yield* Fiber.join(holder)
        for (const w of waiters) yield* Fiber.join(w)
        expect(order).toEqual([1, 2, 3, 4])
      }),
    ))

  it("destroys a resource whose use died, and returns one whose use failed", () =>
    run(
      Effect.gen(function* () {
        const t = tracker()
        const pool = yield* tracked(t, { max: 2 })
        yield* Effect.exit(pool.use(() => Effect.fail("typed")))
        expect(t.destroyed).toEqual([])
        yield* Effect.exit(pool.use(() => Effect.die("defect")))
        expect(t.destroyed).toEqual([1])
        yield* Effect.exit(Effect.scoped(Effect.andThen(pool.get, Effect.die("defect"))))
        expect(t.destroyed).toEqual([1, 2])
        expect(pool.statsUnsafe()).toMatchObject({ size: 0, inUse: 0 })
      }),
    ))

  it("returns a resource when the borrowing fiber is interrupted", () =>
    run(
      Effect.gen(function* () {
        const t = tracker()
        const pool = yield* tracked(t, { min: 1, max: 1 })
        const fiber = yield* Effect.forkChild(pool.use(() => Effect.never))
        const scoped = yield* Effect.forkChild(Effect.scoped(Effect.andThen(pool.get, Effect.never)))
        yield* Effect.yieldNow
        yield* Fiber.interrupt(fiber)
        yield* Effect.yieldNow
        yield* Fiber.interrupt(scoped)
        expect(pool.statsUnsafe()).toMatchObject({ inUse: 0, idle: 1, waiters: 0 })
        expect(t.created).toBe(1)
      }),
    ))

  it("takes back a resource handed to a waiter that is interrupted before it resumes", () =>
    run(
      Effect.gen(function* () {
        const t = tracker()
        const pool = yield* tracked(t, { max: 1 })
        const holder = yield* Scope.make()
        yield* Scope.provide(holder)(pool.get)
        const waiter = yield* Effect.forkChild(Effect.scoped(Effect.andThen(pool.get, Effect.never)))
        yield* Effect.yieldNow
        expect(pool.statsUnsafe().waiters).toBe(1)
        // hand the resource over, then interrupt the waiter before it gets to run
        yield* Scope.close(holder, Exit.void)
        yield* Fiber.interrupt(waiter)
        expect(pool.statsUnsafe()).toMatchObject({ inUse: 0, idle: 1, waiters: 0 })
        expect(yield* pool.use((id) => Effect.succeed(id))).toBe(1)
      }),
    ))

  it("validates on borrow and replaces a resource that fails validation", () =>
    run(
      Effect.gen(function* () {
        const t = tracker()
        const broken = new Set<number>()
        const pool = yield* tracked(t, { max: 2, validate: (id) => !broken.has(id) })
        expect(yield* pool.use((id) => Effect.succeed(id))).toBe(1)
        broken.add(1)
        expect(yield* pool.use((id) => Effect.succeed(id))).toBe(2)
        expect(t.destroyed).toEqual([1])
      }),
    ))

  it("evicts idle resources after idleTimeout, keeping min, without a timer per resource", () =>
    run(
      Effect.gen(function* () {
        const t = tracker()
        const pool = yield* tracked(t, { min: 1, max: 3, idleTimeout: 1000 })
        yield* Effect.scoped(Effect.all([pool.get, pool.get, pool.get]))
        expect(pool.statsUnsafe().idle).toBe(3)
        yield* TestClock.adjust(999)
        expect(pool.statsUnsafe().idle).toBe(3)
        yield* TestClock.adjust(1001)
        expect(pool.statsUnsafe()).toMatchObject({ idle: 1, size: 1 })
        expect(t.destroyed.length).toBe(2)
      }),
    ))

  it("does not reuse a resource older than maxLifetime and refills to min", () =>
    run(
      Effect.gen(function* () {
        const t = tracker()
        const pool = yield* tracked(t, { min: 1, max: 2, maxLifetime: 500 })
        expect(yield* pool.use((id) => Effect.succeed(id))).toBe(1)
        yield* TestClock.adjust(250)
        expect(yield* pool.use((id) => Effect.succeed(id))).toBe(1)
        yield* TestClock.adjust(250)
        expect(t.destroyed).toContain(1)
        expect(pool.statsUnsafe().size).toBe(1)
        expect(yield* pool.use((id) => Effect.succeed(id))).toBe(2)
      }),
    ))

  it("destroys an invalidated resource instead of reusing it", () =>
    run(
      Effect.gen(function* () {
        const t = tracker()
        const pool = yield* tracked(t, { max: 2 })
        yield* pool.use((id) => pool.invalidate(id))
        expect(t.destroyed).toEqual([1])
        yield* pool.use(() => Effect.void)
        yield* pool.invalidate(2)
        expect(t.destroyed).toEqual([1, 2])
      }),
    ))

  it("on shutdown fails waiters with PoolClosed and destroys every resource", async () => {
    const t = tracker()
    let waiterExit: Exit.Exit<unknown, unknown> | undefined
    await run(
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const pool = yield* Scope.provide(scope)(tracked(t, { max: 1, min: 1 }))
        const inner = yield* Scope.make()
        yield* Scope.provide(inner)(pool.get)
        const waiter = yield* Effect.forkChild(Effect.scoped(pool.get))
        yield* Effect.yieldNow
        yield* Scope.close(scope, Exit.void)
        waiterExit = yield* Fiber.await(waiter)
        expect(t.live.size).toBe(1) // still borrowed
        yield* Scope.close(inner, Exit.void)
        expect(t.live.size).toBe(0)
        expect((yield* Effect.flip(Effect.scoped(pool.get)))._tag).toBe("PoolClosed")
      }),
    )
    expect(waiterExit && Exit.isFailure(waiterExit) && (Cause.squash(waiterExit.cause) as any)._tag).toBe(
      "PoolClosed",
    )
  })
})
