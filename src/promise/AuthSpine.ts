/**
 * The Promise facade: `AuthSpine` boots a spine over a list of packages and
 * answers with Promises, for code that does not use Effect. It runs
 * `Spine.layer` in an Effect `ManagedRuntime`; `cleanup` disposes that
 * runtime, which releases every package in reverse dependency order. Failures
 * reject with an `AuthSpineError`, an `Error` carrying the tagged error.
 *
 * @since 0.1.0
 */
import type { Context, Layer } from "effect"
import { Cause, Data, Effect, Exit, ManagedRuntime, Option } from "effect"
import type * as Health from "../Health.js"
import type { PackageState } from "../Lifecycle.js"
import type * as Metrics from "../Metrics.js"
import type * as Package from "../Package.js"
import type * as Plugin from "../Plugin.js"
import type * as Registry from "../Registry.js"
import type * as Report from "../Report.js"
import * as Spine from "../Spine.js"
import type * as SpineError from "../SpineError.js"

/**
 * A method that needs a booted spine was called before `initialize()`
 * resolved, or after it failed (`failure` then says why): a failed spine
 * stays failed, since `initialize()` returns the same boot; make a new
 * `AuthSpine` to try again.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotInitialized extends Data.TaggedError("NotInitialized")<{
  readonly method: string
  /** The message of the error `initialize()` rejected with, if it did. */
  readonly failure?: string | undefined
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return this.failure === undefined
      ? `AuthSpine.${this.method}() called before initialize() completed`
      : `AuthSpine.${this.method}() called after initialize() failed (${this.failure}); make a new AuthSpine to retry`
  }
}

/**
 * The spine was cleaned up (or its cleanup has begun): it cannot be
 * initialized or queried again. Make a new `AuthSpine` instead.
 *
 * @since 0.1.0
 * @category errors
 */
export class CleanedUp extends Data.TaggedError("CleanedUp")<{
  readonly method: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `AuthSpine.${this.method}() called after cleanup(): create a new AuthSpine to start again`
  }
}

/**
 * `get(tag)` asked for a service that is not in the running spine: its
 * package is optional or feature-gated and did not start, or was stopped
 * since (`state` says which), or no package provides the tag.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServiceUnavailable extends Data.TaggedError("ServiceUnavailable")<{
  readonly tag: string
  readonly package: string | undefined
  readonly state: PackageState | undefined
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return this.package === undefined
      ? `No package provides ${this.tag}`
      : `Package "${this.package}" (${this.tag}) is not started: it is ${this.state ?? "unknown"}`
  }
}

/**
 * The spine died or was interrupted instead of failing with a `SpineError`
 * (a defect in a layer, a hook or a finalizer). `cause` holds the whole cause.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnexpectedFailure extends Data.TaggedError("UnexpectedFailure")<{
  readonly cause: Cause.Cause<unknown>
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return Cause.pretty(this.cause)
  }
}

/**
 * Every tagged error an `AuthSpineError` may carry.
 *
 * @since 0.1.0
 * @category models
 */
export type Failure =
  | SpineError.SpineError
  | SpineError.PackageNotFound
  | NotInitialized
  | CleanedUp
  | ServiceUnavailable
  | UnexpectedFailure

/**
 * What every Promise of `AuthSpine` rejects with: an `Error` whose `name` and
 * `_tag` are the tag of the carried error, whose `message` is its message,
 * and whose `error` (also its `cause`) is the tagged error itself.
 *
 * @example
 * ```ts
 * import { AuthSpineError } from "@auth-spine/core"
 *
 * try {
 *   await spine.initialize()
 * } catch (e) {
 *   if (e instanceof AuthSpineError && e.error._tag === "PackageInitFailed") {
 *     console.error(e.error.package, e.message)
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthSpineError extends Error {
  /** @since 0.1.0 */
  readonly _tag: Failure["_tag"]
  /** @since 0.1.0 */
  readonly error: Failure

  constructor(error: Failure) {
    super(error.message, { cause: error })
    this.name = error._tag
    this._tag = error._tag
    this.error = error
  }
}

/**
 * The plugins `new AuthSpine(...)` accepts: those of `Spine.layer`.
 *
 * @since 0.1.0
 * @category models
 */
export type Plugins = ReadonlyArray<Plugin.Plugin<ReadonlyArray<Package.Any>, Spine.Spine>>

/**
 * Rejects at compile time a list of packages and plugins whose requirements
 * are not all provided by packages: the facade takes no layers of the
 * caller's.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ProvidedByPackages<
  Packages extends ReadonlyArray<Package.Any>,
  PluginList extends Plugins = []
> = [Layer.Layer.Context<Spine.SpineLayer<Packages, PluginList>>] extends [never] ? unknown
  : { readonly "AuthSpine: no package provides": Layer.Layer.Context<Spine.SpineLayer<Packages, PluginList>> }

/**
 * The options of `new AuthSpine(...)`: those of `Spine.layer`, with every
 * requirement provided by a package.
 *
 * @since 0.1.0
 * @category models
 */
export type Options<Packages extends ReadonlyArray<Package.Any>, PluginList extends Plugins = []> =
  & Spine.Options<Packages, PluginList>
  & ProvidedByPackages<Packages, PluginList>

/**
 * The service identifiers `get` accepts: every package's, plugins' included,
 * whether optional, feature-gated or not.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Services<Packages extends ReadonlyArray<Package.Any>, PluginList extends Plugins = []> =
  Package.Identifiers<Packages[number] | Plugin.Packages<PluginList[number]>>

/**
 * What `getPackage(name)` returns: the package's metadata and its current
 * state.
 *
 * @since 0.1.0
 * @category models
 */
export interface PackageDetails extends Package.Info {
  readonly state: PackageState
}

/**
 * A spine driven with Promises.
 *
 * `initialize()` boots every package (concurrent and repeated calls share one
 * boot; a failed boot releases whatever started and rejects, and so does every
 * later call). `cleanup()` releases every package in reverse dependency order;
 * while a boot is in progress it waits for the boot to settle first. Repeated
 * calls share one cleanup, and a cleaned-up spine cannot be initialized again.
 *
 * @example
 * ```ts
 * import { AuthSpine } from "@auth-spine/core"
 *
 * const spine = new AuthSpine({ packages: [StorePackage, GreeterPackage] })
 * await spine.initialize()
 * const greeter = await spine.get(Greeter)
 * console.log((await spine.getHealth()).status)
 * await spine.cleanup()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class AuthSpine<
  const Packages extends ReadonlyArray<Package.Any>,
  const PluginList extends Plugins = []
> {
  /** Let go once disposed: a facade kept after `cleanup()` must not keep every package's service with it. */
  #runtime: ManagedRuntime.ManagedRuntime<Spine.Spine, SpineError.SpineError> | undefined
  #boot: Promise<void> | undefined = undefined
  #ready = false
  #failure: string | undefined = undefined
  #cleanup: Promise<void> | undefined = undefined

  constructor(options: Options<Packages, PluginList>) {
    const layer: Spine.SpineLayer<Packages, PluginList> = Spine.layer(options)
    // `Options` admits only package lists whose requirements are all provided by
    // packages, so the layer's input is `never`; TypeScript cannot reduce that
    // for a generic `Packages`. Should a caller bypass the types, validation
    // still rejects with `MissingDependency` before anything starts.
    this.#runtime = ManagedRuntime.make(layer as Layer.Layer<Spine.Spine, SpineError.SpineError>)
  }

  /**
   * Validates and boots every package. Resolves once every package has
   * started (or degraded); rejects with the boot's error, after releasing
   * everything that had started. Idempotent: every call returns the same
   * boot. Rejects with `CleanedUp` once `cleanup()` was called.
   *
   * @since 0.1.0
   */
  initialize(): Promise<void> {
    if (this.#cleanup !== undefined) return Promise.reject(new AuthSpineError(new CleanedUp({ method: "initialize" })))
    this.#boot ??= this.#start()
    return this.#boot
  }

  /**
   * Releases every package, dependents first, then the runtime. Waits for a
   * boot in progress to settle first. Idempotent: every call returns the same
   * cleanup; calling it before `initialize()` just closes the spine.
   *
   * @since 0.1.0
   */
  cleanup(): Promise<void> {
    this.#cleanup ??= this.#stop()
    return this.#cleanup
  }

  /**
   * The cached health (readiness, liveness, each package's last check). Runs
   * no check.
   *
   * @since 0.1.0
   */
  getHealth(): Promise<Health.SystemHealth> {
    return this.#run("getHealth", (spine) => spine.health)
  }

  /**
   * Runs the health checks now (of one package, or all) and returns the
   * updated health.
   *
   * @since 0.1.0
   */
  checkHealth(name?: string): Promise<Health.SystemHealth> {
    return this.#run("checkHealth", (spine) => spine.checkHealth(name))
  }

  /**
   * A snapshot of the spine's metrics and every ready package's own values.
   *
   * @since 0.1.0
   */
  getMetrics(): Promise<Metrics.MetricsSnapshot> {
    return this.#run("getMetrics", (spine) => spine.metrics)
  }

  /**
   * The report: summary, health, metrics, packages and timeline, as plain
   * JSON.
   *
   * @since 0.1.0
   */
  generateReport(): Promise<Report.Report> {
    return this.#run("generateReport", (spine) => spine.report)
  }

  /**
   * Counts of packages by category, status, state and health.
   *
   * @since 0.1.0
   */
  getStatistics(): Promise<Registry.Statistics> {
    return this.#run("getStatistics", (spine) => spine.statistics)
  }

  /**
   * Whether a feature flag is on. Unknown flags are off.
   *
   * @since 0.1.0
   */
  isFeatureEnabled(flag: string): Promise<boolean> {
    return this.#run("isFeatureEnabled", (spine) => spine.isFeatureEnabled(flag))
  }

  /**
   * The service of a running package. Rejects with `ServiceUnavailable` when
   * the package providing `tag` is not running: optional or feature-gated and
   * not started, or stopped since (removed, or its feature turned off).
   *
   * @since 0.1.0
   */
  get<Id extends Services<Packages, PluginList>, Service>(tag: Context.Tag<Id, Service>): Promise<Service> {
    return this.#run("get", (spine) =>
      Effect.gen(function*() {
        // the runtime's context is the boot's: it lacks packages started since and holds those stopped since
        const running = yield* spine.service(tag)
        if (Option.isSome(running)) return running.value
        const provided = (yield* spine.packages).some((info) => info.provides === tag.key)
        const own = provided ? Option.none() : yield* Effect.serviceOption(tag)
        return Option.isSome(own) ? own.value : yield* unavailable(spine, tag.key)
      }))
  }

  /**
   * A package's metadata and current state. Rejects with `PackageNotFound`
   * for an unknown name.
   *
   * @since 0.1.0
   */
  getPackage(name: string): Promise<PackageDetails> {
    return this.#run("getPackage", (spine) =>
      Effect.gen(function*() {
        const state = yield* spine.state(name)
        const infos = yield* spine.packages
        const info = infos.find((candidate) => candidate.name === name)
        if (info === undefined) return yield* Effect.dieMessage(`package "${name}" has a state but no metadata`)
        return { ...info, state }
      }))
  }

  async #start(): Promise<void> {
    const runtime = this.#runtime!
    const exit = await Effect.runPromiseExit(runtime.runtimeEffect)
    if (Exit.isSuccess(exit)) {
      this.#ready = true
      return
    }
    // a failed boot has already released its packages; closing the runtime's
    // scope runs whatever finalizers remain (shutdown hooks, the phase)
    await Effect.runPromiseExit(runtime.disposeEffect)
    this.#runtime = undefined
    const error = toError(exit.cause)
    this.#failure = error.message
    throw error
  }

  async #stop(): Promise<void> {
    if (this.#boot !== undefined) await this.#boot.then(() => undefined, () => undefined)
    this.#ready = false
    const runtime = this.#runtime
    if (runtime === undefined) return
    const exit = await Effect.runPromiseExit(runtime.disposeEffect)
    this.#runtime = undefined
    if (Exit.isFailure(exit)) throw toError(exit.cause)
  }

  async #run<A, E extends Failure>(
    method: string,
    f: (spine: Spine.SpineService) => Effect.Effect<A, E>
  ): Promise<A> {
    if (this.#cleanup !== undefined) throw new AuthSpineError(new CleanedUp({ method }))
    const runtime = this.#runtime
    if (!this.#ready || runtime === undefined) {
      throw new AuthSpineError(new NotInitialized({ method, failure: this.#failure }))
    }
    const exit = await runtime.runPromiseExit(Effect.flatMap(Spine.Spine, f))
    if (Exit.isSuccess(exit)) return exit.value
    throw toError(exit.cause)
  }
}

const unavailable = (spine: Spine.SpineService, tag: string): Effect.Effect<never, ServiceUnavailable> =>
  Effect.gen(function*() {
    const infos = yield* spine.packages
    const info = infos.find((candidate) => candidate.provides === tag)
    if (info === undefined) return yield* new ServiceUnavailable({ tag, package: undefined, state: undefined })
    const state = yield* Effect.orDie(spine.state(info.name))
    return yield* new ServiceUnavailable({ tag, package: info.name, state })
  })

const toError = (cause: Cause.Cause<Failure>): AuthSpineError =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => new AuthSpineError(new UnexpectedFailure({ cause })),
    onSome: (error) => new AuthSpineError(error)
  })
