import type { Config, ConfigError, Layer } from "effect"
import { Effect, Either } from "effect"
import type * as Package from "../Package.js"
import { type ConfigIssue, InvalidConfig } from "../SpineError.js"

/** The leaves of a `ConfigError`, each with its path. Effect already redacts `Config.redacted` values. */
const issuesOf = (owner: string, error: ConfigError.ConfigError): Array<ConfigIssue> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...issuesOf(owner, error.left), ...issuesOf(owner, error.right)]
    default:
      return [{ package: owner, path: error.path.join("."), message: error.message }]
  }
}

/**
 * Reads every feature flag and the configuration of every enabled package,
 * then makes their layers. Problems are collected, not short-circuited: one
 * `InvalidConfig` lists them all.
 */
export const load = Effect.fnUntraced(function*(
  packages: ReadonlyArray<Package.Any>,
  features: Readonly<Record<string, boolean | Config.Config<boolean>>>
) {
  const issues: Array<ConfigIssue> = []
  const enabled = new Map<string, boolean>()
  for (const [flag, value] of Object.entries(features)) {
    const read = yield* Effect.either(typeof value === "boolean" ? Effect.succeed(value) : value)
    if (Either.isLeft(read)) issues.push(...issuesOf(`feature "${flag}"`, read.left))
    else enabled.set(flag, read.right)
  }
  const loaded: Array<Layer.Layer<never, unknown, unknown> | undefined> = []
  for (const pkg of packages) {
    if (pkg.feature !== undefined && enabled.get(pkg.feature) !== true) {
      loaded.push(undefined)
      continue
    }
    const read = yield* Effect.either(pkg.load)
    if (Either.isLeft(read)) {
      issues.push(...issuesOf(pkg.name, read.left))
      loaded.push(undefined)
    } else loaded.push(read.right)
  }
  if (issues.length > 0) return yield* new InvalidConfig({ issues })
  return { enabled, loaded }
})
