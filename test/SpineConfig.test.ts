import { describe, expect, it } from "@effect/vitest"
import { Cause, Config, ConfigError, Context, Effect, Exit, Layer, Option, Redacted } from "effect"
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
        // an overlay merges into the file's objects: the URL it leaves alone stays
        "config.staging.json": { A: "staging", DB: { POOL: "9" } }
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
      const db = Config.nested(Config.all([Config.string("URL"), Config.string("POOL")]), "DB")
      // the overlay named in code wins over NODE_ENV's
      expect(yield* read(db, { ...options, environment: "staging" })).toEqual(["pg://file", "9"])
    }))

  it.effect("a value the first source has but cannot parse is an error, not a reason to look further", () =>
    Effect.gen(function*() {
      const path = files({ "config.json": { PORT: 5432 }, "config.production.json": { PORT: "five" } })
      const fromEnv = yield* Effect.flip(read(Config.port("PORT"), { env: { PORT: "oops" }, defaults: { PORT: 3000 } }))
      expect(fromEnv.toString()).toContain("oops")
      const fromOverlay = yield* Effect.flip(
        read(Config.port("PORT"), { file: path("config.json"), env: {}, environment: "production" })
      )
      expect(fromOverlay.toString()).toContain("five")
      expect(yield* read(Config.port("PORT"), { file: path("config.json"), env: {} })).toBe(5432)
    }))

  it.effect("a list comes whole from the first source that has it", () =>
    Effect.gen(function*() {
      const hosts = Config.array(Config.string(), "HOSTS")
      const path = files({ "config.json": { HOSTS: ["a", "b", "c"] }, "config.production.json": { HOSTS: ["x"] } })
      const options = { file: path("config.json"), env: {}, defaults: { HOSTS: ["d1", "d2", "d3", "d4"] } }
      expect(yield* read(hosts, options)).toEqual(["a", "b", "c"])
      expect(yield* read(hosts, { ...options, environment: "production" })).toEqual(["x"])
      expect(yield* read(hosts, { ...options, env: { HOSTS: "e1,e2" } })).toEqual(["e1", "e2"])
      expect(yield* read(hosts, { defaults: { HOSTS: ["d1"] }, env: {} })).toEqual(["d1"])
    }))

  it.effect("an empty NODE_ENV counts as unset: the development overlay applies", () =>
    Effect.gen(function*() {
      const path = files({ "config.json": { A: "base" }, "config.development.json": { A: "development" } })
      expect(yield* read(Config.string("A"), { file: path("config.json"), env: { NODE_ENV: "" } })).toBe("development")
    }))

  it.effect("an empty variable counts as unset: the file's value applies, or the key is missing, never 0", () =>
    Effect.gen(function*() {
      const path = files({ "config.json": { PORT: 8080 } })
      for (const empty of ["", "  "]) {
        expect(yield* read(Config.port("PORT"), { file: path("config.json"), env: { PORT: empty } })).toBe(8080)
        const missing = yield* Effect.flip(read(Config.integer("PORT"), { env: { PORT: empty } }))
        expect(ConfigError.isConfigError(missing) && ConfigError.isMissingDataOnly(missing)).toBe(true)
      }
    }))

  it.effect("a file that is not a JSON object, or not JSON, fails naming it and never quoting it", () =>
    Effect.gen(function*() {
      const path = files({
        "null.json": "null",
        "list.json": "[1, 2]",
        "secret.json": `{ "A": 1,\n  "JWT_SECRET": hunter2-very-secret }`,
        "broken.json": "{ not json"
      })
      for (const name of ["null.json", "list.json"]) {
        const error = yield* Effect.flip(SpineConfig.provider({ file: path(name), env: {} }))
        expect(error).toMatchObject({ _tag: "ConfigFileError", path: path(name), reason: "must hold a JSON object" })
      }
      const secret = yield* Effect.flip(SpineConfig.provider({ file: path("secret.json"), env: {} }))
      expect(secret.reason).toMatch(/^not valid JSON/)
      expect(`${secret.message} ${String(secret)} ${JSON.stringify(secret)}`).not.toContain("hunter2")
      const broken = yield* Effect.flip(SpineConfig.provider({ file: path("broken.json"), env: {} }))
      expect(broken.reason).toBe("not valid JSON (line 1, column 3)")
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

      // a key missing from every source is one issue, not one per source
      const missing = yield* Effect.flip(Effect.scoped(Layer.build(
        Spine.layer({ packages: [db] }).pipe(
          Layer.provide(SpineConfig.layer({ env: {}, defaults: { OTHER: 1 } }))
        )
      )))
      if (missing._tag !== "InvalidConfig") return expect.unreachable(missing._tag)
      expect(missing.issues.map((issue) => [issue.package, issue.path])).toEqual([
        ["database", "DB_PORT"],
        ["database", "DB_HOST"]
      ])
    }))
})
