/**
 * Values from plain JavaScript that are not what the types say: named by their kind only, since a value in the
 * wrong place may hold a connection string or a password, and a message shows it.
 */
import { Effect } from "effect"

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"

/** What kind of value `value` is, without its contents: `undefined`, `a Promise`, `a SyntaxError`, `a string`… */
export const kindOf = (value: unknown): string => {
  if (value === null || value === undefined) return String(value)
  if (isThenable(value)) return "a Promise"
  if (value instanceof Error) return `${/^[AEIOU]/.test(value.name) ? "an" : "a"} ${value.name}`
  if (Array.isArray(value)) return "an array"
  return typeof value === "object" ? "an object" : `a ${typeof value}`
}

/**
 * A value as a message shows it: a string quoted and escaped (a newline stays on the line), a number as written,
 * anything else by its kind.
 */
export const shown = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "number" ? String(value) : kindOf(value)

/**
 * `value`, which should be an Effect, or a failure saying what `source` returned instead. A Promise's
 * rejection is handled, so that it does not end the process as an unhandled one.
 */
export const asEffect = <A, E, R>(value: Effect.Effect<A, E, R>, source: string): Effect.Effect<A, E | string, R> => {
  const given: unknown = value
  if (Effect.isEffect(given)) return value
  if (isThenable(given)) given.then(undefined, () => {})
  return Effect.fail(`${source} returned ${kindOf(given)}, not an Effect`)
}
