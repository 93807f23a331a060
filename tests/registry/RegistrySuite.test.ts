import * as Registry from "../../src/registry/Registry.ts"
import { registrySuite } from "../suites/registrySuite.ts"

registrySuite("in-memory", Registry.makeUnsafe)
