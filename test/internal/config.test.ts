/**
 * Reading every package's configuration before any starts: all problems at
 * once, secrets never shown.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Context, Effect, Exit, Layer, Option, Redacted } from "effect"
import { Package, Spine, SpineError } from "../../src/index.js"

describe("package configuration", () => {
  it.effect("reports every configuration problem of every package at once, secrets redacted", () =>
    Effect.gen(function*() {
      const Db = Context.GenericTag<"Db", { readonly url: string }>("test/Db")
      const Jwt = Context.GenericTag<"Jwt", { readonly ttl: number }>("test/Jwt")
      const db = Package.make({
        name: "database",
        version: "1.0.0",
        provides: Db,
        config: Config.all({ url: Config.string("DB_URL"), password: Config.redacted(Config.integer("DB_PASSWORD")) }),
        layer: ({ url }) => Layer.succeed(Db, { url })
      })
      const jwt = Package.make({
        name: "auth",
        version: "1.0.0",
        provides: Jwt,
        config: Config.all({ secret: Config.redacted("JWT_SECRET"), ttl: Config.integer("JWT_TTL") }),
        layer: ({ secret, ttl }) => Layer.succeed(Jwt, { ttl: ttl + Redacted.value(secret).length })
      })
      const provider = ConfigProvider.fromMap(
        new Map([["DB_PASSWORD", "hunter2-not-a-number"], ["JWT_SECRET", "s3cr3t"], ["JWT_TTL", "soon"]])
      )
      const exit = yield* Effect.exit(
        Effect.scoped(Layer.build(Spine.layer({ packages: [db, jwt] }))).pipe(Effect.withConfigProvider(provider))
      )
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.map(error, (e) => e._tag)).toEqual(Option.some("InvalidConfig"))
      const invalid = Option.getOrThrow(error)
      if (invalid._tag !== "InvalidConfig") return expect.unreachable()
      expect(invalid.issues.map((issue) => [issue.package, issue.path])).toEqual([
        ["database", "DB_URL"],
        ["database", "DB_PASSWORD"],
        ["auth", "JWT_TTL"]
      ])
      expect(invalid.packages).toEqual(["database", "auth"])
      expect(invalid.message).toBe(
        "Invalid configuration (3 issues):\n" +
          "  database: DB_URL: Expected DB_URL to exist in the provided map\n" +
          "  database: DB_PASSWORD: Invalid value for DB_PASSWORD (a secret: the value and the reason are hidden)\n" +
          `  auth: JWT_TTL: Expected an integer value but received "soon"`
      )
      expect(invalid.message).not.toContain("hunter2")
      expect(JSON.stringify(invalid)).not.toContain("hunter2")
    }))

  it.effect("says a secret is missing or invalid, where Effect says only <redacted>; its value stays hidden", () =>
    Effect.gen(function*() {
      const Jwt = Context.GenericTag<"Jwt", number>("test/MissingSecret")
      const jwt = Package.make({
        name: "auth",
        version: "1.0.0",
        provides: Jwt,
        config: Config.all({ secret: Config.redacted("JWT_SECRET"), pin: Config.redacted(Config.integer("JWT_PIN")) }),
        layer: ({ secret }) => Layer.succeed(Jwt, Redacted.value(secret).length)
      })
      const error = yield* Effect.flip(Effect.scoped(Layer.build(Spine.layer({ packages: [jwt] })))).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["JWT_PIN", "hunter2"]])))
      )
      if (error._tag !== "InvalidConfig") return expect.unreachable()
      expect(error.issues).toEqual([
        { package: "auth", path: "JWT_SECRET", message: "Expected JWT_SECRET to exist (a secret)" },
        {
          package: "auth",
          path: "JWT_PIN",
          message: "Invalid value for JWT_PIN (a secret: the value and the reason are hidden)"
        }
      ])
    }))

  const tagOf = (name: string) => Context.GenericTag<string, number>(`config/${name}`)
  const started: Array<string> = []
  const reading = <A>(name: string, config: Config.Config<A>, options: { readonly feature?: string } = {}) =>
    Package.make({
      name,
      version: "1.0.0",
      provides: tagOf(name),
      optional: options.feature !== undefined,
      ...options,
      config,
      layer: () => Layer.sync(tagOf(name), () => started.push(name))
    })
  const invalidConfig = (
    layer: Layer.Layer<Spine.Spine, unknown>,
    values: ReadonlyArray<readonly [string, string]>
  ) =>
    Effect.flatMap(
      Effect.flip(Effect.scoped(Layer.build(layer))).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(values)))
      ),
      (error) => error instanceof SpineError.InvalidConfig ? Effect.succeed(error) : Effect.die(error)
    )

  const mappedThrew =
    "reading its configuration threw an Error, whose message may quote a secret and is not shown (Config.mapAttempt names the key)"

  it.effect("a layer function that throws is one more problem of its package, reported with the others", () =>
    Effect.gen(function*() {
      started.length = 0
      const port = Package.make({
        name: "port",
        version: "1.0.0",
        provides: tagOf("port"),
        optional: true,
        config: Config.integer("PORT"),
        layer: (value) => {
          if (value < 1024) throw new Error(`privileged port ${value}`)
          return Layer.sync(tagOf("port"), () => started.push("port"))
        }
      })
      const error = yield* invalidConfig(
        Spine.layer({
          packages: [
            reading("first", Config.string("FIRST")),
            port,
            reading("last", Config.integer("LAST")),
            reading(
              "mapped",
              Config.map(Config.string("MAPPED"), (value): string => {
                throw new Error(`cannot map ${value}`)
              })
            )
          ]
        }),
        [["PORT", "80"], ["LAST", "x"], ["MAPPED", "m"]]
      )
      expect(error.issues).toEqual([
        { package: "first", path: "FIRST", message: "Expected FIRST to exist in the provided map" },
        { package: "port", path: "", message: "layer(config) threw: privileged port 80" },
        { package: "last", path: "LAST", message: "Expected an integer value but received \"x\"" },
        // a throw while reading the configuration is not blamed on the layer function
        { package: "mapped", path: "", message: mappedThrew }
      ])
      expect(error.message).toBe(
        "Invalid configuration (4 issues):\n" +
          "  first: FIRST: Expected FIRST to exist in the provided map\n" +
          "  port: layer(config) threw: privileged port 80\n" +
          "  last: LAST: Expected an integer value but received \"x\"\n" +
          `  mapped: ${mappedThrew}`
      )
      expect(started).toEqual([])
      // the package's own load fails the same way, with a ConfigError
      const refused = yield* Effect.flip(port.load).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PORT", "80"]])))
      )
      expect(refused).toMatchObject({
        _op: "InvalidData",
        path: [],
        message: "layer(config) threw: privileged port 80"
      })
    }))

  it.effect("a feature flag that cannot be read is a problem of each package it gates", () =>
    Effect.gen(function*() {
      started.length = 0
      const error = yield* invalidConfig(
        Spine.layer({
          packages: [
            reading("beta-a", Config.string("A"), { feature: "beta" }),
            reading("beta-b", Config.string("B"), { feature: "beta" }),
            reading("plain", Config.integer("PLAIN"))
          ],
          features: { beta: Config.boolean("BETA"), unused: Config.boolean("UNUSED") }
        }),
        [["BETA", "maybe"], ["UNUSED", "sometimes"], ["PLAIN", "x"]]
      )
      const flag = (name: string, value: string) =>
        `feature "${name}": Expected a boolean value but received "${value}"`
      expect(error.issues).toEqual([
        { package: "beta-a", path: "BETA", message: flag("beta", "maybe") },
        { package: "beta-b", path: "BETA", message: flag("beta", "maybe") },
        // a flag that gates nothing is an issue of its own
        { package: `feature "unused"`, path: "UNUSED", message: `Expected a boolean value but received "sometimes"` },
        { package: "plain", path: "PLAIN", message: "Expected an integer value but received \"x\"" }
      ])
      expect(error.packages).toEqual(["beta-a", "beta-b", `feature "unused"`, "plain"])
      expect(started).toEqual([])
    }))
  it.effect("a flag whose Config throws, or that is not a boolean nor a Config, is a problem, not a crash", () =>
    Effect.gen(function*() {
      started.length = 0
      const throwing = Config.map(Config.string("MODE"), (mode): boolean => {
        throw new Error(`unknown mode ${mode}`)
      })
      // from plain JavaScript, which no type stops
      const text = "yes" as unknown as boolean
      const error = yield* invalidConfig(
        Spine.layer({
          packages: [reading("beta", Config.string("A"), { feature: "beta" }), reading("plain", Config.string("A"))],
          features: {
            beta: throwing,
            typed: text,
            mistyped: Config.string("MAIL") as unknown as Config.Config<boolean>
          }
        }),
        [["MODE", "fast"], ["A", "a"], ["MAIL", "true"]]
      )
      expect(error.issues).toEqual([
        {
          package: "beta",
          path: "",
          message: `feature "beta": reading it threw an Error, whose message may quote a secret and is not shown ` +
            `(Config.mapAttempt names the key)`
        },
        {
          package: `feature "typed"`,
          path: "",
          message: "Expected a boolean or a Config<boolean>, but got a string"
        },
        // a Config that gives no boolean: refused, not taken as off
        { package: `feature "mistyped"`, path: "", message: expect.stringContaining("Expected a boolean") }
      ])
      expect(started).toEqual([])
    }))

  it.effect("a layer that is not a Layer is a problem of its package: none of them starts", () =>
    Effect.gen(function*() {
      started.length = 0
      const Store = Context.GenericTag<"Store", string>("config/Store")
      const drivers: Record<string, Layer.Layer<"Store">> = { memory: Layer.succeed(Store, "memory") }
      // a driver the table lacks: `drivers[driver]` is undefined, which the types let through
      const store = Package.make({
        name: "store",
        version: "1.0.0",
        provides: Store,
        config: Config.string("DRIVER"),
        layer: (driver) => drivers[driver]
      })
      // from plain JavaScript: no layer at all
      const bare = Package.make({
        name: "bare",
        version: "1.0.0",
        provides: tagOf("bare"),
        layer: undefined as unknown as Layer.Layer<string>
      })
      const error = yield* invalidConfig(
        Spine.layer({ packages: [store, bare, reading("plain", Config.string("A"))] }),
        [["DRIVER", "postgres"], ["A", "a"]]
      )
      expect(error.issues).toEqual([
        { package: "store", path: "", message: "layer(config) returned undefined, not a Layer" },
        { package: "bare", path: "", message: "its layer is undefined, not a Layer" }
      ])
      expect(started).toEqual([])
    }))
  it.effect("a config that is not a Config (the settings themselves, from JavaScript) is named by kind, not shown", () =>
    Effect.gen(function*() {
      const Db = Context.GenericTag<"Db", string>("config/Db")
      const settings = { url: "postgres://app:hunter2@db/app" }
      const db = Package.make({
        name: "database",
        version: "1.0.0",
        provides: Db,
        config: settings as unknown as Config.Config<typeof settings>,
        layer: ({ url }) => Layer.succeed(Db, url)
      })
      const error = yield* invalidConfig(Spine.layer({ packages: [db] }), [])
      expect(error.issues).toEqual([{
        package: "database",
        path: "",
        message: "its config is an object, not a Config"
      }])
      expect(JSON.stringify(error) + error.message).not.toContain("hunter2")
    }))
  it.effect("a secret a Config.map throws on stays hidden; another failure, from JavaScript, is an issue too", () =>
    Effect.gen(function*() {
      const Db = Context.GenericTag<"Db", string>("config/DbJson")
      const parsed = Package.make({
        name: "parsed",
        version: "1.0.0",
        provides: Db,
        // JSON.parse's message quotes the text it was given: here, the secret
        config: Config.map(
          Config.redacted("DB_JSON"),
          (json): { readonly url: string } => JSON.parse(Redacted.value(json))
        ),
        layer: ({ url }) => Layer.succeed(Db, url)
      })
      const vault = Package.make({
        name: "vault",
        version: "1.0.0",
        provides: tagOf("vault"),
        // an Effect that is no Config, failing with an error of its own
        config: Effect.fail(new Error("vault sealed")) as unknown as Config.Config<string>,
        layer: () => Layer.succeed(tagOf("vault"), 1)
      })
      const error = yield* invalidConfig(Spine.layer({ packages: [parsed, vault] }), [["DB_JSON", "hunter2"]])
      expect(error.issues).toEqual([
        {
          package: "parsed",
          path: "",
          message: "reading its configuration threw a SyntaxError, whose message may quote a secret and is not shown " +
            "(Config.mapAttempt names the key)"
        },
        { package: "vault", path: "", message: "reading its configuration failed: vault sealed" }
      ])
      expect(error.message).not.toContain("hunter2")
    }))
})
