/**
 * The errors of the spine. Every error is a tagged class that names the
 * package(s) involved and carries a readable `message`; `SpineError` is their
 * union.
 *
 * @since 0.1.0
 */
import type { Cause } from "effect"
import { Data, Duration } from "effect"

/**
 * Two packages share a name.
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicatePackage extends Data.TaggedError("DuplicatePackage")<{
  readonly package: string
  /**
   * Who registered it, in order, when a plugin did: `the spine's options` or `plugin "name"`.
   *
   * @since 0.1.0
   */
  readonly registeredBy?: ReadonlyArray<string> | undefined
}> {
  /** @since 0.1.0 */
  override get message(): string {
    const by = this.registeredBy === undefined ? "" : `, by ${this.registeredBy.join(" and ")}`
    return `Package "${this.package}" is registered more than once${by}`
  }
}

/**
 * Two packages provide the same service tag.
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateProvider extends Data.TaggedError("DuplicateProvider")<{
  readonly tag: string
  readonly packages: readonly [string, string]
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Packages "${this.packages[0]}" and "${this.packages[1]}" both provide ${this.tag}`
  }
}

/**
 * An option of `Spine.layer` (or `Spine.main`'s `shutdownDelay`) that cannot
 * be used, such as a timeout that is not a positive duration.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Data.TaggedError("InvalidOptions")<{
  /** The option's path, such as `defaults.initTimeout`. */
  readonly option: string
  readonly reason: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Spine option ${this.option} ${this.reason}`
  }
}

/**
 * Two plugins of one name: most often one plugin registered twice, whose
 * hooks would run twice.
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicatePlugin extends Data.TaggedError("DuplicatePlugin")<{
  readonly plugin: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Plugin "${this.plugin}" is registered more than once`
  }
}

/**
 * Two handlers of one name on one extension point, which a `HookRejected`
 * could not tell apart.
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateHandler extends Data.TaggedError("DuplicateHandler")<{
  readonly hook: string
  readonly handler: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Extension point ${this.hook} has more than one handler named "${this.handler}"`
  }
}

/**
 * The dependency graph has a cycle. `cycle` starts and ends with the same
 * package.
 *
 * @since 0.1.0
 * @category errors
 */
export class DependencyCycle extends Data.TaggedError("DependencyCycle")<{
  readonly cycle: ReadonlyArray<string>
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Dependency cycle: ${this.cycle.join(" -> ")}`
  }
}

/**
 * A package requires a tag that no package provides and the caller's
 * context lacks.
 *
 * @since 0.1.0
 * @category errors
 */
export class MissingDependency extends Data.TaggedError("MissingDependency")<{
  readonly package: string
  readonly dependency: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Package "${this.package}" requires ${this.dependency}, which no package provides and the context lacks`
  }
}

/**
 * The version of the package providing a requirement does not satisfy the
 * range the requiring package asked for.
 *
 * @since 0.1.0
 * @category errors
 */
export class IncompatibleVersion extends Data.TaggedError("IncompatibleVersion")<{
  readonly package: string
  readonly dependency: string
  readonly range: string
  readonly version: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Package "${this.package}" requires "${this.dependency}" ${this.range}, but "${this.dependency}" is ${this.version}`
  }
}

/**
 * A required package depends on an optional or feature-gated one.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequiredDependsOnOptional extends Data.TaggedError("RequiredDependsOnOptional")<{
  readonly package: string
  readonly dependency: string
  readonly reason: "optional" | "feature"
}> {
  /** @since 0.1.0 */
  override get message(): string {
    const what = this.reason === "optional" ? "optional" : "feature-gated"
    return `Required package "${this.package}" depends on ${what} package "${this.dependency}"`
  }
}

/**
 * A package descriptor is malformed (name not kebab-case, version not semver,
 * a range that does not parse, a timeout that is not positive, or, from
 * JavaScript, a field of the wrong kind).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPackage extends Data.TaggedError("InvalidPackage")<{
  readonly package: string
  readonly reason: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    // escaped: the name itself may be what is wrong with it (a newline in it, say)
    return `Package ${JSON.stringify(this.package)} is invalid: ${this.reason}`
  }
}

/**
 * One problem found while reading a package's configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigIssue {
  readonly package: string
  readonly path: string
  readonly message: string
}

/**
 * Every configuration problem of every package, found before any package
 * starts. Values read with `Config.redacted` never appear in it.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidConfig extends Data.TaggedError("InvalidConfig")<{
  readonly issues: ReadonlyArray<ConfigIssue>
}> {
  /** @since 0.1.0 */
  get packages(): ReadonlyArray<string> {
    return [...new Set(this.issues.map((issue) => issue.package))]
  }
  /** @since 0.1.0 */
  override get message(): string {
    const lines = this.issues.map((issue) =>
      `  ${issue.package}: ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}`
    )
    return `Invalid configuration (${this.issues.length} issue${this.issues.length === 1 ? "" : "s"}):\n${
      lines.join("\n")
    }`
  }
}

/**
 * A package's layer failed to build (after every retry).
 *
 * @since 0.1.0
 * @category errors
 */
export class PackageInitFailed extends Data.TaggedError("PackageInitFailed")<{
  readonly package: string
  readonly attempts: number
  readonly cause: Cause.Cause<unknown>
  readonly reason: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Package "${this.package}" failed to start after ${this.attempts} attempt${
      this.attempts === 1 ? "" : "s"
    }: ${this.reason}`
  }
}

/**
 * A package's layer did not build within its `initTimeout`.
 *
 * @since 0.1.0
 * @category errors
 */
export class PackageInitTimeout extends Data.TaggedError("PackageInitTimeout")<{
  readonly package: string
  readonly timeout: Duration.Duration
  readonly attempts: number
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Package "${this.package}" did not start within ${Duration.format(this.timeout)}`
  }
}

/**
 * A package's finalizers did not finish within its `stopTimeout`. Reported on
 * the event stream and in the log; the other packages are released anyway.
 *
 * @since 0.1.0
 * @category errors
 */
export class PackageStopTimeout extends Data.TaggedError("PackageStopTimeout")<{
  readonly package: string
  readonly timeout: Duration.Duration
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Package "${this.package}" did not stop within ${Duration.format(this.timeout)}`
  }
}

/**
 * A lifecycle hook, or a plugin's `onInitialize`, did not finish within its
 * limit: the init timeout at boot, which then fails, and the stop timeout at
 * shutdown, where it is only logged. The hook is interrupted and waited for
 * while it unwinds, at most the stop timeout; one that takes longer runs on,
 * left behind.
 *
 * @since 0.1.0
 * @category errors
 */
export class HookTimeout extends Data.TaggedError("HookTimeout")<{
  readonly hook: "beforeInit" | "onInitialize" | "afterInit" | "beforeShutdown" | "afterShutdown"
  /** The plugin whose hook it is; `undefined` for the spine's own `hooks`. */
  readonly plugin: string | undefined
  readonly timeout: Duration.Duration
}> {
  /** @since 0.1.0 */
  override get message(): string {
    const owner = this.plugin === undefined ? "the spine's options" : `plugin "${this.plugin}"`
    return `${this.hook} hook of ${owner} did not finish within ${Duration.format(this.timeout)}`
  }
}

/**
 * A lifecycle hook (of the spine's `hooks`, or a plugin's hooks or `onInitialize`) died at boot, which fails
 * the boot: everything started is released. At shutdown, such a hook is only logged.
 *
 * @since 0.1.0
 * @category errors
 */
export class HookFailed extends Data.TaggedError("HookFailed")<{
  readonly hook: "beforeInit" | "onInitialize" | "afterInit"
  /** The plugin whose hook it is; `undefined` for the spine's own `hooks`. */
  readonly plugin: string | undefined
  readonly cause: Cause.Cause<unknown>
  readonly reason: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    const owner = this.plugin === undefined ? "the spine's options" : `plugin "${this.plugin}"`
    return `${this.hook} hook of ${owner} failed: ${this.reason}`
  }
}

/**
 * A name given to the spine matches no registered package.
 *
 * @since 0.1.0
 * @category errors
 */
export class PackageNotFound extends Data.TaggedError("PackageNotFound")<{
  readonly package: string
  /** Where it was looked for, when that was one plugin's packages. */
  readonly plugin?: string | undefined
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `No package named "${this.package}"${this.plugin === undefined ? "" : ` in plugin "${this.plugin}"`}`
  }
}

/**
 * `remove` refused: packages that depend on this one are still running.
 * Remove with `{ cascade: true }` to stop them first.
 *
 * @since 0.1.0
 * @category errors
 */
export class PackageHasDependents extends Data.TaggedError("PackageHasDependents")<{
  readonly package: string
  readonly dependents: ReadonlyArray<string>
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Package "${this.package}" is required by running packages ${
      this.dependents.map((name) => `"${name}"`).join(", ")
    }; remove them first or pass { cascade: true }`
  }
}

/**
 * A package added at runtime requires a package that is not running
 * (stopped, removed, failed, skipped or disabled), so it cannot start.
 *
 * @since 0.1.0
 * @category errors
 */
export class DependencyNotRunning extends Data.TaggedError("DependencyNotRunning")<{
  readonly package: string
  readonly dependency: string
  readonly state: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Package "${this.package}" requires "${this.dependency}", which is ${this.state}; start it first`
  }
}

/**
 * The spine is not running (its packages still starting, or shutting down),
 * so its packages cannot change.
 *
 * @since 0.1.0
 * @category errors
 */
export class SpineNotRunning extends Data.TaggedError("SpineNotRunning")<{
  readonly phase: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `The spine is ${this.phase}; packages can change only once they have started and until shutdown`
  }
}

/**
 * The errors found while validating the package graph, before anything starts.
 *
 * @since 0.1.0
 * @category models
 */
export type ValidationError =
  | DuplicatePackage
  | DuplicateProvider
  | DependencyCycle
  | MissingDependency
  | IncompatibleVersion
  | RequiredDependsOnOptional
  | InvalidPackage

/**
 * Every error `Spine.layer` can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type SpineError =
  | ValidationError
  | InvalidOptions
  | DuplicatePlugin
  | DuplicateHandler
  | InvalidConfig
  | PackageInitFailed
  | PackageInitTimeout
  | HookTimeout
  | HookFailed
