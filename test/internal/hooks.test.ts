/**
 * The lifecycle hooks around boot and shutdown: their order, their limits,
 * and what happens to the packages when a hook dies, hangs or is interrupted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Logger, Option, TestClock } from "effect"
import { Plugin, Spine } from "../../src/index.js"
import { makeTestPackage } from "../utils.js"

describe("lifecycle hooks", () => {
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

  it.effect("runs the hooks of one moment one after another: each ends before the next begins", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const slow = (name: string) =>
        Effect.gen(function*() {
          log.push(`${name} begins`)
          yield* Effect.sleep("1 second")
          log.push(`${name} ends`)
        })
      const plugin = Plugin.make({
        name: "late",
        hooks: { beforeInit: slow("plugin"), beforeShutdown: slow("plugin") }
      })
      const run = yield* Effect.fork(Effect.scoped(Layer.build(Spine.layer({
        packages: [],
        plugins: [plugin],
        hooks: { beforeInit: slow("options"), beforeShutdown: slow("options") }
      }))))
      yield* TestClock.adjust("4 seconds")
      expect(Exit.isSuccess(yield* Fiber.await(run))).toBe(true)
      const moment = ["options begins", "options ends", "plugin begins", "plugin ends"]
      expect(log).toEqual([...moment, ...moment])
    }))

  it.effect("a boot hook or onInitialize that dies fails the boot with HookFailed naming it, all released", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const a = make("a")
      const audit = Plugin.make({ name: "audit", onInitialize: Effect.dieMessage("audit table missing") })
      const failures = [
        [Spine.layer({ packages: [a.pkg], plugins: [audit] }), "onInitialize", "audit"],
        [
          Spine.layer({ packages: [a.pkg], hooks: { afterInit: Effect.die(new Error("cache warm-up")) } }),
          "afterInit",
          undefined
        ]
      ] as const
      for (const [layer, hook, plugin] of failures) {
        log.length = 0
        const error = yield* Effect.flip(Effect.scoped(Layer.build(layer)))
        expect(error._tag).toBe("HookFailed")
        if (error._tag !== "HookFailed") return
        expect([error.hook, error.plugin]).toEqual([hook, plugin])
        expect(log).toEqual(["start a", "acquired a", "release a", "released a"])
      }
      const error = yield* Effect.flip(Effect.scoped(Layer.build(failures[0][0])))
      expect(error.message).toBe(`onInitialize hook of plugin "audit" failed: audit table missing`)
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

  it.effect("a boot hook past its limit, or interrupted, unwinds with the phase stopping already (/livez 503)", () =>
    Effect.gen(function*() {
      const phases: Array<string> = []
      const afterInit = Effect.flatMap(
        Spine.Spine,
        (spine) =>
          Effect.onInterrupt(
            Effect.never,
            () => Effect.flatMap(spine.phase, (phase) => Effect.sync(() => phases.push(phase)))
          )
      )
      for (const interruptAt of [undefined, 500]) {
        const fiber = yield* Effect.fork(Effect.scoped(Layer.build(Spine.layer({
          packages: [makeTestPackage([])("a").pkg],
          hooks: { afterInit },
          defaults: { initTimeout: "1 second" }
        }))))
        if (interruptAt !== undefined) {
          yield* TestClock.adjust(interruptAt)
          yield* Fiber.interruptFork(fiber)
        }
        yield* TestClock.adjust("1 second")
        yield* Fiber.await(fiber)
      }
      expect(phases).toEqual(["stopping", "stopping"])
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
})
