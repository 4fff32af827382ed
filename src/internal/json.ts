/**
 * Any value as plain JSON, never throwing: what `JSON.parse(JSON.stringify(value))`
 * gives where that works, and, where it throws or loses everything, a bigint
 * as its decimal string, a cycle as `"[Circular]"`, a `Map` as an object of its
 * entries, a `Set` as an array, and a value that throws while read (a getter,
 * a `toJSON`) as `"[Unserializable]"`. For user values, such as a check's
 * details, in a report that must stay JSON.
 */
export const toJson = (value: unknown): unknown => convert("", () => value, [])

const circular = "[Circular]"
const unserializable = "[Unserializable]"

/** One value, read by `read` (a property may be a getter that throws). */
const convert = (key: string, read: () => unknown, ancestors: Array<object>): unknown => {
  try {
    return plain(key, read(), ancestors)
  } catch {
    return unserializable
  }
}

const plain = (key: string, input: unknown, ancestors: Array<object>): unknown => {
  let value = input
  if ((typeof value === "object" && value !== null) || typeof value === "bigint") {
    const toJSON = (value as { readonly toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") value = toJSON.call(value, key)
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) value = value.valueOf()
  switch (typeof value) {
    case "string":
    case "boolean":
      return value
    case "number":
      // JSON has no NaN or infinities, and writes -0 as 0
      return Number.isFinite(value) ? value + 0 : null
    case "bigint":
      return value.toString()
    case "object":
      break
    default:
      return undefined
  }
  if (value === null) return null
  if (ancestors.includes(value)) return circular
  ancestors.push(value)
  try {
    if (Array.isArray(value) || value instanceof Set) {
      return Array.from(value, (item: unknown, index) => convert(String(index), () => item, ancestors) ?? null)
    }
    const object = value
    const entries: Array<readonly [string, () => unknown]> = object instanceof Map
      ? Array.from(object, ([name, item]: [unknown, unknown]) => [String(name), () => item] as const)
      : Object.keys(object).map((name) => [name, () => (object as Record<string, unknown>)[name]] as const)
    const result: Record<string, unknown> = {}
    for (const [name, read] of entries) {
      const converted = convert(name, read, ancestors)
      // an own property even when named "__proto__", as JSON.parse makes it
      if (converted !== undefined) {
        Object.defineProperty(result, name, { value: converted, enumerable: true, writable: true, configurable: true })
      }
    }
    return result
  } finally {
    ancestors.pop()
  }
}
