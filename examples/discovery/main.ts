/**
 * Discovery: 1,000 agents with random capabilities and resources register as they spawn; the discovery
 * helpers answer questions about them; a dispatcher hands out work; agents that stop leave the registry.
 *
 * Run: `bun examples/discovery/main.ts` (or `deno run -A examples/discovery/main.ts`).
 */
import { Effect, Layer } from "effect"
import * as Agent from "../../src/agent/Agent.ts"
import * as AgentSystem from "../../src/agent/AgentSystem.ts"
import * as AgentRegistry from "../../src/registry/AgentRegistry.ts"
import * as Discovery from "../../src/registry/Discovery.ts"
import * as Dispatcher from "../../src/registry/Dispatcher.ts"
import * as Query from "../../src/registry/Query.ts"

type WorkerMsg =
  | { readonly _tag: "Job"; readonly id: number }
  | ({ readonly _tag: "Done" } & Agent.Request<number>)

/** A worker counts the jobs it received. */
const Worker = Agent.behavior<number, WorkerMsg>({
  init: () => 0,
  receive: (done, msg, ctx) => {
    if (msg._tag === "Job") return done + 1
    ctx.reply(msg, done)
    return done
  },
})

const capabilities = ["nlp", "vision", "ocr", "translate", "summarize", "code", "search", "plan"] as const

/** Deterministic pseudo-random numbers, so every run prints the same figures. */
const rng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

/** The scenario; returns what it found, for the tests. */
export const program = (agents = 1000) =>
  Effect.gen(function* () {
    const random = rng(42)
    const pick = <A>(xs: ReadonlyArray<A>) => xs[Math.floor(random() * xs.length)]
    const refs: Array<Agent.AgentRef<WorkerMsg>> = []
    for (let i = 0; i < agents; i++) {
      const h = random()
      refs.push(
        yield* Agent.spawn(Worker, {
          name: `worker-${i}`,
          metadata: {
            capabilities: [pick(capabilities), pick(capabilities)],
            health: h < 0.85 ? "healthy" : h < 0.95 ? "degraded" : "unhealthy",
            node: `node-${i % 4}`,
            resources: {
              memory: 512 * (1 + Math.floor(random() * 32)),
              cpu: 1 + Math.floor(random() * 16),
              load: Math.round(random() * 100) / 100,
            },
            tags: { tier: random() < 0.2 ? "gold" : "standard" },
          },
        }),
      )
    }
    const registry = yield* AgentRegistry.AgentRegistry

    const capableAndHealthy = yield* Discovery.findCapableAndHealthy(registry, "vision")
    const big = yield* Discovery.findByResources(registry, { minMemory: 12_288, minCpu: 12 })
    const polyglots = yield* Discovery.findByCapabilities(registry, ["nlp", "translate"])
    const idle = yield* Discovery.leastLoaded(registry, "ocr", 3)
    const byCapability = yield* Discovery.countByCapability(registry)
    const health = yield* Discovery.healthSummary(registry)
    const resources = yield* Discovery.resourceSummary(registry)
    const gold = yield* registry.query(
      Query.and(
        Query.where("tags.tier", "eq", "gold"),
        Query.or(Query.where("node", "eq", "node-0"), Query.where("resources.load", "lt", 0.1)),
      ),
      { sortBy: "resources.memory", order: "desc", limit: 5 },
    )

    // 2,000 jobs round robin over the "code" agents
    const roundRobin = yield* AgentRegistry.dispatcher<WorkerMsg>(Dispatcher.roundRobin)
    for (let id = 0; id < 2000; id++) yield* roundRobin.dispatch("code", { _tag: "Job", id })
    const coders = yield* registry.query([
      Query.where("capabilities", "contains", "code"),
      Query.where("health", "eq", "healthy"),
    ])
    const perCoder = yield* Effect.forEach(coders, (e) =>
      (e.handle as Agent.AgentRef<WorkerMsg>).ask({ _tag: "Done" }),
    )
    // 2,000 jobs to the least loaded capable agent; each job raises the agent's reported load
    const leastLoaded = yield* AgentRegistry.dispatcher<WorkerMsg>(Dispatcher.leastLoaded)
    const used = new Set<string>()
    for (let id = 0; id < 2000; id++) {
      const ref = yield* leastLoaded.select("summarize")
      yield* ref.tell({ _tag: "Job", id })
      used.add(ref.label)
      yield* registry.updateMetadata(ref.label, (m) => ({
        ...m,
        resources: { ...m.resources, load: Math.round(((m.resources.load ?? 0) + 0.05) * 100) / 100 },
      }))
    }
    const missing = yield* Effect.flip(roundRobin.dispatch("teleport", { _tag: "Job", id: -1 }))

    // stopping agents removes them (and their index entries) at once
    for (const ref of refs.slice(0, 100)) yield* ref.stop()
    const afterStop = yield* registry.count

    return {
      registered: agents,
      capableAndHealthy: capableAndHealthy.length,
      big: big.length,
      polyglots: polyglots.length,
      idle: idle.map((e) => `${e.key} (load ${e.metadata.resources.load})`),
      byCapability,
      health,
      memory: resources.memory,
      gold: gold.map((e) => e.key),
      leastLoadedSpread: used.size,
      roundRobinJobsPerHealthyCoder: { min: Math.min(...perCoder), max: Math.max(...perCoder) },
      missing: missing._tag,
      afterStop,
    }
  }).pipe(
    Effect.provide(AgentRegistry.layer({ maxEntries: 10_000 }).pipe(Layer.provideMerge(AgentSystem.layer()))),
    Effect.scoped,
  )

if (import.meta.main) {
  const started = performance.now()
  const result = await Effect.runPromise(program())
  console.log(JSON.stringify(result, null, 2))
  console.log(`done in ${Math.round(performance.now() - started)} ms`)
}
