/**
 * Validation and normalisation of names and metadata (Schema-checked), shared by every backend.
 * @internal
 */
import { Exit, Schema } from "effect"
import * as SchemaIssue from "effect/SchemaIssue"
import { InvalidRegistration } from "../RegistryError.ts"

export type Health = "healthy" | "degraded" | "unhealthy"
export const healthValues: ReadonlyArray<Health> = ["healthy", "degraded", "unhealthy"]

export interface Metadata {
  readonly capabilities: ReadonlyArray<string>
  readonly health: Health
  readonly node: string
  readonly resources: Readonly<Record<string, number>>
  readonly tags: Readonly<Record<string, string | number | boolean>>
}

export interface MetadataInput {
  readonly capabilities?: ReadonlyArray<string> | ReadonlySet<string>
  readonly health?: Health
  readonly node?: string
  readonly resources?: Readonly<Record<string, number>>
  readonly tags?: Readonly<Record<string, string | number | boolean>>
}

export interface Limits {
  readonly maxNameLength: number
  readonly maxCapabilities: number
  readonly maxTags: number
  readonly maxStringLength: number
  readonly resources: ReadonlySet<string>
  readonly node: string
}

const Label = Schema.String.check(Schema.isMinLength(1))

const MetadataSchema = Schema.Struct({
  capabilities: Schema.optionalKey(Schema.Array(Label)),
  health: Schema.optionalKey(Schema.Literals(["healthy", "degraded", "unhealthy"])),
  node: Schema.optionalKey(Label),
  resources: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  ),
  tags: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Finite, Schema.Boolean])),
  ),
})

const decode = Schema.decodeUnknownExit(MetadataSchema)
const parseOptions = { onExcessProperty: "error", errors: "first" } as const

// Not frozen: on JavaScriptCore a frozen array leaves the fast indexing path (≈4× slower to read, ≈9× larger).
// Metadata is immutable by type and by convention: the registry never mutates it after validation.
const emptyCaps: ReadonlyArray<string> = []
const emptyRecord = {} as Readonly<Record<string, never>>

const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/** Path and message of the first leaf issue. */
const firstIssue = (issue: SchemaIssue.Issue): [string, string] => {
  const first = formatIssue(issue).issues[0]
  if (first === undefined) return ["metadata", "is invalid"]
  const path = (first.path ?? []).map((p) => (typeof p === "object" ? p.key : p))
  const message = /excess|unexpected key/i.test(first.message)
    ? "unknown field; metadata takes capabilities, health, node, resources and tags"
    : first.message
  return [fieldOf(path), message]
}

const fieldOf = (path: ReadonlyArray<PropertyKey>): string =>
  ["metadata", ...path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))]
    .join(".")
    .replace(/\.\[/g, "[")

const defaults = new WeakMap<Limits, Metadata>()

/** The metadata of an entry registered without any: one shared object per registry. */
const defaultsFor = (limits: Limits): Metadata => {
  let m = defaults.get(limits)
  if (m === undefined) {
    m = {
      capabilities: emptyCaps,
      health: "healthy",
      node: limits.node,
      resources: emptyRecord,
      tags: emptyRecord,
    }
    defaults.set(limits, m)
  }
  return m
}

/**
 * A copy of a record, 48 bytes instead of 64 for three numbers. JavaScriptCore gives an object built
 * property by property (or a spread of such an object) room for six inline properties; a structured
 * clone has exactly the room it needs, and a spread of it keeps that. So one clone per set of keys is
 * kept as a template (at most {@link maxTemplates}; beyond that, plain copies).
 */
const compact = <V>(record: Readonly<Record<string, V>>, keys: ReadonlyArray<string>): Record<string, V> => {
  const id = keys.join("\u0000")
  let template = templates.get(id)
  if (template === undefined) {
    const plain: Record<string, V> = {}
    for (let i = 0; i < keys.length; i++) plain[keys[i]] = record[keys[i]]
    if (templates.size >= maxTemplates) return plain
    template = structuredClone(plain) as Record<string, unknown>
    templates.set(id, template)
  }
  const out = { ...template } as Record<string, V>
  for (let i = 0; i < keys.length; i++) out[keys[i]] = record[keys[i]]
  return out
}
const maxTemplates = 256
const templates = new Map<string, Record<string, unknown>>()

/** Validates a name; returns the error or undefined. */
export const checkName = (name: unknown, limits: Limits): InvalidRegistration | undefined => {
  if (typeof name !== "string")
    return new InvalidRegistration({ field: "name", reason: `must be a string, got ${typeof name}` })
  if (name.length === 0) return new InvalidRegistration({ field: "name", reason: "must not be empty" })
  if (name.length > limits.maxNameLength)
    return new InvalidRegistration({
      field: "name",
      reason: `is ${name.length} characters long; the limit is ${limits.maxNameLength} (maxNameLength)`,
    })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name))
    return new InvalidRegistration({ field: "name", reason: "must not contain control characters" })
  return undefined
}

/** Validates and normalises metadata (capabilities deduplicated and sorted, defaults filled in). */
export const normalize = (input: unknown, limits: Limits): Metadata | InvalidRegistration => {
  if (input === undefined) return defaultsFor(limits)
  if (input !== null && typeof input === "object" && (input as MetadataInput).capabilities instanceof Set)
    input = { ...(input as object), capabilities: [...((input as any).capabilities as Set<string>)] }
  const exit = decode(input, parseOptions)
  if (Exit.isFailure(exit)) {
    const error = exit.cause.reasons.find((r) => r._tag === "Fail") as
      | { error: Schema.SchemaError }
      | undefined
    const [field, reason] = error
      ? firstIssue(error.error.issue)
      : ["metadata", "must be an object with capabilities, health, node, resources and tags"]
    return new InvalidRegistration({ field, reason })
  }
  const m = exit.value
  let capabilities = emptyCaps
  if (m.capabilities !== undefined && m.capabilities.length > 0) {
    const caps = [...new Set(m.capabilities)].sort()
    if (caps.length > limits.maxCapabilities)
      return new InvalidRegistration({
        field: "metadata.capabilities",
        reason: `has ${caps.length} capabilities; the limit is ${limits.maxCapabilities} (maxCapabilities)`,
      })
    for (let i = 0; i < caps.length; i++)
      if (caps[i].length > limits.maxStringLength)
        return new InvalidRegistration({
          field: `metadata.capabilities[${i}]`,
          reason: `is longer than ${limits.maxStringLength} characters`,
        })
    capabilities = caps
  }
  let resources: Readonly<Record<string, number>> = emptyRecord
  if (m.resources !== undefined) {
    const keys = Object.keys(m.resources)
    for (const k of keys)
      if (!limits.resources.has(k))
        return new InvalidRegistration({
          field: `metadata.resources.${k}`,
          reason: `undeclared resource attribute; declare it in the registry's "resources" option (known: ${[...limits.resources].join(", ")})`,
        })
    if (keys.length > 0) resources = compact(m.resources, keys)
  }
  let tags: Readonly<Record<string, string | number | boolean>> = emptyRecord
  if (m.tags !== undefined) {
    const keys = Object.keys(m.tags)
    if (keys.length > limits.maxTags)
      return new InvalidRegistration({
        field: "metadata.tags",
        reason: `has ${keys.length} tags; the limit is ${limits.maxTags} (maxTags)`,
      })
    for (const k of keys) {
      const v = m.tags[k]
      if (k.length > limits.maxStringLength || (typeof v === "string" && v.length > limits.maxStringLength))
        return new InvalidRegistration({
          field: `metadata.tags.${k}`,
          reason: `keys and string values are limited to ${limits.maxStringLength} characters`,
        })
    }
    if (keys.length > 0) tags = { ...m.tags }
  }
  const node = m.node ?? limits.node
  if (node.length > limits.maxStringLength)
    return new InvalidRegistration({
      field: "metadata.node",
      reason: `is longer than ${limits.maxStringLength} characters`,
    })
  return { capabilities, health: m.health ?? "healthy", node, resources, tags }
}

/** A metadata patch: top-level fields replace, `resources` and `tags` merge key by key (`undefined` removes a key). */
export const merge = (current: Metadata, patch: MetadataInput): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    capabilities: patch.capabilities !== undefined ? [...patch.capabilities] : current.capabilities,
    health: patch.health ?? current.health,
    node: patch.node ?? current.node,
    resources: mergeRecord(current.resources, patch.resources),
    tags: mergeRecord(current.tags, patch.tags),
  }
  return out
}

const mergeRecord = <V>(a: Readonly<Record<string, V>>, b: Readonly<Record<string, V>> | undefined) => {
  if (b === undefined) return a
  const out: Record<string, V> = { ...a }
  for (const k of Object.keys(b)) {
    if (b[k] === undefined) delete out[k]
    else out[k] = b[k]
  }
  return out
}
