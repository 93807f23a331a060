/**
 * The Node entry (`node src/runtime/node.ts`). Until the HTTP issue lands it runs the live demo.
 * @module
 */
import { Effect } from "effect"
import * as Demo from "../demo/Demo.ts"

await Effect.runPromise(Demo.program((line) => console.log(line)))
