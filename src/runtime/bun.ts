/**
 * The Bun entry (`npm start`). Until the HTTP issue lands it runs the live demo of the runtime.
 * @module
 */
import { Effect } from "effect"
import * as Demo from "../demo/Demo.ts"

await Effect.runPromise(Demo.program((line) => console.log(line)))
