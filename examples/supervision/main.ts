/**
 * A supervised worker pool with a crashing worker.
 *
 * Four workers square numbers under a one-for-one supervisor. Job 13 is poison: the worker handling
 * it crashes, the supervisor restarts just that worker, the caller sees `AgentStopped` for the lost
 * job and retries it on the next worker (the retry crashes once more, then the poison is skipped).
 * Every other job completes. Run it with `bun examples/supervision/main.ts`.
 */
import { Effect } from "effect"
import { Agent, AgentSystem, Supervisor } from "../../src/index.ts"

type Job = { readonly _tag: "Square"; readonly n: number } & Agent.Request<number>

const Worker = Agent.behavior<number, Job>({
  init: () => 0,
  receive: (handled, job, ctx) => {
    if (job.n === 13) throw new Error(`poison job ${job.n}`)
    ctx.reply(job, job.n * job.n)
    return handled + 1
  },
  mailbox: { capacity: 16, overflow: "suspend" },
})

/** Runs the scenario; returns the results and the restart count of each worker. */
export const main = (log: (line: string) => void = console.log) =>
  Effect.gen(function* () {
    const pool = yield* Supervisor.start({
      name: "pool",
      strategy: "oneForOne",
      maxRestarts: 10,
      withinMs: 1000,
      children: [0, 1, 2, 3].map((i) => Supervisor.child(`worker-${i}`, Worker)),
    })
    const workers = pool.children().map((c) => c.ref as Agent.AgentRef<Job>)
    const results = new Map<number, number>()
    for (let n = 1; n <= 20; n++) {
      let attempt = 0
      while (!results.has(n) && attempt < 2) {
        const worker = workers[(n + attempt) % workers.length]
        const outcome = yield* Effect.result(worker.ask({ _tag: "Square", n }, { timeoutMs: 1000 }))
        if (outcome._tag === "Success") results.set(n, outcome.success)
        else
          log(
            `job ${n} on ${worker.label} failed: ${outcome.failure._tag}; ${attempt === 0 ? "retrying" : "giving up"}`,
          )
        attempt++
      }
    }
    const restarts = Object.fromEntries(workers.map((w) => [w.label, w.restarts]))
    log(`squares: ${[...results.entries()].map(([n, sq]) => `${n}->${sq}`).join(" ")}`)
    log(`restarts: ${JSON.stringify(restarts)}`)
    const system = yield* AgentSystem.AgentSystem
    log(
      `tree: ${system
        .tree()
        .children.map((c) => `${c.name}[${c.children.map((w) => `${w.name}:${w.status}`).join(",")}]`)
        .join(" ")}`,
    )
    return { results, restarts }
  }).pipe(Effect.scoped, Effect.provide(AgentSystem.layer()))

if ((import.meta as { main?: boolean }).main) {
  await Effect.runPromise(main())
}
