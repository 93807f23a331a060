import { describe, expect, it } from "bun:test"
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { Agent, AgentSystem, type Mailbox } from "../../src/index.ts"
import { runSystem, settle } from "./support.ts"

type M =
  | { readonly _tag: "M"; readonly sender: number; readonly seq: number }
  | ({ readonly _tag: "Get" } & Agent.Request<number>)

/** An agent that records what it handles and the deepest mailbox it saw; `slow` handlers yield to other fibers. */
const recorder = (capacity: number, overflow: Mailbox.Overflow, slow: ReadonlyArray<boolean>) => {
  const seen: Array<{ sender: number; seq: number }> = []
  let maxDepth = 0
  let i = 0
  const behavior = Agent.behavior<number, M>({
    init: () => 0,
    receive: (n, msg, ctx) => {
      maxDepth = Math.max(maxDepth, ctx.self.mailboxDepth)
      if (msg._tag === "Get") {
        ctx.reply(msg, n)
        return n
      }
      seen.push({ sender: msg.sender, seq: msg.seq })
      return slow[i++ % slow.length] ? Effect.as(Effect.yieldNow, n + 1) : n + 1
    },
    mailbox: { capacity, overflow },
  })
  return { behavior, seen, maxDepth: () => maxDepth }
}

const params = fc.record({
  capacity: fc.integer({ min: 1, max: 8 }),
  senders: fc.integer({ min: 1, max: 5 }),
  perSender: fc.integer({ min: 1, max: 40 }),
  slow: fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
})

describe("Mailbox", () => {
  it("under suspend delivers each sender's messages in order, exactly once, never over capacity", async () => {
    await fc.assert(
      fc.asyncProperty(params, async ({ capacity, senders, perSender, slow }) => {
        const r = recorder(capacity, "suspend", slow)
        let maxSeen = 0
        await runSystem(
          Effect.gen(function* () {
            const ref = yield* Agent.spawn(r.behavior)
            const fibers = []
            for (let s = 0; s < senders; s++) {
              fibers.push(
                yield* Effect.forkChild(
                  Effect.gen(function* () {
                    for (let q = 0; q < perSender; q++) {
                      yield* ref.tell({ _tag: "M", sender: s, seq: q })
                      maxSeen = Math.max(maxSeen, ref.mailboxDepth)
                    }
                  }),
                ),
              )
            }
            yield* Fiber.joinAll(fibers)
            yield* ref.ask({ _tag: "Get" })
          }),
        )
        expect(r.seen.length).toBe(senders * perSender)
        for (let s = 0; s < senders; s++) {
          expect(r.seen.filter((m) => m.sender === s).map((m) => m.seq)).toEqual(
            Array.from({ length: perSender }, (_, q) => q),
          )
        }
        expect(Math.max(maxSeen, r.maxDepth())).toBeLessThanOrEqual(capacity)
      }),
      { numRuns: 60 },
    )
  })

  for (const overflow of ["dropping", "sliding", "fail"] as const) {
    it(`under ${overflow} accounts for every message: delivered + dropped = sent, never over capacity`, async () => {
      await fc.assert(
        fc.asyncProperty(params, async ({ capacity, senders, perSender, slow }) => {
          const r = recorder(capacity, overflow, slow)
          let refused = 0
          let maxSeen = 0
          const dropped = await runSystem(
            Effect.gen(function* () {
              const ref = yield* Agent.spawn(r.behavior)
              const fibers = []
              for (let s = 0; s < senders; s++) {
                fibers.push(
                  yield* Effect.forkChild(
                    Effect.gen(function* () {
                      for (let q = 0; q < perSender; q++) {
                        const exit = yield* Effect.exit(ref.tell({ _tag: "M", sender: s, seq: q }))
                        if (Exit.isFailure(exit)) refused++
                        maxSeen = Math.max(maxSeen, ref.mailboxDepth)
                        if (q % 3 === 0) yield* Effect.yieldNow
                      }
                    }),
                  ),
                )
              }
              yield* Fiber.joinAll(fibers)
              yield* settle
              // under "sliding" an ask could itself be slid out; wait until the mailbox is empty first
              while (ref.mailboxDepth > 0) yield* settle
              return ref.dropped
            }),
          )
          const sent = senders * perSender
          if (overflow === "fail") {
            expect(dropped).toBe(0)
            expect(r.seen.length + refused).toBe(sent)
          } else {
            expect(refused).toBe(0)
            expect(r.seen.length + dropped).toBe(sent)
          }
          // per-sender order is kept among delivered messages
          for (let s = 0; s < senders; s++) {
            const seqs = r.seen.filter((m) => m.sender === s).map((m) => m.seq)
            expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
          }
          expect(Math.max(maxSeen, r.maxDepth())).toBeLessThanOrEqual(capacity)
        }),
        { numRuns: 40 },
      )
    })
  }

  it("fails a tell with MailboxFull naming the fix under the fail policy", async () => {
    const exit = await runSystem(
      Effect.gen(function* () {
        const Stuck = Agent.behavior<number, { readonly _tag: "X" }>({
          init: () => 0,
          receive: (n) => Effect.as(Effect.never, n),
          mailbox: { capacity: 1, overflow: "fail" },
        })
        const ref = yield* Agent.spawn(Stuck)
        yield* ref.tell({ _tag: "X" }) // taken by the handler, which never finishes
        yield* settle
        yield* ref.tell({ _tag: "X" }) // queued
        return yield* Effect.exit(ref.tell({ _tag: "X" }))
      }),
      { defaultShutdownMs: 0 },
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) && (exit.cause as any).reasons?.[0]?.error?.message)).toContain(
      "Raise capacity",
    )
  })

  it("records dropped messages as bounded dead letters", async () => {
    const letters = await runSystem(
      Effect.gen(function* () {
        const Stuck = Agent.behavior<number, { readonly _tag: "X"; readonly i: number }>({
          init: () => 0,
          receive: (n) => Effect.as(Effect.never, n),
          mailbox: { capacity: 2, overflow: "dropping" },
        })
        const ref = yield* Agent.spawn(Stuck)
        yield* ref.tell({ _tag: "X", i: 0 })
        yield* settle
        for (let i = 1; i <= 10; i++) yield* ref.tell({ _tag: "X", i })
        const system = yield* AgentSystem.AgentSystem
        return { list: system.deadLetters(), total: system.stats().deadLetters, dropped: ref.dropped }
      }),
      { deadLetterCapacity: 5, defaultShutdownMs: 0 },
    )
    expect(letters.dropped).toBe(8)
    expect(letters.total).toBe(8)
    expect(letters.list.map((l) => (l.message as any).i)).toEqual([6, 7, 8, 9, 10])
    expect(letters.list.every((l) => l.reason === "dropped")).toBe(true)
  })
})
