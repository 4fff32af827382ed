import { describe, expect, it } from "@effect/vitest"
import { Cause, Config, Context, Effect, Exit, Layer, Option, Redacted } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Package, Spine, SpineConfig } from "../src/index.js"

const files = (entries: Record<string, unknown>) => {
  const dir = mkdtempSync(join(tmpdir(), "spine-config-"))
  for (const [name, content] of Object.entries(entries)) {
    writeFileSync(join(dir, name), typeof content === "string" ? content : JSON.stringify(content))
  }
  return (name: string) => join(dir, name)
}

const read = <A>(config: Config.Config<A>, options: SpineConfig.Options) =>
  Effect.flatMap(SpineConfig.provider(options), (provider) => Effect.withConfigProvider(config, provider))

describe("SpineConfig.provider", () => {
  it.effect("takes each key from the first source that has it: env > overlay > file > defaults", () =>
    Effect.gen(function*() {
      const path = files({
        "config.json": { A: "file", B: "file", C: "file", DB: { URL: "pg://file" } },
        "config.production.json": { A: "overlay", B: "overlay" },
        "config.staging.json": { A: "staging" }
      })
      const options = {
        file: path("config.json"),
        env: { A: "env", NODE_ENV: "production" },
        defaults: { A: "default", B: "default", C: "default", D: "default" }
      }
      const config = Config.all([
        Config.string("A"),
        Config.string("B"),
        Config.string("C"),
        Config.string("D"),
        Config.nested(Config.string("URL"), "DB")
      ])
      expect(yield* read(config, options)).toEqual(["env", "overlay", "file", "default", "pg://file"])
      expect(yield* read(config, { ...options, env: {}, environment: "staging" })).toEqual([
        "staging",
        "file",
        "file",
        "default",
        "pg://file"
      ])
      expect(yield* read(Config.nested(Config.string("URL"), "DB"), { env: { DB_URL: "pg://env" } })).toBe("pg://env")
    }))

  it.effect("names the file it cannot read or parse", () =>
    Effect.gen(function*() {
      const path = files({ "broken.json": "{ not json" })
      const missing = yield* Effect.flip(SpineConfig.provider({ file: path("nope.json") }))
      expect(missing).toMatchObject({ _tag: "ConfigFileError", path: path("nope.json") })
      const broken = yield* Effect.flip(SpineConfig.provider({ file: path("broken.json") }))
      expect(broken.message).toContain(`Configuration file ${path("broken.json")}:`)
      expect(SpineConfig.overlayPath("/etc/app/config.json", "production")).toBe("/etc/app/config.production.json")
    }))

  it.effect("one InvalidConfig lists every package's issues, whatever the source, secrets redacted", () =>
    Effect.gen(function*() {
      const path = files({ "config.json": { DB_PORT: "not-a-port", JWT_SECRET: "s3cr3t-from-file", JWT_TTL: "soon" } })
      const Db = Context.GenericTag<"Db", number>("cfg/Db")
      const Jwt = Context.GenericTag<"Jwt", number>("cfg/Jwt")
      const db = Package.make({
        name: "database",
        version: "1.0.0",
        provides: Db,
        config: Config.all({ port: Config.port("DB_PORT"), host: Config.string("DB_HOST") }),
        layer: ({ port }) => Layer.succeed(Db, port)
      })
      const jwt = Package.make({
        name: "auth",
        version: "1.0.0",
        provides: Jwt,
        config: Config.all({ secret: Config.redacted("JWT_SECRET"), ttl: Config.integer("JWT_TTL") }),
        layer: ({ secret, ttl }) => Layer.succeed(Jwt, Redacted.value(secret).length + ttl)
      })
      const app = Spine.layer({ packages: [db, jwt] }).pipe(
        Layer.provide(SpineConfig.layer({ file: path("config.json"), env: { DB_HOST: "localhost" } }))
      )
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(app)))
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      const invalid = Option.getOrThrow(error)
      if (invalid._tag !== "InvalidConfig") return expect.unreachable(invalid._tag)
      expect(invalid.issues.map((issue) => [issue.package, issue.path])).toEqual([
        ["database", "DB_PORT"],
        ["auth", "JWT_TTL"]
      ])
      expect(invalid.issues[0].message).toBe(`Expected a network port value but received "not-a-port"`)
      expect(JSON.stringify(invalid) + invalid.message).not.toContain("s3cr3t")
    }))
})
