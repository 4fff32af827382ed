import type { Config } from "effect"
import { Cause, ConfigError, Effect, Exit, Layer, Option } from "effect"
import type * as Package from "../Package.js"
import { type ConfigIssue, InvalidConfig } from "../SpineError.js"
import { reasonOf } from "./cause.js"
import { kindOf } from "./kind.js"

const redacted = "<redacted>"

/**
 * Makes a package's layer from its configuration. A throw refuses the
 * configuration: it fails as a `ConfigError` with the thrown message, an
 * issue of the package like any other, told apart from a throw while
 * reading the configuration (a defect).
 */
export const makeLayer = <A, L>(make: (config: A) => L) => (config: A): Effect.Effect<L, ConfigError.ConfigError> =>
  Effect.suspend(() => {
    try {
      const layer = make(config)
      return Layer.isLayer(layer)
        ? Effect.succeed(layer)
        : Effect.fail(ConfigError.InvalidData([], `layer(config) returned ${kindOf(layer)}, not a Layer`))
    } catch (thrown) {
      return Effect.fail(ConfigError.InvalidData([], `layer(config) threw: ${reasonOf(Cause.die(thrown))}`))
    }
  })

/**
 * The leaves of a `ConfigError`, each with its path. Effect already redacts
 * `Config.redacted` values. Of the two sides of an `Or` (a fallback, such as
 * another provider in an `orElse` chain), a side that found the key and
 * rejected its value says more than one that found nothing, so "missing" is
 * reported only when every side says so.
 */
const issuesOf = (
  owner: string,
  error: ConfigError.ConfigError
): Array<ConfigIssue & { readonly missing: boolean }> => {
  switch (error._op) {
    case "And":
      return [...issuesOf(owner, error.left), ...issuesOf(owner, error.right)]
    case "Or": {
      const both = [...issuesOf(owner, error.left), ...issuesOf(owner, error.right)]
      const found = both.filter((issue) => !issue.missing)
      const chosen = found.length > 0 ? found : both
      return chosen.filter((issue, i) => chosen.findIndex((other) => other.path === issue.path) === i)
    }
    default: {
      const path = error.path.join(".")
      const missing = error._op === "MissingData"
      // Effect hides every message about a `Config.redacted` value: that one is missing, or invalid, gives
      // nothing away, and says more than `<redacted>`
      const message = error.message !== redacted
        ? error.message
        : missing
        ? `Expected ${path} to exist (a secret)`
        : `Invalid value for ${path} (a secret: the value and the reason are hidden)`
      return [{ package: owner, path, message, missing }]
    }
  }
}

/**
 * The `ConfigError` of a configuration that could not be read: a problem like any other, not a crash. Another
 * failure (from JavaScript, an Effect given as a `Config`) is shown by its message; a throw (a `Config.map` whose
 * function threw) only by its kind, since its message may quote the value it was given, a secret included.
 */
const configErrorOf = (cause: Cause.Cause<unknown>, reading: string): ConfigError.ConfigError => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && ConfigError.isConfigError(failure.value)) return failure.value
  if (Option.isSome(failure)) return ConfigError.InvalidData([], `${reading} failed: ${reasonOf(cause)}`)
  const thrown = kindOf(Option.getOrUndefined(Cause.dieOption(cause)))
  return ConfigError.InvalidData(
    [],
    `${reading} threw ${thrown}, whose message may quote a secret and is not shown (Config.mapAttempt names the key)`
  )
}

/** A flag's value: a boolean, or a `Config<boolean>` (which plain JavaScript may give as anything else). */
const flagOf = (value: boolean | Config.Config<boolean>): Effect.Effect<boolean, ConfigError.ConfigError> =>
  typeof value === "boolean"
    ? Effect.succeed(value)
    : Effect.isEffect(value)
    ? Effect.flatMap(value, (read) =>
      typeof read === "boolean"
        ? Effect.succeed(read)
        : Effect.fail(ConfigError.InvalidData([], `Expected a boolean, but its Config gave ${kindOf(read)}`)))
    : Effect.fail(ConfigError.InvalidData([], `Expected a boolean or a Config<boolean>, but got ${kindOf(value)}`))

/**
 * Reads every feature flag and the configuration of every enabled package,
 * then makes their layers. Problems are collected, not short-circuited: one
 * `InvalidConfig` lists them all.
 */
export const load = Effect.fnUntraced(function*(
  packages: ReadonlyArray<Package.Any>,
  features: Readonly<Record<string, boolean | Config.Config<boolean>>>
) {
  const issues: Array<ConfigIssue & { readonly missing: boolean }> = []
  const enabled = new Map<string, boolean>()
  for (const [flag, value] of Object.entries(features)) {
    const read = yield* Effect.exit(flagOf(value))
    if (Exit.isSuccess(read)) {
      enabled.set(flag, read.value)
      continue
    }
    const error = configErrorOf(read.cause, "reading it")
    // a problem of each package the flag gates: whether it starts is unknown, so its own configuration is not read
    const gated = packages.filter((pkg) => pkg.feature === flag).map((pkg) => pkg.name)
    if (gated.length === 0) issues.push(...issuesOf(`feature "${flag}"`, error))
    for (const owner of gated) {
      issues.push(
        ...issuesOf(owner, error).map((issue) => ({ ...issue, message: `feature "${flag}": ${issue.message}` }))
      )
    }
  }
  const loaded: Array<Layer.Layer<never, unknown, unknown> | undefined> = []
  for (const pkg of packages) {
    if (pkg.feature !== undefined && enabled.get(pkg.feature) !== true) {
      loaded.push(undefined)
      continue
    }
    const read = yield* Effect.exit(pkg.load)
    if (Exit.isSuccess(read) && Layer.isLayer(read.value)) {
      loaded.push(read.value)
      continue
    }
    loaded.push(undefined)
    if (Exit.isSuccess(read)) {
      // from plain JavaScript: no layer given, or something else
      issues.push({
        package: pkg.name,
        path: "",
        message: `its layer is ${kindOf(read.value)}, not a Layer`,
        missing: false
      })
      continue
    }
    issues.push(...issuesOf(pkg.name, configErrorOf(read.cause, "reading its configuration")))
  }
  if (issues.length > 0) {
    return yield* new InvalidConfig({
      issues: issues.map(({ message, package: owner, path }) => ({ package: owner, path, message }))
    })
  }
  return { enabled, loaded }
})
