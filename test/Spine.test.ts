import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Config,
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Schedule,
  Scope,
  Stream,
  TestClock
} from "effect"
import { Package, Plugin, Spine } from "../src/index.js"
import { makeTestPackage, runWithClock, startScript } from "./utils.js"

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
      const events = yield* Effect.fork(eventsOf(spine))
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
      // a package is stopped before what it depends on begins to stop
      const releases = (yield* Fiber.join(events)).flatMap((event) =>
        event._tag === "PackageStateChanged" && event.from !== "registered" && event.from !== "starting"
          ? [`${event.package} ${event.to}`]
          : []
      )
      const at = (step: string) => releases.indexOf(step)
      expect([...releases].sort()).toEqual(
        ["base", "left", "right", "top"].flatMap((name) => [`${name} stopped`, `${name} stopping`])
      )
      expect(at("top stopped")).toBeLessThan(Math.min(at("left stopping"), at("right stopping")))
      expect(Math.max(at("left stopped"), at("right stopped"))).toBeLessThan(at("base stopping"))
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
        const skipped = yield* Effect.forEach(["suggest", "ranking"], (name) => timeOf(spine, name))
        const health = (yield* spine.health).packages
        return { states, search: service, failure: (yield* timeOf(spine, "search")).error, skipped, health }
      }))
      expect(result.states).toEqual(["ready", "failed", "skipped", "skipped", "ready"])
      expect(result.search).toEqual(Option.none())
      expect(result.failure).toBe(`Package "search" failed to start after 1 attempt: search exploded`)
      // a skipped package says which dependency kept it from starting, in its timeline and its health
      expect(result.skipped.map((entry) => entry.error)).toEqual([
        `dependency "search" is failed`,
        `dependency "suggest" is skipped`
      ])
      expect(result.health.suggest.errors).toEqual([`dependency "search" is failed`])
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
      const after = make("after", { deps: [broken.tag] })
      let spine: Spine.SpineService | undefined
      const exit = yield* runWithClock(
        Effect.scoped(Layer.build(Spine.layer({
          packages: [db.pkg, cache.pkg, slow.pkg, broken.pkg, after.pkg],
          hooks: { beforeInit: Effect.map(Spine.Spine, (service) => (spine = service)) }
        })))
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
      // every package ends in a final state; what never began to start is skipped
      const timeline = yield* spine!.timeline
      expect(timeline.map((entry) => [entry.package, entry.state, entry.error])).toEqual([
        ["db", "stopped", undefined],
        ["cache", "stopped", undefined],
        ["slow", "stopped", undefined],
        ["broken", "failed", `Package "broken" failed to start after 1 attempt: broken exploded`],
        ["after", "skipped", "not started: the boot failed"]
      ])
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
      // a package's own schedule wins over the default
      const own = yield* Effect.exit(Effect.scoped(Layer.build(Spine.layer({
        packages: [{ ...once, initRetry: Schedule.recurs(2) }],
        defaults: { initRetry: Schedule.recurs(5) }
      }))))
      expect(own).toStrictEqual(Exit.fail(expect.objectContaining({ _tag: "PackageInitFailed", attempts: 3 })))
    }))

  it.effect("reports a finalizer that hangs past its stop timeout and releases the others", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = makeTestPackage(log)
      const base = make("base")
      const hung = make("hung", { deps: [base.tag], hangOnRelease: true })
      const other = make("other", { deps: [base.tag] })
      // its own stop timeout, not the default
      const layer = Spine.layer({
        packages: [base.pkg, { ...hung.pkg, stopTimeout: Duration.seconds(2) }, other.pkg],
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
      expect(timeout).toMatchObject({ package: "hung", timeout: Duration.seconds(2) })
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

  it.effect("a subscriber that comes after the boot is replayed the whole boot, however many packages", () =>
    Effect.gen(function*() {
      const make = makeTestPackage([])
      // two transitions each: 400 events, more than a fixed replay of 256 would keep
      const packages = Array.from({ length: 200 }, (_, i) => make(`p${i}`).pkg)
      const scope = yield* Scope.make()
      const spine = Context.get(yield* Layer.buildWithScope(Spine.layer({ packages }), scope), Spine.Spine)
      const events = yield* Effect.fork(eventsOf(spine))
      yield* Scope.close(scope, Exit.void)
      const starts = (yield* Fiber.join(events)).flatMap((event) =>
        event._tag === "PackageStateChanged" && event.to === "starting" ? [event.package] : []
      )
      expect(starts).toEqual(packages.map((pkg) => pkg.name))
    }))

  it.effect("each package's finalizers get the exit the spine's scope closes with", () =>
    Effect.gen(function*() {
      const seen: Array<Exit.Exit<unknown, unknown>> = []
      const tag = Context.GenericTag<"Tx", number>("test/Tx")
      const tx = Package.make({
        name: "tx",
        version: "1.0.0",
        provides: tag,
        // a finalizer that commits on success and rolls back on failure, as `Layer.scoped` promises it can
        layer: Layer.scoped(tag, Effect.as(Effect.addFinalizer((exit) => Effect.sync(() => seen.push(exit))), 1))
      })
      for (const exit of [Exit.fail("crashed"), Exit.void]) {
        const scope = yield* Scope.make()
        yield* Layer.buildWithScope(Spine.layer({ packages: [tx] }), scope)
        yield* Scope.close(scope, exit)
      }
      expect(seen).toEqual([Exit.fail("crashed"), Exit.void])
    }))

  it.effect("a finalizer that hangs is given the default stop timeout, 10 seconds, when none is set", () =>
    Effect.gen(function*() {
      const make = makeTestPackage([])
      const scope = yield* Scope.make()
      const layer = Spine.layer({ packages: [make("hung", { hangOnRelease: true }).pkg] })
      const spine = Context.get(yield* Layer.buildWithScope(layer, scope), Spine.Spine)
      const events = yield* Effect.fork(eventsOf(spine))
      // a daemon: were the default longer, a failed assertion would otherwise wait on this close, which no
      // interruption stops, until vitest's timeout
      const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("9999 millis")
      expect(Option.isNone(yield* Fiber.poll(closing))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(Option.isSome(yield* Fiber.poll(closing))).toBe(true)
      const timeout = (yield* Fiber.join(events)).find((event) => event._tag === "PackageStopTimeout")
      expect(timeout).toMatchObject({ package: "hung", timeout: Duration.seconds(10) })
    }))

  it.effect("a start that hangs is given the default init timeout, 30 seconds, when none is set", () =>
    Effect.gen(function*() {
      const tag = Context.GenericTag<"Stuck", number>("test/Stuck")
      const stuck = Package.make({
        name: "stuck",
        version: "1.0.0",
        provides: tag,
        layer: Layer.effect(tag, Effect.never)
      })
      const exit = yield* runWithClock(Effect.scoped(Layer.build(Spine.layer({ packages: [stuck] }))))
      expect(exit).toStrictEqual(
        Exit.fail(expect.objectContaining({ _tag: "PackageInitTimeout", timeout: Duration.seconds(30) }))
      )
    }))

  it.effect("a finalizer that ends by interruption is no failed release; one that fails beside it still is", () =>
    Effect.gen(function*() {
      const tagOf = (name: string) => Context.GenericTag<string, number>(`test/cut-${name}`)
      const cut = (name: string, finalizers: ReadonlyArray<Effect.Effect<void>>) =>
        Package.make({
          name,
          version: "1.0.0",
          provides: tagOf(name),
          layer: Layer.scoped(
            tagOf(name),
            Effect.as(Effect.forEach(finalizers, (f) => Effect.addFinalizer(() => f)), 1)
          )
        })
      const packages = [
        cut("cut", [Effect.interrupt]),
        cut("mixed", [Effect.die(new Error("flush failed")), Effect.interrupt])
      ]
      const scope = yield* Scope.make()
      const spine = Context.get(yield* Layer.buildWithScope(Spine.layer({ packages }), scope), Spine.Spine)
      const events = yield* Effect.fork(eventsOf(spine))
      yield* Scope.close(scope, Exit.void)
      const failed = (yield* Fiber.join(events)).filter((event) => event._tag === "PackageStopFailed")
      expect(failed).toMatchObject([{ package: "mixed", reason: "flush failed" }])
      expect([yield* spine.state("cut"), yield* spine.state("mixed")]).toEqual(["stopped", "stopped"])
    }))

  it.effect("a layer that does not provide its package's service fails the start, and its finalizers see the failure", () =>
    Effect.gen(function*() {
      const seen: Array<Exit.Exit<unknown, unknown>> = []
      const Wrong = Context.GenericTag<"Wrong", number>("test/Wrong")
      const Other = Context.GenericTag<"Other", number>("test/Other")
      const wrong = Package.make({
        name: "wrong",
        version: "1.0.0",
        provides: Wrong,
        optional: true,
        // from JavaScript, or through a cast: the layer provides another tag
        layer: Layer.scoped(
          Other,
          Effect.as(Effect.addFinalizer((exit) => Effect.sync(() => seen.push(exit))), 1)
        ) as unknown as Layer.Layer<"Wrong">
      })
      const state = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages: [wrong] })),
        (context) => Context.get(context, Spine.Spine).timeline
      ))
      expect(state[0]).toMatchObject({ state: "failed", error: expect.stringContaining("did not provide test/Wrong") })
      expect(seen.map(Exit.isFailure)).toEqual([true])
    }))

  it.effect("the phase only moves forward: shutdown begun during the boot holds, and a stopped spine stays stopped", () =>
    Effect.gen(function*() {
      const a = makeTestPackage([])("a")
      const drain = Plugin.make({
        name: "drain",
        onInitialize: Effect.flatMap(Spine.Spine, (spine) => spine.beginShutdown)
      })
      const scope = yield* Scope.make()
      const spine = Context.get(
        yield* Layer.buildWithScope(Spine.layer({ packages: [a.pkg], plugins: [drain] }), scope),
        Spine.Spine
      )
      expect([yield* spine.phase, (yield* spine.health).ready]).toEqual(["stopping", false])
      expect(yield* Effect.flip(spine.add(makeTestPackage([])("b").pkg))).toMatchObject({ _tag: "SpineNotRunning" })
      const events = yield* Effect.fork(eventsOf(spine))
      yield* Scope.close(scope, Exit.void)
      yield* spine.beginShutdown
      expect(yield* spine.phase).toBe("stopped")
      const phases = (yield* Fiber.join(events)).flatMap((event) =>
        event._tag === "SpinePhaseChanged" ? [`${event.from}->${event.to}`] : []
      )
      expect(phases).toEqual(["booting->stopping", "stopping->stopped"])
      // the boot did end: its duration is recorded
      expect((yield* spine.report).summary.bootDurationMs).toBeTypeOf("number")
    }))
})

describe("Spine.layer: timeouts, retries and aborts", () => {
  const tagOf = (name: string) => Context.GenericTag<string, number>(`edge/${name}`)
  /** A required package whose start fails after `ms`, aborting the boot. */
  const failingAfter = (ms: number) =>
    Package.make({
      name: "boom",
      version: "1.0.0",
      provides: tagOf("boom"),
      layer: Layer.effect(tagOf("boom"), Effect.zipRight(Effect.sleep(ms), Effect.fail("no route")))
    })

  /** A layer whose build ignores interruption for `ms`, then acquires a connection it logs the release of. */
  const stubborn = (name: string, ms: number, log: Array<string>) =>
    Layer.scoped(
      tagOf(name),
      Effect.acquireRelease(
        Effect.as(Effect.zipRight(Effect.sleep(ms), Effect.sync(() => log.push(`opened ${name}`))), 1),
        () => Effect.sync(() => void log.push(`closed ${name}`))
      )
    )

  /** Boots with `Spine.Announce`, so that the spine can be read even when its boot fails. */
  const announced = (packages: ReadonlyArray<Package.Any>) =>
    Effect.gen(function*() {
      let spine: Spine.SpineService | undefined
      const announce = Layer.succeed(Spine.Announce, { announce: (service) => void (spine = service) })
      // a daemon: a test that fails while the boot still waits on the test clock then ends at once
      const booting = yield* Effect.forkDaemon(
        Effect.exit(Effect.scoped(Layer.build(Spine.layer({ packages }).pipe(Layer.provide(announce)))))
      )
      return { booting, spine: () => spine! }
    })

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
      const { booting } = yield* announced([a, b])
      yield* TestClock.adjust("300 millis")
      expect(booting.unsafePoll()).not.toBeNull()
      const exit = yield* Fiber.join(booting)
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      expect(error).toMatchObject({ _tag: "PackageInitTimeout", package: "b" })
    }))

  it.effect("an aborted boot leaves a start ignoring interruption at its stop timeout, reports it, releases it later", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const b = Package.make({
        name: "b",
        version: "1.0.0",
        provides: tagOf("b"),
        initTimeout: "1 minute",
        stopTimeout: "1 second",
        layer: stubborn("b", 40_000, log)
      })
      const { booting, spine } = yield* announced([failingAfter(100), b])
      yield* TestClock.adjust("1200 millis")
      expect(booting.unsafePoll()).toMatchObject({ _tag: "Success", value: { _tag: "Failure" } })
      // stopped when its stop timeout ran out, 1 s after the abort at 100 ms, and reported
      expect(yield* timeOf(spine(), "b")).toMatchObject({ state: "stopped", durationMs: 1100 })
      const events = yield* eventsOf(spine())
      expect(events.filter((event) => event._tag === "PackageStopTimeout")).toMatchObject([
        { package: "b", timeout: Duration.seconds(1) }
      ])
      // when its build ends at last, what it acquired is released, and its record stays as it was
      yield* TestClock.adjust("40 seconds")
      expect(log).toEqual(["opened b", "closed b"])
      expect(yield* timeOf(spine(), "b")).toMatchObject({ state: "stopped", durationMs: 1100 })
    }))

  it.effect("an aborted boot stops a package waiting out its retry schedule at once, and ends once it has", () =>
    Effect.gen(function*() {
      const flaky = Package.make({
        name: "flaky",
        version: "1.0.0",
        provides: tagOf("flaky"),
        optional: true,
        initRetry: Schedule.spaced("3 seconds"),
        layer: Layer.effect(tagOf("flaky"), Effect.fail("transient"))
      })
      const { booting, spine } = yield* announced([flaky, failingAfter(200)])
      yield* TestClock.adjust("200 millis")
      // failed by now, not 3 seconds later, when the retry would have come
      expect(booting.unsafePoll()).toMatchObject({ _tag: "Success", value: { _tag: "Failure" } })
      // stopped before the spine is
      const transitions = (yield* eventsOf(spine())).flatMap((event) =>
        event._tag === "PackageStateChanged" && event.package === "flaky"
          ? [`${event.from}->${event.to}`]
          : event._tag === "SpinePhaseChanged"
          ? [event.to]
          : []
      )
      expect(transitions).toEqual(["registered->starting", "stopping", "starting->stopped", "stopped"])
      expect(yield* timeOf(spine(), "flaky")).toMatchObject({ attempts: 1, durationMs: 200 })
    }))

  it.effect("a release past its stop timeout is interrupted: a finalizer that allows it is cut short", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const slow = Package.make({
        name: "slow",
        version: "1.0.0",
        provides: tagOf("slow"),
        stopTimeout: "1 second",
        layer: Layer.scoped(
          tagOf("slow"),
          Effect.as(
            // finalizers run uninterruptibly: this one lets its wait be cut short
            Effect.addFinalizer(() =>
              Effect.sleep("5 seconds").pipe(
                Effect.zipRight(Effect.sync(() => void log.push("finished"))),
                Effect.onInterrupt(() => Effect.sync(() => void log.push("interrupted"))),
                Effect.interruptible
              )
            ),
            1
          )
        )
      })
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(Spine.layer({ packages: [slow] }), scope)
      const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("1 second")
      expect(Option.isSome(yield* Fiber.poll(closing))).toBe(true)
      yield* TestClock.adjust("10 seconds")
      expect(log).toEqual(["interrupted"])
    }))

  it.effect("a start given up on by the abort is stopped once, even when its init timeout comes after", () =>
    Effect.gen(function*() {
      const stuck = Package.make({
        name: "stuck",
        version: "1.0.0",
        provides: tagOf("stuck"),
        initTimeout: "300 millis",
        stopTimeout: "400 millis",
        layer: Layer.effect(tagOf("stuck"), Effect.as(Effect.uninterruptible(Effect.sleep("2 seconds")), 1))
      })
      const { booting, spine } = yield* announced([stuck, failingAfter(100)])
      // the abort at 100 ms gives it 400 ms; its init timeout at 300 ms would give it 400 ms from then
      yield* TestClock.adjust("500 millis")
      expect(booting.unsafePoll()).toMatchObject({ _tag: "Success", value: { _tag: "Failure" } })
      expect(yield* timeOf(spine(), "stuck")).toMatchObject({ state: "stopped", durationMs: 500 })
      yield* TestClock.adjust("3 seconds")
      expect(yield* timeOf(spine(), "stuck")).toMatchObject({ state: "stopped", durationMs: 500 })
    }))

  it.effect("a retrying package whose merged layer interrupts itself, beside a start that timed out, still fails", () =>
    Effect.gen(function*() {
      const stuck = Package.make({
        name: "stuck",
        version: "1.0.0",
        provides: tagOf("stuck"),
        optional: true,
        initTimeout: "50 millis",
        layer: Layer.effect(tagOf("stuck"), Effect.never)
      })
      // the merge's other member is interrupted by the failing one: an interruption by another fiber than the start's
      const quits = Package.make({
        name: "quits",
        version: "1.0.0",
        provides: tagOf("quits"),
        optional: true,
        initRetry: Schedule.recurs(2),
        layer: Layer.merge(
          Layer.effect(tagOf("quits"), Effect.delay(Effect.interrupt, "100 millis")),
          Layer.effect(tagOf("quits-extra"), Effect.never)
        ) as Layer.Layer<string>
      })
      const { booting, spine } = yield* announced([stuck, quits])
      yield* TestClock.adjust("5 seconds")
      expect(booting.unsafePoll()).toMatchObject({ _tag: "Success", value: { _tag: "Success" } })
      const { attempts, state } = yield* timeOf(spine(), "quits")
      expect(state).toBe("failed")
      expect(attempts).toBeGreaterThanOrEqual(3)
    }))

  it.effect("a start that ignores interruption past its init timeout releases what it built; past its stop timeout too", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const late = (name: string, buildMs: number, stopTimeout: Duration.DurationInput) =>
        Package.make({
          name,
          version: "1.0.0",
          provides: tagOf(name),
          optional: true,
          initTimeout: "100 millis",
          stopTimeout,
          layer: stubborn(name, buildMs, log)
        })
      // one builds within its stop timeout once timed out, the other past it: that is reported
      const { booting, spine } = yield* announced([late("late", 500, "1 second"), late("later", 2000, "200 millis")])
      yield* TestClock.adjust("3 seconds")
      expect(booting.unsafePoll()).toMatchObject({ _tag: "Success", value: { _tag: "Success" } })
      expect(log.sort()).toEqual(["closed late", "closed later", "opened late", "opened later"])
      const events = yield* eventsOf(spine())
      expect(events.filter((event) => event._tag === "PackageStopTimeout")).toMatchObject([
        { package: "later", timeout: Duration.millis(200) }
      ])
      expect([yield* spine().state("late"), yield* spine().state("later")]).toEqual(["failed", "failed"])
    }))

  it.effect("an optional package timing out while it builds a layer it shares does not fail a required one", () =>
    Effect.gen(function*() {
      // a sub-layer both packages build for themselves (not a package of its own): one build per walk
      const pool = Layer.effect(tagOf("pool"), Effect.as(Effect.sleep("500 millis"), 1))
      const usingPool = (name: string) => Layer.effect(tagOf(name), tagOf("pool"))
      const make = (name: string, layer: Layer.Layer<string>, options: {
        readonly optional?: boolean
        readonly initTimeout?: Duration.DurationInput
        readonly requires?: ReadonlyArray<Context.Tag<string, number>>
      } = {}) => Package.make({ name, version: "1.0.0", provides: tagOf(name), ...options, layer })
      const timelineAfter = (packages: ReadonlyArray<Package.Any>, time: Duration.DurationInput) =>
        Effect.gen(function*() {
          const booting = yield* Effect.fork(Effect.scoped(Effect.flatMap(
            Layer.build(Spine.layer({ packages })),
            (context) => Context.get(context, Spine.Spine).timeline
          )))
          yield* TestClock.adjust(time)
          const timeline = yield* Fiber.join(booting)
          return (name: string) => timeline.find((entry) => entry.package === name)
        })
      const reports = make("reports", usingPool("reports").pipe(Layer.provide(pool)), {
        optional: true,
        initTimeout: "100 millis"
      })
      const users = make("users", usingPool("users").pipe(Layer.provide(pool)), { initTimeout: "10 seconds" })
      // either may be the one that builds the shared layer
      for (const packages of [[reports, users], [users, reports]]) {
        const entry = yield* timelineAfter(packages, "1 second")
        expect(entry("reports")).toMatchObject({ state: "failed" })
        // built by `reports` and interrupted with it, then by `users` itself
        expect(entry("users")).toMatchObject({ state: "ready", durationMs: packages[0] === reports ? 600 : 500 })
      }
      // `users` begins after `reports` timed out, and finds the shared build already interrupted
      const after = (ms: number) => make("x", Layer.effect(tagOf("x"), Effect.as(Effect.sleep(ms), 1)))
      const later = (layer: Layer.Layer<string>) => make("users", layer, { requires: [tagOf("x")] })
      const laterUsers = later(usingPool("users").pipe(Layer.provide(pool)))
      expect((yield* timelineAfter([reports, after(250), laterUsers], "1 second"))("users")).toMatchObject({
        state: "ready",
        attempts: 2
      })
      // `reports` builds the shared layer in a child fiber (`Layer.merge`), which its timeout interrupts in turn;
      // `users` begins 50 ms later, while that build runs
      const other = Layer.succeed(tagOf("other"), 1)
      const merged = make("reports", usingPool("reports").pipe(Layer.provide(Layer.merge(pool, other))), {
        optional: true,
        initTimeout: "100 millis"
      })
      expect((yield* timelineAfter([merged, after(50), laterUsers], "1 second"))("users")).toMatchObject({
        state: "ready",
        attempts: 2
      })
      // `users` takes the shared layer within a `Layer.merge` of its own, which interrupts its other member
      const own = Layer.effect(tagOf("own"), Effect.as(Effect.sleep("1 second"), 1))
      const mergedUsers = later(usingPool("users").pipe(Layer.provide(Layer.merge(pool, own))))
      expect((yield* timelineAfter([reports, after(50), mergedUsers], "2 seconds"))("users")).toMatchObject({
        state: "ready",
        attempts: 2
      })
    }))

  it.effect("a layer that interrupts itself is one failed attempt: no second start without initRetry", () =>
    Effect.gen(function*() {
      const Quits = Context.GenericTag<"Quits", number>("abort/Quits")
      let builds = 0
      const quits = Package.make({
        name: "quits",
        version: "1.0.0",
        provides: Quits,
        optional: true,
        layer: Layer.effect(Quits, Effect.zipRight(Effect.sync(() => builds++), Effect.interrupt))
      })
      const spine = yield* Effect.scoped(
        Effect.map(Layer.build(Spine.layer({ packages: [quits] })), Context.get(Spine.Spine))
      )
      expect([builds, (yield* timeOf(spine, "quits")).attempts]).toEqual([1, 1])
      // nor when another package times out meanwhile
      const Stuck = Context.GenericTag<"Stuck", number>("abort/Stuck")
      const stuck = Package.make({
        name: "stuck",
        version: "1.0.0",
        provides: Stuck,
        optional: true,
        initTimeout: "50 millis",
        layer: Layer.effect(Stuck, Effect.never)
      })
      const slowQuits = Package.make({
        name: "quits",
        version: "1.0.0",
        provides: Quits,
        optional: true,
        layer: Layer.effect(
          Quits,
          Effect.zipRight(Effect.sync(() => builds++), Effect.delay(Effect.interrupt, "200 millis"))
        )
      })
      builds = 0
      const booting = yield* Effect.fork(Effect.scoped(Effect.map(
        Layer.build(Spine.layer({ packages: [stuck, slowQuits] })),
        Context.get(Spine.Spine)
      )))
      yield* TestClock.adjust("1 second")
      const again = yield* Fiber.join(booting)
      expect([builds, (yield* timeOf(again, "quits")).attempts]).toEqual([1, 1])
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

  it.effect("an aborted boot turns the phase stopping at once, while a start in progress still unwinds", () =>
    Effect.gen(function*() {
      const stubborn = Package.make({
        name: "stubborn",
        version: "1.0.0",
        provides: tagOf("stubborn"),
        stopTimeout: "10 seconds",
        layer: Layer.effect(tagOf("stubborn"), Effect.as(Effect.uninterruptible(Effect.sleep("2 seconds")), 1))
      })
      const { booting, spine } = yield* announced([stubborn, failingAfter(100)])
      yield* TestClock.adjust("100 millis")
      expect([yield* spine().phase, yield* spine().state("stubborn")]).toEqual(["stopping", "starting"])
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(booting)).toStrictEqual(
        Exit.fail(expect.objectContaining({ _tag: "PackageInitFailed", package: "boom" }))
      )
      expect(yield* spine().phase).toBe("stopped")
    }))
})

describe("Spine.layer: the event loop", () => {
  // a process, since only Node's event loop shows a timer left behind; the script's timeouts are an hour long
  it("keeps no timer alive once the boot, a round of checks or the release is over: a script that is done exits", async () => {
    for (const mode of ["release", "leak"]) {
      const { code, stdout } = await startScript("test/fixtures/idle-app.ts", { MODE: mode }, 20_000).exited
      expect({ mode, code, done: stdout.includes("done") }).toEqual({ mode, code: 0, done: true })
    }
  })
})
