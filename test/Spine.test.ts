import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Config,
  ConfigProvider,
  Context,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Option,
  Redacted,
  Schedule,
  Scope,
  Stream,
  TestClock
} from "effect"
import { Package, Plugin, Spine } from "../src/index.js"
import { runWithClock } from "./utils.js"

/** A package whose layer sleeps `initMs`, records its acquisition and release, and may misbehave. */
const makeTestPackage =
  (log: Array<string>) =>
  <const Deps extends ReadonlyArray<Context.Tag<string, number>>>(name: string, options: {
    readonly deps?: Deps
    readonly initMs?: number
    readonly releaseMs?: number
    readonly optional?: boolean
    readonly feature?: string
    readonly fail?: boolean
    readonly hangOnRelease?: boolean
  } = {}) => {
    const tag = Context.GenericTag<string, number>(`test/${name}`)
    const pkg = Package.make({
      name,
      version: "1.0.0",
      provides: tag,
      requires: options.deps ?? [],
      optional: options.optional ?? false,
      ...(options.feature === undefined ? {} : { feature: options.feature }),
      layer: Layer.scoped(
        tag,
        Effect.gen(function*() {
          log.push(`start ${name}`)
          if (options.initMs) yield* Effect.sleep(options.initMs)
          if (options.fail) return yield* Effect.fail(new Error(`${name} exploded`))
          return yield* Effect.acquireRelease(
            Effect.sync(() => log.push(`acquired ${name}`)),
            () =>
              Effect.gen(function*() {
                log.push(`release ${name}`)
                if (options.hangOnRelease) return yield* Effect.never
                if (options.releaseMs) yield* Effect.sleep(options.releaseMs)
                log.push(`released ${name}`)
              })
          )
        })
      )
    })
    return { tag, pkg }
  }

const eventsOf = (spine: Spine.SpineService) =>
  Effect.map(Stream.runCollect(spine.events), (chunk) => Chunk.toReadonlyArray(chunk))

const timeOf = (spine: Spine.SpineService, name: string) =>
  Effect.map(spine.timeline, (timeline) => timeline.find((entry) => entry.package === name)!)

describe("Spine.layer", () => {
  it.effect("starts independent packages in parallel and a dependent when both are ready", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const a = make("a", { initMs: 1000 })
      const b = make("b", { initMs: 1000 })
      const c = make("c", { deps: [a.tag, b.tag], initMs: 500 })
      const fiber = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(Spine.layer({ packages: [c.pkg, a.pkg, b.pkg] }))
        const spine = Context.get(context, Spine.Spine)
        return [yield* timeOf(spine, "a"), yield* timeOf(spine, "b"), yield* timeOf(spine, "c")] as const
      })))
      yield* TestClock.adjust("1 second")
      expect(log.slice(0, 2).sort()).toEqual(["start a", "start b"])
      expect(log.slice(2, 4).sort()).toEqual(["acquired a", "acquired b"])
      expect(log.slice(4)).toEqual(["start c"])
      yield* TestClock.adjust("500 millis")
      const [ta, tb, tc] = yield* Fiber.join(fiber)
      expect([ta.readyAt?.getTime(), tb.readyAt?.getTime()]).toEqual([1000, 1000])
      expect(tc.startedAt?.getTime()).toBe(1000)
      expect(tc.readyAt?.getTime()).toBe(1500)
      expect(tc.durationMs).toBe(500)
      expect(log.slice(6, 8)).toEqual(["release c", "released c"])
      expect(log.slice(8).sort()).toEqual(["release a", "release b", "released a", "released b"])
    }))

  it.effect("releases dependents first and independent packages in parallel", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const base = make("base", { releaseMs: 100 })
      const left = make("left", { deps: [base.tag], releaseMs: 1000 })
      const right = make("right", { deps: [base.tag], releaseMs: 1000 })
      const top = make("top", { deps: [left.tag, right.tag], releaseMs: 100 })
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        Spine.layer({ packages: [base.pkg, left.pkg, right.pkg, top.pkg] }),
        scope
      )
      const spine = Context.get(context, Spine.Spine)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("100 millis")
      expect(log.filter((line) => line.startsWith("release"))).toEqual([
        "release top",
        "released top",
        "release left",
        "release right"
      ])
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(closing)
      expect(log.slice(-2)).toEqual(["release base", "released base"])
      const timeline = yield* spine.timeline
      expect(timeline.map((entry) => [entry.package, entry.state, entry.stopDurationMs])).toEqual([
        ["base", "stopped", 100],
        ["left", "stopped", 1000],
        ["right", "stopped", 1000],
        ["top", "stopped", 100]
      ])
      expect(yield* spine.phase).toBe("stopped")
    }))

  it.effect("degrades when an optional package fails: dependents skipped, the rest starts", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const core = make("core")
      const search = make("search", { deps: [core.tag], optional: true, fail: true })
      const suggest = make("suggest", { deps: [search.tag], optional: true })
      const ranking = make("ranking", { deps: [suggest.tag], optional: true })
      const api = make("api", { deps: [core.tag] })
      const layer = Spine.layer({ packages: [core.pkg, search.pkg, suggest.pkg, ranking.pkg, api.pkg] })
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(layer)
        const spine = Context.get(context, Spine.Spine)
        const states = yield* Effect.forEach(["core", "search", "suggest", "ranking", "api"], spine.state)
        const service = yield* Effect.provide(Effect.serviceOption(search.tag), context)
        return { states, search: service, failure: (yield* timeOf(spine, "search")).error }
      }))
      expect(result.states).toEqual(["ready", "failed", "skipped", "skipped", "ready"])
      expect(result.search).toEqual(Option.none())
      expect(result.failure).toBe(`Package "search" failed to start after 1 attempt: search exploded`)
      expect(log).not.toContain("start suggest")
    }))

  it.effect("skips a long chain behind a failed optional package without growing the stack", () =>
    Effect.gen(function*() {
      const tags = Array.from({ length: 5000 }, (_, i) => Context.GenericTag<string, number>(`chain/${i}`))
      const packages = tags.map((tag, i) =>
        Package.make({
          name: `link-${i}`,
          version: "1.0.0",
          provides: tag,
          requires: i === 0 ? [] : [tags[i - 1]],
          optional: true,
          layer: i === 0 ? Layer.fail("down") : Layer.succeed(tag, i)
        })
      )
      const states = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages })),
        (context) => Effect.map(Context.get(context, Spine.Spine).timeline, (t) => t.map((entry) => entry.state))
      ))
      expect(states[0]).toBe("failed")
      expect(new Set(states.slice(1))).toEqual(new Set(["skipped"]))
    }))

  it.effect("aborts on a required failure, interrupts packages still starting, releases what started", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const db = make("db")
      const cache = make("cache", { deps: [db.tag] })
      const slow = make("slow", { deps: [db.tag], initMs: 5000 })
      const broken = make("broken", { deps: [cache.tag], initMs: 10, fail: true })
      const exit = yield* runWithClock(
        Effect.scoped(Layer.build(Spine.layer({ packages: [db.pkg, cache.pkg, slow.pkg, broken.pkg] })))
      )
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.map(error, (e) => [e._tag, "package" in e ? e.package : undefined])).toEqual(
        Option.some(["PackageInitFailed", "broken"])
      )
      expect(Option.map(error, (e) => e.message)).toEqual(
        Option.some(`Package "broken" failed to start after 1 attempt: broken exploded`)
      )
      expect(log).not.toContain("acquired slow")
      expect(log.filter((line) => line.startsWith("released"))).toEqual(["released cache", "released db"])
    }))

  it.effect("times out an init with PackageInitTimeout naming the package and the limit", () =>
    Effect.gen(function*() {
      const tag = Context.GenericTag<string, number>("test/stuck")
      const stuck = Package.make({
        name: "stuck",
        version: "1.0.0",
        provides: tag,
        initTimeout: "2 seconds",
        layer: Layer.effect(tag, Effect.never)
      })
      const exit = yield* runWithClock(Effect.scoped(Layer.build(Spine.layer({ packages: [stuck] }))))
      expect(exit).toMatchObject({ _tag: "Failure" })
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.map(error, (e) => [e._tag, e.message])).toEqual(
        Option.some(["PackageInitTimeout", `Package "stuck" did not start within 2s`])
      )
    }))

  it.effect("retries an init with its schedule and records the attempts", () =>
    Effect.gen(function*() {
      const tag = Context.GenericTag<string, number>("test/flaky")
      let calls = 0
      const flaky = Package.make({
        name: "flaky",
        version: "1.0.0",
        provides: tag,
        initRetry: Schedule.recurs(3),
        layer: Layer.effect(tag, Effect.suspend(() => ++calls < 3 ? Effect.fail("not yet") : Effect.succeed(calls)))
      })
      const timeline = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages: [flaky] })),
        (context) => Context.get(context, Spine.Spine).timeline
      ))
      expect(timeline[0]).toMatchObject({ state: "ready", attempts: 3 })
      const once = Package.make({ name: "once", version: "1.0.0", provides: tag, layer: Layer.fail("never") })
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(Spine.layer({
        packages: [once],
        defaults: { initRetry: Schedule.recurs(1) }
      }))))
      expect(exit).toStrictEqual(Exit.fail(expect.objectContaining({ _tag: "PackageInitFailed", attempts: 2 })))
    }))

  it.effect("reports a finalizer that hangs past its stop timeout and releases the others", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const base = make("base")
      const hung = make("hung", { deps: [base.tag], hangOnRelease: true })
      const other = make("other", { deps: [base.tag] })
      const layer = Spine.layer({
        packages: [base.pkg, hung.pkg, other.pkg],
        defaults: { stopTimeout: "3 seconds" }
      })
      const scope = yield* Scope.make()
      const spine = Context.get(yield* Layer.buildWithScope(layer, scope), Spine.Spine)
      const events = yield* Effect.fork(eventsOf(spine))
      const exit = yield* runWithClock(Scope.close(scope, Exit.void))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(log).toContain("released base")
      expect(log).not.toContain("released hung")
      const timeout = (yield* Fiber.join(events)).find((event) => event._tag === "PackageStopTimeout")
      expect(timeout).toMatchObject({ package: "hung" })
    }))

  it.effect("releases what had started when the boot is interrupted", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const a = make("a", { initMs: 10 })
      const b = make("b", { deps: [a.tag], initMs: 1000 })
      const exit = yield* runWithClock(Effect.scoped(Layer.build(Spine.layer({ packages: [a.pkg, b.pkg] }))), {
        interruptAt: 500
      })
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(log).toEqual(["start a", "acquired a", "start b", "release a", "released a"])
    }))

  it.effect("never builds a package whose feature is off", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const mail = make("mail", { feature: "mail" })
      const sms = make("sms", { feature: "sms" })
      const push = make("push", { feature: "push" })
      const digest = make("digest", { deps: [mail.tag], optional: true })
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const spine = Context.get(
          yield* Layer.build(Spine.layer({
            packages: [mail.pkg, sms.pkg, push.pkg, digest.pkg],
            features: { mail: false, sms: Config.boolean("SMS_ENABLED") }
          })),
          Spine.Spine
        )
        return {
          states: yield* Effect.forEach(["mail", "sms", "push", "digest"], spine.state),
          flags: yield* Effect.forEach(["mail", "sms", "push"], spine.isFeatureEnabled)
        }
      })).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SMS_ENABLED", "true"]]))))
      expect(result.states).toEqual(["disabled", "ready", "disabled", "skipped"])
      expect(result.flags).toEqual([false, true, false])
      expect(log).toEqual(["start sms", "acquired sms", "release sms", "released sms"])
    }))

  it.effect("runs the hooks around boot and shutdown", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const a = make("a")
      const hook = (name: string) =>
        Effect.flatMap(Spine.Spine, (spine) =>
          Effect.flatMap(Effect.orDie(spine.state("a")), (state) =>
            Effect.sync(() => log.push(`${name} (a ${state})`))))
      yield* Effect.scoped(Layer.build(Spine.layer({
        packages: [a.pkg],
        hooks: {
          beforeInit: hook("beforeInit"),
          afterInit: hook("afterInit"),
          beforeShutdown: hook("beforeShutdown"),
          afterShutdown: hook("afterShutdown")
        }
      })))
      expect(log).toEqual([
        "beforeInit (a registered)",
        "start a",
        "acquired a",
        "afterInit (a ready)",
        "beforeShutdown (a ready)",
        "release a",
        "released a",
        "afterShutdown (a stopped)"
      ])
    }))

  it.effect("logs a shutdown hook that dies and still releases every package, on a clean and a failed boot", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const a = make("a")
      const b = make("b", { deps: [a.tag] })
      const broken = make("broken", { deps: [a.tag], fail: true })
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => void logged.push(String(message)))
      const hooks = {
        beforeShutdown: Effect.dieMessage("flush crashed"),
        afterShutdown: Effect.sync(() => log.push("after"))
      }
      const capture = Logger.replace(Logger.defaultLogger, logger)
      const clean = yield* Effect.exit(
        Effect.scoped(Layer.build(Spine.layer({ packages: [a.pkg, b.pkg], hooks }))).pipe(Effect.provide(capture))
      )
      const failed = yield* Effect.exit(
        Effect.scoped(Layer.build(Spine.layer({ packages: [a.pkg, broken.pkg], hooks }))).pipe(Effect.provide(capture))
      )
      expect(Exit.isSuccess(clean)).toBe(true)
      expect(failed).toMatchObject({
        _tag: "Failure",
        cause: { error: { _tag: "PackageInitFailed", package: "broken" } }
      })
      expect(log.filter((line) => line.startsWith("released") || line === "after")).toEqual([
        "released b",
        "released a",
        "after",
        "released a",
        "after"
      ])
      expect(logged.filter((line) => line.includes("beforeShutdown hook of the spine's options failed"))).toHaveLength(
        2
      )
    }))

  it.effect("interrupts a shutdown hook that hangs past the stop timeout, and still releases every package", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const a = make("a")
      const b = make("b", { deps: [a.tag] })
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => void logged.push(String(message)))
      const stuck = Plugin.make({ name: "stuck", hooks: { beforeShutdown: Effect.uninterruptible(Effect.never) } })
      const fiber = yield* Effect.fork(
        Effect.scoped(Layer.build(Spine.layer({
          packages: [a.pkg, b.pkg],
          plugins: [stuck],
          hooks: { beforeShutdown: Effect.never, afterShutdown: Effect.never },
          defaults: { stopTimeout: "2 seconds" }
        }))).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      )
      // 2 s for the spine's hook; 2 s for the plugin's, then 2 s more waiting for it to unwind, which it never does
      yield* TestClock.adjust("5999 millis")
      expect(log).not.toContain("release b")
      yield* TestClock.adjust("1 millis")
      expect(log.slice(-4)).toEqual(["release b", "released b", "release a", "released a"])
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("2 seconds")
      expect(Exit.isSuccess(yield* Fiber.await(fiber))).toBe(true)
      expect(logged.filter((line) => line.includes("did not finish within 2s"))).toEqual([
        "beforeShutdown hook of the spine's options did not finish within 2s; interrupted, the shutdown goes on",
        "beforeShutdown hook of plugin \"stuck\" did not finish within 2s; interrupted, the shutdown goes on",
        "afterShutdown hook of the spine's options did not finish within 2s; interrupted, the shutdown goes on"
      ])
    }))

  it.effect("waits for an interrupted hook to unwind, at most the stop timeout, before releasing the packages", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const a = make("a")
      /** Never ends by itself; interrupted, takes `ms` to clean up. */
      const hook = (name: string, ms: number) =>
        Effect.onInterrupt(Effect.never, () => Effect.zipRight(Effect.sleep(ms), Effect.sync(() => log.push(name))))
      const run = (hooks: Spine.Hooks, interruptAt?: number) =>
        Effect.gen(function*() {
          log.length = 0
          const fiber = yield* Effect.fork(Effect.scoped(Layer.build(Spine.layer({
            packages: [a.pkg],
            hooks,
            defaults: { initTimeout: "3 seconds", stopTimeout: "2 seconds" }
          }))))
          if (interruptAt !== undefined) {
            yield* TestClock.adjust(interruptAt)
            yield* Fiber.interruptFork(fiber)
          }
          for (let second = 0; second < 10; second++) yield* TestClock.adjust("1 second")
          yield* Fiber.await(fiber)
          return [...log]
        })
      // past the init timeout; the boot interrupted; past the stop timeout at shutdown
      const unwoundFirst = ["start a", "acquired a", "unwound", "release a", "released a"]
      expect(yield* run({ afterInit: hook("unwound", 1000) })).toEqual(unwoundFirst)
      expect(yield* run({ afterInit: hook("unwound", 1000) }, 500)).toEqual(unwoundFirst)
      expect(yield* run({ beforeShutdown: hook("unwound", 1000) })).toEqual(unwoundFirst)
      // one that takes longer than the stop timeout to unwind is left behind
      expect(yield* run({ beforeShutdown: hook("unwound", 3000) })).toEqual([
        "start a",
        "acquired a",
        "release a",
        "released a",
        "unwound"
      ])
    }))

  it.effect("runs and bounds the shutdown hooks when the shutdown comes from an interruption, as on SIGINT", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const a = make("a")
      const fiber = yield* Effect.fork(Effect.scoped(Effect.zipRight(
        Layer.build(Spine.layer({
          packages: [a.pkg],
          hooks: {
            beforeShutdown: Effect.zipRight(Effect.sync(() => log.push("beforeShutdown")), Effect.never),
            afterShutdown: Effect.sync(() => log.push("afterShutdown"))
          },
          defaults: { stopTimeout: "2 seconds" }
        })),
        Effect.never
      )))
      yield* TestClock.adjust(0)
      yield* Fiber.interruptFork(fiber)
      yield* TestClock.adjust("1999 millis")
      expect(log).toEqual(["start a", "acquired a", "beforeShutdown"])
      yield* TestClock.adjust("1 millis")
      expect(Exit.isInterrupted(yield* Fiber.await(fiber))).toBe(true)
      expect(log.slice(3)).toEqual(["release a", "released a", "afterShutdown"])
    }))

  it.effect("fails the boot with HookTimeout when a boot hook hangs past the init timeout, and releases what started", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const a = make("a")
      const boot = (options: {
        readonly hooks?: Spine.Hooks
        readonly plugins?: ReadonlyArray<Plugin.Plugin<readonly [], Spine.Spine>>
      }) =>
        Effect.gen(function*() {
          log.length = 0
          const fiber = yield* Effect.fork(Effect.scoped(Layer.build(Spine.layer({
            packages: [a.pkg],
            plugins: options.plugins ?? [],
            ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
            defaults: { initTimeout: "3 seconds" }
          }))))
          yield* TestClock.adjust("2999 millis")
          expect(fiber.unsafePoll()).toBeNull()
          yield* TestClock.adjust("1 millis")
          const exit = yield* Fiber.await(fiber)
          return { error: Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none(), log: [...log] }
        })

      const before = yield* boot({ hooks: { beforeInit: Effect.never } })
      expect(before.log).toEqual([])
      const error = Option.getOrThrow(before.error)
      expect(error).toMatchObject({ _tag: "HookTimeout", hook: "beforeInit", plugin: undefined })
      expect(error.message).toBe("beforeInit hook of the spine's options did not finish within 3s")

      const after = yield* boot({ plugins: [Plugin.make({ name: "slow", hooks: { afterInit: Effect.never } })] })
      expect(Option.getOrThrow(after.error)).toMatchObject({ _tag: "HookTimeout", hook: "afterInit", plugin: "slow" })
      expect(after.log).toEqual(["start a", "acquired a", "release a", "released a"])

      const init = yield* boot({ plugins: [Plugin.make({ name: "warm", onInitialize: Effect.never })] })
      expect(Option.getOrThrow(init.error)).toMatchObject({ _tag: "HookTimeout", hook: "onInitialize", plugin: "warm" })
      expect(init.log).toEqual(["start a", "acquired a", "release a", "released a"])
    }))

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

  it.effect("exposes states, phase, events and the graph", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const a = make("a")
      const b = make("b", { deps: [a.tag] })
      const scope = yield* Scope.make()
      const spine = Context.get(
        yield* Layer.buildWithScope(Spine.layer({ packages: [a.pkg, b.pkg] }), scope),
        Spine.Spine
      )
      expect(yield* spine.phase).toBe("ready")
      expect(yield* Effect.flip(spine.state("zzz"))).toMatchObject({ _tag: "PackageNotFound", package: "zzz" })
      expect((yield* spine.packages).map((info) => info.name)).toEqual(["a", "b"])
      const graph = yield* spine.graph
      expect(graph.dependents("a")).toEqual(["b"])
      const events = yield* Effect.fork(eventsOf(spine))
      yield* Scope.close(scope, Exit.void)
      const transitions = (yield* Fiber.join(events)).map((event) =>
        event._tag === "PackageStateChanged"
          ? `${event.package}:${event.from}->${event.to}`
          : event._tag === "SpinePhaseChanged"
          ? `spine:${event.from}->${event.to}`
          : event._tag
      )
      expect(transitions).toEqual([
        "a:registered->starting",
        "a:starting->ready",
        "b:registered->starting",
        "b:starting->ready",
        "spine:booting->ready",
        "spine:ready->stopping",
        "b:ready->stopping",
        "b:stopping->stopped",
        "a:ready->stopping",
        "a:stopping->stopped",
        "spine:stopping->stopped"
      ])
    }))
})

describe("Spine.layer: timeouts, retries and aborts", () => {
  const tagOf = (name: string) => Context.GenericTag<string, number>(`edge/${name}`)
  const boot = (packages: ReadonlyArray<Package.Any>) =>
    Effect.fork(Effect.exit(Effect.scoped(Layer.build(Spine.layer({ packages })))))

  it.effect("one package's init timeout does not push back another's", () =>
    Effect.gen(function*() {
      const a = Package.make({
        name: "a",
        version: "1.0.0",
        provides: tagOf("a"),
        optional: true,
        initTimeout: "100 millis",
        layer: Layer.effect(tagOf("a"), Effect.never)
      })
      const b = Package.make({
        name: "b",
        version: "1.0.0",
        provides: tagOf("b"),
        initTimeout: "200 millis",
        layer: Layer.effect(tagOf("b"), Effect.never)
      })
      const booting = yield* boot([a, b])
      yield* TestClock.adjust("300 millis")
      expect(booting.unsafePoll()).not.toBeNull()
      const exit = yield* Fiber.join(booting)
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      expect(error).toMatchObject({ _tag: "PackageInitTimeout", package: "b" })
    }))

  it.effect("an aborted boot waits for a start that ignores interruption at most its stop timeout", () =>
    Effect.gen(function*() {
      const a = Package.make({
        name: "a",
        version: "1.0.0",
        provides: tagOf("a"),
        layer: Layer.effect(tagOf("a"), Effect.zipRight(Effect.sleep("100 millis"), Effect.fail("boom")))
      })
      const b = Package.make({
        name: "b",
        version: "1.0.0",
        provides: tagOf("b"),
        initTimeout: "1 minute",
        stopTimeout: "1 second",
        layer: Layer.effect(tagOf("b"), Effect.uninterruptible(Effect.as(Effect.sleep("40 seconds"), 1)))
      })
      const booting = yield* boot([a, b])
      yield* TestClock.adjust("1200 millis")
      expect(booting.unsafePoll()).toMatchObject({ _tag: "Success", value: { _tag: "Failure" } })
    }))

  it.effect("initRetry is fed the error, and retries a start interrupted through a layer it shares", () =>
    Effect.gen(function*() {
      let calls = 0
      const flaky = Package.make({
        name: "flaky",
        version: "1.0.0",
        provides: tagOf("flaky"),
        initRetry: Schedule.recurWhile((error: unknown) => error === "transient"),
        layer: Layer.effect(
          tagOf("flaky"),
          Effect.suspend(() => ++calls < 2 ? Effect.fail("transient") : Effect.succeed(calls))
        )
      })
      const shared = Layer.effect(tagOf("shared"), Effect.as(Effect.sleep("2 seconds"), 1))
      const quick = Package.make({
        name: "quick",
        version: "1.0.0",
        provides: tagOf("quick"),
        optional: true,
        initTimeout: "1 second",
        layer: Layer.effect(tagOf("quick"), tagOf("shared")).pipe(Layer.provide(shared))
      })
      const patient = Package.make({
        name: "patient",
        version: "1.0.0",
        provides: tagOf("patient"),
        initRetry: Schedule.recurs(3),
        layer: Layer.effect(tagOf("patient"), tagOf("shared")).pipe(Layer.provide(shared))
      })
      const booting = yield* Effect.fork(Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages: [flaky, quick, patient] })),
        (context) => Effect.forEach(["flaky", "quick", "patient"], Context.get(context, Spine.Spine).state)
      )))
      yield* TestClock.adjust("10 seconds")
      expect(calls).toBe(2)
      expect(booting.unsafePoll()).toEqual(Exit.succeed(["ready", "failed", "ready"]))
    }))
})
