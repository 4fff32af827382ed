/**
 * A package is an Effect `Layer` that provides one service, plus the metadata
 * the spine needs to place it in the graph: name, version, what it requires,
 * whether it may fail without aborting the boot, timeouts and a health check.
 *
 * @since 0.1.0
 */
import type { Config, Context, Schedule } from "effect"
import { ConfigError, Duration, Effect, Layer, Option } from "effect"
import { pipeArguments } from "effect/Pipeable"
import type { Pipeable } from "effect/Pipeable"
import type { HealthDetail } from "./Health.js"
import { makeLayer } from "./internal/config.js"
import { kindOf } from "./internal/kind.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = Symbol.for("@auth-spine/core/Package")

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * Any service tag. `any` only appears as an existential in constraints, as in
 * Effect's own `Context.Tag<any, any>`; it never reaches a value's type.
 *
 * @since 0.1.0
 * @category models
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTag = Context.Tag<any, any>

/**
 * A requirement: a tag, or a tag with a semver range that the providing
 * package's version must satisfy.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirement = AnyTag | readonly [AnyTag, string]

/**
 * The service identifiers of a list of requirements.
 *
 * @since 0.1.0
 * @category type-level
 */
export type RequirementIds<Reqs extends ReadonlyArray<Requirement>> = {
  [K in keyof Reqs]: Reqs[K] extends readonly [infer T extends AnyTag, string] ? Context.Tag.Identifier<T>
    : Reqs[K] extends AnyTag ? Context.Tag.Identifier<Reqs[K]>
    : never
}[number]

/**
 * A requirement after normalisation.
 *
 * @since 0.1.0
 * @category models
 */
export interface Dependency {
  readonly tag: AnyTag
  readonly range: string | undefined
}

/**
 * The maturity of a package.
 *
 * @since 0.1.0
 * @category models
 */
export type PackageStatus = (typeof packageStatuses)[number]

/**
 * Every package status.
 *
 * @since 0.1.0
 * @category models
 */
export const packageStatuses = ["active", "beta", "deprecated"] as const

/**
 * A package: a layer providing `Id`, needing `R`. `Gated` is `true` for
 * optional and feature-gated packages, which the spine's layer does not
 * promise to provide.
 *
 * @since 0.1.0
 * @category models
 */
export interface Package<in out Id, in out Service, out R = never, out Gated extends boolean = boolean>
  extends Pipeable
{
  readonly [TypeId]: {
    readonly _R: (_: never) => R
    readonly _Gated: (_: never) => Gated
  }
  readonly name: string
  readonly version: string
  readonly category: string
  readonly status: PackageStatus
  readonly provides: Context.Tag<Id, Service>
  readonly requires: ReadonlyArray<Dependency>
  readonly optional: boolean
  readonly feature: string | undefined
  readonly initTimeout: Duration.Duration | undefined
  readonly initRetry: Schedule.Schedule<unknown, unknown> | undefined
  readonly stopTimeout: Duration.Duration | undefined
  readonly health: ((service: Service) => Effect.Effect<void | HealthDetail, unknown>) | undefined
  readonly healthSchedule: Schedule.Schedule<unknown, unknown> | undefined
  readonly metrics: ((service: Service) => Effect.Effect<Readonly<Record<string, number>>>) | undefined
  /** Reads the package's configuration (if any) and makes its layer. */
  readonly load: Effect.Effect<Layer.Layer<Id, unknown, R>, ConfigError.ConfigError>
}

/**
 * Any package, for constraints over lists of packages.
 *
 * @since 0.1.0
 * @category models
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = Package<any, any, any, boolean>

/**
 * The tags a list of packages promises to provide: every package known to be
 * neither optional nor feature-gated. A package that may be either
 * (`optional: flag` with a `boolean` flag) promises nothing, and neither does
 * one whose type is unknown (`Package.Any`).
 *
 * @since 0.1.0
 * @category type-level
 */
export type Provided<P> = P extends Package<infer Id, infer _S, infer _R, infer Gated>
  ? 0 extends 1 & Id ? never : [Gated] extends [false] ? Id
  : never
  : never

/**
 * Every tag a list of packages provides, gated or not.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Identifiers<P> = P extends Package<infer Id, infer _S, infer _R, infer _G> ? Id : never

/**
 * What a list of packages needs from outside: the union of their requirements
 * less what the packages themselves provide.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Requirements<P> = Exclude<
  P extends Package<infer _Id, infer _S, infer R, infer _G> ? R : never,
  Identifiers<P>
>

/**
 * `true` when a package is optional or feature-gated.
 *
 * @since 0.1.0
 * @category type-level
 */
export type IsGated<Optional extends boolean, Feature extends string | undefined> = Optional extends true ? true
  : Feature extends string ? true
  : false

/**
 * The fields `make` takes besides the layer.
 *
 * @since 0.1.0
 * @category models
 */
export interface BaseOptions<
  Id,
  Service,
  Reqs extends ReadonlyArray<Requirement>,
  Optional extends boolean,
  Feature extends string | undefined
> {
  /** Unique, kebab-case. */
  readonly name: string
  /** Semver. */
  readonly version: string
  /** Free text; statistics group by it. Default `"custom"`. */
  readonly category?: string | undefined
  /** Default `"active"`. */
  readonly status?: PackageStatus | undefined
  /** The tag the layer provides. */
  readonly provides: Context.Tag<Id, Service>
  /** Tags provided by other packages or the caller, optionally with a semver range. */
  readonly requires?: Reqs | undefined
  /** `true`: a failure degrades the system instead of aborting the boot. */
  readonly optional?: Optional | undefined
  /** A feature flag; the package is `disabled` when it is off. */
  readonly feature?: Feature | undefined
  readonly initTimeout?: Duration.DurationInput | undefined
  /**
   * Retries of a failed or timed-out start, as with `Effect.retry`: the
   * schedule's input is the attempt's error (a `PackageInitTimeout` for a
   * timeout; the defect for a start that died). Each attempt has its own
   * `initTimeout`.
   */
  readonly initRetry?: Schedule.Schedule<unknown, unknown> | undefined
  readonly stopTimeout?: Duration.DurationInput | undefined
  /**
   * A health check run against the started service: once as part of the
   * package's start (the boot, or `add` or `setFeature` at runtime, waits for
   * its result), then on the spine's interval (or `healthSchedule`), each run
   * within the spine's health timeout. Failing, dying or timing out is `fail`;
   * returning `{ status: "warn" }` is `warn`.
   */
  readonly health?: ((service: Service) => Effect.Effect<void | HealthDetail, unknown>) | undefined
  /** The package's own schedule for its health check. */
  readonly healthSchedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** Values of the package's own, added to `Spine.metrics`. */
  readonly metrics?: ((service: Service) => Effect.Effect<Readonly<Record<string, number>>>) | undefined
}

/**
 * Makes a package. The layer may only require tags listed in `requires`:
 * anything else is a compile-time error. With `config`, `layer` is a function
 * of the configuration, which the spine reads and validates for every package
 * before any starts.
 *
 * @example
 * ```ts
 * import { Context, Effect, Layer } from "effect"
 * import { Package } from "@auth-spine/core"
 *
 * class Clock extends Context.Tag("app/Clock")<Clock, { readonly now: Effect.Effect<number> }>() {}
 *
 * const ClockPackage = Package.make({
 *   name: "clock",
 *   version: "1.0.0",
 *   provides: Clock,
 *   layer: Layer.succeed(Clock, { now: Effect.sync(() => Date.now()) })
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: {
  <
    Id,
    Service,
    C,
    const Reqs extends ReadonlyArray<Requirement> = [],
    E = never,
    const Optional extends boolean = false,
    const Feature extends string | undefined = undefined
  >(
    options: BaseOptions<Id, Service, Reqs, Optional, Feature> & {
      readonly config: Config.Config<C>
      readonly layer: (config: C) => Layer.Layer<NoInfer<Id>, E, NoInfer<RequirementIds<Reqs>>>
    }
  ): Package<Id, Service, RequirementIds<Reqs>, IsGated<Optional, Feature>>
  <
    Id,
    Service,
    const Reqs extends ReadonlyArray<Requirement> = [],
    E = never,
    const Optional extends boolean = false,
    const Feature extends string | undefined = undefined
  >(
    options: BaseOptions<Id, Service, Reqs, Optional, Feature> & {
      readonly layer: Layer.Layer<NoInfer<Id>, E, NoInfer<RequirementIds<Reqs>>>
    }
  ): Package<Id, Service, RequirementIds<Reqs>, IsGated<Optional, Feature>>
} = <Id, Service, R>(
  options: BaseOptions<Id, Service, ReadonlyArray<Requirement>, boolean, string | undefined> & {
    readonly config?: Config.Config<unknown>
    readonly layer: Layer.Layer<Id, unknown, R> | ((config: unknown) => Layer.Layer<Id, unknown, R>)
  }
): Package<Id, Service, R, boolean> => {
  const layer = options.layer
  const config = options.config ?? Effect.void
  // from plain JavaScript, a lone tag: kept as given, for validation to name
  const requires: unknown = options.requires ?? []
  const load: Effect.Effect<Layer.Layer<Id, unknown, R>, ConfigError.ConfigError> = typeof layer !== "function"
    ? Effect.succeed(layer)
    : Effect.isEffect(config as unknown)
    ? Effect.flatMap(config, makeLayer(layer))
    // from plain JavaScript, such as the settings themselves in place of a `Config`
    : Effect.fail(ConfigError.InvalidData([], `its config is ${kindOf(config)}, not a Config`))
  return fromFields({
    name: options.name,
    version: options.version,
    category: options.category ?? "custom",
    status: options.status ?? "active",
    provides: options.provides,
    requires: Array.isArray(requires) ? requires.map(toDependency) : requires as ReadonlyArray<Dependency>,
    optional: options.optional ?? false,
    feature: options.feature,
    initTimeout: decodeDuration(options.initTimeout),
    initRetry: options.initRetry,
    stopTimeout: decodeDuration(options.stopTimeout),
    health: options.health,
    healthSchedule: options.healthSchedule,
    metrics: options.metrics,
    load
  })
}

/**
 * The fields of a package, without its type marker.
 *
 * @since 0.1.0
 * @category models
 */
export type Fields<Id, Service, R> = Omit<Package<Id, Service, R>, TypeId | "pipe">

const proto = {
  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
}

/**
 * Rebuilds a package from its fields; used to replace a package's layer while
 * keeping its metadata.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFields = <Id, Service, R, Gated extends boolean = boolean>(
  fields: Fields<Id, Service, R>
): Package<Id, Service, R, Gated> => Object.assign(Object.create(proto), { [TypeId]: variance, ...fields })

const variance = { _R: (_: never) => _, _Gated: (_: never) => _ }

const toDependency = (requirement: Requirement): Dependency =>
  isTagWithRange(requirement)
    ? { tag: requirement[0], range: requirement[1] }
    : { tag: requirement, range: undefined }

const isTagWithRange = (requirement: Requirement): requirement is readonly [AnyTag, string] =>
  Array.isArray(requirement)

/** A duration; one that cannot be read (from a JavaScript caller) becomes zero, which validation rejects. */
const decodeDuration = (input: Duration.DurationInput | undefined): Duration.Duration | undefined =>
  input === undefined ? undefined : Option.getOrElse(Duration.decodeUnknown(input), () => Duration.zero)

/**
 * @since 0.1.0
 * @category guards
 */
export const isPackage = (u: unknown): u is Any => typeof u === "object" && u !== null && TypeId in u

/**
 * `true` when the package is optional or feature-gated: it may be absent at
 * run time, so it is left out of the spine layer's output type and a required
 * package may not depend on it. (A feature-gated package that is not optional
 * still aborts the boot when its flag is on and it fails to start.)
 *
 * @since 0.1.0
 * @category predicates
 */
export const isGated = (self: Any): boolean => self.optional || self.feature !== undefined

/**
 * The plain-data description of a package, as the registry and reports show it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Info {
  readonly name: string
  readonly version: string
  readonly category: string
  readonly status: PackageStatus
  readonly provides: string
  readonly requires: ReadonlyArray<{ readonly tag: string; readonly range?: string }>
  readonly optional: boolean
  readonly feature?: string
}

/**
 * @since 0.1.0
 * @category getters
 */
export const info = (self: Any): Info => ({
  name: self.name,
  version: self.version,
  category: self.category,
  status: self.status,
  provides: self.provides.key,
  requires: self.requires.map((dependency) =>
    dependency.range === undefined ? { tag: dependency.tag.key } : { tag: dependency.tag.key, range: dependency.range }
  ),
  optional: self.optional,
  ...(self.feature === undefined ? {} : { feature: self.feature })
})

/**
 * A stand-in for a member the mock does not implement: a function returning
 * an effect that dies, which is also itself that effect. Calling it
 * (`service.find(id)`) or yielding it (`yield* service.count`) dies with a
 * message naming the package and the member.
 */
const unimplemented = (pkg: string, member: string): unknown => {
  const dead = Effect.dieMessage(`Package.mock: "${member}" of package "${pkg}" has no implementation in this mock`)
  const stub = () => dead
  Object.assign(stub, dead)
  Object.setPrototypeOf(stub, Object.getPrototypeOf(dead))
  return stub
}

/** A member a Proxy must return as it is: an own property neither writable nor configurable (`Object.freeze`). */
const isFrozen = (target: object, member: string | symbol) => {
  const own = Reflect.getOwnPropertyDescriptor(target, member)
  return own !== undefined && own.configurable === false && own.writable === false
}

/**
 * Wraps a partial implementation: implemented members are read from it, the
 * implementation itself (getters run, class methods keep their prototype and
 * private fields); any other string-named member is an `unimplemented` stub.
 * Symbols, `then` and `toJSON` are left alone, so that the runtime, `Equal`,
 * inspection, serialization and thenable checks see a plain object. A
 * primitive or a function is served as it is.
 */
const partialService = <Service>(pkg: string, implementation: Partial<Service>): Service => {
  if (typeof implementation !== "object" || implementation === null) return implementation as Service
  const stubs = new Map<string, unknown>()
  const bound = new WeakMap<object, unknown>()
  return new Proxy(implementation, {
    get(target, member) {
      if (member in target || typeof member === "symbol" || member === "then" || member === "toJSON") {
        const value: unknown = Reflect.get(target, member, target)
        if (typeof value !== "function" || isFrozen(target, member)) return value
        // called on the implementation, not the proxy, so that private fields work
        if (!bound.has(value)) bound.set(value, value.bind(target))
        return bound.get(value)
      }
      if (!stubs.has(member)) stubs.set(member, unimplemented(pkg, member))
      return stubs.get(member)
    }
  }) as Service
}

/**
 * A mock of a package: the same metadata and place in the graph (name,
 * version, requirements, optionality, feature flag, timeouts, health check),
 * but its layer is `Layer.succeed(pkg.provides, implementation)`, so the real
 * layer is never built and its configuration is never read.
 *
 * The implementation may be partial. A member it leaves out dies when used,
 * with a message naming the package and the member: calling it returns an
 * effect that dies, and yielding it (for a member that is an effect) dies.
 * The package's own `health` and `metrics`, if any, run against the mock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Package } from "@auth-spine/core"
 *
 * const DatabaseMock = Package.mock(DatabasePackage, {
 *   query: (sql) => Effect.succeed([{ id: 1, sql }])
 * })
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const mock = <Id, Service, R, Gated extends boolean>(
  pkg: Package<Id, Service, R, Gated>,
  implementation: Partial<Service>
): Package<Id, Service, R, Gated> =>
  withLayer(pkg, Layer.succeed(pkg.provides, partialService<Service>(pkg.name, implementation)))

/**
 * The same package, metadata and place in the graph, with another layer.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLayer = <Id, Service, R, Gated extends boolean, E>(
  pkg: Package<Id, Service, R, Gated>,
  // inferred from the package alone: the layer may need only what the package declares
  layer: Layer.Layer<NoInfer<Id>, E, NoInfer<R>>
): Package<Id, Service, R, Gated> => fromFields<Id, Service, R, Gated>({ ...pkg, load: Effect.succeed(layer) })
