import { describe, expect, it } from "bun:test"
import { Cause, Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as ResourceManager from "../../src/resource/ResourceManager.ts"

const run = <A, E>(effect: Effect.Effect<A, E, any>): Promise<A> =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())) as Effect.Effect<A, E>)

/** Whether any budget is above its limit right now (the invariant the races check). */
const overLimit = (rm: ResourceManager.ResourceManager): boolean => {
  const u = rm.usageUnsafe()
  return (
    u.entries.used > u.entries.limit || u.bytes.used > u.bytes.limit || u.operations.used > u.operations.limit
  )
}

describe("ResourceManager", () => {
  describe("construction", () => {
    const bad: Array<[string, ResourceManager.Options]> = [
      ["budgets", { budgets: {} }],
      ["budgets.entries", { budgets: { entries: 0 } }],
      ["budgets.bytes", { budgets: { bytes: -1 } }],
      ["budgets.operations", { budgets: { operations: 2.5 } }],
      ["alertThreshold", { budgets: { bytes: 10 }, alertThreshold: 0 }],
      ["alertThreshold", { budgets: { bytes: 10 }, alertThreshold: 1.5 }],
      ["maxListeners", { budgets: { bytes: 10 }, maxListeners: 0 }],
    ]
    for (const [option, options] of bad) {
      it(`rejects invalid "${option}" (${JSON.stringify(options)}) with a message naming it`, async () => {
        const exit = await Effect.runPromiseExit(ResourceManager.make(options))
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
        if (Exit.isFailure(exit))
          expect(String((Cause.squash(exit.cause) as Error).message)).toContain(option)
      })
    }

    it("rejects a negative request amount as a defect naming it", async () => {
      const exit = await Effect.runPromiseExit(
        Effect.scoped(
          Effect.flatMap(ResourceManager.make({ budgets: { bytes: 10 } }), (rm) => rm.acquire({ bytes: -1 })),
        ),
      )
      expect(Exit.isFailure(exit) && String((Cause.squash(exit.cause) as Error).message)).toContain(
        "request.bytes",
      )
    })
  })

  it("admits within budget, refuses beyond it, and frees on scope close", () =>
    run(
      Effect.gen(function* () {
        const rm = yield* ResourceManager.make({ budgets: { bytes: 100, operations: 2 } })
        const scope = yield* Scope.make()
        const token = yield* Scope.provide(scope)(rm.acquire({ bytes: 60 }))
        expect(token).toMatchObject({ bytes: 60, operations: 1, entries: 0 })
        const refused = yield* Effect.flip(rm.acquire({ bytes: 41 }))
        expect(refused._tag).toBe("BudgetExceeded")
        expect(refused.budget).toBe("bytes")
        expect(refused.message).toContain("budgets.bytes")
        yield* rm.acquire({ bytes: 40 })
        expect((yield* Effect.flip(rm.acquire({ bytes: 0 }))).budget).toBe("operations")
        yield* Scope.close(scope, Exit.void)
        expect(rm.usageUnsafe().bytes.used).toBe(40)
        expect(rm.usageUnsafe()).toMatchObject({ admitted: 2, refused: 2 })
      }),
    ))

  it("releases a token once, early or at scope close", () =>
    run(
      Effect.gen(function* () {
        const rm = yield* ResourceManager.make({ budgets: { entries: 10 } })
        yield* Effect.scoped(
          Effect.gen(function* () {
            const token = yield* rm.acquire({ entries: 5 })
            yield* token.release
            yield* token.release
            expect(rm.usageUnsafe().entries.used).toBe(0)
            yield* rm.acquire({ entries: 10 })
          }),
        )
        expect(rm.usageUnsafe().entries.used).toBe(0)
      }),
    ))

  it("frees the budget when the holder is interrupted", () =>
    run(
      Effect.gen(function* () {
        const rm = yield* ResourceManager.make({ budgets: { operations: 1 } })
        const fiber = yield* Effect.forkChild(rm.withAdmission({}, Effect.never))
        yield* Effect.yieldNow
        expect(rm.usageUnsafe().operations.used).toBe(1)
        yield* Fiber.interrupt(fiber)
        expect(rm.usageUnsafe().operations.used).toBe(0)
      }),
    ))

  it("never over-admits with hundreds of fibers racing", () =>
    run(
      Effect.gen(function* () {
        const limits = { entries: 50, bytes: 1000, operations: 10 }
        const rm = yield* ResourceManager.make({ budgets: limits })
        let violations = 0
        const check = () => {
          if (overLimit(rm)) violations++
        }
        const fiber = yield* Effect.forkChild(
          Effect.forEach(
            Array.from({ length: 500 }, (_, i) => i),
            (i) =>
              Effect.exit(
                rm.withAdmission(
                  { entries: i % 6, bytes: (i * 37) % 150 },
                  Effect.gen(function* () {
                    check()
                    yield* Effect.sleep(1 + (i % 5))
                    check()
                  }),
                ),
              ),
            { concurrency: "unbounded" },
          ),
        )
        for (let t = 0; t < 10; t++) yield* TestClock.adjust(1)
        yield* Fiber.join(fiber)
        const u = rm.usageUnsafe()
        expect(violations).toBe(0)
        expect(u.admitted).toBeGreaterThan(0)
        expect(u.refused).toBeGreaterThan(0)
        expect(u.admitted + u.refused).toBe(500)
        expect([u.entries.used, u.bytes.used, u.operations.used]).toEqual([0, 0, 0])
      }),
    ))

  it("never over-admits under random interleavings (fc.scheduler)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(
          fc.record({
            entries: fc.integer({ min: 0, max: 4 }),
            bytes: fc.integer({ min: 0, max: 60 }),
            interrupt: fc.boolean(),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (s, requests) => {
          const limits = { entries: 8, bytes: 100, operations: 3 }
          let violations = 0
          let admitted = 0
          const program = Effect.gen(function* () {
            const rm = yield* ResourceManager.make({ budgets: limits, alertThreshold: 0.5 })
            const check = () => {
              if (overLimit(rm)) violations++
            }
            yield* rm.onAlert(check)
            const fibers = yield* Effect.forEach(requests, (r, i) =>
              Effect.forkChild(
                Effect.andThen(
                  Effect.promise(() => s.schedule(Promise.resolve(), `request ${i}`)),
                  Effect.exit(
                    rm.withAdmission(
                      r,
                      Effect.gen(function* () {
                        admitted++
                        check()
                        yield* Effect.promise(() => s.schedule(Promise.resolve(), `work ${i}`))
                        check()
                      }),
                    ),
                  ),
                ),
              ),
            )
            yield* Effect.forEach(requests, (r, i) =>
              r.interrupt
                ? Effect.andThen(
                    Effect.promise(() => s.schedule(Promise.resolve(), `interrupt ${i}`)),
                    Fiber.interrupt(fibers[i]),
                  )
                : Fiber.await(fibers[i]),
            )
            const u = rm.usageUnsafe()
            expect([u.entries.used, u.bytes.used, u.operations.used]).toEqual([0, 0, 0])
          })
          const done = Effect.runPromise(Effect.scoped(program))
          await s.waitFor(done)
          await done
          expect(violations).toBe(0)
          expect(admitted).toBeGreaterThanOrEqual(0)
        },
      ),
      { numRuns: 120 },
    )
  })

  it("alerts once per threshold crossing, and stops alerting a listener whose scope closed", () =>
    run(
      Effect.gen(function* () {
        const rm = yield* ResourceManager.make({ budgets: { bytes: 100 }, alertThreshold: 0.8 })
        const alerts: Array<string> = []
        const listenerScope = yield* Scope.make()
        yield* Scope.provide(listenerScope)(rm.onAlert((a) => alerts.push(`${a.budget}:${a.kind}:${a.used}`)))
        const s1 = yield* Scope.make()
        yield* Scope.provide(s1)(rm.acquire({ bytes: 50, operations: 0 }))
        yield* Scope.provide(s1)(rm.acquire({ bytes: 30, operations: 0 })) // 80%: above
        yield* Scope.provide(s1)(rm.acquire({ bytes: 10, operations: 0 })) // still above: no new alert
        yield* Scope.close(s1, Exit.void) // released last-in first: 80 (above), then 50: below
        expect(alerts).toEqual(["bytes:above:80", "bytes:below:50"])
        yield* Scope.close(listenerScope, Exit.void)
        yield* rm.withAdmission({ bytes: 90, operations: 0 }, Effect.void)
        expect(alerts.length).toBe(2)
      }),
    ))

  it("is provided as a service by its layer", async () => {
    const used = await Effect.runPromise(
      Effect.gen(function* () {
        const rm = yield* ResourceManager.Service
        return yield* rm.withAdmission(
          { bytes: 5 },
          Effect.sync(() => rm.usageUnsafe().bytes.used),
        )
      }).pipe(Effect.provide(ResourceManager.layer({ budgets: { bytes: 10 } }))),
    )
    expect(used).toBe(5)
  })

  it("bounds its listeners and survives a throwing one", () =>
    run(
      Effect.gen(function* () {
        const rm = yield* ResourceManager.make({
          budgets: { operations: 1 },
          maxListeners: 1,
          alertThreshold: 1,
        })
        yield* rm.onAlert(() => {
          throw new Error("listener bug")
        })
        const exit = yield* Effect.exit(rm.onAlert(() => {}))
        expect(Exit.isFailure(exit) && String((Cause.squash(exit.cause) as Error).message)).toContain(
          "maxListeners",
        )
        yield* rm.withAdmission({}, Effect.void)
        expect(rm.usageUnsafe().listenerFailures).toBe(2)
      }),
    ))
})
