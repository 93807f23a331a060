import * as RateLimiterStore from "../../src/resilience/RateLimiterStore.ts"
import { rateLimiterStoreSuite } from "../suites/rateLimiterStore.ts"

rateLimiterStoreSuite("memory", RateLimiterStore.memory)
