import { describe, expect, it } from "@effect/vitest"
import {
  Chunk,
  Config,
  ConfigProvider,
  Context,
  Effect,
  Exit,
  Fiber,
  Layer,
  Metric,
  Schedule,
  Scope,
  Stream,
  TestClock
} from "effect"
import { Lifecycle, Metrics, Package, Spine } from "../../src/index.js"

const { packageStates } = Lifecycle

/** A package that records its acquisition and release in `log`. */
const recorded = (log: Array<string>) =>
(
  name: string,
  options: {
    readonly deps?: ReadonlyArray<Context.Tag<string, number>>
    readonly optional?: boolean
    readonly feature?: string
    readonly health?: boolean
    readonly healthSchedule?: Schedule.Schedule<unknown, unknown>
    /** Runs before the acquisition, interruptibly: a slow or failing start. */
    readonly init?: Effect.Effect<void, Error>
    readonly releaseMs?: number
  } = {}
) => {
  const tag = Context.GenericTag<string, number>(`manage/${name}`)
  const pkg = Package.make({
    name,
    version: "1.0.0",
    provides: tag,
    requires: options.deps ?? [],
    optional: options.optional ?? false,
    ...(options.feature === undefined ? {} : { feature: options.feature }),
    ...(options.health ? { health: () => Effect.sync(() => void log.push(`check ${name}`)) } : {}),
    ...(options.healthSchedule === undefined ? {} : { healthSchedule: options.healthSchedule }),
    layer: Layer.scoped(
      tag,
      Effect.zipRight(
        options.init ?? Effect.void,
        Effect.acquireRelease(
          Effect.sync(() => (log.push(`+${name}`), 1)),
          () =>
            Effect.zipRight(
              options.releaseMs === undefined ? Effect.void : Effect.sleep(options.releaseMs),
              Effect.sync(() => void log.push(`-${name}`))
            )
        )
      )
    )
  })
  return { tag, pkg }
}

const withSpine = <A, E>(
  options: Spine.Options<ReadonlyArray<Package.Any>>,
  f: (spine: Spine.SpineService) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const spine = Context.get(yield* Layer.buildWithScope(Spine.layer(options), scope), Spine.Spine)
    const events = yield* Effect.fork(Stream.runCollect(spine.events))
    const result = yield* f(spine)
    yield* Scope.close(scope, Exit.void)
    return { result, spine, events: Chunk.toReadonlyArray(yield* Fiber.join(events)) }
  })

describe("runtime package management", () => {
  it.effect("a change interrupted by its caller unwinds its starts before its own cleanup, dependents first", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      interface Held {
        alive: boolean
      }
      const tag = (name: string) => Context.GenericTag<string, Held>(`manage/held-${name}`)
      // with a dependency, it holds it while it still starts (warming a cache through it, say) for 10 s
      const holding = (name: string, options: { readonly requires?: string; readonly feature?: string } = {}) =>
        Package.make({
          name,
          version: "1.0.0",
          provides: tag(name),
          requires: options.requires === undefined ? [] : [tag(options.requires)],
          optional: true,
          ...(options.feature === undefined ? {} : { feature: options.feature }),
          layer: Layer.scoped(
            tag(name),
            Effect.gen(function*() {
              const dependency = options.requires === undefined ? undefined : yield* tag(options.requires)
              const held = yield* Effect.acquireRelease(
                Effect.sync((): Held => (log.push(`+${name}`), { alive: true })),
                (self) =>
                  Effect.sync(() => {
                    self.alive = false
                    log.push(
                      `-${name}${dependency === undefined ? "" : ` (${options.requires} alive: ${dependency.alive})`}`
                    )
                  })
              )
              if (dependency !== undefined) yield* Effect.sleep("10 seconds")
              return held
            })
          )
        })
      const scope = yield* Scope.make()
      const spine = Context.get(
        yield* Layer.buildWithScope(
          Spine.layer({
            packages: [holding("store", { feature: "f" }), holding("reader", { requires: "store" }), holding("base")],
            features: { f: false }
          }),
          scope
        ),
        Spine.Spine
      )
      const states = (...names: ReadonlyArray<string>) => Effect.forEach(names, (name) => spine.state(name))

      // turned on, then interrupted (as `Effect.timeout` would) while the reader still starts
      const flip = yield* Effect.fork(spine.setFeature("f", true))
      yield* TestClock.adjust("1 second")
      expect(yield* states("store", "reader")).toEqual(["ready", "starting"])
      yield* Fiber.interrupt(flip)
      expect(log).toEqual(["+base", "+store", "+reader", "-reader (store alive: true)", "-store"])
      expect(yield* states("store", "reader")).toEqual(["disabled", "skipped"])
      expect(yield* spine.isFeatureEnabled("f")).toBe(false)

      // added, then interrupted while it starts: a later change finds it released
      log.length = 0
      const adding = yield* Effect.fork(spine.add(holding("writer", { requires: "base" })))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(adding)
      yield* spine.remove("base")
      expect(log).toEqual(["+writer", "-writer (base alive: true)", "-base"])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("service reads the running graph, where the layer's context stays as the boot left it", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const mail = make("mail", { feature: "mail", optional: true })
      const extra = make("extra", { optional: true, releaseMs: 1000 })
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        Spine.layer({ packages: [mail.pkg], features: { mail: false } }),
        scope
      )
      const spine = Context.get(context, Spine.Spine)
      const both = Effect.gen(function*() {
        const running = yield* spine.service(mail.tag)
        const booted = Context.getOption(context, mail.tag)
        return [running._tag, booted._tag]
      })
      expect(yield* both).toEqual(["None", "None"])
      yield* spine.setFeature("mail", true)
      expect(yield* both).toEqual(["Some", "None"])
      yield* spine.add(extra.pkg)
      expect((yield* spine.service(extra.tag))._tag).toBe("Some")
      // a daemon: a failed assertion does not then wait on a release that sleeps on the test clock
      const removing = yield* Effect.forkDaemon(spine.remove("extra"))
      while ((yield* spine.state("extra")) !== "stopping") yield* Effect.yieldNow()
      // being released, it no longer serves
      expect((yield* spine.service(extra.tag))._tag).toBe("None")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(removing)
      expect((yield* spine.service(extra.tag))._tag).toBe("None")
      yield* spine.setFeature("mail", false)
      expect(yield* both).toEqual(["None", "None"])
      yield* Scope.close(scope, Exit.void)
      expect((yield* spine.service(mail.tag))._tag).toBe("None")
      expect(log).toEqual(["+mail", "+extra", "-extra", "-mail"])
    }))

  it.effect("adds a package to the running graph, health-checks it and releases it in order at shutdown", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const db = make("db")
      const cache = make("cache", { deps: [db.tag], health: true })
      const { result } = yield* withSpine({ packages: [db.pkg] }, (spine) =>
        Effect.gen(function*() {
          yield* spine.add(cache.pkg)
          const state = yield* spine.state("cache")
          const health = yield* spine.checkHealth("cache")
          const duplicate = yield* Effect.flip(spine.add(cache.pkg))
          const graph = yield* spine.graph
          return { state, health: health.packages.cache.status, duplicate, dependents: graph.dependents("db") }
        }))
      expect(result).toMatchObject({ state: "ready", health: "pass", dependents: ["cache"] })
      expect(result.duplicate).toMatchObject({ _tag: "DuplicatePackage", package: "cache" })
      // checked once on joining, once by checkHealth
      expect(log).toEqual(["+db", "+cache", "check cache", "check cache", "-cache", "-db"])
    }))

  it.effect("a package added again under its name moves on from its last state with an event, as events promise", () =>
    Effect.gen(function*() {
      const make = recorded([])
      const db = make("db")
      let attempts = 0
      const flaky = make("flaky", {
        optional: true,
        init: Effect.suspend(() => ++attempts === 1 ? Effect.fail(new Error("cold")) : Effect.void)
      })
      // the same service under another name, to take db's place
      const dbTwo = Package.make({
        name: "db-two",
        version: "1.0.0",
        provides: db.tag,
        layer: Layer.succeed(db.tag, 2)
      })
      const { events } = yield* withSpine({ packages: [db.pkg, flaky.pkg] }, (spine) =>
        Effect.gen(function*() {
          yield* spine.remove("db")
          yield* spine.add(db.pkg)
          yield* spine.add(flaky.pkg)
          // db's place taken over by db-two, then db back in it
          yield* spine.remove("db")
          yield* spine.add(dbTwo)
          yield* spine.remove("db-two")
          yield* spine.add(db.pkg)
        }))
      const of = (name: string) =>
        events.flatMap((event) =>
          event._tag === "PackageStateChanged" && event.package === name ? [`${event.from}->${event.to}`] : []
        )
      for (const name of ["db", "flaky", "db-two"]) {
        const transitions = of(name)
        // each transition starts where the last one ended
        expect(transitions.slice(1).every((step, i) => step.split("->")[0] === transitions[i].split("->")[1])).toBe(
          true
        )
      }
      expect(of("flaky").slice(0, 3)).toEqual(["registered->starting", "starting->failed", "failed->registered"])
    }))

  it.effect("a package under another name takes the place of a removed one that provided the same service", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const tag = Context.GenericTag<string, number>("manage/cache")
      const cache = (name: string) =>
        Package.make({
          name,
          version: "1.0.0",
          provides: tag,
          layer: Layer.scoped(
            tag,
            Effect.acquireRelease(Effect.sync(() => (log.push(`+${name}`), 1)), () =>
              Effect.sync(() => log.push(`-${name}`)))
          )
        })
      const api = recorded(log)("api", { deps: [tag] })
      const { result } = yield* withSpine(
        { packages: [cache("cache-redis"), api.pkg] },
        (spine) =>
          Effect.gen(function*() {
            // the replacement is refused while the old provider runs
            const refused = yield* Effect.flip(spine.add(cache("cache-memory")))
            yield* spine.remove("cache-redis", { cascade: true })
            yield* spine.add(cache("cache-memory"))
            yield* spine.add(api.pkg)
            const packages = (yield* spine.packages).map((info) => info.name)
            const graph = yield* spine.graph
            // the old name is gone with it
            const gone = yield* Effect.flip(spine.state("cache-redis"))
            return { refused, packages, users: graph.dependents("cache-memory"), gone }
          })
      )
      expect(result.refused).toMatchObject({ _tag: "DuplicateProvider" })
      expect(result.gone).toMatchObject({ _tag: "PackageNotFound", package: "cache-redis" })
      expect(result.packages).toEqual(["cache-memory", "api"])
      expect(result.users).toEqual(["api"])
      expect(log).toEqual([
        "+cache-redis",
        "+api",
        "-api",
        "-cache-redis",
        "+cache-memory",
        "+api",
        "-api",
        "-cache-memory"
      ])
    }))

  it.effect("what removed packages required is not checked against a package added in their place", () =>
    Effect.gen(function*() {
      const tag = Context.GenericTag<string, number>("manage/inert-cache")
      const cache = (name: string, version: string, optional: boolean) =>
        Package.make({ name, version, provides: tag, optional, layer: Layer.succeed(tag, 1) })
      const api = Package.make({
        name: "api",
        version: "1.0.0",
        provides: Context.GenericTag<string, number>("manage/inert-api"),
        requires: [[tag, "^2.0.0"]],
        layer: Layer.effect(Context.GenericTag<string, number>("manage/inert-api"), tag)
      })
      const { result } = yield* withSpine(
        { packages: [cache("cache-redis", "2.0.0", false), api] },
        (spine) =>
          Effect.gen(function*() {
            yield* spine.remove("cache-redis", { cascade: true })
            // the removed api requires ^2.0.0 of a required provider: neither holds now, and neither matters
            yield* spine.add(cache("cache-memory", "1.0.0", true))
            const state = yield* spine.state("cache-memory")
            // api coming back is checked against it
            const readded = yield* Effect.flip(spine.add(api))
            // a package taking cache-memory's name, and so its place, provides another service: the removed api's
            // requirement now has no provider at all, and that matters neither
            yield* spine.remove("cache-memory")
            const Clock = Context.GenericTag<string, number>("manage/inert-clock")
            yield* spine.add(
              Package.make({ name: "cache-memory", version: "1.0.0", provides: Clock, layer: Layer.succeed(Clock, 1) })
            )
            return { state, readded, replaced: yield* spine.state("cache-memory") }
          })
      )
      expect(result.state).toBe("ready")
      expect(result.readded).toMatchObject({ _tag: "IncompatibleVersion", package: "api", dependency: "cache-memory" })
      expect(result.replaced).toBe("ready")
    }))

  it.effect("rejects an added package whose requirement nobody provides, and starts nothing", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const db = make("db")
      const orphan = make("orphan", { deps: [Context.GenericTag<string, number>("manage/nowhere")] })
      const { result } = yield* withSpine({ packages: [db.pkg] }, (spine) => Effect.flip(spine.add(orphan.pkg)))
      expect(result).toMatchObject({ _tag: "MissingDependency", package: "orphan" })
      expect(log).toEqual(["+db", "-db"])
    }))

  it.effect("refuses to remove a package with running dependents; cascade stops them first, in reverse order", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const db = make("db")
      const repo = make("repo", { deps: [db.tag] })
      const api = make("api", { deps: [repo.tag] })
      const other = make("other")
      const { result, spine } = yield* withSpine(
        { packages: [db.pkg, repo.pkg, api.pkg, other.pkg] },
        (spine) =>
          Effect.gen(function*() {
            const refused = yield* Effect.flip(spine.remove("db"))
            log.push("--")
            yield* spine.remove("db", { cascade: true })
            const states = yield* Effect.forEach(["db", "repo", "api", "other"], spine.state)
            yield* spine.remove("other")
            return { refused, states }
          })
      )
      expect(result.refused).toMatchObject({ _tag: "PackageHasDependents", package: "db", dependents: ["repo", "api"] })
      expect(result.refused.message).toContain("cascade")
      expect(result.states).toEqual(["stopped", "stopped", "stopped", "ready"])
      expect(log).toEqual(["+db", "+other", "+repo", "+api", "--", "-api", "-repo", "-db", "-other"])
      expect(yield* spine.state("other")).toBe("stopped")
    }))

  it.effect("starts and stops a feature's packages, and what depends on them, without a restart", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const mail = make("mail", { feature: "mail" })
      const digest = make("digest", { deps: [mail.tag], optional: true })
      const { events, result } = yield* withSpine(
        { packages: [mail.pkg, digest.pkg], features: { mail: false } },
        (spine) =>
          Effect.gen(function*() {
            const states = () => Effect.forEach(["mail", "digest"], spine.state)
            const before = yield* states()
            yield* spine.setFeature("mail", true)
            const on = yield* states()
            const flag = yield* spine.isFeatureEnabled("mail")
            yield* spine.setFeature("mail", false)
            const off = yield* states()
            return { before, on, flag, off }
          })
      )
      expect(result).toEqual({
        before: ["disabled", "skipped"],
        on: ["ready", "ready"],
        flag: true,
        off: ["disabled", "skipped"]
      })
      expect(log).toEqual(["+mail", "+digest", "-digest", "-mail"])
      const transitions = events.flatMap((event) =>
        event._tag === "PackageStateChanged" ? [`${event.package}:${event.from}->${event.to}`] : []
      )
      expect(transitions).toEqual([
        "digest:registered->skipped",
        "mail:disabled->registered",
        "digest:skipped->registered",
        "mail:registered->starting",
        "mail:starting->ready",
        "digest:registered->starting",
        "digest:starting->ready",
        "digest:ready->stopping",
        "digest:stopping->stopped",
        "mail:ready->stopping",
        "mail:stopping->stopped",
        "mail:stopped->disabled",
        "digest:stopped->skipped"
      ])
    }))

  it.effect("shutdown interrupts an add still starting, and waits for a remove to finish its release", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const db = make("db")
      const api = make("api", { deps: [db.tag], releaseMs: 1000 })
      const slow = make("slow", { deps: [db.tag], init: Effect.sleep("1 minute") })

      const first = yield* Scope.make()
      const one = Context.get(yield* Layer.buildWithScope(Spine.layer({ packages: [db.pkg] }), first), Spine.Spine)
      const adding = yield* Effect.fork(one.add(slow.pkg))
      yield* TestClock.adjust("10 millis")
      yield* Scope.close(first, Exit.void)
      expect(yield* Effect.flip(Fiber.join(adding))).toMatchObject({ _tag: "SpineNotRunning", phase: "stopping" })
      expect(yield* one.state("slow")).toBe("stopped")
      const slowTimeline = (yield* one.timeline).find((entry) => entry.package === "slow")
      expect(slowTimeline).toMatchObject({ state: "stopped", durationMs: 10 })
      expect(slowTimeline?.stoppedAt).toBeInstanceOf(Date)
      expect(log).toEqual(["+db", "-db"])

      log.length = 0
      const second = yield* Scope.make()
      const two = Context.get(
        yield* Layer.buildWithScope(Spine.layer({ packages: [db.pkg, api.pkg] }), second),
        Spine.Spine
      )
      const removing = yield* Effect.fork(two.remove("db", { cascade: true }))
      yield* TestClock.adjust("10 millis") // "api" is stopping, "db" waits for it
      const closing = yield* Effect.fork(Scope.close(second, Exit.void))
      yield* TestClock.adjust("10 millis")
      expect(yield* two.phase).toBe("stopping")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing)
      yield* Fiber.join(removing)
      expect(log).toEqual(["+db", "+api", "-api", "-db"])
      expect(yield* two.phase).toBe("stopped")
    }))

  it.effect("an interrupted remove finishes its release before the next change runs", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const db = make("db")
      const api = make("api", { deps: [db.tag], releaseMs: 1000 })
      const web = make("web", { deps: [db.tag] })
      const { result } = yield* withSpine({ packages: [db.pkg, api.pkg] }, (spine) =>
        Effect.gen(function*() {
          const removing = yield* Effect.fork(spine.remove("db", { cascade: true }))
          yield* TestClock.adjust("10 millis") // "api" is stopping
          const interrupting = yield* Effect.fork(Fiber.interrupt(removing))
          const adding = yield* Effect.fork(Effect.flip(spine.add(web.pkg)))
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(interrupting)
          return yield* Fiber.join(adding)
        }))
      expect(result).toMatchObject({ _tag: "DependencyNotRunning", package: "web", dependency: "db", state: "removed" })
      expect(result.message).toBe(`Package "web" requires "db", which is removed; start it first`)
      expect(log).toEqual(["+db", "+api", "-api", "-db"])
    }))

  it.effect("once shutdown has begun, every change is refused with SpineNotRunning and nothing moves", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const db = make("db")
      const mail = make("mail", { feature: "mail", optional: true })
      const { result } = yield* withSpine(
        { packages: [db.pkg, mail.pkg], features: { mail: false } },
        (spine) =>
          Effect.gen(function*() {
            yield* spine.beginShutdown
            const refused = yield* Effect.all([
              Effect.flip(spine.add(make("extra").pkg)),
              Effect.flip(spine.remove("db")),
              Effect.flip(spine.setFeature("mail", true))
            ])
            return { refused, states: yield* Effect.all([spine.state("db"), spine.state("mail")]) }
          })
      )
      expect(result.refused).toMatchObject(Array(3).fill({ _tag: "SpineNotRunning", phase: "stopping" }))
      expect(result.states).toEqual(["ready", "disabled"])
      expect(log).toEqual(["+db", "-db"])
    }))

  it.effect("a removed package, or one whose add failed, leaves readiness alone", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const db = make("db")
      const other = make("other")
      const bad = make("bad", { deps: [db.tag], init: Effect.fail(new Error("bad exploded")) })
      const { result } = yield* withSpine({ packages: [db.pkg, other.pkg] }, (spine) =>
        Effect.gen(function*() {
          yield* spine.remove("other")
          const afterRemove = yield* spine.health
          const failed = yield* Effect.flip(spine.add(bad.pkg))
          const afterFailedAdd = yield* spine.health
          const states = yield* Effect.forEach(["other", "bad"], spine.state)
          return { afterRemove, failed, afterFailedAdd, states }
        }))
      expect(result.afterRemove).toMatchObject({ status: "pass", ready: true })
      expect(Object.keys(result.afterRemove.packages)).toEqual(["db"])
      expect(result.failed).toMatchObject({ _tag: "PackageInitFailed", package: "bad" })
      expect(result.afterFailedAdd).toMatchObject({ status: "pass", ready: true })
      expect(result.states).toEqual(["stopped", "failed"])
    }))

  it.effect("turning a feature on either starts all of it or leaves the flag off with nothing started", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const mail = make("mail", { feature: "mail" })
      const queue = make("queue", { feature: "mail", deps: [mail.tag], init: Effect.fail(new Error("no broker")) })
      const host = Context.GenericTag<string, string>("manage/mail-host")
      const mailer = Package.make({
        name: "mailer",
        version: "1.0.0",
        provides: host,
        feature: "smtp",
        config: Config.string("MAIL_HOST"),
        layer: (value: string) => Layer.succeed(host, value)
      })
      const { result } = yield* withSpine(
        { packages: [mail.pkg, queue.pkg, mailer], features: { mail: false, smtp: false } },
        (spine) =>
          Effect.gen(function*() {
            const failedStart = yield* Effect.flip(spine.setFeature("mail", true))
            const mailOn = yield* spine.isFeatureEnabled("mail")
            const mailStates = yield* Effect.forEach(["mail", "queue"], spine.state)
            const badConfig = yield* Effect.flip(spine.setFeature("smtp", true))
            const smtpOn = yield* spine.isFeatureEnabled("smtp")
            // the configuration fixed, the same call starts it
            yield* Effect.withConfigProvider(
              spine.setFeature("smtp", true),
              ConfigProvider.fromMap(new Map([["MAIL_HOST", "smtp.example.com"]]))
            )
            const mailerState = yield* spine.state("mailer")
            return { failedStart, mailOn, mailStates, badConfig, smtpOn, mailerState }
          })
      )
      expect(result.failedStart).toMatchObject({ _tag: "PackageInitFailed", package: "queue" })
      expect(result).toMatchObject({ mailOn: false, mailStates: ["disabled", "disabled"], smtpOn: false })
      expect(result.badConfig).toMatchObject({ _tag: "InvalidConfig" })
      expect(result.mailerState).toBe("ready")
      expect(log).toEqual(["+mail", "-mail"])
    }))

  it.effect("spine_packages moves with every change, by this spine's counts", () =>
    Effect.gen(function*() {
      const make = recorded([])
      const db = make("db")
      const cache = make("cache", { deps: [db.tag] })
      const gauges = Effect.forEach(packageStates, (state) =>
        Effect.map(Metric.value(Metric.tagged(Metrics.packages, "state", state)), (gauge) => gauge.value))
      const before = yield* gauges
      const { result } = yield* withSpine({ packages: [db.pkg] }, (spine) =>
        Effect.gen(function*() {
          yield* spine.add(cache.pkg)
          yield* spine.remove("cache")
          yield* spine.add(cache.pkg)
          const after = yield* gauges
          return {
            moved: after.map((value, i) =>
              value - before[i]
            ),
            byState: (yield* spine.statistics).byState
          }
        }))
      expect(result.moved).toEqual(packageStates.map((state) => result.byState[state] ?? 0))
      expect(result.byState).toMatchObject({ ready: 2 })
    }))

  it.effect("a spine leaves spine_packages once stopped; one failed by a hook leaves no package registered", () =>
    Effect.gen(function*() {
      const make = recorded([])
      const gauges = Effect.forEach(
        packageStates,
        (state) => Effect.map(Metric.value(Metric.tagged(Metrics.packages, "state", state)), (gauge) => gauge.value)
      )
      const before = yield* gauges
      yield* withSpine({ packages: [make("db").pkg] }, () => Effect.void)
      let announced: Spine.SpineService | undefined
      const failed = yield* Effect.exit(Effect.scoped(Layer.build(
        Spine.layer({ packages: [make("cache").pkg], hooks: { beforeInit: Effect.die("no disk") } }).pipe(
          Layer.provide(Layer.succeed(Spine.Announce, { announce: (spine) => void (announced = spine) }))
        )
      )))
      expect(Exit.isFailure(failed)).toBe(true)
      expect(yield* announced!.state("cache")).toBe("skipped")
      expect(yield* gauges).toEqual(before)
    }))

  it.effect("a removed package's own health loop stops; re-added, it runs one loop again", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      let decisions = 0
      const schedule = Schedule.spaced("1 second").pipe(Schedule.tapInput(() => Effect.sync(() => void decisions++)))
      const make = recorded(log)
      const db = make("db")
      const cache = make("cache", { deps: [db.tag], health: true, healthSchedule: schedule })
      const { result } = yield* withSpine(
        { packages: [db.pkg], health: { interval: "1 hour" } },
        (spine) =>
          Effect.gen(function*() {
            const counts: Array<number> = []
            yield* spine.add(cache.pkg)
            yield* TestClock.adjust("3 seconds")
            counts.push(decisions)
            yield* spine.remove("cache")
            yield* TestClock.adjust("3 seconds")
            counts.push(decisions)
            yield* spine.add(cache.pkg)
            yield* TestClock.adjust("3 seconds")
            counts.push(decisions)
            return counts
          })
      )
      const [first, afterRemove, afterReAdd] = result
      expect(first).toBeGreaterThan(0)
      expect(afterRemove).toBe(first)
      expect(afterReAdd - afterRemove).toBe(first)
    }))
})

// Each walk (the boot, an add, a flag turned on) builds with a MemoMap of its own: Effect's MemoMap keeps a layer
// whose build failed, so a spine-wide one handed a later start of the same layer its old failure, unbuilt.
/** A layer that fails (or hangs) on its first `bad` runs, then starts. */
const transient = (name: string, bad: "fail" | "hang" = "fail") => {
  const tag = Context.GenericTag<string, number>(`manage-memo/${name}`)
  const runs = { count: 0 }
  const layer = Layer.effect(
    tag,
    Effect.suspend(() => {
      runs.count++
      if (runs.count > 1) return Effect.succeed(runs.count)
      return bad === "fail" ? Effect.fail(new Error(`${name}: not yet`)) : Effect.never
    })
  )
  return { tag, runs, layer }
}

const bootSpine = (options: Spine.Options<ReadonlyArray<Package.Any>>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const spine = Context.get(yield* Layer.buildWithScope(Spine.layer(options), scope), Spine.Spine)
    return { spine, close: Scope.close(scope, Exit.void) }
  })

describe("a layer that failed to start runs again on the next start", () => {
  it.effect("a package turned off and on again has the timeline of its new run only", () =>
    Effect.gen(function*() {
      const make = recorded([])
      const mail = make("mail", { feature: "mail" })
      const { result } = yield* withSpine({ packages: [mail.pkg], features: { mail: true } }, (spine) =>
        Effect.gen(function*() {
          yield* spine.setFeature("mail", false)
          yield* spine.setFeature("mail", true)
          return (yield* spine.timeline).find((entry) =>
            entry.package === "mail"
          )
        }))
      expect(result).toMatchObject({ state: "ready", attempts: 1, stoppedAt: undefined, stopDurationMs: undefined })
      expect(result?.readyAt).toBeInstanceOf(Date)
    }))

  it.effect("setFeature on, failing; setFeature on again runs the layer again", () =>
    Effect.gen(function*() {
      const mail = transient("mail")
      const pkg = Package.make({
        name: "mail",
        version: "1.0.0",
        provides: mail.tag,
        feature: "mail",
        layer: mail.layer
      })
      const { close, spine } = yield* bootSpine({ packages: [pkg], features: { mail: false } })
      const first = yield* Effect.flip(spine.setFeature("mail", true))
      expect(first).toMatchObject({ _tag: "PackageInitFailed", package: "mail" })
      const second = yield* Effect.exit(spine.setFeature("mail", true))
      const state = yield* spine.state("mail")
      yield* close
      expect({ runs: mail.runs.count, second: Exit.isSuccess(second), state }).toEqual({
        runs: 2,
        second: true,
        state: "ready"
      })
    }))

  it.effect("add failing; add of the same package again runs the layer again", () =>
    Effect.gen(function*() {
      const cache = transient("cache")
      const pkg = Package.make({ name: "cache", version: "1.0.0", provides: cache.tag, layer: cache.layer })
      const { close, spine } = yield* bootSpine({ packages: [] })
      const first = yield* Effect.flip(spine.add(pkg))
      expect(first).toMatchObject({ _tag: "PackageInitFailed", package: "cache" })
      expect(yield* spine.state("cache")).toBe("failed")
      const second = yield* Effect.exit(spine.add(pkg))
      const state = yield* spine.state("cache")
      yield* close
      expect({ runs: cache.runs.count, second: Exit.isSuccess(second), state }).toEqual({
        runs: 2,
        second: true,
        state: "ready"
      })
    }))

  it.effect("a start that timed out: the next setFeature on runs the layer again", () =>
    Effect.gen(function*() {
      const mail = transient("mail", "hang")
      const pkg = Package.make({
        name: "mail",
        version: "1.0.0",
        provides: mail.tag,
        feature: "mail",
        initTimeout: "200 millis",
        layer: mail.layer
      })
      const { close, spine } = yield* bootSpine({ packages: [pkg], features: { mail: false } })
      const first = yield* Effect.fork(Effect.flip(spine.setFeature("mail", true)))
      yield* TestClock.adjust("200 millis")
      expect(yield* Fiber.join(first)).toMatchObject({ _tag: "PackageInitTimeout", package: "mail" })
      const second = yield* Effect.fork(Effect.exit(spine.setFeature("mail", true)))
      yield* TestClock.adjust("200 millis")
      const exit = yield* Fiber.join(second)
      yield* close
      expect({ runs: mail.runs.count, second: Exit.isSuccess(exit) }).toEqual({ runs: 2, second: true })
    }))

  it.effect("an optional dependent that failed at boot starts again when its dependency's flag comes back", () =>
    Effect.gen(function*() {
      const mail = Context.GenericTag<string, number>("manage-memo/mail2")
      const digest = transient("digest")
      const mailPkg = Package.make({
        name: "mail",
        version: "1.0.0",
        provides: mail,
        feature: "mail",
        layer: Layer.succeed(mail, 1)
      })
      const digestPkg = Package.make({
        name: "digest",
        version: "1.0.0",
        provides: digest.tag,
        requires: [mail],
        optional: true,
        layer: digest.layer
      })
      const { close, spine } = yield* bootSpine({ packages: [mailPkg, digestPkg], features: { mail: true } })
      expect(yield* spine.state("digest")).toBe("failed")
      yield* spine.setFeature("mail", false)
      expect(yield* spine.state("digest")).toBe("skipped")
      yield* spine.setFeature("mail", true)
      const state = yield* spine.state("digest")
      // its record is of the new run: no error from the old one, whose reason was the skip
      const { attempts, error } = (yield* spine.timeline).find((entry) => entry.package === "digest")!
      const health = (yield* spine.health).packages.digest
      yield* close
      expect({ runs: digest.runs.count, state, attempts, error }).toEqual({
        runs: 2,
        state: "ready",
        attempts: 1,
        error: undefined
      })
      expect(health.errors).toEqual([])
    }))
})
