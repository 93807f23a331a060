/**
 * Signal/event id generation: a random 12-hex-digit prefix per generator, then a zero-padded base-36 counter.
 * Ids of one generator sort in creation order, so SQLite's id index grows at its right edge instead of
 * splitting pages at random.
 */
export const makeIdGenerator = (): (() => string) => {
  const bytes = new Uint8Array(6)
  globalThis.crypto.getRandomValues(bytes)
  let prefix = ""
  for (const b of bytes) prefix += b.toString(16).padStart(2, "0")
  prefix += "-"
  let seq = 0
  return () => prefix + (seq++).toString(36).padStart(11, "0")
}
