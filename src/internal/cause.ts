import { Cause } from "effect"

/** A readable reason from a failure cause, without stack traces: the error's message, tag, or text. */
export const reasonOf = (cause: Cause.Cause<unknown>): string => {
  const squashed = Cause.squash(cause)
  if (squashed instanceof Error) return squashed.message
  if (typeof squashed === "object" && squashed !== null && "_tag" in squashed) return String(squashed._tag)
  return String(squashed)
}
