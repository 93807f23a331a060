/**
 * Topic and pattern parsing. A topic is `seg(.seg)*`; a pattern may use `*` (exactly one segment) and `**`
 * (zero or more segments) as whole segments. Consecutive `**` collapse into one; at most 4 `**` per pattern keep
 * matching polynomial.
 */
export const MAX_TOPIC_LENGTH = 256
export const MAX_SEGMENTS = 32
export const MAX_GLOBSTARS = 4

const SEGMENT = /^[A-Za-z0-9_\-:/]+$/

/** Returns the segments, or a reason string when the topic is invalid. */
export const parseTopic = (topic: unknown, allowWildcards: boolean): ReadonlyArray<string> | string => {
  if (typeof topic !== "string") return `expected a string, got ${topic === null ? "null" : typeof topic}`
  if (topic.length === 0) return "it is empty"
  if (topic.length > MAX_TOPIC_LENGTH)
    return `it is ${topic.length} characters long (limit ${MAX_TOPIC_LENGTH})`
  const raw = topic.split(".")
  if (raw.length > MAX_SEGMENTS) return `it has ${raw.length} segments (limit ${MAX_SEGMENTS})`
  const out: string[] = []
  let globstars = 0
  for (let i = 0; i < raw.length; i++) {
    const seg = raw[i]
    if (seg === "*" || seg === "**") {
      if (!allowWildcards)
        return `segment ${i + 1} is the wildcard "${seg}", which only subscription patterns may use`
      if (seg === "**") {
        if (out.length > 0 && out[out.length - 1] === "**") continue
        if (++globstars > MAX_GLOBSTARS) return `it has more than ${MAX_GLOBSTARS} "**" segments`
      }
      out.push(seg)
      continue
    }
    if (seg.length === 0) return `segment ${i + 1} is empty`
    if (!SEGMENT.test(seg)) return `segment ${i + 1} ("${seg}") contains a character outside [A-Za-z0-9_-:/]`
    out.push(seg)
  }
  return out
}
