import { Cause } from "effect"

/**
 * A readable reason from a failure cause, without stack traces: the error's
 * message (else its cause's, as platform errors such as `ServeError` keep
 * theirs there), tag, or text.
 */
export const reasonOf = (cause: Cause.Cause<unknown>): string => describe(Cause.squash(cause))

const describe = (error: unknown): string => {
  if (error instanceof Error) {
    if (error.message !== "") return error.message
    if (error.cause !== undefined) return describe(error.cause)
  }
  if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
  try {
    return String(error)
  } catch {
    // an object without a prototype, or whose toString throws: its kind, never its contents
    return Object.prototype.toString.call(error)
  }
}
