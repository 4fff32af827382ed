import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect } from "effect"
import { SpineError } from "../src/index.js"

/**
 * Every error's message, as a user reads it in a log, a failed boot or an
 * event: what went wrong, and every package, plugin, tag, range and limit
 * involved.
 */
const cases: ReadonlyArray<readonly [Error & { readonly _tag: string }, string]> = [
  [new SpineError.DuplicatePackage({ package: "db" }), `Package "db" is registered more than once`],
  [
    new SpineError.DuplicatePackage({ package: "db", registeredBy: ["the spine's options", `plugin "store"`] }),
    `Package "db" is registered more than once, by the spine's options and plugin "store"`
  ],
  [
    new SpineError.DuplicateProvider({ tag: "app/Db", packages: ["db", "db2"] }),
    `Packages "db" and "db2" both provide app/Db`
  ],
  [
    new SpineError.InvalidOptions({ option: "defaults.initTimeout", reason: "must be a positive duration" }),
    "Spine option defaults.initTimeout must be a positive duration"
  ],
  [new SpineError.DuplicatePlugin({ plugin: "timing" }), `Plugin "timing" is registered more than once`],
  [
    new SpineError.DuplicateHandler({ hook: "auth.providers", handler: "github" }),
    `Extension point auth.providers has more than one handler named "github"`
  ],
  [new SpineError.DependencyCycle({ cycle: ["a", "b", "c", "a"] }), "Dependency cycle: a -> b -> c -> a"],
  [
    new SpineError.MissingDependency({ package: "api", dependency: "app/Db" }),
    `Package "api" requires app/Db, which no package provides and the context lacks`
  ],
  [
    new SpineError.IncompatibleVersion({ package: "api", dependency: "db", range: "^2.0.0", version: "1.4.0" }),
    `Package "api" requires "db" ^2.0.0, but "db" is 1.4.0`
  ],
  [
    new SpineError.RequiredDependsOnOptional({ package: "api", dependency: "cache", reason: "optional" }),
    `Required package "api" depends on optional package "cache"`
  ],
  [
    new SpineError.RequiredDependsOnOptional({ package: "api", dependency: "ai", reason: "feature" }),
    `Required package "api" depends on feature-gated package "ai"`
  ],
  [
    new SpineError.InvalidPackage({ package: "bad\nname", reason: "name must be kebab-case" }),
    `Package "bad\\nname" is invalid: name must be kebab-case`
  ],
  [
    new SpineError.InvalidConfig({
      issues: [
        { package: "db", path: "DB_URL", message: "Expected DB_URL to exist" },
        { package: "api", path: "", message: "Expected a port" }
      ]
    }),
    "Invalid configuration (2 issues):\n  db: DB_URL: Expected DB_URL to exist\n  api: Expected a port"
  ],
  [
    new SpineError.InvalidConfig({ issues: [{ package: "db", path: "DB_URL", message: "missing" }] }),
    "Invalid configuration (1 issue):\n  db: DB_URL: missing"
  ],
  [
    new SpineError.PackageInitFailed({ package: "db", attempts: 1, cause: Cause.empty, reason: "refused" }),
    `Package "db" failed to start after 1 attempt: refused`
  ],
  [
    new SpineError.PackageInitFailed({ package: "db", attempts: 3, cause: Cause.empty, reason: "refused" }),
    `Package "db" failed to start after 3 attempts: refused`
  ],
  [
    new SpineError.PackageInitTimeout({ package: "db", timeout: Duration.seconds(30), attempts: 1 }),
    `Package "db" did not start within 30s`
  ],
  [
    new SpineError.PackageStopTimeout({ package: "db", timeout: Duration.millis(1500) }),
    `Package "db" did not stop within 1s 500ms`
  ],
  [
    new SpineError.HookTimeout({ hook: "beforeShutdown", plugin: undefined, timeout: Duration.seconds(10) }),
    "beforeShutdown hook of the spine's options did not finish within 10s"
  ],
  [
    new SpineError.HookTimeout({ hook: "afterInit", plugin: "timing", timeout: Duration.seconds(2) }),
    `afterInit hook of plugin "timing" did not finish within 2s`
  ],
  [
    new SpineError.HookFailed({ hook: "onInitialize", plugin: "seed", cause: Cause.empty, reason: "no rows" }),
    `onInitialize hook of plugin "seed" failed: no rows`
  ],
  [new SpineError.PackageNotFound({ package: "db" }), `No package named "db"`],
  [new SpineError.PackageNotFound({ package: "db", plugin: "store" }), `No package named "db" in plugin "store"`],
  [
    new SpineError.PackageHasDependents({ package: "db", dependents: ["api", "audit"] }),
    `Package "db" is required by running packages "api", "audit"; remove them first or pass { cascade: true }`
  ],
  [
    new SpineError.DependencyNotRunning({ package: "api", dependency: "db", state: "failed" }),
    `Package "api" requires "db", which is failed; start it first`
  ],
  [
    new SpineError.SpineNotRunning({ phase: "stopping" }),
    "The spine is stopping; packages can change only once they have started and until shutdown"
  ]
]

describe("SpineError", () => {
  it("each message says what went wrong and names everything involved", () => {
    for (const [error, message] of cases) expect(error.message, error._tag).toBe(message)
  })

  it("every error class has a case above", () => {
    const classes = Object.entries(SpineError).filter(([, value]) => typeof value === "function").map(([name]) => name)
    expect(new Set(cases.map(([error]) => error._tag))).toEqual(new Set(classes))
  })

  it.effect("an error is yieldable and fails with itself, its tag intact", () =>
    Effect.gen(function*() {
      for (const [error] of cases) {
        const failed = yield* Effect.flip(Effect.gen(function*() {
          return yield* (error as SpineError.SpineError)
        }))
        expect(failed).toBe(error)
      }
    }))
})
