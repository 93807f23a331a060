import { describe, expect, it } from "bun:test"
import { Cause, Deferred, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as CircuitBreaker from "../../src/resilience/CircuitBreaker.ts"

const runTest = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.provide(Effect.scoped(effect), TestClock.layer()))

const boom = Effect.fail("boom" as const)
const ok = Effect.succeed("ok" as const)

/** Drives `breaker` to open with `n` failures. */
const trip = (breaker: CircuitBreaker.CircuitBreaker, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.ignore(breaker.run(boom)), { discard: true })

describe("CircuitBreaker", () => {
  it("opens when the failure rate over the count window reaches the threshold after minimumCalls", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* CircuitBreaker.make({
          window: { type: "count", size: 10 },
          minimumCalls: 4,
          failureRateThreshold: 0.5,
        })
        yield* b.run(ok)
        yield* Effect.ignore(b.run(boom))
        yield* b.run(ok)
        expect(yield* b.state).toBe("closed") // 3 calls < minimumCalls
        yield* Effect.ignore(b.run(boom))
        expect(yield* b.state).toBe("open") // 2 of 4 failed
        const e = yield* Effect.flip(b.run(ok))
        expect(e._tag).toBe("CircuitOpen")
      }),
    )
  })

  it("opens exactly when a sliding-count model says so, for random outcome sequences", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(0.25, 0.5, 0.75, 1),
        fc.array(fc.boolean(), { maxLength: 30 }),
        async (size, minimumCalls, threshold, outcomes) => {
          // Model: the last `size` outcomes; open at the first call after which the window holds at least
          // minimumCalls calls and failures / calls >= threshold.
          let expectedOpenAt = -1
          const window: boolean[] = []
          outcomes.forEach((failed, i) => {
            if (expectedOpenAt >= 0) return
            window.push(failed)
            if (window.length > size) window.shift()
            const failures = window.filter((f) => f).length
            if (window.length >= minimumCalls && failures / window.length >= threshold) expectedOpenAt = i
          })
          const openedAt = await runTest(
            Effect.gen(function* () {
              const b = yield* CircuitBreaker.make({
                window: { type: "count", size },
                minimumCalls,
                failureRateThreshold: threshold,
              })
              for (let i = 0; i < outcomes.length; i++) {
                yield* Effect.ignore(b.run(outcomes[i] ? boom : ok))
                if ((yield* b.state) === "open") return i
              }
              return -1
            }),
          )
          expect(openedAt).toBe(expectedOpenAt)
        },
      ),
      { numRuns: 100 },
    )
  })

  it("judges a time window like a bucketed model, for random timed outcome sequences", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0.5, 1),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 700 }), failed: fc.boolean() }), {
          maxLength: 25,
        }),
        async (minimumCalls, threshold, calls) => {
          // Model: 1000 ms in 10 buckets of 100 ms; a call at t counts while its bucket start is > t' - 1000.
          const history: Array<{ t: number; failed: boolean }> = []
          let expectedOpenAt = -1
          let t = 0
          calls.forEach((c, i) => {
            t += c.dt
            if (expectedOpenAt >= 0) return
            history.push({ t, failed: c.failed })
            const live = history.filter((h) => Math.floor(h.t / 100) * 100 > t - 1000)
            const failures = live.filter((h) => h.failed).length
            if (live.length >= minimumCalls && failures / live.length >= threshold) expectedOpenAt = i
          })
          const openedAt = await runTest(
            Effect.gen(function* () {
              const b = yield* CircuitBreaker.make({
                window: { type: "time", sizeMs: 1000, buckets: 10 },
                minimumCalls,
                failureRateThreshold: threshold,
              })
              for (let i = 0; i < calls.length; i++) {
                if (calls[i].dt > 0) yield* TestClock.adjust(calls[i].dt)
                yield* Effect.ignore(b.run(calls[i].failed ? boom : ok))
                if ((yield* b.state) === "open") return i
              }
              return -1
            }),
          )
          expect(openedAt).toBe(expectedOpenAt)
        },
      ),
      { numRuns: 100 },
    )
  })

  it("forgets outcomes that slide out of the count window", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* CircuitBreaker.make({
          window: { type: "count", size: 4 },
          minimumCalls: 4,
          failureRateThreshold: 0.75,
        })
        yield* trip(b, 2)
        for (let i = 0; i < 4; i++) yield* b.run(ok)
        yield* trip(b, 2)
        expect(yield* b.state).toBe("closed") // window holds ok, ok, boom, boom: 50%
        expect((yield* b.metrics).failures).toBe(2)
      }),
    )
  })

  it("judges a time window only over its last sizeMs", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* CircuitBreaker.make({
          window: { type: "time", sizeMs: 1000, buckets: 10 },
          minimumCalls: 3,
          failureRateThreshold: 1,
        })
        yield* trip(b, 2)
        yield* TestClock.adjust(1000)
        yield* trip(b, 2)
        expect(yield* b.state).toBe("closed") // only 2 calls in the last second
        yield* trip(b, 1)
        expect(yield* b.state).toBe("open")
      }),
    )
  })

  it("opens on the slow-call rate", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* CircuitBreaker.make({
          minimumCalls: 2,
          slowCallDurationMs: 100,
          slowCallRateThreshold: 1,
        })
        for (let i = 0; i < 2; i++) {
          const f = yield* Effect.forkChild(b.run(Effect.sleep(150)))
          yield* TestClock.adjust(150)
          yield* Fiber.join(f)
        }
        expect(yield* b.state).toBe("open")
      }),
    )
  })

  it("counts only failures accepted by isFailure; ignores interruptions", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* CircuitBreaker.make({ minimumCalls: 2, isFailure: (e) => e !== "not-found" })
        for (let i = 0; i < 5; i++) yield* Effect.ignore(b.run(Effect.fail("not-found")))
        const f = yield* Effect.forkChild(b.run(Effect.never))
        yield* Effect.yieldNow
        yield* Fiber.interrupt(f)
        expect(yield* b.state).toBe("closed")
        expect((yield* b.metrics).calls).toBe(5)
        expect((yield* b.metrics).failures).toBe(0)
      }),
    )
  })

  it("moves to half-open after the open duration, closes after successful probes", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* CircuitBreaker.make({ minimumCalls: 2, openDurationMs: 1000, halfOpenMaxCalls: 2 })
        yield* trip(b, 2)
        const e = yield* Effect.flip(b.run(ok))
        expect(e.retryAfterMs).toBe(1000)
        yield* TestClock.adjust(1000)
        expect(yield* b.state).toBe("half-open")
        yield* b.run(ok)
        expect(yield* b.state).toBe("half-open")
        yield* b.run(ok)
        expect(yield* b.state).toBe("closed")
      }),
    )
  })

  it("re-opens from half-open with a backed-off open duration, capped", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* CircuitBreaker.make({
          minimumCalls: 1,
          openDurationMs: 100,
          backoffFactor: 3,
          maxOpenDurationMs: 500,
        })
        yield* trip(b, 1)
        const waits: number[] = []
        for (let i = 0; i < 4; i++) {
          const e = yield* Effect.flip(b.run(ok))
          waits.push(e.retryAfterMs)
          yield* TestClock.adjust(e.retryAfterMs)
          yield* Effect.ignore(b.run(boom)) // failed probe
        }
        expect(waits).toEqual([100, 300, 500, 500])
        const e = yield* Effect.flip(b.run(ok))
        yield* TestClock.adjust(e.retryAfterMs)
        yield* b.run(ok)
        yield* trip(b, 1)
        expect((yield* Effect.flip(b.run(ok))).retryAfterMs).toBe(100) // closing reset the backoff
      }),
    )
  })

  it("admits exactly halfOpenMaxCalls concurrent probes (fc.scheduler)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 12 }),
        async (s, max, callers) => {
          const result = runTest(
            Effect.gen(function* () {
              const b = yield* CircuitBreaker.make({
                minimumCalls: 1,
                openDurationMs: 10,
                halfOpenMaxCalls: max,
              })
              yield* trip(b, 1)
              yield* TestClock.adjust(10)
              const gate = yield* Deferred.make<void>()
              let inFlight = 0
              let peak = 0
              let admitted = 0
              let refused = 0
              // The probes are released only when every caller has tried.
              const tried = Effect.suspend(() =>
                admitted + refused === callers ? Deferred.succeed(gate, undefined) : Effect.void,
              )
              const probe = Effect.gen(function* () {
                admitted++
                peak = Math.max(peak, ++inFlight)
                yield* tried
                yield* Deferred.await(gate)
                inFlight--
              })
              const call = (i: number) =>
                Effect.gen(function* () {
                  yield* Effect.promise(() => s.schedule(Promise.resolve(i)))
                  const r = yield* Effect.result(b.run(probe))
                  if (r._tag === "Failure") {
                    refused++
                    yield* tried
                  }
                })
              yield* Effect.all(
                Array.from({ length: callers }, (_, i) => call(i)),
                { concurrency: "unbounded" },
              )
              return { admitted, refused, peak, state: yield* b.state }
            }),
          )
          const r = await s.waitFor(result)
          expect(r.admitted).toBe(Math.min(max, callers))
          expect(r.peak).toBeLessThanOrEqual(max)
          expect(r.refused).toBe(callers - r.admitted)
          expect(r.state).toBe(callers >= max ? "closed" : "half-open")
        },
      ),
      { numRuns: 40 },
    )
  })

  it("frees a half-open probe slot when its caller is interrupted right after admission", async () => {
    await runTest(
      Effect.scoped(
        Effect.gen(function* () {
          const b = yield* CircuitBreaker.make({ minimumCalls: 1, openDurationMs: 100, halfOpenMaxCalls: 1 })
          yield* trip(b, 1)
          yield* TestClock.adjust(100)
          // The move to half-open happens inside the probe's admission; the listener interrupts the probe's
          // fiber there, so the interruption lands before the wrapped effect has started.
          let probe: Fiber.Fiber<unknown, unknown> | undefined
          yield* b.subscribe((c) => {
            if (c.to === "half-open") probe?.interruptUnsafe(-1)
          })
          const f = yield* Effect.forkChild(
            Effect.gen(function* () {
              probe = yield* Effect.fiber
              yield* b.run(Effect.never)
            }),
          )
          const exit = yield* Fiber.await(f)
          expect(exit._tag).toBe("Failure")
          expect(yield* b.state).toBe("half-open")
          yield* b.run(ok) // the slot is free again: this probe is admitted and closes the breaker
          expect(yield* b.state).toBe("closed")
        }),
      ),
    )
  })

  it("decides alike whether a call is yielded or combined, and whether its effect has completed or not", async () => {
    type Step = "ok" | "fail" | "defect" | "wait"
    const ways = ["yield-completed", "yield-suspended", "combined-completed", "combined-suspended"] as const
    const runWay = (way: (typeof ways)[number], steps: ReadonlyArray<Step>, timeWindow: boolean) =>
      runTest(
        Effect.gen(function* () {
          const b = yield* CircuitBreaker.make({
            window: timeWindow ? { type: "time", sizeMs: 100, buckets: 4 } : { type: "count", size: 4 },
            minimumCalls: 2,
            openDurationMs: 50,
            halfOpenMaxCalls: 2,
          })
          const trace: string[] = []
          for (const step of steps) {
            if (step === "wait") {
              yield* TestClock.adjust(30)
              continue
            }
            const completed: Effect.Effect<string, string> =
              step === "ok" ? ok : step === "fail" ? boom : Effect.die("defect")
            const inner = way.endsWith("suspended") ? Effect.suspend(() => completed) : completed
            const call = b.run(inner)
            const r = way.startsWith("yield")
              ? yield* Effect.gen(function* () {
                  return yield* call
                }).pipe(Effect.exit)
              : yield* Effect.exit(Effect.map(call, (a) => a))
            const tag =
              r._tag === "Success" ? r.value : ((Cause.findErrorOption(r.cause) as any).value?._tag ?? "err")
            trace.push(`${tag}:${yield* b.state}`)
          }
          return trace
        }),
      )
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Step>("ok", "fail", "defect", "wait"), { maxLength: 40 }),
        fc.boolean(),
        async (steps, timeWindow) => {
          const [first, ...rest] = await Promise.all(ways.map((w) => runWay(w, steps, timeWindow)))
          for (const t of rest) expect(t).toEqual(first)
        },
      ),
      { numRuns: 60 },
    )
  })

  it("ignores outcomes of calls admitted before a transition", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* CircuitBreaker.make({ minimumCalls: 1, openDurationMs: 100 })
        const gate = yield* Deferred.make<void>()
        const slow = yield* Effect.forkChild(Effect.ignore(b.run(Effect.andThen(Deferred.await(gate), boom))))
        yield* Effect.yieldNow
        yield* b.isolate
        yield* b.reset
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(slow)
        expect(yield* b.state).toBe("closed") // the old failure did not count
      }),
    )
  })

  it("isolate holds it open until reset", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* CircuitBreaker.make({ openDurationMs: 10 })
        yield* b.isolate
        yield* TestClock.adjust(1_000_000)
        expect((yield* Effect.flip(b.run(ok)))._tag).toBe("CircuitOpen")
        expect(yield* b.state).toBe("isolated")
        yield* b.reset
        expect(yield* b.run(ok)).toBe("ok")
      }),
    )
  })

  it("notifies scoped listeners of every state change, and stops when the scope closes", async () => {
    await runTest(
      Effect.gen(function* () {
        const b = yield* CircuitBreaker.make({ name: "svc", minimumCalls: 1, openDurationMs: 50 })
        const seen: string[] = []
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* b.subscribe((c) => seen.push(`${c.from}->${c.to}@${c.atMs}`))
            yield* trip(b, 1)
            yield* TestClock.adjust(50)
            yield* b.run(ok)
          }),
        )
        yield* trip(b, 1)
        expect(seen).toEqual(["closed->open@0", "open->half-open@50", "half-open->closed@50"])
      }),
    )
  })

  it("bounds listeners by maxListeners", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          const b = yield* CircuitBreaker.make({ maxListeners: 1 })
          yield* b.subscribe(() => {})
          yield* b.subscribe(() => {})
        }),
      ),
    )
    expect(exit._tag).toBe("Failure")
    expect(String(exit)).toContain("maxListeners")
  })

  it("keeps a bounded registry of breakers, evicting least recently used closed ones", async () => {
    await runTest(
      Effect.gen(function* () {
        const reg = yield* CircuitBreaker.makeRegistry({ maxBreakers: 2, defaults: { minimumCalls: 1 } })
        const a = yield* reg.get("a")
        yield* trip(a, 1)
        yield* reg.get("b")
        yield* reg.get("c") // evicts b (a is open)
        expect(yield* reg.keys).toEqual(["a", "c"])
        expect(yield* (yield* reg.get("a")).state).toBe("open")
        expect((yield* reg.get("c")).name).toBe("c")
      }),
    )
  })

  describe("bad input", () => {
    const cases: Array<[string, CircuitBreaker.Options, string]> = [
      ["zero window size", { window: { type: "count", size: 0 } }, '"window.size"'],
      ["zero time window", { window: { type: "time", sizeMs: 0 } }, '"window.sizeMs"'],
      ["buckets not dividing", { window: { type: "time", sizeMs: 1000, buckets: 3 } }, '"window.buckets"'],
      ["threshold above 1", { failureRateThreshold: 1.5 }, '"failureRateThreshold"'],
      ["zero threshold", { failureRateThreshold: 0 }, '"failureRateThreshold"'],
      ["zero minimumCalls", { minimumCalls: 0 }, '"minimumCalls"'],
      ["zero halfOpenMaxCalls", { halfOpenMaxCalls: 0 }, '"halfOpenMaxCalls"'],
      ["negative openDurationMs", { openDurationMs: -5 }, '"openDurationMs"'],
      ["backoff below 1", { backoffFactor: 0.5 }, '"backoffFactor"'],
      ["max open below open", { openDurationMs: 1000, maxOpenDurationMs: 10 }, '"maxOpenDurationMs"'],
    ]
    for (const [name, options, option] of cases) {
      it(`fails at construction on ${name}, naming ${option}`, () => {
        expect(() => CircuitBreaker.make(options)).toThrow(option)
      })
    }
  })
})
