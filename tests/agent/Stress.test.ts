import { describe, expect, it } from "bun:test"
import { Effect, Fiber } from "effect"
import fc from "fast-check"
import { Agent, Supervisor } from "../../src/index.ts"
import { runSystem, settle } from "./support.ts"

type M = { readonly _tag: "Work"; readonly yields: number } | { readonly _tag: "Boom" }

describe("Stress", () => {
  it("never runs two handlers of one agent at once, across crashes, restarts and many senders", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("oneForOne", "oneForAll", "restForOne" as const),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 1000 }),
        async (strategy, batchSize, seed) => {
          const inFlight = new Map<string, number>()
          let worst = 0
          let handled = 0
          const W = (id: string) =>
            Agent.behavior<number, M>({
              init: () => 0,
              receive: (n, msg) => {
                if (msg._tag === "Boom") throw new Error("boom")
                const enter = () => {
                  const k = (inFlight.get(id) ?? 0) + 1
                  inFlight.set(id, k)
                  worst = Math.max(worst, k)
                }
                const leave = () => {
                  inFlight.set(id, (inFlight.get(id) ?? 1) - 1)
                  handled++
                }
                if (msg.yields === 0) {
                  enter()
                  leave()
                  return n + 1
                }
                return Effect.gen(function* () {
                  enter()
                  for (let i = 0; i < msg.yields; i++) yield* Effect.yieldNow
                  leave()
                  return n + 1
                }).pipe(
                  Effect.onInterrupt(() => Effect.sync(() => inFlight.set(id, (inFlight.get(id) ?? 1) - 1))),
                )
              },
              mailbox: { capacity: 8, overflow: "suspend" },
            })
          await runSystem(
            Effect.gen(function* () {
              const ids = ["a", "b", "c", "d"]
              const sup = yield* Supervisor.start({
                strategy,
                maxRestarts: 10_000,
                children: ids.map((id) => Supervisor.child(id, W(id), { shutdownMs: 0 })),
              })
              const refs: Array<Agent.AgentRef<M>> = []
              for (const id of ids) refs.push(yield* sup.child<M>(id))
              let x = seed
              const rand = (k: number) => {
                x = (x * 1103515245 + 12345) % 2147483648
                return x % k
              }
              const senders = []
              for (let s = 0; s < 6; s++) {
                const plan = Array.from({ length: 60 }, () => ({
                  to: rand(refs.length),
                  msg:
                    rand(50) === 0
                      ? ({ _tag: "Boom" } as const)
                      : ({ _tag: "Work", yields: rand(3) } as const),
                }))
                senders.push(
                  yield* Effect.forkChild(
                    Effect.forEach(plan, (p) => Effect.ignore(refs[p.to].tell(p.msg)), { discard: true }),
                  ),
                )
              }
              yield* Fiber.joinAll(senders)
              for (let i = 0; i < 10; i++) yield* settle
            }),
            { batchSize },
          )
          expect(worst).toBeLessThanOrEqual(1)
          expect(handled).toBeGreaterThan(0)
        },
      ),
      { numRuns: 40 },
    )
  })
})
