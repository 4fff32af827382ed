import { Duration, Option } from "effect"
import { InvalidOptions } from "../SpineError.js"
import { shown } from "./kind.js"

/** Whether a duration is longer than zero (`Package.make` reads a negative, NaN or unreadable one as zero). */
export const isPositive = (duration: Duration.Duration): boolean => Duration.greaterThan(duration, Duration.zero)

/**
 * The first of the spine's options that cannot be used: a duration that is not positive, as a JavaScript caller
 * may pass it (`"30s"`, `-1`, `0`), where Effect would throw or read zero (every start timed out, a health loop
 * that never rests); or a count that is not a whole number from 1 (`0` checks at once would never run one, a
 * threshold of `Infinity` or `NaN` would never be reached); `Infinity` checks at once is no bound.
 */
export const check = (options: {
  readonly defaults?: { readonly initTimeout?: unknown; readonly stopTimeout?: unknown } | undefined
  readonly health?:
    | {
      readonly interval?: unknown
      readonly timeout?: unknown
      readonly concurrency?: unknown
      readonly failureThreshold?: unknown
      readonly successThreshold?: unknown
    }
    | undefined
}): InvalidOptions | undefined => {
  const durations = [
    ["defaults.initTimeout", options.defaults?.initTimeout],
    ["defaults.stopTimeout", options.defaults?.stopTimeout],
    ["health.interval", options.health?.interval],
    ["health.timeout", options.health?.timeout]
  ] as const
  for (const [option, input] of durations) {
    if (input === undefined) continue
    const decoded = Duration.decodeUnknown(input)
    if (Option.isNone(decoded) || !isPositive(decoded.value)) return invalid(option, "a positive duration", input)
  }
  const counts = [
    // `Infinity`: no bound
    ["health.concurrency", options.health?.concurrency, "16", Infinity],
    ["health.failureThreshold", options.health?.failureThreshold, "3", undefined],
    ["health.successThreshold", options.health?.successThreshold, "3", undefined]
  ] as const
  for (const [option, input, example, also] of counts) {
    if (input !== undefined && input !== also && !(Number.isSafeInteger(input) && (input as number) >= 1)) {
      return invalid(option, "a whole number from 1", input, example)
    }
  }
  return undefined
}

/** `Spine.main`'s `shutdownDelay`, if it is not a duration (zero is one: no delay). */
export const checkShutdownDelay = (input: unknown): InvalidOptions | undefined =>
  input === undefined || Option.isSome(Duration.decodeUnknown(input))
    ? undefined
    : invalid("shutdownDelay", "a duration", input)

const invalid = (option: string, what: string, input: unknown, example = `"30 seconds"`) => {
  return new InvalidOptions({ option, reason: `must be ${what}, such as ${example} (got ${shown(input)})` })
}
