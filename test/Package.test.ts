import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Config, ConfigProvider, Context, Duration, Effect, Layer, Schedule } from "effect"
import type { Package as P, Plugin, SpineError } from "../src/index.js"
import { Package, Spine } from "../src/index.js"

class Logger extends Context.Tag("pkg/Logger")<Logger, { readonly log: (line: string) => void }>() {}
class Cache extends Context.Tag("pkg/Cache")<Cache, { readonly size: number }>() {}
class Db extends Context.Tag("pkg/Db")<Db, { readonly url: string }>() {}
class Search extends Context.Tag("pkg/Search")<Search, { readonly query: (q: string) => number }>() {}
class Mail extends Context.Tag("pkg/Mail")<Mail, { readonly send: (to: string) => void }>() {}

const DbLive = Layer.effect(Db, Effect.map(Cache, (cache) => ({ url: `db?cache=${cache.size}` })))

const mail = Package.make({
  name: "mail",
  version: "1.0.0",
  provides: Mail,
  feature: "mail",
  layer: Layer.succeed(Mail, { send: () => {} })
})

describe("Package.make", () => {
  it("fills defaults and normalises requirements", () => {
    const pkg = Package.make({
      name: "db",
      version: "1.4.0",
      provides: Db,
      requires: [Logger, [Cache, "^2.1.0"]],
      initTimeout: "10 seconds",
      initRetry: Schedule.recurs(2),
      layer: DbLive
    })
    expect(pkg.category).toBe("custom")
    expect(pkg.status).toBe("active")
    expect(pkg.optional).toBe(false)
    expect(pkg.initTimeout).toEqual(Duration.seconds(10))
    expect(pkg.stopTimeout).toBeUndefined()
    expect(Package.info(pkg)).toEqual({
      name: "db",
      version: "1.4.0",
      category: "custom",
      status: "active",
      provides: "pkg/Db",
      requires: [{ tag: "pkg/Logger" }, { tag: "pkg/Cache", range: "^2.1.0" }],
      optional: false
    })
    expect(Package.isPackage(pkg)).toBe(true)
    expect(Package.isPackage({ name: "db" })).toBe(false)
    expect(Package.info(mail)).toMatchObject({ name: "mail", feature: "mail" })
  })

  it("types the requirements from `requires`", () => {
    const pkg = Package.make({
      name: "db",
      version: "1.0.0",
      provides: Db,
      requires: [Logger, [Cache, "^2"]],
      layer: DbLive
    })
    expectTypeOf(pkg).toEqualTypeOf<P.Package<Db, Db["Type"], Logger | Cache, false>>()
  })

  it("rejects at compile time a layer that needs an undeclared tag", () => {
    const declared = Package.make({
      name: "db",
      version: "1.0.0",
      provides: Db,
      requires: [Logger],
      // @ts-expect-error the layer needs Cache, which `requires` does not list
      layer: DbLive
    })
    expect(declared.requires.map((d) => d.tag.key)).toEqual(["pkg/Logger"])
  })

  it("marks optional and feature-gated packages as gated in the type", () => {
    const search = Package.make({
      name: "search",
      version: "1.0.0",
      provides: Search,
      optional: true,
      layer: Layer.succeed(Search, { query: () => 0 })
    })
    expectTypeOf(search).toEqualTypeOf<P.Package<Search, Search["Type"], never, true>>()
    expectTypeOf(mail).toEqualTypeOf<P.Package<Mail, Mail["Type"], never, true>>()
    expect([Package.isGated(search), Package.isGated(mail)]).toEqual([true, true])
  })

  it.effect("reads `config` and passes it to the layer function", () =>
    Effect.gen(function*() {
      const pkg = Package.make({
        name: "db",
        version: "1.0.0",
        provides: Db,
        config: Config.string("DB_URL"),
        layer: (url) => Layer.succeed(Db, { url })
      })
      const layer = yield* Effect.withConfigProvider(pkg.load, ConfigProvider.fromMap(new Map([["DB_URL", "pg://x"]])))
      const db = yield* Effect.provide(Db, layer)
      expect(db.url).toBe("pg://x")
    }))
})

describe("Spine.layer types", () => {
  it("provides Spine and required packages; requires what no package provides", () => {
    const logger = Package.make({
      name: "logger",
      version: "1.0.0",
      provides: Logger,
      layer: Layer.succeed(Logger, { log: () => {} })
    })
    const db = Package.make({ name: "db", version: "1.0.0", provides: Db, requires: [Cache], layer: DbLive })
    const search = Package.make({
      name: "search",
      version: "1.0.0",
      provides: Search,
      requires: [Db],
      optional: true,
      layer: Layer.succeed(Search, { query: () => 0 })
    })
    const app = Spine.layer({ packages: [logger, db, search, mail] })
    expectTypeOf(app).toEqualTypeOf<
      Layer.Layer<Spine.Spine | Plugin.Extensions | Logger | Db, SpineError.SpineError, Cache>
    >()
    expect(Layer.isLayer(app)).toBe(true)
  })
})

describe("type-level edge cases", () => {
  it("promises nothing for a package that may be optional, or whose type is unknown", () => {
    const flag: boolean = process.env.SEARCH_OPTIONAL === "1"
    const maybe = Package.make({
      name: "search",
      version: "1.0.0",
      provides: Search,
      optional: flag,
      layer: Layer.succeed(Search, { query: () => 0 })
    })
    expectTypeOf<P.Provided<typeof maybe>>().toEqualTypeOf<never>()
    expectTypeOf<P.Provided<P.Any>>().toEqualTypeOf<never>()
    type Unknown = ReadonlyArray<P.Any>
    expectTypeOf(Spine.layer({ packages: [maybe] })).toEqualTypeOf<
      Layer.Layer<Spine.Spine | Plugin.Extensions, SpineError.SpineError>
    >()
    expectTypeOf<Layer.Layer.Success<ReturnType<typeof Spine.layer<Unknown, []>>>>().toEqualTypeOf<
      Spine.Spine | Plugin.Extensions
    >()
    expectTypeOf<Layer.Layer.Context<ReturnType<typeof Spine.layer<Unknown, []>>>>().toEqualTypeOf<never>()
    expect(Package.isGated(maybe)).toBe(flag)
  })

  it("rejects at compile time a replacement layer that needs what the package does not declare", () => {
    const logger = Package.make({
      name: "logger",
      version: "1.0.0",
      provides: Logger,
      layer: Layer.succeed(Logger, { log: () => {} })
    })
    const needsCache = Layer.effect(Logger, Effect.as(Cache, { log: () => {} }))
    // @ts-expect-error the layer needs Cache, which the package does not require
    const replaced = Package.withLayer(logger, needsCache)
    expect(replaced.requires).toEqual([])
  })
})
