import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Context,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Schedule,
  Scope,
  TestClock
} from "effect"
import { Package, Plugin, Registry, Spine } from "../../src/index.js"
import * as SpineTest from "../../src/testing/SpineTest.js"
import { runWithClock } from "../utils.js"

interface User {
  readonly id: number
  readonly name: string
}

class Database extends Context.Tag("test/Database")<Database, {
  readonly findUser: (id: number) => Effect.Effect<Option.Option<User>>
  readonly insertUser: (user: User) => Effect.Effect<void>
  readonly count: Effect.Effect<number>
}>() {}

class Users extends Context.Tag("test/Users")<Users, {
  readonly name: (id: number) => Effect.Effect<string>
}>() {}

class Search extends Context.Tag("test/Search")<Search, { readonly find: (q: string) => Effect.Effect<number> }>() {}

class Suggest extends Context.Tag("test/Suggest")<Suggest, { readonly suggest: Effect.Effect<string> }>() {}

/** Packages whose real layers record that they were built. */
const makeApp = () => {
  const built: Array<string> = []
  const database = Package.make({
    name: "database",
    version: "2.0.0",
    provides: Database,
    initTimeout: "5 seconds",
    layer: Layer.sync(Database, () => {
      built.push("database")
      const rows = new Map<number, User>()
      return {
        findUser: (id) => Effect.sync(() => Option.fromNullable(rows.get(id))),
        insertUser: (user) => Effect.sync(() => void rows.set(user.id, user)),
        count: Effect.sync(() => rows.size)
      }
    })
  })
  const users = Package.make({
    name: "users",
    version: "1.0.0",
    provides: Users,
    requires: [[Database, "^2.0.0"]],
    layer: Layer.effect(
      Users,
      Effect.map(Database, (db) => ({
        name: (id) =>
          Effect.map(db.findUser(id), Option.match({ onNone: () => "unknown", onSome: (user) => user.name }))
      }))
    )
  })
  const search = Package.make({
    name: "search",
    version: "1.0.0",
    provides: Search,
    requires: [Database],
    optional: true,
    layer: Layer.sync(Search, () => {
      built.push("search")
      return { find: () => Effect.succeed(0) }
    })
  })
  const suggest = Package.make({
    name: "suggest",
    version: "1.0.0",
    provides: Suggest,
    requires: [Search],
    optional: true,
    layer: Layer.sync(Suggest, () => {
      built.push("suggest")
      return { suggest: Effect.succeed("") }
    })
  })
  return { built, database, users, search, suggest }
}

const alice: User = { id: 1, name: "alice" }

const failureOf = <A, E>(exit: Exit.Exit<A, E>): Option.Option<E> =>
  Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()

const defectMessage = <A, E>(exit: Exit.Exit<A, E>): Option.Option<string> =>
  Exit.isFailure(exit)
    ? Option.map(Cause.dieOption(exit.cause), (defect) => defect instanceof Error ? defect.message : String(defect))
    : Option.none()

class Counter extends Context.Tag("test/Counter")<Counter, {
  readonly count: Effect.Effect<number>
  readonly add: Effect.Effect<void>
  readonly poolSize: Effect.Effect<number>
}>() {}

const counterPackage = Package.make({
  name: "counter",
  version: "1.0.0",
  provides: Counter,
  layer: Layer.succeed(Counter, { count: Effect.succeed(0), add: Effect.void, poolSize: Effect.succeed(4) }),
  metrics: (counter) => Effect.map(counter.poolSize, (size) => ({ pool_size: size }))
})

/** A hand-written fake: a private field, members on the prototype. */
class InMemoryCounter {
  #n = 0
  get count() {
    return Effect.sync(() => this.#n)
  }
  get add() {
    return Effect.sync(() => void this.#n++)
  }
}

class Outbox extends Context.Tag("test/Outbox")<Outbox, { readonly send: (to: string) => Effect.Effect<number> }>() {}

/** A fake whose method uses a private field: it works only when called on the fake itself. */
class MemoryOutbox {
  #sent: Array<string> = []
  send(to: string) {
    return Effect.sync(() => this.#sent.push(to))
  }
}

class Factor extends Context.Tag("test/Factor")<Factor, number>() {}
class Scale extends Context.Tag("test/Scale")<Scale, (n: number) => number>() {}

describe("Package.mock", () => {
  it.effect("calls a fake's methods on the fake, and is no thenable, so that a Promise can carry it", () =>
    Effect.gen(function*() {
      const outbox = Package.make({
        name: "outbox",
        version: "1.0.0",
        provides: Outbox,
        layer: Layer.succeed(Outbox, { send: () => Effect.succeed(0) })
      })
      const service = yield* Effect.provide(
        Outbox,
        SpineTest.layer({ packages: [Package.mock(outbox, new MemoryOutbox())] })
      )
      expect([yield* service.send("a"), yield* service.send("b")]).toEqual([1, 2])
      expect((service as { readonly then?: unknown }).then).toBeUndefined()
    }))

  it.effect("uses the implementation itself: class instances, getters; primitives and functions as they are", () =>
    Effect.gen(function*() {
      const counted = Effect.gen(function*() {
        const counter = yield* Counter
        yield* counter.add
        yield* counter.add
        return { count: yield* counter.count, json: JSON.parse(JSON.stringify(counter)) }
      })
      const fromClass = yield* Effect.provide(
        counted,
        SpineTest.layer({ packages: [Package.mock(counterPackage, new InMemoryCounter())] })
      )
      expect(fromClass.count).toBe(2)
      let n = 0
      const withGetter = Package.mock(counterPackage, {
        get count() {
          return Effect.succeed(n)
        },
        add: Effect.sync(() => void n++)
      })
      const fromGetter = yield* Effect.provide(counted, SpineTest.layer({ packages: [withGetter] }))
      expect(fromGetter.count).toBe(2)
      expect(Object.keys(fromGetter.json)).toEqual(["count", "add"])
      const factor = Package.make({
        name: "factor",
        version: "1.0.0",
        provides: Factor,
        layer: Layer.succeed(Factor, 1)
      })
      const scale = Package.make({
        name: "scale",
        version: "1.0.0",
        provides: Scale,
        layer: Layer.succeed(Scale, (x: number) => x)
      })
      const both = SpineTest.layer({
        packages: [Package.mock(factor, 5), Package.mock(scale, (x: number) => x * 10)]
      })
      expect(yield* Effect.provide(Effect.zipWith(Factor, Scale, (f, g) => g(f)), both)).toBe(50)
    }))

  it.effect("a package's metrics that use a member the mock leaves out are logged and left out of the snapshot", () =>
    Effect.gen(function*() {
      const snapshot = yield* Effect.provide(
        Effect.flatMap(Spine.Spine, (spine) => Effect.zip(spine.metrics, spine.report)),
        SpineTest.layer({ packages: [Package.mock(counterPackage, { count: Effect.succeed(1) })] })
      )
      expect(snapshot[0].packages).toEqual({})
      expect(snapshot[1].summary.totalPackages).toBe(1)
    }))

  it.effect("replaces the layer: the real one is never built, the mock serves dependents", () =>
    Effect.gen(function*() {
      const app = makeApp()
      const database = Package.mock(app.database, {
        findUser: (id) => Effect.succeed(Option.some({ id, name: "mock" }))
      })
      const name = yield* Effect.provide(
        Effect.flatMap(Users, (users) => users.name(7)),
        SpineTest.layer({ packages: [database, app.users] })
      )
      expect(name).toBe("mock")
      expect(app.built).toEqual([])
    }))

  it("keeps the metadata and the place in the graph", () => {
    const app = makeApp()
    const database = Package.mock(app.database, {})
    expect(Package.info(database)).toEqual(Package.info(app.database))
    expect(database.initTimeout).toEqual(Duration.seconds(5))
    const search = Package.mock(app.search, {})
    expect(search.optional).toBe(true)
    expect(search.requires).toBe(app.search.requires)
    // the mock still requires the database: without a provider the graph is invalid
    expect(Either.getLeft(Registry.validate([search]))).toEqual(
      Option.some(expect.objectContaining({ _tag: "MissingDependency", package: "search", dependency: Database.key }))
    )
    const graph = Either.getOrThrow(Registry.validate([database, search]))
    expect(graph.dependents("database")).toEqual(["search"])
  })

  it.effect("serves a frozen implementation's own members as they are (a Proxy may not bind them)", () =>
    Effect.gen(function*() {
      const frozen = Package.mock(
        makeApp().database,
        Object.freeze({ findUser: () => Effect.succeed(Option.some(alice)) })
      )
      const found = yield* Effect.provide(
        Effect.flatMap(Database, (db) => db.findUser(1)),
        SpineTest.layer({ packages: [frozen] })
      )
      expect(found).toEqual(Option.some(alice))
    }))

  it.effect("an unimplemented member dies with a message naming the package and the member", () =>
    Effect.gen(function*() {
      const app = makeApp()
      const database = Package.mock(app.database, { findUser: () => Effect.succeed(Option.some(alice)) })
      const result = yield* Effect.provide(
        Effect.gen(function*() {
          const db = yield* Database
          return {
            found: yield* db.findUser(1),
            called: yield* Effect.exit(db.insertUser(alice)),
            yielded: yield* Effect.exit(db.count)
          }
        }),
        SpineTest.layer({ packages: [database] })
      )
      expect(result.found).toEqual(Option.some(alice))
      expect(defectMessage(result.called)).toEqual(
        Option.some(`Package.mock: "insertUser" of package "database" has no implementation in this mock`)
      )
      expect(defectMessage(result.yielded)).toEqual(
        Option.some(`Package.mock: "count" of package "database" has no implementation in this mock`)
      )
    }))
})

describe("SpineTest.override", () => {
  it.effect("builds the given layer instead of the package's own", () =>
    Effect.gen(function*() {
      const app = makeApp()
      let rows = 0
      const database = SpineTest.override(
        app.database,
        Layer.succeed(Database, {
          findUser: (id) => Effect.succeed(Option.some({ id, name: `row ${id}` })),
          insertUser: () => Effect.sync(() => void rows++),
          count: Effect.sync(() => rows)
        })
      )
      const result = yield* Effect.provide(
        Effect.gen(function*() {
          const spine = yield* Spine.Spine
          return { name: yield* (yield* Users).name(3), state: yield* spine.state("database") }
        }),
        SpineTest.layer({ packages: [app.users, database] })
      )
      expect(result).toEqual({ name: "row 3", state: "ready" })
      expect(app.built).toEqual([])
      expect(Package.info(database)).toEqual(Package.info(app.database))
    }))
})

describe("SpineTest.replacePackages", () => {
  it.effect("serves a plugin's package by a mock; the plugin's hooks and other packages stay", () =>
    Effect.gen(function*() {
      const { built, database, users } = makeApp()
      const log: Array<string> = []
      const plugin = Plugin.make({
        name: "accounts",
        packages: [database, users],
        hooks: { afterInit: Effect.sync(() => log.push("accounts ready")) }
      })
      const ada = { id: 1, name: "ada" }
      const mocked = SpineTest.replacePackages(plugin, [
        Package.mock(database, { findUser: () => Effect.succeed(Option.some(ada)) })
      ])
      const name = yield* Effect.scoped(Effect.flatMap(
        Layer.build(SpineTest.layer({ packages: [], plugins: [mocked] })),
        (context) => Context.get(context, Users).name(1)
      ))
      expect(name).toBe("ada")
      expect(built).toEqual([])
      expect(log).toEqual(["accounts ready"])
      expect(mocked.packages.map((pkg) => pkg.name)).toEqual(["database", "users"])
      expect(plugin.packages[0]).toBe(database)
    }))

  it("throws PackageNotFound for a replacement the plugin does not contribute, DuplicatePackage for two of one", () => {
    const { database, search, users } = makeApp()
    const plugin = Plugin.make({ name: "accounts", packages: [database, users] })
    // a package of another plugin: typed out, and refused when the types are bypassed
    // @ts-expect-error search is not one of the plugin's packages
    const replace = () => SpineTest.replacePackages(plugin, [search])
    expect(replace).toThrow(`No package named "search" in plugin "accounts"`)
    const twice = () =>
      SpineTest.replacePackages(plugin, [SpineTest.hanging(database), SpineTest.failing(database, "x")])
    expect(twice).toThrow(`Package "database" is registered more than once`)
  })
})

describe("SpineTest.failing", () => {
  it.effect("a required package aborts the boot with PackageInitFailed naming it", () =>
    Effect.gen(function*() {
      const app = makeApp()
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(SpineTest.layer({
        packages: [SpineTest.failing(app.database, "connection refused"), app.users]
      }))))
      const error = failureOf(exit)
      expect(Option.map(error, (e) => [e._tag, "package" in e ? e.package : undefined])).toEqual(
        Option.some(["PackageInitFailed", "database"])
      )
      expect(Option.map(error, (e) => e.message)).toEqual(
        Option.some(`Package "database" failed to start after 1 attempt: connection refused`)
      )
      expect(app.built).toEqual([])
    }))

  it.effect("an optional package is failed and its dependents skipped; the rest starts", () =>
    Effect.gen(function*() {
      const app = makeApp()
      const states = yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(SpineTest.layer({
          packages: [app.database, app.users, SpineTest.failing(app.search, new Error("index missing")), app.suggest]
        }))
        const spine = Context.get(context, Spine.Spine)
        return yield* Effect.forEach(["database", "users", "search", "suggest"], spine.state)
      }))
      expect(states).toEqual(["ready", "ready", "failed", "skipped"])
      expect(app.built).toEqual(["database"])
    }))
})

describe("SpineTest.hanging", () => {
  it.effect("hits the package's init timeout with PackageInitTimeout", () =>
    Effect.gen(function*() {
      const app = makeApp()
      const exit = yield* runWithClock(Effect.scoped(Layer.build(SpineTest.layer({
        packages: [SpineTest.hanging(app.database), app.users]
      }))))
      expect(Option.map(failureOf(exit), (e) => [e._tag, e.message])).toEqual(
        Option.some(["PackageInitTimeout", `Package "database" did not start within 5s`])
      )
    }))

  it.effect("without a timeout of its own, hits SpineTest's one-second default", () =>
    Effect.gen(function*() {
      const app = makeApp()
      const fiber = yield* Effect.fork(Effect.scoped(Layer.build(SpineTest.layer({
        packages: [app.database, SpineTest.hanging(app.users)]
      }))))
      yield* TestClock.adjust("999 millis")
      expect(yield* Fiber.poll(fiber)).toEqual(Option.none())
      yield* TestClock.adjust("1 millis")
      // done at one second: polled, not awaited, so that a longer default fails the test instead of hanging it
      const exit = Option.getOrThrowWith(yield* Fiber.poll(fiber), () => new Error("still booting after 1 second"))
      expect(Option.map(failureOf(exit), (e) => [e._tag, e.message])).toEqual(
        Option.some(["PackageInitTimeout", `Package "users" did not start within 1s`])
      )
    }))
})

describe("SpineTest.layer", () => {
  const checked = () => {
    let runs = 0
    const tag = Context.GenericTag<"Checked", number>("test/Checked")
    const pkg = Package.make({
      name: "checked",
      version: "1.0.0",
      provides: tag,
      layer: Layer.succeed(tag, 1),
      health: () => Effect.sync(() => void runs++)
    })
    return { pkg, runs: () => runs }
  }

  it.effect("does not run scheduled health checks: a check runs only on checkHealth", () =>
    Effect.gen(function*() {
      const { pkg, runs } = checked()
      const scope = yield* Scope.make()
      const spine = Context.get(yield* Layer.buildWithScope(SpineTest.layer({ packages: [pkg] }), scope), Spine.Spine)
      yield* TestClock.adjust(0)
      yield* TestClock.adjust("1 hour")
      expect(runs()).toBe(0)
      const health = yield* spine.checkHealth()
      expect(runs()).toBe(1)
      expect(health.packages["checked"]?.status).toBe("pass")
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("runs the health loop when asked to, with the caller's other health options", () =>
    Effect.gen(function*() {
      const { pkg, runs } = checked()
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(
        SpineTest.layer({ packages: [pkg], health: { enabled: true, interval: "10 seconds" } }),
        scope
      )
      yield* TestClock.adjust(0)
      expect(runs()).toBe(1)
      yield* TestClock.adjust("10 seconds")
      expect(runs()).toBe(2)
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("keeps the caller's defaults over its own", () =>
    Effect.gen(function*() {
      const app = makeApp()
      const exit = yield* runWithClock(Effect.scoped(Layer.build(SpineTest.layer({
        packages: [app.database, SpineTest.hanging(app.users)],
        defaults: { initTimeout: "3 seconds" }
      }))))
      expect(Option.map(failureOf(exit), (e) => e.message)).toEqual(
        Option.some(`Package "users" did not start within 3s`)
      )
      // a retry schedule among them too: a test of retries through SpineTest retries
      let attempts = 0
      const Flaky = Context.GenericTag<"Flaky", number>("spinetest/Flaky")
      const flaky = Package.make({
        name: "flaky",
        version: "1.0.0",
        provides: Flaky,
        layer: Layer.effect(Flaky, Effect.suspend(() => ++attempts === 1 ? Effect.fail("once") : Effect.succeed(1)))
      })
      const retried = yield* runWithClock(Effect.scoped(Layer.build(SpineTest.layer({
        packages: [flaky],
        defaults: { initRetry: Schedule.recurs(1) }
      }))))
      expect([Exit.isSuccess(retried), attempts]).toEqual([true, 2])
    }))
})
