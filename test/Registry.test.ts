import { describe, expect, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Context, Effect, Either, Exit, Layer } from "effect"
import type { Health } from "../src/index.js"
import { Package, Registry, Spine } from "../src/index.js"

class Logger extends Context.Tag("test/Logger")<Logger, { readonly log: (line: string) => void }>() {}
class Cache extends Context.Tag("test/Cache")<Cache, { readonly size: number }>() {}
class Db extends Context.Tag("test/Db")<Db, { readonly name: string }>() {}
class Api extends Context.Tag("test/Api")<Api, { readonly port: number }>() {}

const logger = Package.make({
  name: "logger",
  version: "1.0.0",
  provides: Logger,
  layer: Layer.succeed(Logger, { log: () => {} })
})
const cache = Package.make({
  name: "cache",
  version: "2.0.3",
  provides: Cache,
  requires: [Logger],
  layer: Layer.succeed(Cache, { size: 1 })
})
const db = Package.make({
  name: "db",
  version: "1.4.0",
  provides: Db,
  requires: [Logger, [Cache, "^2.1.0"]],
  layer: Layer.succeed(Db, { name: "db" })
})

const errorOf = (packages: ReadonlyArray<Package.Any>) =>
  Either.match(Registry.validate(packages), {
    onLeft: (error) => error,
    onRight: () => expect.unreachable("expected a validation error")
  })

describe("Registry.validate", () => {
  it("orders a valid graph: every package after its dependencies", () => {
    const graph = Either.getOrThrow(Registry.validate([
      Package.make({
        name: "api",
        version: "1.0.0",
        provides: Api,
        requires: [Db],
        layer: Layer.succeed(Api, { port: 1 })
      }),
      Package.make({
        name: "db",
        version: "1.0.0",
        provides: Db,
        requires: [Cache],
        layer: Layer.succeed(Db, { name: "" })
      }),
      cache,
      logger
    ]))
    expect(graph.topologicalOrder).toEqual(["logger", "cache", "db", "api"])
    expect(graph.dependencies("db")).toEqual(["cache"])
    expect(graph.dependents("logger")).toEqual(["cache"])
    expect(graph.dependencies("nope")).toEqual([])
    // an edge from a package to what it requires
    expect(graph.toMermaid()).toBe(
      [
        "flowchart LR",
        `  0["api"]`,
        `  1["db"]`,
        `  2["cache"]`,
        `  3["logger"]`,
        "  0 --> 1",
        "  1 --> 2",
        "  2 --> 3"
      ].join("\n")
    )
    expect(graph.toDot()).toBe(
      [
        "digraph packages {",
        `  "0" [label="api"];`,
        `  "1" [label="db"];`,
        `  "2" [label="cache"];`,
        `  "3" [label="logger"];`,
        `  "0" -> "1" [label=""];`,
        `  "1" -> "2" [label=""];`,
        `  "2" -> "3" [label=""];`,
        "}"
      ].join("\n")
    )
  })

  it("rejects a duplicate package name", () => {
    const error = errorOf([
      logger,
      Package.make({ ...loggerFields, provides: Cache, layer: Layer.succeed(Cache, { size: 0 }) })
    ])
    expect(error._tag).toBe("DuplicatePackage")
    expect(error).toMatchObject({ package: "logger" })
    expect(error.message).toBe(`Package "logger" is registered more than once`)
  })

  it("rejects two packages providing the same tag", () => {
    const other = Package.make({
      name: "other-logger",
      version: "1.0.0",
      provides: Logger,
      layer: Layer.succeed(Logger, { log: () => {} })
    })
    const error = errorOf([logger, other])
    expect(error._tag).toBe("DuplicateProvider")
    expect(error).toMatchObject({ tag: "test/Logger", packages: ["logger", "other-logger"] })
    expect(error.message).toBe(`Packages "logger" and "other-logger" both provide test/Logger`)
  })

  it("rejects a cycle and shows its full path", () => {
    class A extends Context.Tag("cycle/A")<A, number>() {}
    class B extends Context.Tag("cycle/B")<B, number>() {}
    class C extends Context.Tag("cycle/C")<C, number>() {}
    const error = errorOf([
      Package.make({ name: "a", version: "1.0.0", provides: A, requires: [B], layer: Layer.succeed(A, 1) }),
      Package.make({ name: "b", version: "1.0.0", provides: B, requires: [C], layer: Layer.succeed(B, 1) }),
      Package.make({ name: "c", version: "1.0.0", provides: C, requires: [A], layer: Layer.succeed(C, 1) }),
      logger
    ])
    expect(error._tag).toBe("DependencyCycle")
    expect(error).toMatchObject({ cycle: ["a", "b", "c", "a"] })
    expect(error.message).toBe("Dependency cycle: a -> b -> c -> a")
  })

  it("of two cycles, names the one through the first package", () => {
    const [A, B, C, D] = ["a", "b", "c", "d"].map((name) => Context.GenericTag<string, number>(`cycles/${name}`))
    const make = (name: string, provides: typeof A, requires: typeof A) =>
      Package.make({ name, version: "1.0.0", provides, requires: [requires], layer: Layer.succeed(provides, 1) })
    expect(errorOf([make("c", C, D), make("a", A, B), make("d", D, C), make("b", B, A)])).toMatchObject({
      _tag: "DependencyCycle",
      cycle: ["c", "d", "c"]
    })
  })

  it("rejects a package that requires itself", () => {
    class A extends Context.Tag("self/A")<A, number>() {}
    const error = errorOf([
      Package.make({ name: "a", version: "1.0.0", provides: A, requires: [A], layer: Layer.succeed(A, 1) })
    ])
    expect(error.message).toBe("Dependency cycle: a -> a")
  })

  it("rejects a requirement nobody provides", () => {
    const error = errorOf([cache])
    expect(error._tag).toBe("MissingDependency")
    expect(error).toMatchObject({ package: "cache", dependency: "test/Logger" })
    expect(error.message).toBe(`Package "cache" requires test/Logger, which no package provides and the context lacks`)
  })

  it("accepts a requirement the caller's context provides", () => {
    const context = Context.make(Logger, { log: () => {} })
    expect(Either.isRight(Registry.validate([cache], context))).toBe(true)
  })

  it("rejects a version outside the required range", () => {
    const error = errorOf([logger, cache, db])
    expect(error._tag).toBe("IncompatibleVersion")
    expect(error).toMatchObject({ package: "db", dependency: "cache", range: "^2.1.0", version: "2.0.3" })
    expect(error.message).toBe(`Package "db" requires "cache" ^2.1.0, but "cache" is 2.0.3`)
  })

  it("rejects a required package depending on an optional one", () => {
    const error = errorOf([logger, Package.make({ ...cacheFields, optional: true }), db])
    expect(error._tag).toBe("RequiredDependsOnOptional")
    expect(error).toMatchObject({ package: "db", dependency: "cache", reason: "optional" })
    expect(error.message).toBe(`Required package "db" depends on optional package "cache"`)
  })

  it("rejects a required package depending on a feature-gated one", () => {
    const error = errorOf([logger, Package.make({ ...cacheFields, version: "2.2.0", feature: "cache" }), db])
    expect(error).toMatchObject({
      _tag: "RequiredDependsOnOptional",
      package: "db",
      dependency: "cache",
      reason: "feature"
    })
    expect(error.message).toBe(`Required package "db" depends on feature-gated package "cache"`)
  })

  it("rejects malformed names, versions and ranges", () => {
    for (const name of ["Bad_Name", "logger-", "-logger", "log--ger", "1logger", "log ger", ""]) {
      expect(errorOf([Package.make({ ...loggerFields, name })]).message, name).toBe(
        `Package ${JSON.stringify(name)} is invalid: name must be kebab-case (got ${JSON.stringify(name)})`
      )
    }
    for (const name of ["l", "logger2", "log-2", "http-log-v2"]) {
      expect(Either.isRight(Registry.validate([Package.make({ ...loggerFields, name })])), name).toBe(true)
    }
    expect(errorOf([Package.make({ ...loggerFields, version: "1.0" })]).message).toContain(
      `version "1.0" is not semver`
    )
    for (const version of ["v1.0.0", " 1.0.0", "1.0.0 ", "01.0.0", "1.0.0+", "1.0.0-"]) {
      expect(errorOf([Package.make({ ...loggerFields, version })]).message).toBe(
        `Package "logger" is invalid: version "${version}" is not semver`
      )
    }
    const badRange = Package.make({ ...cacheFields, requires: [[Logger, "not a range"]] })
    expect(errorOf([logger, badRange])).toMatchObject({
      _tag: "InvalidPackage",
      package: "cache",
      reason: `range "not a range" for ${Logger.key} is not a semver range`
    })
  })

  it("rejects, from JavaScript, a name or version that is no string and an unknown status, showing what came", () => {
    const untyped = (fields: Record<string, unknown>) =>
      Package.make({ ...loggerFields, ...fields } as typeof loggerFields)
    const reasons = [
      untyped({ name: undefined }),
      untyped({ name: ["logger"] }),
      untyped({ name: "log\nger" }),
      untyped({ version: 1 }),
      untyped({ status: "stable" }),
      untyped({ provides: undefined }),
      untyped({ name: Symbol("logger") })
    ].map((pkg) => {
      const error = errorOf([pkg])
      return error._tag === "InvalidPackage" ? error.reason : error._tag
    })
    expect(reasons).toEqual([
      "name must be kebab-case (got undefined)",
      "name must be kebab-case (got an array)",
      `name must be kebab-case (got "log\\nger")`,
      "version must be a semver string (got a number)",
      `status must be one of "active", "beta", "deprecated" (got "stable")`,
      "provides must be a Context.Tag (got undefined)",
      "name must be kebab-case (got a symbol)"
    ])
    // the name is escaped in the message too, and one that is no string is named by its kind
    expect(errorOf([untyped({ name: "log\nger" })]).message).toBe(
      `Package "log\\nger" is invalid: name must be kebab-case (got "log\\nger")`
    )
    expect(errorOf([untyped({ name: Symbol("logger") })]).message).toBe(
      `Package "a symbol" is invalid: name must be kebab-case (got a symbol)`
    )
    const missingTag = Package.make({ ...cacheFields, requires: [undefined as unknown as typeof Logger] })
    expect(errorOf([logger, missingTag]).message).toBe(
      `Package "cache" is invalid: requires[0] must be a Context.Tag or a [tag, range] pair`
    )
    // a lone tag where a list belongs, and schedules given as a number of retries: typed errors, not a TypeError
    // thrown by Package.make or a setting silently ignored
    const odd = [
      untyped({ requires: Logger }),
      untyped({ initRetry: 3 }),
      untyped({ healthSchedule: "30 seconds" })
    ].map((pkg) => errorOf([pkg]).message)
    expect(odd).toEqual([
      `Package "logger" is invalid: requires must be an array of tags or [tag, range] pairs (got a lone Context.Tag)`,
      `Package "logger" is invalid: initRetry must be a Schedule (got 3)`,
      `Package "logger" is invalid: healthSchedule must be a Schedule (got "30 seconds")`
    ])
  })

  it("accepts any semver version, with a pre-release and build metadata, and matches ranges on it", () => {
    for (const version of ["0.0.0", "1.0.0-rc.1", "1.0.0+build.5", "1.0.0-beta.2+exp.sha.5114f85", "10.20.30"]) {
      expect(Either.isRight(Registry.validate([Package.make({ ...loggerFields, version })]))).toBe(true)
    }
    const built = Package.make({ ...loggerFields, version: "2.1.0+build.7" })
    expect(Either.isRight(Registry.validate([built, Package.make({ ...cacheFields, requires: [[Logger, "^2.1.0"]] })])))
      .toBe(true)
    expect(errorOf([built, Package.make({ ...cacheFields, requires: [[Logger, "^3.0.0"]] })])).toMatchObject({
      _tag: "IncompatibleVersion",
      version: "2.1.0+build.7"
    })
  })

  it("rejects a timeout that is not a positive duration, as a JavaScript caller may pass it", () => {
    const inputs: ReadonlyArray<unknown> = ["30s", "-1 seconds", 0, -5, NaN, "soon", {}]
    for (const input of inputs) {
      const init = (): Package.Any => Package.make({ ...loggerFields, initTimeout: input as Duration.DurationInput })
      expect(errorOf([init()]).message).toBe(
        `Package "logger" is invalid: initTimeout must be a positive duration, such as "30 seconds"`
      )
      const stop = (): Package.Any => Package.make({ ...loggerFields, stopTimeout: input as Duration.DurationInput })
      expect(errorOf([stop()])).toMatchObject({ _tag: "InvalidPackage", package: "logger" })
    }
    expect(Either.isRight(Registry.validate([Package.make({ ...loggerFields, initTimeout: Infinity })]))).toBe(true)
  })

  it.effect("Spine.layer fails with InvalidOptions for a spine timeout or interval that is not a positive duration", () =>
    Effect.gen(function*() {
      let built = false
      const watched = Package.make({
        ...loggerFields,
        layer: Layer.sync(Logger, () => {
          built = true
          return { log: () => {} }
        })
      })
      const cases: ReadonlyArray<readonly [Parameters<typeof Spine.layer>[0], string, string]> = [
        [
          { packages: [watched], defaults: { initTimeout: "30s" as Duration.DurationInput } },
          "defaults.initTimeout",
          `"30s"`
        ],
        [{ packages: [watched], defaults: { stopTimeout: -1 } }, "defaults.stopTimeout", "-1"],
        [{ packages: [watched], health: { interval: 0 } }, "health.interval", "0"],
        [{ packages: [watched], health: { timeout: "0 seconds" } }, "health.timeout", `"0 seconds"`]
      ]
      for (const [options, option, shown] of cases) {
        const error = yield* Effect.flip(Effect.scoped(Layer.build(Spine.layer(options))))
        expect(error).toMatchObject({ _tag: "InvalidOptions", option })
        expect(error.message).toBe(
          `Spine option ${option} must be a positive duration, such as "30 seconds" (got ${shown})`
        )
      }
      expect(built).toBe(false)
    }))

  it.effect("Spine.layer fails with InvalidOptions for a health count that is not a whole number from 1", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Health.Options, string, string]> = [
        // no check would ever run
        [{ concurrency: 0 }, "health.concurrency", "0"],
        [{ concurrency: 2.5 }, "health.concurrency", "2.5"],
        // never reached: a failing package would pass for good
        [{ failureThreshold: Infinity }, "health.failureThreshold", "Infinity"],
        [{ failureThreshold: NaN }, "health.failureThreshold", "NaN"],
        [{ successThreshold: -1 }, "health.successThreshold", "-1"],
        // from JavaScript
        [{ successThreshold: "2" as unknown as number }, "health.successThreshold", `"2"`]
      ]
      for (const [health, option, shown] of cases) {
        const error = yield* Effect.flip(Effect.scoped(Layer.build(Spine.layer({ packages: [], health }))))
        expect(error).toMatchObject({ _tag: "InvalidOptions", option })
        const example = option === "health.concurrency" ? 16 : 3
        expect(error.message).toBe(
          `Spine option ${option} must be a whole number from 1, such as ${example} (got ${shown})`
        )
      }
      // no bound at all
      const spine = yield* Effect.scoped(Effect.map(
        Layer.build(Spine.layer({ packages: [logger], health: { concurrency: Infinity } })),
        (context) => Context.get(context, Spine.Spine)
      ))
      expect(yield* spine.state("logger")).toBe("stopped")
    }))

  it.effect("Spine.layer fails with the validation error before anything starts", () =>
    Effect.gen(function*() {
      let built = false
      const probe = Package.make({
        name: "probe",
        version: "1.0.0",
        provides: Api,
        layer: Layer.effect(Api, Effect.sync(() => (built = true)).pipe(Effect.as({ port: 1 })))
      })
      const twin = Package.make({
        name: "probe",
        version: "2.0.0",
        provides: Db,
        layer: Layer.succeed(Db, { name: "" })
      })
      const exit = yield* Effect.exit(Layer.build(Spine.layer({ packages: [probe, twin] })).pipe(Effect.scoped))
      expect(exit).toStrictEqual(Exit.fail(errorOf([probe, twin])))
      expect(built).toBe(false)
    }))
})

const loggerFields = {
  name: "logger",
  version: "1.0.0",
  provides: Logger,
  layer: Layer.succeed(Logger, { log: () => {} })
} as const
const cacheFields = {
  name: "cache",
  version: "2.1.0",
  provides: Cache,
  requires: [Logger],
  layer: Layer.succeed(Cache, { size: 1 })
} as const

describe("Registry.validate: order, edges and versions", () => {
  const tagOf = (name: string) => Context.GenericTag<string, number>(`registry-edge/${name}`)
  const make = (name: string, requires: ReadonlyArray<Package.Requirement> = [], version = "1.0.0") =>
    Package.make({ name, version, provides: tagOf(name), requires, layer: Layer.succeed(tagOf(name), 1) })

  it.effect("topologicalOrder is the order the spine starts packages in: declared order where nothing decides", () =>
    Effect.gen(function*() {
      const diamond = Either.getOrThrow(Registry.validate([
        make("a", [tagOf("b"), tagOf("c")]),
        make("b", [tagOf("d")]),
        make("c", [tagOf("d")]),
        make("d")
      ]))
      expect(diamond.topologicalOrder).toEqual(["d", "b", "c", "a"])
      const started: Array<string> = []
      const recorded = (name: string) =>
        Package.make({
          name,
          version: "1.0.0",
          provides: tagOf(`started-${name}`),
          layer: Layer.effect(tagOf(`started-${name}`), Effect.sync(() => started.push(name)))
        })
      const order = yield* Effect.scoped(Effect.flatMap(
        Layer.build(
          Spine.layer({ packages: [recorded("x"), recorded("y"), recorded("z")], health: { enabled: false } })
        ),
        (context) => Effect.map(Context.get(context, Spine.Spine).graph, (graph) => graph.topologicalOrder)
      ))
      expect(started).toEqual(["x", "y", "z"])
      expect(order).toEqual(started)
    }))

  it("one edge per provider, however often it is required, labelled with each range apart", () => {
    const graph = Either.getOrThrow(Registry.validate([make("a", [tagOf("b"), [tagOf("b"), "^1.0.0"]]), make("b")]))
    expect(graph.toMermaid().match(/-->/g)).toHaveLength(1)
    expect(graph.toDot().match(/->/g)).toHaveLength(1)
    expect([graph.dependencies("a"), graph.dependents("b")]).toEqual([["b"], ["a"]])
    // two ranges side by side must not read as one: "^1.0.0 || ^2.0.0 >=1.2.0" would accept 1.0.0
    const both = Either.getOrThrow(
      Registry.validate([
        make("a", [[tagOf("b"), "^1.0.0 || ^2.0.0"], [tagOf("b"), ">=1.2.0"]]),
        make("b", [], "2.0.0")
      ])
    )
    expect(both.toDot()).toContain(`label="^1.0.0 || ^2.0.0, >=1.2.0"`)
  })

  it("versions are strict semver, and a range matches prereleases only as npm's does", () => {
    for (const version of ["v1.0.0", " 1.0.0", "1.0.0 "]) {
      expect(errorOf([make("a", [], version)])).toMatchObject({ _tag: "InvalidPackage", package: "a" })
    }
    const on = (range: string, version: string) =>
      Either.isRight(Registry.validate([make("a", [[tagOf("b"), range]]), make("b", [], version)]))
    expect(on(">=1.0.0 <2.0.0", "2.0.0-rc.1")).toBe(false)
    expect(on("^1.0.0", "1.5.0-rc.1")).toBe(false)
    expect(on("^1.5.0-rc.0", "1.5.0-rc.1")).toBe(true)
  })

  it("checks duplicate names before duplicate providers, as documented", () => {
    const twice = Package.make({
      name: "a",
      version: "1.0.0",
      provides: tagOf("y"),
      layer: Layer.succeed(tagOf("y"), 1)
    })
    const shared = Package.make({
      name: "b",
      version: "1.0.0",
      provides: tagOf("a"),
      layer: Layer.succeed(tagOf("a"), 1)
    })
    expect(errorOf([make("a"), shared, twice])).toMatchObject({ _tag: "DuplicatePackage", package: "a" })
  })
})

describe("Registry.statistics", () => {
  it("counts every package by status, and a package whose check warns as healthy", () => {
    const packages = [logger, { ...cache, status: "beta" as const }, { ...db, status: "beta" as const }]
    const health = (name: string, status: Health.HealthStatus): Health.PackageHealth => ({
      name,
      status,
      healthy: status !== "fail",
      lastCheck: new Date(0),
      durationMs: 1,
      errors: status === "fail" ? ["down"] : [],
      consecutiveFailures: status === "fail" ? 1 : 0
    })
    const statistics = Registry.statistics(packages.map((pkg) => ({ info: Package.info(pkg), state: "ready" })), {
      status: "fail",
      ready: false,
      live: true,
      overall: false,
      packages: { logger: health("logger", "pass"), cache: health("cache", "warn"), db: health("db", "fail") }
    })
    expect(statistics).toMatchObject({
      total: 3,
      byStatus: { active: 1, beta: 2, deprecated: 0 },
      byState: { ready: 3 },
      healthy: 2,
      unhealthy: 1
    })
  })
})
