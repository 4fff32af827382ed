import { Predicate } from "effect"

/**
 * Any value as plain JSON, never throwing: what `JSON.parse(JSON.stringify(value))`
 * gives where that works, and, where it throws or loses everything, a bigint
 * as its decimal string, a cycle as `"[Circular]"`, a `Map` as an object of its
 * entries, a `Set` as an array, and a value that throws while read (a getter,
 * a `toJSON`) as `"[Unserializable]"`. For user values, such as a check's
 * details, in a report that must stay JSON.
 */
export const toJson = (value: unknown): unknown => convert("", () => value, [])

/** A number as JSON writes it: `-0` as `0`, so that a value equals its JSON round-trip. */
export const jsonNumber = (value: number): number => value + 0

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

/**
 * JSON's own steps (`SerializeJSONProperty`): `toJSON`, then unboxing, then
 * the value by its type. `ancestors` holds every object on the way here,
 * those `toJSON` was called on included, so that a cycle through `toJSON`
 * ends too.
 */
const plain = (key: string, input: unknown, ancestors: Array<object>): unknown => {
  if (Predicate.isObject(input) && ancestors.includes(input)) return circular
  let value = input
  if (Predicate.isObject(value) || typeof value === "bigint") {
    const toJSON = (value as { readonly toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") {
      if (Predicate.isObject(input)) ancestors.push(input)
      try {
        value = toJSON.call(value, key)
      } finally {
        if (Predicate.isObject(input)) ancestors.pop()
      }
      if (Predicate.isObject(value) && ancestors.includes(value)) return circular
    }
  }
  if (value instanceof Number) value = Number(value)
  else if (value instanceof String) value = String(value)
  else if (value instanceof Boolean) value = Boolean.prototype.valueOf.call(value)
  else if (value instanceof BigInt) value = BigInt.prototype.valueOf.call(value)
  switch (typeof value) {
    case "string":
    case "boolean":
      return value
    case "number":
      // JSON has no NaN or infinities, and writes -0 as 0
      return Number.isFinite(value) ? jsonNumber(value) : null
    case "bigint":
      return value.toString()
    case "object":
      return value === null ? null : container(value, input, ancestors)
    default:
      // undefined, a symbol, a function without toJSON: left out (null in an array)
      return undefined
  }
}

/** An array, set, map or other object, with `input` (whose `toJSON` it may be) among the ancestors. */
const container = (value: object, input: unknown, ancestors: Array<object>): unknown => {
  const own = Predicate.isObject(input) && input !== value ? [input, value] : [value]
  ancestors.push(...own)
  try {
    if (Array.isArray(value)) {
      const list: Array<unknown> = value
      return Array.from(
        { length: list.length },
        (_, index) => convert(String(index), () => list[index], ancestors) ?? null
      )
    }
    if (value instanceof Set) {
      return Array.from(value, (item: unknown, index) => convert(String(index), () => item, ancestors) ?? null)
    }
    const entries: Array<readonly [string, () => unknown]> = value instanceof Map
      ? Array.from(value, ([name, item]: [unknown, unknown]) => [String(name), () => item] as const)
      : Object.keys(value).map((name) => [name, () => (value as Record<string, unknown>)[name]] as const)
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
    ancestors.length -= own.length
  }
}
