import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { Package, Plugin, Spine } from "../src/index.js"

interface Credentials {
  readonly user: string
}
const BeforeAuth = Plugin.hook<Credentials>("auth/beforeAuth")
const AfterAuth = Plugin.hook<{ readonly id: string }>("auth/afterAuth")

class Auth extends Context.Tag("plugin/Auth")<Auth, {
  readonly login: (credentials: Credentials) => Effect.Effect<string, Plugin.HookRejected>
}>() {}

const AuthPackage = Package.make({
  name: "auth",
  version: "1.0.0",
  provides: Auth,
  requires: [Plugin.Extensions],
  layer: Layer.effect(
    Auth,
    Effect.map(Plugin.Extensions, (extensions) => ({
      login: (credentials) =>
        Effect.gen(function*() {
          yield* Plugin.run(BeforeAuth, credentials)
          const id = `user:${credentials.user}`
          yield* Plugin.run(AfterAuth, { id })
          return id
        }).pipe(Effect.provideService(Plugin.Extensions, extensions))
    }))
  )
})

describe("plugins", () => {
  it.effect("contribute packages and hooks; initialize after every package, in order", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const note = (line: string) => Effect.sync(() => void log.push(line))
      const Cache = Context.GenericTag<"Cache", number>("plugin/Cache")
      const cache = Package.make({
        name: "cache",
        version: "1.0.0",
        provides: Cache,
        layer: Layer.scoped(Cache, Effect.acquireRelease(Effect.as(note("cache up"), 1), () => note("cache down")))
      })
      const first = Plugin.make({
        name: "first",
        packages: [cache],
        hooks: { beforeInit: note("first beforeInit"), afterShutdown: note("first afterShutdown") },
        onInitialize: Effect.flatMap(Spine.Spine, (spine) =>
          Effect.flatMap(Effect.orDie(spine.state("cache")), (state) =>
            note(`first onInitialize (cache ${state})`)))
      })
      const second = Plugin.make({ name: "second", onInitialize: note("second onInitialize") })
      const cached = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({
          packages: [],
          plugins: [first, second],
          hooks: { beforeInit: note("spine beforeInit"), afterInit: note("spine afterInit") }
        })),
        (context) =>
          Effect.succeed(Context.get(context, Cache))
      ))
      expect(cached).toBe(1)
      expect(log).toEqual([
        "spine beforeInit",
        "first beforeInit",
        "cache up",
        "first onInitialize (cache ready)",
        "second onInitialize",
        "spine afterInit",
        "cache down",
        "first afterShutdown"
      ])
    }))

  it.effect("may add packages in onInitialize, once every package has started; not in beforeInit", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const note = (line: string) => Effect.sync(() => void log.push(line))
      const Metrics = Context.GenericTag<"Metrics", number>("plugin/Metrics")
      const metrics = Package.make({
        name: "metrics",
        version: "1.0.0",
        provides: Metrics,
        layer: Layer.scoped(
          Metrics,
          Effect.acquireRelease(Effect.as(note("metrics up"), 1), () => note("metrics down"))
        )
      })
      const addIt = Effect.flatMap(
        Spine.Spine,
        (spine) =>
          Effect.flatMap(
            Effect.either(spine.add(metrics)),
            (added) => note(added._tag === "Right" ? "added" : `refused: ${added.left.message}`)
          )
      )
      const discovery = Plugin.make({ name: "discovery", hooks: { beforeInit: addIt }, onInitialize: addIt })
      const states = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages: [], plugins: [discovery] })),
        (context) => Context.get(context, Spine.Spine).state("metrics")
      ))
      expect(states).toBe("ready")
      expect(log).toEqual([
        "refused: The spine is booting; packages can change only once they have started and until shutdown",
        "metrics up",
        "added",
        "metrics down"
      ])
    }))

  it.effect("run extension-point handlers one after another: each ends before the next begins, a rejection stops them", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const step = (name: string, outcome: Effect.Effect<void, string> = Effect.void) =>
        Plugin.handle(BeforeAuth, name, () =>
          Effect.sync(() => void seen.push(`${name} begins`)).pipe(
            Effect.zipRight(Effect.yieldNow()),
            Effect.zipRight(Effect.sync(() => void seen.push(`${name} ends`))),
            Effect.zipRight(outcome)
          ))
      const run = (handlers: ReadonlyArray<Plugin.Handler>) =>
        Effect.provideService(Plugin.run(BeforeAuth, { user: "x" }), Plugin.Extensions, Plugin.extensions(handlers))
      yield* run([step("first"), step("second")])
      expect(seen).toEqual(["first begins", "first ends", "second begins", "second ends"])
      seen.length = 0
      yield* Effect.flip(run([step("deny", Effect.fail("no")), step("later")]))
      expect(seen).toEqual(["deny begins", "deny ends"])
    }))

  it.effect("run extension-point handlers in registration order; a rejection names the hook and the handler", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const audit = Plugin.make({
        name: "audit",
        handlers: [
          Plugin.handle(BeforeAuth, "audit-attempt", (c) => Effect.sync(() => void seen.push(`attempt ${c.user}`))),
          Plugin.handle(AfterAuth, "audit-success", (u) => Effect.sync(() => void seen.push(`success ${u.id}`)))
        ]
      })
      const bans = Plugin.make({
        name: "bans",
        handlers: [
          Plugin.handle(BeforeAuth, "deny-banned", (c) => c.user === "mallory" ? Effect.fail("banned") : Effect.void)
        ]
      })
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(Spine.layer({
          packages: [AuthPackage],
          plugins: [audit, bans],
          handlers: [
            Plugin.handle(BeforeAuth, "normalise", (c) => Effect.sync(() => void seen.push(`check ${c.user}`)))
          ]
        }))
        const auth = Context.get(context, Auth)
        const ok = yield* auth.login({ user: "alice" })
        const rejected = yield* Effect.flip(auth.login({ user: "mallory" }))
        return { ok, rejected }
      }))
      expect(result.ok).toBe("user:alice")
      expect(result.rejected).toMatchObject({ _tag: "HookRejected", hook: "auth/beforeAuth", handler: "deny-banned" })
      expect(result.rejected.message).toBe(`Handler "deny-banned" of auth/beforeAuth rejected: banned`)
      expect(seen).toEqual([
        "check alice",
        "attempt alice",
        "success user:alice",
        "check mallory",
        "attempt mallory"
      ])
    }))
})

describe("registration mistakes", () => {
  const boot = (options: {
    readonly plugins?: ReadonlyArray<Plugin.Plugin<ReadonlyArray<Package.Any>, Spine.Spine>>
    readonly handlers?: ReadonlyArray<Plugin.Handler>
  }) => {
    const started: Array<string> = []
    const Clock = Context.GenericTag<"Clock", number>("plugin/Clock")
    const clock = Package.make({
      name: "clock",
      version: "1.0.0",
      provides: Clock,
      layer: Layer.sync(Clock, () => started.push("clock"))
    })
    return Effect.map(
      Effect.flip(Effect.scoped(Layer.build(Spine.layer({ packages: [clock], ...options })))),
      (error) => ({ error, started })
    )
  }

  it.effect("a plugin registered twice (or two of one name) fails the boot with DuplicatePlugin before any start", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const audit = Plugin.make({ name: "audit", hooks: { afterInit: Effect.sync(() => log.push("audit")) } })
      const { error, started } = yield* boot({ plugins: [audit, Plugin.make({ name: "metrics" }), audit] })
      expect(error).toMatchObject({ _tag: "DuplicatePlugin", plugin: "audit" })
      expect(error.message).toBe(`Plugin "audit" is registered more than once`)
      expect(started).toEqual([])
      expect(log).toEqual([])
    }))

  it.effect("a package name a plugin registers again fails the boot with DuplicatePackage naming who registered it", () =>
    Effect.gen(function*() {
      const Other = Context.GenericTag<"Other", number>("plugin/Other")
      const again = Package.make({ name: "clock", version: "2.0.0", provides: Other, layer: Layer.succeed(Other, 1) })
      const { error, started } = yield* boot({
        plugins: [Plugin.make({ name: "audit" }), Plugin.make({ name: "timing", packages: [again] })]
      })
      expect(error).toMatchObject({
        _tag: "DuplicatePackage",
        package: "clock",
        registeredBy: ["the spine's options", `plugin "timing"`]
      })
      expect(error.message).toBe(
        `Package "clock" is registered more than once, by the spine's options and plugin "timing"`
      )
      expect(started).toEqual([])
    }))

  it.effect("a package name the spine's options register twice names no registrar, though plugins are present", () =>
    Effect.gen(function*() {
      const twice = (version: string) => {
        const tag = Context.GenericTag<"Twice", number>(`plugin/Twice${version}`)
        return Package.make({ name: "twice", version, provides: tag, layer: Layer.succeed(tag, 1) })
      }
      const error = yield* Effect.flip(Effect.scoped(Layer.build(Spine.layer({
        packages: [twice("1.0.0"), twice("2.0.0")],
        plugins: [Plugin.make({ name: "audit" })]
      }))))
      expect(error).toMatchObject({ _tag: "DuplicatePackage", package: "twice" })
      expect(error.message).toBe(`Package "twice" is registered more than once`)
    }))

  it.effect("two handlers of one name on one extension point fail the boot with DuplicateHandler", () =>
    Effect.gen(function*() {
      const allow = Plugin.handle(BeforeAuth, "allow-list", () => Effect.void)
      const other = Plugin.handle(AfterAuth, "allow-list", () => Effect.void)
      // one name on two points is fine, and so are two pairs whose point and name join into the same text
      const joined = [
        Plugin.handle(Plugin.hook<void>("audit:log"), "write", () => Effect.void),
        Plugin.handle(Plugin.hook<void>("audit"), "log:write", () => Effect.void)
      ]
      const ok = yield* Effect.exit(
        Effect.scoped(Layer.build(Spine.layer({ packages: [], handlers: [allow, other, ...joined] })))
      )
      expect(ok._tag).toBe("Success")
      const { error, started } = yield* boot({
        handlers: [allow],
        plugins: [
          Plugin.make({ name: "guard", handlers: [Plugin.handle(BeforeAuth, "allow-list", () => Effect.void)] })
        ]
      })
      expect(error).toMatchObject({ _tag: "DuplicateHandler", hook: "auth/beforeAuth", handler: "allow-list" })
      expect(error.message).toBe(`Extension point auth/beforeAuth has more than one handler named "allow-list"`)
      expect(started).toEqual([])
    }))
})
