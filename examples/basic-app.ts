/**
 * A small application built from six packages:
 *
 *   config ─► database ─► audit-log ─► api
 *     └─────► search-index (optional, fails) ─► search-sync (optional, skipped)
 *
 * It shows how a package is declared (a service tag, a layer, what it requires), how the spine starts packages in
 * dependency order and in parallel, how an optional package's failure degrades the app instead of stopping it, and
 * how everything is released in reverse order when the program ends or receives Ctrl-C / SIGTERM.
 *
 *   npm start                              boot, print a table, serve probes on PORT (8080), wait for Ctrl-C
 *   EXAMPLE_EXIT_AFTER_BOOT=1 npm start    boot, print a table, release everything and exit
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 npm start
 *                                          also export the boot trace, health check spans and metrics over OTLP
 */
import { Clock, Config, Console, Context, Data, Effect, Layer, Option, Redacted, Ref } from "effect"
import { Package, Spine, SpineHttp, SpineTelemetry } from "../src/index.js"

// ---------------------------------------------------------------------------------------------------------------------
// config: settings read with Effect's `Config` (environment variables by default). Every setting has a default, so
// the example runs without any. `Config.redacted` keeps the password out of logs and error messages.
// ---------------------------------------------------------------------------------------------------------------------

interface Settings {
  readonly appName: string
  readonly databaseUrl: string
  readonly databasePassword: Redacted.Redacted
  readonly searchUrl: string
}

class AppConfig extends Context.Tag("basic-app/AppConfig")<AppConfig, Settings>() {}

const ConfigPackage = Package.make({
  name: "config",
  version: "1.0.0",
  category: "core",
  provides: AppConfig,
  // The spine reads every package's `config` before any package starts, and reports all problems at once.
  config: Config.all({
    appName: Config.string("APP_NAME").pipe(Config.withDefault("basic-app")),
    databaseUrl: Config.string("DATABASE_URL").pipe(Config.withDefault("memory://basic-app")),
    databasePassword: Config.redacted("DATABASE_PASSWORD").pipe(
      Config.withDefault(Redacted.make("dev-only-password-42"))
    ),
    searchUrl: Config.string("SEARCH_URL").pipe(Config.withDefault("http://127.0.0.1:9200"))
  }),
  layer: (settings) =>
    Layer.scoped(
      AppConfig,
      Effect.acquireRelease(
        Effect.sleep("20 millis").pipe(Effect.as(settings)),
        () => Console.log("released config")
      )
    )
})

// ---------------------------------------------------------------------------------------------------------------------
// database: an in-memory key/value store. `acquireRelease` opens it and registers how to close it.
// ---------------------------------------------------------------------------------------------------------------------

interface DatabaseService {
  readonly get: (key: string) => Effect.Effect<Option.Option<string>>
  readonly set: (key: string, value: string) => Effect.Effect<void>
  readonly keys: (prefix: string) => Effect.Effect<ReadonlyArray<string>>
}

class Database extends Context.Tag("basic-app/Database")<Database, DatabaseService>() {}

const DatabasePackage = Package.make({
  name: "database",
  version: "2.3.1",
  category: "storage",
  provides: Database,
  requires: [AppConfig],
  initTimeout: "2 seconds",
  // Run on the spine's health interval, with its timeout; the result shows in `spine.health` and the report.
  health: (db) => Effect.map(db.keys(""), (keys) => ({ details: { keys: keys.length } })),
  metrics: (db) => Effect.map(db.keys(""), (keys) => ({ keys: keys.length })),
  layer: Layer.scoped(
    Database,
    Effect.gen(function*() {
      const { databasePassword } = yield* AppConfig
      const store = yield* Effect.acquireRelease(
        Effect.gen(function*() {
          yield* Effect.sleep("80 millis") // "connecting"
          // The secret is only unwrapped where it is used; printing `databasePassword` shows "<redacted>".
          if (Redacted.value(databasePassword).length === 0) return yield* Effect.dieMessage("empty database password")
          return new Map<string, string>()
        }),
        (store) => Effect.sync(() => store.clear()).pipe(Effect.zipRight(Console.log("released database")))
      )
      return Database.of({
        get: (key) => Effect.sync(() => Option.fromNullable(store.get(key))),
        set: (key, value) => Effect.sync(() => void store.set(key, value)),
        keys: (prefix) => Effect.sync(() => [...store.keys()].filter((key) => key.startsWith(prefix)))
      })
    })
  )
})

// ---------------------------------------------------------------------------------------------------------------------
// audit-log: records what happened, in the database.
// ---------------------------------------------------------------------------------------------------------------------

interface AuditLogService {
  readonly record: (action: string, subject: string) => Effect.Effect<void>
  readonly count: Effect.Effect<number>
}

class AuditLog extends Context.Tag("basic-app/AuditLog")<AuditLog, AuditLogService>() {}

const AuditLogPackage = Package.make({
  name: "audit-log",
  version: "1.1.0",
  category: "observability",
  provides: AuditLog,
  // A requirement may carry a semver range that the providing package's version must satisfy.
  requires: [[Database, "^2.0.0"]],
  layer: Layer.scoped(
    AuditLog,
    Effect.gen(function*() {
      const db = yield* Database
      const sequence = yield* Ref.make(0)
      yield* Effect.acquireRelease(Effect.sleep("40 millis"), () => Console.log("released audit-log"))
      return AuditLog.of({
        record: (action, subject) =>
          Effect.gen(function*() {
            const n = yield* Ref.updateAndGet(sequence, (n) => n + 1)
            const at = new Date(yield* Clock.currentTimeMillis).toISOString()
            yield* db.set(`audit:${n}`, JSON.stringify({ at, action, subject }))
          }),
        count: Effect.map(db.keys("audit:"), (keys) => keys.length)
      })
    })
  )
})

// ---------------------------------------------------------------------------------------------------------------------
// api: the application's own service, built on the database and the audit log.
// ---------------------------------------------------------------------------------------------------------------------

interface ApiService {
  readonly signUp: (email: string) => Effect.Effect<string>
  readonly findUser: (id: string) => Effect.Effect<Option.Option<string>>
}

class Api extends Context.Tag("basic-app/Api")<Api, ApiService>() {}

const ApiPackage = Package.make({
  name: "api",
  version: "0.4.0",
  category: "http",
  provides: Api,
  requires: [Database, AuditLog],
  layer: Layer.scoped(
    Api,
    Effect.gen(function*() {
      const db = yield* Database
      const audit = yield* AuditLog
      yield* Effect.acquireRelease(Effect.sleep("30 millis"), () => Console.log("released api"))
      return Api.of({
        signUp: (email) =>
          Effect.gen(function*() {
            const id = `user:${(yield* db.keys("user:")).length + 1}`
            yield* db.set(id, email)
            yield* audit.record("user.signed-up", id)
            return id
          }),
        findUser: (id) => db.get(id)
      })
    })
  )
})

// ---------------------------------------------------------------------------------------------------------------------
// search-index: optional. Its start fails (nothing listens on the search URL), so the app runs without search.
// search-sync: optional, depends on search-index, so the spine skips it.
// ---------------------------------------------------------------------------------------------------------------------

class ConnectionRefused extends Data.TaggedError("ConnectionRefused")<{ readonly url: string }> {
  override get message(): string {
    return `connection refused (${this.url})`
  }
}

class SearchIndex extends Context.Tag("basic-app/SearchIndex")<SearchIndex, {
  readonly query: (text: string) => Effect.Effect<ReadonlyArray<string>>
}>() {}

const SearchIndexPackage = Package.make({
  name: "search-index",
  version: "0.9.2",
  category: "search",
  provides: SearchIndex,
  requires: [AppConfig],
  optional: true,
  // The connection attempt fails before anything is acquired, so there is nothing to release.
  layer: Layer.effect(
    SearchIndex,
    Effect.gen(function*() {
      const { searchUrl } = yield* AppConfig
      yield* Effect.sleep("150 millis") // trying to connect...
      return yield* new ConnectionRefused({ url: searchUrl })
    })
  )
})

class SearchSync extends Context.Tag("basic-app/SearchSync")<SearchSync, {
  readonly reindex: Effect.Effect<void>
}>() {}

const SearchSyncPackage = Package.make({
  name: "search-sync",
  version: "0.9.2",
  category: "search",
  provides: SearchSync,
  requires: [SearchIndex, Database],
  optional: true,
  layer: Layer.scoped(
    SearchSync,
    Effect.acquireRelease(
      Effect.succeed(SearchSync.of({ reindex: Effect.void })),
      () => Console.log("released search-sync")
    )
  )
})

// ---------------------------------------------------------------------------------------------------------------------
// The spine: one layer providing `Spine.Spine` and the service of every required package (optional ones are not in
// its type: read them with `Effect.serviceOption`). The order of `packages` does not matter; `requires` does.
// ---------------------------------------------------------------------------------------------------------------------

const AppLive = Spine.layer({
  packages: [ApiPackage, AuditLogPackage, DatabasePackage, ConfigPackage, SearchSyncPackage, SearchIndexPackage],
  defaults: { initTimeout: "5 seconds", stopTimeout: "3 seconds" },
  hooks: {
    beforeShutdown: Console.log("\nstopping: releasing packages, dependents first"),
    afterShutdown: Console.log("stopped")
  }
})

// ---------------------------------------------------------------------------------------------------------------------
// The program: `Spine.runMain` boots, prints the boot table (`Report.toText`), runs `program` with the services, then
// serves until Ctrl-C / SIGTERM: readiness turns `fail` at once, then packages are released in reverse order and the
// shutdown table is printed; exit code 0. A failed boot prints the package and its cause and exits 1.
// ---------------------------------------------------------------------------------------------------------------------

const port = Number(process.env.PORT ?? 8080)
const exitAfterBoot = process.env.EXAMPLE_EXIT_AFTER_BOOT === "1"

const program = Effect.gen(function*() {
  const spine = yield* Spine.Spine
  yield* spine.checkHealth()

  const settings = yield* AppConfig
  yield* Console.log(`\n${settings.appName}: database ${settings.databaseUrl}, password ${settings.databasePassword}`)

  const api = yield* Api
  const id = yield* api.signUp("ada@example.com")
  const email = yield* api.findUser(id)
  const auditEvents = yield* (yield* AuditLog).count
  yield* Console.log(
    `api: signed up ${Option.getOrElse(email, () => "?")} as ${id}; audit log: ${auditEvents} event(s)`
  )

  // An optional service is used only if it started.
  const search = yield* Effect.serviceOption(SearchIndex)
  yield* Console.log(`search: ${Option.isSome(search) ? "available" : "unavailable, the app runs without it"}`)
  if (!exitAfterBoot) {
    yield* Console.log(`\nprobes on http://localhost:${port}/readyz, metrics on /metrics; press Ctrl-C to stop`)
  }
})

// OpenTelemetry below the spine, so that the boot is traced; OTLP export follows the OTEL_* environment variables.
const TelemetryLive = SpineTelemetry.layer({ serviceName: "basic-app", serviceVersion: "1.0.0" })

// HTTP probes, metrics and reports (/livez, /readyz, /metrics, /health, /report, /graph), provided below the spine:
// the server listens before the first package starts and answers until the last one is released.
const ServerLive = AppLive.pipe(Layer.provideMerge(SpineHttp.layer({ port })), Layer.provide(TelemetryLive))

Spine.runMain(ServerLive, { program, keepAlive: !exitAfterBoot, shutdownDelay: exitAfterBoot ? 0 : "200 millis" })
