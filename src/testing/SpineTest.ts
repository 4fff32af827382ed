/**
 * A testing kit for applications built on the spine: `SpineTest.layer` boots
 * packages with test-friendly defaults (short timeouts, no scheduled health
 * checks), and `override`, `failing` and `hanging` replace one package's layer
 * while keeping its metadata and place in the graph. Partial mocks of a
 * package's service are made with `Package.mock`; `replacePackages` puts such
 * packages in place of those a plugin contributes.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { Package, SpineTest } from "@auth-spine/core"
 *
 * const TestLive = SpineTest.layer({
 *   packages: [Package.mock(DatabasePackage, { findUser: () => Effect.succeed(alice) }), UsersPackage]
 * })
 *
 * it.layer(TestLive)((it) => {
 *   it.effect("finds alice", () => Effect.map(Users, (users) => expect(users.get(1)).toBeDefined()))
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import * as Package from "../Package.js"
import type * as Plugin from "../Plugin.js"
import * as Spine from "../Spine.js"
import { DuplicatePackage, PackageNotFound } from "../SpineError.js"

/**
 * The defaults `SpineTest.layer` uses when the caller sets none: a package
 * that does not start or stop within a second is a failed test, not a slow
 * one. The limits follow Effect's `Clock`. Under `it.effect` the test moves
 * `TestClock` past them. `@effect/vitest`'s `layer(...)` builds and releases
 * its layer under a `TestClock` that nothing moves, so there the limits fire
 * only with `{ excludeTestServices: true }`; otherwise vitest's hook timeout
 * is what stops a package that hangs.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  initTimeout: "1 second",
  stopTimeout: "1 second"
} as const

/**
 * `Spine.layer` for tests. Unless the options say otherwise, each package has
 * `defaults.initTimeout` to start and `defaults.stopTimeout` to stop, and the
 * scheduled health checks are off (`Spine.checkHealth` still runs them on
 * demand); pass `health: { enabled: true }` to turn the loop on. The type is
 * that of `Spine.layer`.
 *
 * @example
 * ```ts
 * import { layer } from "@effect/vitest"
 *
 * layer(SpineTest.layer({ packages: [Package.mock(DatabasePackage, {}), UsersPackage] }))("users", (it) => {
 *   // …
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: typeof Spine.layer = (options) =>
  Spine.layer({
    ...options,
    health: { ...options.health, enabled: options.health?.enabled === true },
    defaults: {
      initTimeout: options.defaults?.initTimeout ?? defaults.initTimeout,
      stopTimeout: options.defaults?.stopTimeout ?? defaults.stopTimeout,
      initRetry: options.defaults?.initRetry
    }
  })

/**
 * The package with another layer: the same metadata and place in the graph,
 * so the spine validates, orders, times and degrades it as the original. The
 * layer may require only what the package requires.
 *
 * @example
 * ```ts
 * const InMemoryDatabase = SpineTest.override(DatabasePackage, Layer.succeed(Database, inMemory))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const override: typeof Package.withLayer = Package.withLayer

/**
 * The package with a layer that fails with `error`. Booted as a required
 * package, it aborts the boot with `PackageInitFailed` naming it; as an
 * optional one, it is `failed` and its dependents are `skipped`. The
 * package's `initRetry`, if any, still applies.
 *
 * @since 0.1.0
 * @category combinators
 */
export const failing = <Id, Service, R, Gated extends boolean, E>(
  pkg: Package.Package<Id, Service, R, Gated>,
  error: E
): Package.Package<Id, Service, R, Gated> => Package.withLayer(pkg, Layer.fail(error))

/**
 * The package with a layer that never completes, so that it hits its init
 * timeout (the package's own, or the spine's default) with
 * `PackageInitTimeout`. Under `TestClock`, move the clock past the timeout.
 *
 * @since 0.1.0
 * @category combinators
 */
export const hanging = <Id, Service, R, Gated extends boolean>(
  pkg: Package.Package<Id, Service, R, Gated>
): Package.Package<Id, Service, R, Gated> => Package.withLayer(pkg, Layer.effect(pkg.provides, Effect.never))

/**
 * The plugin with some of its packages replaced, each by the package of the
 * same name given (a `Package.mock`, an `override`, a `failing` or `hanging`
 * one); its hooks, handlers and other packages stay. For a package a plugin
 * contributes, which a test cannot list in place of the original. Throws
 * `PackageNotFound` for a replacement the plugin does not contribute, and
 * `DuplicatePackage` for two replacements of one package.
 *
 * @example
 * ```ts
 * const TestLive = SpineTest.layer({
 *   packages: [],
 *   plugins: [SpineTest.replacePackages(AccountsPlugin, [Package.mock(DatabasePackage, { findUser })])]
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const replacePackages = <Packages extends ReadonlyArray<Package.Any>, R>(
  plugin: Plugin.Plugin<Packages, R>,
  replacements: ReadonlyArray<Packages[number]>
): Plugin.Plugin<Packages, R> => {
  const byName = new Map<string, Package.Any>()
  for (const pkg of replacements) {
    if (byName.has(pkg.name)) throw new DuplicatePackage({ package: pkg.name })
    if (!plugin.packages.some((own) => own.name === pkg.name)) {
      throw new PackageNotFound({ package: pkg.name, plugin: plugin.name })
    }
    byName.set(pkg.name, pkg)
  }
  return { ...plugin, packages: plugin.packages.map((pkg) => byName.get(pkg.name) ?? pkg) }
}
