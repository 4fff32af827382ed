import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Config,
  ConfigProvider,
  Context,
  Deferred,
  Effect,
  Fiber,
  Layer,
  Logger,
  Metric,
  MetricBoundaries,
  Redacted,
  Schema,
  TestClock
} from "effect"
import type { Health, Lifecycle } from "../src/index.js"
import { Package, Report, Spine } from "../src/index.js"

class Db extends Context.Tag("report/Db")<Db, { readonly queue: number }>() {}
class Search extends Context.Tag("report/Search")<Search, number>() {}
class Mail extends Context.Tag("report/Mail")<Mail, number>() {}

const makePackages = (suffix: string) => {
  const db = Package.make({
    name: `report-db${suffix}`,
    version: "2.0.0",
    category: "storage",
    provides: Db,
    config: Config.redacted("DB_PASSWORD"),
    layer: (password) =>
      Layer.effect(
        Db,
        Effect.as(Metric.increment(Metric.counter("report_db_connections")), { queue: Redacted.value(password).length })
      ),
    health: (service) => Effect.succeed({ details: { queue: service.queue } }),
    metrics: (service) => Effect.succeed({ queue_depth: service.queue })
  })
  const search = Package.make({
    name: `report-search${suffix}`,
    version: "0.1.0",
    category: "search",
    status: "beta",
    provides: Search,
    requires: [Db],
    optional: true,
    // over two lines, as a Schema parse error would be: the table still gives it one
    layer: Layer.fail("index missing\nrebuild it")
  })
  const mail = Package.make({
    name: `report-mail${suffix}`,
    version: "1.0.0",
    status: "deprecated",
    provides: Mail,
    feature: "mail",
    layer: Layer.succeed(Mail, 1)
  })

  return [db, search, mail] as const
}

/** Boots the three packages (names unique per call: metrics are global), checks health once, runs `f`. */
let boots = 0
const withSpine = <A, E>(f: (spine: Spine.SpineService) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(
    Layer.build(Spine.layer({ packages: makePackages(boots++ === 0 ? "" : `-${boots}`), health: { enabled: false } })),
    (context) => {
      const spine = Context.get(context, Spine.Spine)
      return Effect.zipRight(spine.checkHealth(), f(spine))
    }
  )).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DB_PASSWORD", "s3cr3t-value"]]))))

describe("statistics, metrics and report", () => {
  it.effect("counts packages by category, status, state and health", () =>
    Effect.gen(function*() {
      const statistics = yield* withSpine((spine) => spine.statistics)
      expect(statistics).toEqual({
        total: 3,
        byCategory: { storage: 1, search: 1, custom: 1 },
        byStatus: { active: 1, beta: 1, deprecated: 1 },
        byState: {
          registered: 0,
          disabled: 1,
          starting: 0,
          ready: 1,
          failed: 1,
          skipped: 0,
          stopping: 0,
          stopped: 0
        },
        healthy: 1,
        unhealthy: 1
      })
    }))

  it.effect("snapshots the spine's metrics and the packages' own values", () =>
    Effect.gen(function*() {
      const [metrics, name] = yield* withSpine((spine) =>
        Effect.zip(spine.metrics, Effect.map(spine.packages, (p) => p[0].name.slice("report-db".length)))
      )
      const find = (name: string, labels: Record<string, string>) =>
        metrics.spine.find((m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v))
      expect(find("spine_package_up", { package: `report-db${name}` })).toMatchObject({ type: "gauge", value: 1 })
      expect(find("spine_package_init_attempts_total", { package: `report-search${name}` })).toMatchObject({ value: 1 })
      expect(find("spine_package_init_failures_total", { package: `report-search${name}` })).toMatchObject({ value: 1 })
      expect(find("spine_package_init_duration_seconds", { package: `report-db${name}` })).toMatchObject({
        type: "histogram",
        count: 1
      })
      expect(find("spine_health_check_duration_seconds", { package: `report-db${name}` })).toMatchObject({ count: 1 })
      expect(find("spine_packages", { state: "ready" })).toMatchObject({ type: "gauge" })
      expect(find("spine_boot_duration_seconds", {})).toMatchObject({ type: "gauge" })
      expect(metrics.application.find((m) => m.name === "report_db_connections")).toMatchObject({ type: "counter" })
      expect(metrics.application.some((m) => m.name.startsWith("spine_") || m.name.startsWith("effect_"))).toBe(false)
      expect(metrics.packages).toEqual({ [`report-db${name}`]: { queue_depth: 12 } })
    }))

  it.effect("a spine's metrics hold its own packages' series, not those of another spine of the process", () =>
    Effect.gen(function*() {
      const { metrics, names } = yield* withSpine((spine) =>
        // a second spine, running beside the first
        withSpine(() =>
          Effect.all({ metrics: spine.metrics, names: Effect.map(spine.packages, (infos) => infos.map((p) => p.name)) })
        )
      )
      const labelled = new Set(metrics.spine.flatMap((value) => value.labels.package ?? []))
      expect(labelled.size).toBeGreaterThan(0)
      expect([...labelled].filter((name) => !names.includes(name))).toEqual([])
    }))

  it.effect("is plain JSON that its Schema decodes, with no secret in it", () =>
    Effect.gen(function*() {
      const report = yield* withSpine((spine) => spine.report)
      const json = JSON.stringify(report)
      expect(json).not.toContain("s3cr3t")
      const decoded = yield* Schema.decodeUnknown(Report.Report)(JSON.parse(json))
      expect(decoded).toEqual(report)
      // of the spine's own types: a field JSON leaves out when undefined is there again, undefined
      const health: Health.SystemHealth = decoded.health
      const timeline: ReadonlyArray<Lifecycle.TimelineEntry> = decoded.timeline
      const mail = timeline.find((entry) => entry.package.startsWith("report-mail"))
      expect(mail && Object.entries(mail).filter(([, value]) => value === undefined).map(([key]) => key)).toEqual([
        "startedAt",
        "readyAt",
        "durationMs",
        "stoppedAt",
        "stopDurationMs",
        "error"
      ])
      expect(Object.values(health.packages).every((pkg) => "lastCheck" in pkg)).toBe(true)
      // an object not from JSON may say `undefined` outright
      const plain = JSON.parse(json)
      plain.timeline = plain.timeline.map((entry: object) => ({ startedAt: undefined, ...entry }))
      expect(yield* Schema.decodeUnknown(Report.Report)(plain)).toEqual(report)
      expect(report.summary).toMatchObject({
        totalPackages: 3,
        healthyPackages: 1,
        overallHealth: "warn",
        initialized: true
      })
      expect(report.packages.map((p) => [p.name.replace(/-\d+$/, ""), p.state, p.health?.status])).toEqual([
        ["report-db", "ready", "pass"],
        ["report-search", "failed", "fail"],
        ["report-mail", "disabled", undefined]
      ])
      expect(report.health.packages[report.packages[0].name].details).toEqual({ queue: 12 })
    }))

  it.effect("prints as a table", () =>
    Effect.gen(function*() {
      const text = Report.toText(yield* withSpine((spine) => spine.report))
      const lines = text.split("\n")
      expect(lines[0]).toMatch(/^PACKAGE\s+VERSION\s+STATE\s+HEALTH\s+INIT\s+NOTE$/)
      expect(lines.find((line) => line.startsWith("report-search"))).toMatch(
        /report-search[-\d]*\s+0\.1\.0\s+failed\s+fail\s+\d+ ms\s+Package "report-search[-\d]*" failed to start/
      )
      expect(lines.at(-1)).toMatch(/^1\/3 healthy, readiness warn in \d+ ms$/)
      expect(lines.find((line) => line.startsWith("report-search"))).toContain("index missing rebuild it")
      expect(lines.filter((line) => /^\s/.test(line))).toEqual([])
    }))

  it.effect("orders packages that start and stop in the same millisecond by their dependencies", () =>
    Effect.gen(function*() {
      // under the TestClock every timestamp is 0; declared in an order that is neither the start nor the release order
      const tag = (name: string) => Context.GenericTag<string, number>(`report/chain/${name}`)
      const chain = ["db", "api", "config", "cache"]
      const requires: Record<string, ReadonlyArray<string>> = {
        api: ["db", "cache"],
        db: ["config"],
        cache: ["config"]
      }
      const packages = chain.map((name) =>
        Package.make({
          name,
          version: "1.0.0",
          provides: tag(name),
          requires: (requires[name] ?? []).map(tag),
          layer: Layer.succeed(tag(name), 1)
        })
      )
      const spine = yield* Effect.scoped(Effect.map(Layer.build(Spine.layer({ packages })), Context.get(Spine.Spine)))
      const report = yield* spine.report
      const column = (text: string) => text.split("\n").slice(1, 5).map((line) => line.split(" ")[0])
      const started = column(Report.toText(report))
      const released = column(Report.toShutdownText(report))
      expect(started[0]).toBe("config")
      expect(started[3]).toBe("api")
      expect(released).toEqual([...started].reverse())
    }))

  it.effect("the boot duration counts from before the configuration is read", () =>
    Effect.gen(function*() {
      const Configured = Context.GenericTag<"Configured", number>("report/Configured")
      const configured = Package.make({
        name: "configured",
        version: "1.0.0",
        provides: Configured,
        config: Config.number("PORT"),
        layer: (port) => Layer.succeed(Configured, port)
      })
      const values = ConfigProvider.fromMap(new Map([["PORT", "8080"]]))
      // a configuration source that takes 400 ms to answer, as a remote one may
      const slow = ConfigProvider.make({
        load: (config) => Effect.delay(values.load(config), "400 millis"),
        flattened: values.flattened
      })
      const booting = yield* Effect.fork(
        Effect.scoped(Effect.flatMap(
          Layer.build(Spine.layer({ packages: [configured], health: { enabled: false } })),
          (context) => Context.get(context, Spine.Spine).report
        )).pipe(Effect.withConfigProvider(slow))
      )
      yield* TestClock.adjust("400 millis")
      const report = yield* Fiber.join(booting)
      expect(report.summary.bootDurationMs).toBe(400)
    }))

  it.effect("the shutdown table leaves out a package stopped before shutdown, in the same millisecond too", () =>
    Effect.gen(function*() {
      const tag = (name: string) => Context.GenericTag<string, number>(`report/removed/${name}`)
      const packages = ["kept", "dropped"].map((name) =>
        Package.make({
          name,
          version: "1.0.0",
          provides: tag(name),
          optional: true,
          layer: Layer.succeed(tag(name), 1)
        })
      )
      const spine = yield* Effect.scoped(Effect.gen(function*() {
        const spine = Context.get(yield* Layer.build(Spine.layer({ packages })), Spine.Spine)
        yield* spine.remove("dropped")
        return spine
      }))
      const report = yield* spine.report
      const column = (text: string) => text.split("\n").slice(1).map((line) => line.split(" ")[0])
      // under the TestClock, "dropped" stopped in the same millisecond as the shutdown began
      expect(column(Report.toShutdownText(report, ["kept"]))).toEqual(["kept"])
      expect(column(Report.toShutdownText(report))).toEqual(["dropped", "kept"])
    }))
})

describe("free-text names and categories", () => {
  class Named extends Context.Tag("report/Named")<Named, number>() {}
  class Other extends Context.Tag("report/Other")<Other, number>() {}
  class Third extends Context.Tag("report/Third")<Third, number>() {}

  it.effect("count like any other when they are also names of Object's members", () =>
    Effect.gen(function*() {
      const packages = [
        // disabled, so it has no health of its own: it must not find Object's constructor
        Package.make({
          name: "constructor",
          version: "1.0.0",
          category: "constructor",
          provides: Named,
          feature: "off",
          layer: Layer.succeed(Named, 1)
        }),
        Package.make({
          name: "to-string",
          version: "1.0.0",
          category: "toString",
          provides: Other,
          layer: Layer.succeed(Other, 2)
        }),
        Package.make({
          name: "proto",
          version: "1.0.0",
          category: "__proto__",
          provides: Third,
          layer: Layer.succeed(Third, 3)
        })
      ]
      const { report, statistics } = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages, features: { off: false }, health: { enabled: false } })),
        (context) =>
          Effect.all({
            report: Context.get(context, Spine.Spine).report,
            statistics: Context.get(context, Spine.Spine).statistics
          })
      ))
      expect(statistics.byCategory).toEqual({ constructor: 1, toString: 1, ["__proto__"]: 1 })
      expect(report.packages[0]).toMatchObject({ state: "disabled" })
      expect(report.packages[0].health).toBeUndefined()
      expect(yield* Schema.decodeUnknown(Report.Report)(JSON.parse(JSON.stringify(report)))).toEqual(report)
      expect(Report.toText(report).split("\n")).toContainEqual(
        expect.stringMatching(/^constructor\s+1\.0\.0\s+disabled\s+-\s+-$/)
      )
    }))
})

describe("values JSON cannot carry", () => {
  class Odd extends Context.Tag("report/Odd")<Odd, number>() {}

  it.effect("a check's details are plain JSON in the report; a package's non-finite values are left out, with a warning", () =>
    Effect.gen(function*() {
      const details: Record<string, unknown> = { rows: 12n, at: new Date(0), tags: new Set(["a"]), skip: () => 1 }
      details.self = details
      const packages = [
        Package.make({
          name: "odd-values",
          version: "1.0.0",
          provides: Odd,
          layer: Layer.succeed(Odd, 1),
          health: () => Effect.succeed({ details }),
          metrics: () => Effect.succeed({ hits: 3, ratio: NaN, rate: Infinity })
        })
      ]
      const gauge = Metric.gauge("report_odd_gauge")
      const huge = Metric.histogram("report_huge_sizes", MetricBoundaries.linear({ start: 0, width: 1, count: 2 }))
      const warnings: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => void warnings.push(`${logLevel.label} ${String(message)}`))
      const report = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages, health: { enabled: false } })),
        (context) => {
          const spine = Context.get(context, Spine.Spine)
          return spine.checkHealth().pipe(
            Effect.zipRight(Metric.set(gauge, NaN)),
            Effect.zipRight(Metric.update(huge, 1e308)),
            Effect.zipRight(spine.report)
          )
        }
      )).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(warnings.filter((line) => line.includes("odd-values"))).toEqual([
        `WARN metrics of package "odd-values": "ratio", "rate" left out, not finite numbers`
      ])
      const plain = { rows: "12", at: "1970-01-01T00:00:00.000Z", tags: ["a"], self: "[Circular]" }
      expect(report.health.packages["odd-values"].details).toEqual(plain)
      expect(report.packages[0].health?.details).toEqual(plain)
      expect(report.metrics.packages).toEqual({ "odd-values": { hits: 3 } })
      expect(report.metrics.application.map((value) => value.name)).not.toContain("report_odd_gauge")
      // finite each, though their sum is not
      expect(report.metrics.application.find((value) => value.name === "report_huge_sizes")).toMatchObject({
        count: 1,
        sum: 1e308,
        max: 1e308
      })
      expect(yield* Schema.decodeUnknown(Report.Report)(JSON.parse(JSON.stringify(report)))).toEqual(report)
    }))
})

describe("packages' own metrics", () => {
  class Live extends Context.Tag("report/Live")<Live, { readonly stats: Record<string, number> }>() {}

  it.effect("are copied when read: a later change to the package's own object leaves the snapshot as it was", () =>
    Effect.gen(function*() {
      const stats: Record<string, number> = { hits: 1, delta: -0 }
      const packages = [
        Package.make({
          name: "live-values",
          version: "1.0.0",
          provides: Live,
          layer: Layer.succeed(Live, { stats }),
          metrics: (service) => Effect.succeed(service.stats)
        })
      ]
      const report = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages, health: { enabled: false } })),
        (context) => Context.get(context, Spine.Spine).report
      ))
      stats.hits = 5
      stats.ratio = NaN
      expect(report.metrics.packages["live-values"]).toEqual({ hits: 1, delta: 0 })
      expect(Object.is(report.metrics.packages["live-values"].delta, 0)).toBe(true)
      expect(yield* Schema.decodeUnknown(Report.Report)(JSON.parse(JSON.stringify(report)))).toEqual(report)
    }))

  it.effect("are read from ready packages only: not from one being released, nor skipped, whose series say 0", () =>
    Effect.gen(function*() {
      const Conn = Context.GenericTag<"Conn", { open: boolean }>("report/Conn")
      const Base = Context.GenericTag<"Base", number>("report/Base")
      const Behind = Context.GenericTag<"Behind", number>("report/Behind")
      const calls: Array<boolean> = []
      const packages = [
        Package.make({
          name: "closing",
          version: "1.0.0",
          provides: Conn,
          optional: true,
          layer: Layer.scoped(
            Conn,
            Effect.succeed({ open: true }).pipe(
              Effect.tap((conn) =>
                Effect.addFinalizer(() =>
                  Effect.zipRight(Effect.sync(() => (conn.open = false)), Effect.sleep("300 millis"))
                )
              )
            )
          ),
          metrics: (conn) => Effect.sync(() => (calls.push(conn.open), { queries: 1 }))
        }),
        Package.make({ name: "broken-base", version: "1.0.0", provides: Base, optional: true, layer: Layer.fail("x") }),
        Package.make({
          name: "behind-broken",
          version: "1.0.0",
          provides: Behind,
          requires: [Base],
          optional: true,
          layer: Layer.succeed(Behind, 1)
        })
      ]
      const metrics = yield* Effect.scoped(Effect.gen(function*() {
        const spine = Context.get(yield* Layer.build(Spine.layer({ packages })), Spine.Spine)
        expect(Object.keys((yield* spine.metrics).packages)).toEqual(["closing"])
        const removing = yield* Effect.fork(spine.remove("closing"))
        yield* TestClock.adjust("100 millis")
        expect(yield* spine.state("closing")).toBe("stopping")
        const during = yield* spine.metrics
        yield* TestClock.adjust("200 millis")
        yield* Fiber.join(removing)
        return during
      }))
      expect(metrics.packages).toEqual({})
      expect(calls).toEqual([true])
      const up = (name: string) => metrics.spine.find((m) => m.name === "spine_package_up" && m.labels.package === name)
      expect([up("closing"), up("broken-base"), up("behind-broken")]).toEqual(
        [0, 0, 0].map((value) => expect.objectContaining({ type: "gauge", value }))
      )
    }))

  it.effect("the report is initialized only while the spine is ready: not once shutdown has begun", () =>
    Effect.gen(function*() {
      const [before, after] = yield* Effect.scoped(Effect.gen(function*() {
        const spine = Context.get(yield* Layer.build(Spine.layer({ packages: [] })), Spine.Spine)
        const before = yield* spine.report
        yield* spine.beginShutdown
        return [before, yield* spine.report] as const
      }))
      expect([before.summary.initialized, after.summary.initialized]).toEqual([true, false])
    }))

  class Slow extends Context.Tag("report/Slow")<Slow, number>() {}
  class Quick extends Context.Tag("report/Quick")<Quick, number>() {}

  it.effect("one that hangs, even uninterruptibly, is left out after the check timeout; the others in package order", () =>
    Effect.gen(function*() {
      const packages = [
        Package.make({
          name: "slow-metrics",
          version: "1.0.0",
          provides: Slow,
          layer: Layer.succeed(Slow, 1),
          // ignores interruption, and is asked for uninterruptibly below, as the boot table does
          metrics: () => Effect.uninterruptible(Effect.never)
        }),
        Package.make({
          name: "quick-metrics",
          version: "1.0.0",
          provides: Quick,
          layer: Layer.succeed(Quick, 2),
          metrics: (value) => Effect.as(Effect.sleep("1 second"), { value })
        })
      ]
      const fiber = yield* Effect.fork(Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages, health: { enabled: false, timeout: "3 seconds" } })),
        (context) => Effect.uninterruptible(Context.get(context, Spine.Spine).metrics)
      )))
      yield* TestClock.adjust("2 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      const snapshot = yield* Fiber.join(fiber)
      expect(snapshot.packages).toEqual({ "quick-metrics": { value: 2 } })
    }))
  it.effect("from JavaScript: one giving no Effect is left out with a warning that says so, a rejection handled", () =>
    Effect.gen(function*() {
      const Plain = Context.GenericTag<"Plain", number>("report/Plain")
      const Async = Context.GenericTag<"Async", number>("report/Async")
      const Fine = Context.GenericTag<"Fine", number>("report/Fine")
      const untyped = (metrics: () => unknown) => metrics as () => Effect.Effect<Readonly<Record<string, number>>>
      const packages = [
        Package.make({
          name: "plain-metrics",
          version: "1.0.0",
          provides: Plain,
          layer: Layer.succeed(Plain, 1),
          metrics: untyped(() => ({ hits: 1, password: "hunter2" }))
        }),
        Package.make({
          name: "async-metrics",
          version: "1.0.0",
          provides: Async,
          layer: Layer.succeed(Async, 2),
          metrics: untyped(() => Promise.reject(new Error("stats unavailable")))
        }),
        Package.make({
          name: "fine-metrics",
          version: "1.0.0",
          provides: Fine,
          layer: Layer.succeed(Fine, 3),
          metrics: (value) => Effect.succeed({ value })
        })
      ]
      const warnings: Array<string> = []
      const logger = Logger.make(({ cause, message }) =>
        void warnings.push(`${String(message)}: ${Cause.pretty(cause, { renderErrorCause: false })}`)
      )
      const snapshot = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages, health: { enabled: false } })),
        (context) => Context.get(context, Spine.Spine).metrics
      )).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(snapshot.packages).toEqual({ "fine-metrics": { value: 3 } })
      expect(warnings.filter((line) => line.startsWith("metrics of package"))).toEqual([
        `metrics of package "plain-metrics" failed: Error: metrics returned an object, not an Effect`,
        `metrics of package "async-metrics" failed: Error: metrics returned a Promise, not an Effect`
      ])
    }))
  it.effect("a report taken while a package is removed agrees with itself: all of it is read after the metrics", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const Gated = Context.GenericTag<"Gated", number>("report/GatedMetrics")
      const Other = Context.GenericTag<"Other", number>("report/Other")
      const packages = [
        Package.make({
          name: "waiting",
          version: "1.0.0",
          provides: Gated,
          layer: Layer.succeed(Gated, 1),
          metrics: () => Effect.as(Deferred.await(gate), { value: 1 })
        }),
        Package.make({ name: "leaving", version: "1.0.0", provides: Other, layer: Layer.succeed(Other, 2) })
      ]
      const report = yield* Effect.scoped(Effect.gen(function*() {
        const spine = Context.get(yield* Layer.build(Spine.layer({ packages })), Spine.Spine)
        const reading = yield* Effect.fork(spine.report)
        yield* Effect.yieldNow()
        yield* spine.remove("leaving")
        yield* Deferred.succeed(gate, void 0)
        return yield* Fiber.join(reading)
      }))
      expect(report.packages.map((pkg) => [pkg.name, pkg.state])).toEqual([["waiting", "ready"], [
        "leaving",
        "stopped"
      ]])
      expect(Object.keys(report.health.packages)).toEqual(["waiting"])
      expect(report.summary.healthyPackages).toBe(1)
      const up = report.metrics.spine.find((m) => m.name === "spine_package_up" && m.labels.package === "leaving")
      expect(up).toMatchObject({ value: 0 })
    }))
})
