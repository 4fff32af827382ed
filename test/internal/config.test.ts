/**
 * Reading every package's configuration before any starts: all problems at
 * once, secrets never shown.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Context, Effect, Exit, Layer, Option, Redacted } from "effect"
import { Package, Spine } from "../../src/index.js"

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
      expect(invalid.message).toContain("3 issues")
      expect(invalid.message).not.toContain("hunter2")
      expect(JSON.stringify(invalid)).not.toContain("hunter2")
    }))

  it.effect("says a secret is missing, where Effect says only <redacted>; a bad secret's value stays hidden", () =>
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
        { package: "auth", path: "JWT_PIN", message: "<redacted>" }
      ])
    }))
})
