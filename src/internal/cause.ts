import { Cause } from "effect"

/**
 * A readable reason from a failure cause, without stack traces: the error's
 * message (else its cause's, as platform errors such as `ServeError` keep
 * theirs there), tag, or text. Always a string, even for an error whose
 * message is not one, whose getters throw, or whose causes loop.
 */
export const reasonOf = (cause: Cause.Cause<unknown>): string => describe(Cause.squash(cause), 0)

const describe = (error: unknown, depth: number): string => {
  try {
    if (error instanceof Error) {
      const message: unknown = error.message
      if (typeof message === "string" && message !== "") return message
      if (error.cause !== undefined && depth < 8) return describe(error.cause, depth + 1)
    }
    if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
    return String(error)
  } catch {
    // an object without a prototype, or whose toString or getters throw: its kind, never its contents
    return Object.prototype.toString.call(error)
  }
}

/**
 * A message over several lines (a Schema parse error, say) as one line, for
 * the formats with one line per package: the boot table and `/readyz?verbose`.
 */
export const oneLine = (text: string): string => text.split(/\s*[\r\n]\s*/).join(" ")
