/** Module resolution hooks for running the bun:test suites on Node (see register.ts). */
const shim = new URL("./bunTest.ts", import.meta.url).href

export const resolve = async (
  specifier: string,
  context: unknown,
  next: (specifier: string, context: unknown) => Promise<{ url: string }>,
): Promise<{ url: string; shortCircuit?: boolean }> => {
  if (specifier === "bun:test") return { url: shim, shortCircuit: true }
  const resolved = await next(specifier, context)
  if (resolved.url.endsWith("/src/runtime/sqlite/bun.ts")) {
    return { ...resolved, url: resolved.url.replace(/\/bun\.ts$/, "/deno.ts") }
  }
  return resolved
}
