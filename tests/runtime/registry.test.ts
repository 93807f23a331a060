import { it } from "bun:test"
import { registryScenario } from "../suites/registryScenario.ts"

it("registry scenario under Bun: named spawns, indexed queries, dispatch, exit removes", registryScenario)
