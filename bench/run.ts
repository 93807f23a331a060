/**
 * `npm run --silent bench -- [area ...]`: runs `bench/<area>.bench.ts` for each named area
 * and every `bench/<area>.<part>.bench.ts` (all areas when none is named). Each bench module prints JSON lines through `emit`.
 */
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const all = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .map((f) => f.slice(0, -".bench.ts".length))
  .sort()
const wanted = process.argv.slice(2)
const areas = wanted.length > 0 ? wanted : [...new Set(all.map((a) => a.split(".")[0]))]
for (const area of areas) {
  const files = all.filter((f) => f === area || f.startsWith(`${area}.`))
  if (files.length === 0) {
    process.stderr.write(`unknown bench area "${area}"; known: ${all.join(", ")}\n`)
    process.exit(2)
  }
  for (const file of files) {
    const mod = (await import(join(here, `${file}.bench.ts`))) as { run: () => Promise<void> }
    await mod.run()
  }
}
