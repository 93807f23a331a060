import { version } from "./Version.ts"

console.log(`troupe ${version}`)
