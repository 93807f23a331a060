import { expected, kernelScenario } from "../../suites/kernelScenario.ts"

Deno.test("kernel scenario: supervised counter crashes, restarts, and the system closes clean", async () => {
  const result = await kernelScenario()
  if (JSON.stringify(result) !== JSON.stringify(expected)) {
    throw new Error(
      `kernel scenario under Deno: got ${JSON.stringify(result)}, want ${JSON.stringify(expected)}`,
    )
  }
})
