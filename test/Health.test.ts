import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Exit, Fiber, Layer, Option, Schedule, Scope, Stream, TestClock } from "effect"
import type { Health } from "../src/index.js"
import { Package, Spine } from "../src/index.js"
import { boot, bootWithin, checked } from "./utils.js"

describe("health", () => {
  it.effect("runs checks at boot and then at the interval; reading health runs none", () =>
    Effect.gen(function*() {
      const db = checked("db", () => Effect.void)
      const { scope, spine } = yield* boot(Spine.layer({ packages: [db.pkg], health: { interval: "10 seconds" } }))
      expect(db.runs()).toBe(1)
      for (let i = 0; i < 100; i++) yield* spine.health
      expect(db.runs()).toBe(1)
      yield* TestClock.adjust("9 seconds")
      expect(db.runs()).toBe(1)
      yield* TestClock.adjust("1 second")
      expect(db.runs()).toBe(2)
      yield* TestClock.adjust("20 seconds")
      expect(db.runs()).toBe(4)
      const health = yield* spine.health
      expect(health.packages.db).toMatchObject({ status: "pass", healthy: true, errors: [], consecutiveFailures: 0 })
      expect(health.packages.db.lastCheck?.getTime()).toBe(30_000)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("1 hour")
      expect(db.runs()).toBe(4)
    }))

  it.effect("times out a hanging check, reports the limit, and keeps the loop going", () =>
    Effect.gen(function*() {
      const stuck = checked("stuck", () => Effect.never, { optional: true })
      // the boot waits for the first check, at most its timeout
      const { spine } = yield* bootWithin(
        Spine.layer({ packages: [stuck.pkg], health: { interval: "10 seconds", timeout: "2 seconds" } }),
        "2 seconds"
      )
      const health = yield* spine.health
      expect(health.packages.stuck).toMatchObject({
        status: "fail",
        errors: ["health check timed out after 2s"],
        durationMs: 2000
      })
      yield* TestClock.adjust("10 seconds")
      expect(stuck.runs()).toBe(2)
    }))

  it.effect("a hanging check does not hold up the others of its round", () =>
    Effect.gen(function*() {
      const hung = checked("hung", () => Effect.never, { optional: true })
      const after = checked("after", () => Effect.void)
      const last = checked("last", () => Effect.void)
      const { spine } = yield* boot(Spine.layer({
        packages: [hung.pkg, after.pkg, last.pkg],
        health: { enabled: false, concurrency: 1, timeout: "1 second" }
      }))
      const round = yield* Effect.fork(spine.checkHealth())
      yield* TestClock.adjust("1 second")
      const health = yield* Fiber.join(round)
      expect([hung.runs(), after.runs(), last.runs()]).toEqual([1, 1, 1])
      expect([health.packages.hung.status, health.packages.after.status, health.packages.last.status]).toEqual([
        "fail",
        "pass",
        "pass"
      ])
      expect(health.packages.after.lastCheck?.getTime()).toBe(1000)
    }))

  it.effect("reports failing and dying checks with their messages, and warn details", () =>
    Effect.gen(function*() {
      const failing = checked("failing", () => Effect.fail(new Error("connection reset")), { optional: true })
      const dying = checked("dying", () => Effect.die(new Error("bug in check")), { optional: true })
      const lagging = checked("lagging", () => Effect.succeed({ status: "warn" as const, details: { lag: 5 } }))
      const { spine } = yield* boot(Spine.layer({ packages: [failing.pkg, dying.pkg, lagging.pkg] }))
      const health = yield* spine.health
      expect(health.packages.failing).toMatchObject({ status: "fail", errors: ["connection reset"] })
      expect(health.packages.dying).toMatchObject({ status: "fail", errors: ["bug in check"] })
      expect(health.packages.lagging).toMatchObject({ status: "warn", healthy: true, details: { lag: 5 } })
      expect([health.status, health.ready, health.overall]).toEqual(["warn", true, false])
    }))

  it.effect("a check whose result throws when read fails with that message; the boot and checkHealth go on", () =>
    Effect.gen(function*() {
      const throwing = (field: "status" | "details") => () =>
        Effect.succeed(Object.defineProperty({}, field, {
          enumerable: true,
          get: () => {
            throw new Error(`${field} unavailable`)
          }
        }) as Health.HealthDetail)
      const odd = checked("odd-details", throwing("details"), { optional: true })
      const odder = checked("odd-status", throwing("status"), { optional: true })
      const { spine } = yield* bootWithin(Spine.layer({ packages: [odd.pkg, odder.pkg] }), "0 millis")
      const expected = {
        "odd-details": { status: "fail", errors: ["details unavailable"] },
        "odd-status": { status: "fail", errors: ["status unavailable"] }
      }
      expect((yield* spine.health).packages).toMatchObject(expected)
      const again = yield* spine.checkHealth()
      expect([again.packages["odd-details"].consecutiveFailures, again.status]).toEqual([2, "warn"])
    }))

  it.effect("from JavaScript: a check giving no Effect, or status fail, fails with what it gave, not its contents", () =>
    Effect.gen(function*() {
      const Client = Context.GenericTag<"Client", { readonly url: string }>("health/Client")
      const url = "redis://:s3cr3t@cache:6379"
      const plain = (name: string, health: (client: { readonly url: string }) => unknown) =>
        Package.make({
          name,
          version: "1.0.0",
          provides: Client,
          optional: true,
          layer: Layer.succeed(Client, { url }),
          health: health as () => Effect.Effect<Health.HealthDetail>
        })
      let rejected = 0
      const cases = [
        // an async function: its rejections must not end the process as unhandled ones
        [
          plain("async", () => Promise.reject(new Error("ping failed")).finally(() => rejected++)),
          "the check returned a Promise, not an Effect"
        ],
        [
          plain("status", (client) => ({ status: "pass", details: client })),
          "the check returned an object, not an Effect"
        ],
        [
          plain("failing", () => Effect.succeed({ status: "fail", details: { why: "disk full" } })),
          `the check returned status "fail"`
        ]
      ] as const
      for (const [pkg, error] of cases) {
        const { spine } = yield* bootWithin(Spine.layer({ packages: [pkg] }), "0 millis")
        const health = yield* spine.checkHealth()
        expect(health.packages[pkg.name]).toMatchObject({ status: "fail", errors: [error], consecutiveFailures: 2 })
        expect(health.status).toBe("warn")
        expect(JSON.stringify(health)).not.toContain("s3cr3t")
      }
      // a failing status keeps the details the check returned with it
      const failing = cases[2][0]
      const { spine } = yield* bootWithin(Spine.layer({ packages: [failing] }), "0 millis")
      expect((yield* spine.health).packages.failing.details).toEqual({ why: "disk full" })
      // both rejections were seen, and handled
      yield* Effect.yieldNow()
      expect(rejected).toBe(2)
    }))

  it.effect("holds a flapping status until the thresholds are reached", () =>
    Effect.gen(function*() {
      // runs: 1 ok, 2 fail, 3 ok, 4 fail, 5 fail, 6 ok, 7 fail, 8 ok, 9 ok
      const pattern = [true, false, true, false, false, true, false, true, true]
      const flaky = checked("flaky", (run) => pattern[run - 1] ? Effect.void : Effect.fail("down"), { optional: true })
      const { scope, spine } = yield* boot(Spine.layer({
        packages: [flaky.pkg],
        health: { interval: "1 second", failureThreshold: 2, successThreshold: 2 }
      }))
      const statuses = [(yield* spine.health).packages.flaky.status]
      for (let i = 1; i < pattern.length; i++) {
        yield* TestClock.adjust("1 second")
        statuses.push((yield* spine.health).packages.flaky.status)
      }
      expect(statuses).toEqual(["pass", "pass", "pass", "pass", "fail", "fail", "fail", "fail", "pass"])
      const events = yield* Effect.fork(Stream.runCollect(spine.events))
      yield* Scope.close(scope, Exit.void)
      const changes = Chunk.toReadonlyArray(yield* Fiber.join(events)).flatMap((event) =>
        event._tag === "HealthChanged" ? [`${event.from}->${event.to}`] : []
      )
      expect(changes).toEqual(["pass->fail", "fail->pass"])
    }))

  it.effect("derives readiness from required and optional packages and the phase", () =>
    Effect.gen(function*() {
      let healthy = true
      const core = checked("core", () => healthy ? Effect.void : Effect.fail("core down"))
      const extra = checked("extra", () => Effect.void, { optional: true })
      const tag = Context.GenericTag<string, number>("health/broken")
      const broken = Package.make({
        name: "broken",
        version: "1.0.0",
        provides: tag,
        optional: true,
        layer: Layer.fail("no")
      })
      let duringShutdown: Health.SystemHealth | undefined
      const { scope, spine } = yield* boot(Spine.layer({
        packages: [core.pkg, extra.pkg, broken],
        hooks: { beforeShutdown: Effect.flatMap(Spine.Spine, (s) => Effect.map(s.health, (h) => (duringShutdown = h))) }
      }))
      const degraded = yield* spine.health
      expect([degraded.status, degraded.ready, degraded.live]).toEqual(["warn", true, true])
      expect(degraded.packages.broken).toMatchObject({ status: "fail", errors: [expect.stringContaining("no")] })
      healthy = false
      const failed = yield* spine.checkHealth("core")
      expect([failed.status, failed.ready, failed.live]).toEqual(["fail", false, true])
      expect(failed.packages.core.errors).toEqual(["core down"])
      expect(yield* Effect.flip(spine.checkHealth("nope"))).toMatchObject({ _tag: "PackageNotFound" })
      healthy = true
      expect((yield* spine.checkHealth()).status).toBe("warn")
      yield* Scope.close(scope, Exit.void)
      expect(duringShutdown).toMatchObject({ status: "fail", ready: false, live: false })
      expect((yield* spine.health).live).toBe(false)
    }))

  it.effect("a check turning fail gives its failure as the event's reason; spine_package_healthy is 0 only for fail", () =>
    Effect.gen(function*() {
      let status: Health.HealthStatus = "pass"
      const db = checked("gauged", () =>
        status === "fail"
          ? Effect.fail("db unreachable")
          : Effect.succeed(status === "warn" ? { status: "warn" as const } : undefined))
      const { scope, spine } = yield* boot(Spine.layer({ packages: [db.pkg] }))
      const events = yield* Effect.fork(Stream.runCollect(spine.events))
      const gauge = Effect.map(
        spine.metrics,
        (metrics) => metrics.spine.find((m) => m.name === "spine_package_healthy" && m.labels.package === "gauged")
      )
      const seen: Array<unknown> = [yield* gauge]
      for (const next of ["warn", "fail", "pass"] as const) {
        status = next
        yield* spine.checkHealth("gauged")
        seen.push(yield* gauge)
      }
      expect(seen).toEqual([1, 1, 0, 1].map((value) => expect.objectContaining({ type: "gauge", value })))
      yield* Scope.close(scope, Exit.void)
      const changes = Chunk.toReadonlyArray(yield* Fiber.join(events)).flatMap((event) =>
        event._tag === "HealthChanged" ? [{ from: event.from, to: event.to, reason: event.reason }] : []
      )
      expect(changes).toEqual([
        { from: "pass", to: "warn", reason: undefined },
        { from: "warn", to: "fail", reason: "db unreachable" },
        { from: "fail", to: "pass", reason: undefined }
      ])
    }))

  it.effect("live while booting; a required package being removed degrades readiness, and does not fail it", () =>
    Effect.gen(function*() {
      const core = checked("core", () => Effect.void)
      const tag = Context.GenericTag<string, number>("health/leaving")
      const leaving = Package.make({
        name: "leaving",
        version: "1.0.0",
        provides: tag,
        layer: Layer.scoped(tag, Effect.as(Effect.addFinalizer(() => Effect.sleep("300 millis")), 1))
      })
      let booting: Health.SystemHealth | undefined
      const { spine } = yield* boot(Spine.layer({
        packages: [core.pkg, leaving],
        hooks: { afterInit: Effect.flatMap(Spine.Spine, (s) => Effect.map(s.health, (h) => (booting = h))) }
      }))
      expect(booting).toMatchObject({ status: "fail", ready: false, live: true })
      // a daemon: a failed assertion must not wait on the release, which no interruption stops, until the timeout
      const removing = yield* Effect.forkDaemon(spine.remove("leaving"))
      yield* TestClock.adjust("100 millis")
      expect(yield* spine.state("leaving")).toBe("stopping")
      expect(yield* spine.health).toMatchObject({ status: "warn", ready: true, live: true })
      yield* TestClock.adjust("200 millis")
      yield* Fiber.join(removing)
      expect(yield* spine.health).toMatchObject({ status: "pass", ready: true })
    }))

  it.effect("shutdown interrupts the checks in flight before any package is released", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const tagOf = (name: string) => Context.GenericTag<string, number>(`health/${name}`)
      const pkg = (name: string, health: () => Effect.Effect<void>) =>
        Package.make({
          name,
          version: "1.0.0",
          provides: tagOf(name),
          layer: Layer.scoped(
            tagOf(name),
            Effect.acquireRelease(Effect.succeed(1), () => Effect.sync(() => void log.push(`released ${name}`)))
          ),
          health
        })
      const hanging = pkg("hanging", () =>
        Effect.onInterrupt(Effect.never, () => Effect.sync(() => log.push("hanging interrupted"))))
      const slow = pkg("slow", () =>
        Effect.zipRight(
          Effect.sleep("2 seconds"),
          Effect.sync(() =>
            log.push("slow finished")
          )
        ))
      const { scope } = yield* bootWithin(
        Spine.layer({ packages: [hanging, slow], health: { timeout: "30 seconds", interval: "1 minute" } }),
        "30 seconds"
      )
      log.length = 0
      // the first scheduled round starts, and is in flight
      yield* TestClock.adjust("1 minute")
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("1 minute")
      expect(log.slice(0, 1)).toEqual(["hanging interrupted"])
      expect(log).not.toContain("slow finished")
      expect([...log].sort()).toEqual(["hanging interrupted", "released hanging", "released slow"])
    }))

  it.effect("records each check's duration in seconds, and counts the checks that failed or timed out", () =>
    Effect.gen(function*() {
      const slow = checked("metered-slow", () => Effect.sleep("2 seconds"), { optional: true })
      const bad = checked("metered-bad", () => Effect.fail("down"), { optional: true })
      const stuck = checked("metered-stuck", () => Effect.never, { optional: true })
      const { spine } = yield* bootWithin(
        Spine.layer({
          packages: [slow.pkg, bad.pkg, stuck.pkg],
          health: { interval: "1 hour", timeout: "3 seconds" }
        }),
        "3 seconds"
      )
      const round = yield* Effect.fork(spine.checkHealth())
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(round)
      const series = (yield* spine.metrics).spine
      const of = (name: string, pkg: string) =>
        series.find((metric) => metric.name === name && metric.labels.package === pkg)
      const names = ["metered-slow", "metered-bad", "metered-stuck"]
      const durations = names.map((pkg) => of("spine_health_check_duration_seconds", pkg))
      expect(durations).toEqual([
        expect.objectContaining({ type: "histogram", count: 2, sum: 4, min: 2, max: 2 }),
        expect.objectContaining({ type: "histogram", count: 2, sum: 0 }),
        expect.objectContaining({ type: "histogram", count: 2, sum: 6, min: 3, max: 3 })
      ])
      const failures = names.map((pkg) => of("spine_health_check_failures_total", pkg))
      expect(failures).toEqual([
        undefined,
        expect.objectContaining({ value: 2 }),
        expect.objectContaining({ value: 2 })
      ])
    }))

  it.effect("gives a check 5 seconds by default", () =>
    Effect.gen(function*() {
      const stuck = checked("stuck-default", () => Effect.never, { optional: true })
      const { spine } = yield* boot(Spine.layer({ packages: [stuck.pkg], health: { enabled: false } }))
      // a daemon, polled: a longer default fails the test here, not at vitest's timeout
      const round = yield* Effect.forkDaemon(spine.checkHealth())
      yield* TestClock.adjust("4999 millis")
      expect(Option.isNone(yield* Fiber.poll(round))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(Option.isSome(yield* Fiber.poll(round))).toBe(true)
      expect((yield* Fiber.join(round)).packages["stuck-default"]).toMatchObject({
        status: "fail",
        errors: ["health check timed out after 5s"],
        durationMs: 5000
      })
    }))

  it.effect("a failure keeps the details of the last check that gave some, and a recovery clears the errors", () =>
    Effect.gen(function*() {
      let outcome: "warn" | "fail" | "pass" = "warn"
      const db = checked("detailed", () =>
        outcome === "fail"
          ? Effect.fail("replica lost")
          : Effect.succeed(outcome === "warn" ? { status: "warn" as const, details: { lagMs: 900 } } : undefined))
      const { spine } = yield* boot(Spine.layer({ packages: [db.pkg], health: { interval: "1 hour" } }))
      expect((yield* spine.health).packages.detailed).toMatchObject({ status: "warn", details: { lagMs: 900 } })
      outcome = "fail"
      expect((yield* spine.checkHealth("detailed")).packages.detailed).toMatchObject({
        status: "fail",
        errors: ["replica lost"],
        details: { lagMs: 900 }
      })
      outcome = "pass"
      const recovered = (yield* spine.checkHealth("detailed")).packages.detailed
      expect(recovered).toMatchObject({ status: "pass", healthy: true, errors: [], consecutiveFailures: 0 })
      expect(recovered.details).toBeUndefined()
    }))

  it.effect("a failing required package keeps the system failed, whatever warns after it", () =>
    Effect.gen(function*() {
      const core = checked("ordered-core", () => Effect.fail("down"))
      const lagging = checked("ordered-lagging", () => Effect.succeed({ status: "warn" as const }))
      const { spine } = yield* boot(Spine.layer({ packages: [core.pkg, lagging.pkg] }))
      const health = yield* spine.health
      expect([health.status, health.ready, health.packages["ordered-lagging"].status]).toEqual(["fail", false, "warn"])
    }))

  it.effect("a warn turns pass at once: the success threshold holds back only a recovery from fail", () =>
    Effect.gen(function*() {
      let warn = true
      const db = checked("thresholded", () => Effect.succeed(warn ? { status: "warn" as const } : undefined))
      const { spine } = yield* boot(
        Spine.layer({ packages: [db.pkg], health: { interval: "1 hour", successThreshold: 3 } })
      )
      expect((yield* spine.health).packages.thresholded.status).toBe("warn")
      warn = false
      expect((yield* spine.checkHealth("thresholded")).packages.thresholded.status).toBe("pass")
    }))

  it.effect("a checkHealth call given up on leaves its packages to the scheduled rounds", () =>
    Effect.gen(function*() {
      const db = checked("abandoned", (run) => run === 2 ? Effect.sleep("5 seconds") : Effect.void)
      const { spine } = yield* boot(Spine.layer({ packages: [db.pkg], health: { interval: "10 seconds" } }))
      const call = yield* Effect.fork(spine.checkHealth())
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(call)
      yield* TestClock.adjust("9 seconds")
      expect(db.runs()).toBe(3)
    }))

  it.effect("runs a package's own health schedule instead of the interval", () =>
    Effect.gen(function*() {
      const tag = Context.GenericTag<string, number>("health/own")
      let runs = 0
      const own = Package.make({
        name: "own",
        version: "1.0.0",
        provides: tag,
        layer: Layer.succeed(tag, 1),
        health: () => Effect.sync(() => void runs++),
        healthSchedule: Schedule.spaced("3 seconds")
      })
      // the shared loop's rounds, every 2 seconds, leave it out
      yield* boot(Spine.layer({ packages: [own], health: { interval: "2 seconds" } }))
      yield* TestClock.adjust("9 seconds")
      expect(runs).toBe(4)
    }))

  it.effect("runs no scheduled check when health is off", () =>
    Effect.gen(function*() {
      const db = checked("db", () => Effect.void)
      const { spine } = yield* boot(Spine.layer({ packages: [db.pkg], health: { enabled: false } }))
      yield* TestClock.adjust("1 hour")
      expect(db.runs()).toBe(0)
      yield* spine.checkHealth()
      expect(db.runs()).toBe(1)
    }))
})

describe("the first check", () => {
  const build = (layer: Layer.Layer<Spine.Spine, unknown>) =>
    Effect.flatMap(
      Scope.make(),
      (scope) =>
        Effect.map(
          Layer.buildWithScope(layer, scope),
          (context) => ({ spine: Context.get(context, Spine.Spine), scope })
        )
    )

  it.effect("is part of the boot: the spine is ready only once each package's first check has a result", () =>
    Effect.gen(function*() {
      const db = checked(
        "db",
        () => Effect.as(Effect.sleep("1 second"), { status: "warn" as const, details: { lag: 3 } })
      )
      const booting = yield* Effect.fork(build(Spine.layer({ packages: [db.pkg] })))
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(booting))).toBe(true)
      yield* TestClock.adjust("1 milli")
      const { scope, spine } = yield* Fiber.join(booting)
      // read at once: nothing else has run since the layer was built
      const health = yield* spine.health
      expect(health.status).toBe("warn")
      expect(health.packages.db).toMatchObject({ status: "warn", details: { lag: 3 } })
      expect(health.packages.db.lastCheck?.getTime()).toBe(1000)
      const events = yield* Effect.fork(Stream.runCollect(spine.events))
      yield* Scope.close(scope, Exit.void)
      const order = Chunk.toReadonlyArray(yield* Fiber.join(events)).flatMap((event) =>
        event._tag === "HealthChanged"
          ? [`db:${event.from}->${event.to}`]
          : event._tag === "SpinePhaseChanged"
          ? [`spine:${event.to}`]
          : []
      )
      expect(order.slice(0, 2)).toEqual(["db:pass->warn", "spine:ready"])
      expect(db.runs()).toBe(1)
    }))

  it.effect("a required package whose first check fails makes readiness fail from the start", () =>
    Effect.gen(function*() {
      const db = checked("db", () => Effect.fail("no connection"))
      const { spine } = yield* build(Spine.layer({ packages: [db.pkg] }))
      const health = yield* spine.health
      expect(health).toMatchObject({ status: "fail", ready: false })
      expect(health.packages.db).toMatchObject({ status: "fail", errors: ["no connection"] })
    }))

  it.effect("a hanging first check holds the boot up to the check timeout, then fails", () =>
    Effect.gen(function*() {
      const stuck = checked("stuck", () => Effect.never, { optional: true })
      const booting = yield* Effect.fork(
        build(Spine.layer({ packages: [stuck.pkg], health: { timeout: "3 seconds", interval: "1 hour" } }))
      )
      yield* TestClock.adjust("2999 millis")
      expect(Option.isNone(yield* Fiber.poll(booting))).toBe(true)
      yield* TestClock.adjust("1 milli")
      const { spine } = yield* Fiber.join(booting)
      const health = yield* spine.health
      expect(health.status).toBe("warn")
      expect(health.packages.stuck).toMatchObject({ status: "fail", errors: ["health check timed out after 3s"] })
    }))

  it.effect("a first check that ignores interruption holds the boot only up to the check timeout", () =>
    Effect.gen(function*() {
      const stuck = checked("stuck", () => Effect.uninterruptible(Effect.never), { optional: true })
      const fine = checked("fine", () => Effect.void)
      const booting = yield* Effect.fork(build(Spine.layer({
        packages: [stuck.pkg, fine.pkg],
        health: { timeout: "5 seconds", concurrency: 1, interval: "1 hour" }
      })))
      yield* TestClock.adjust("5 seconds")
      const { spine } = yield* Fiber.join(booting)
      const health = yield* spine.health
      expect(health.packages.stuck).toMatchObject({ status: "fail", errors: ["health check timed out after 5s"] })
      expect(health.packages.fine.status).toBe("pass")
      // later checks are not held up either
      yield* spine.checkHealth("fine")
      expect(fine.runs()).toBe(2)
    }))

  it.effect("an interrupted boot interrupts the first checks, then releases every package", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const tag = Context.GenericTag<string, number>("health/first-interrupted")
      const db = Package.make({
        name: "db",
        version: "1.0.0",
        provides: tag,
        layer: Layer.scoped(
          tag,
          Effect.acquireRelease(Effect.succeed(1), () => Effect.sync(() => log.push("released")))
        ),
        health: () => Effect.onInterrupt(Effect.never, () => Effect.sync(() => log.push("check interrupted")))
      })
      const booting = yield* Effect.fork(build(Spine.layer({ packages: [db] })))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(booting)
      expect(log).toEqual(["check interrupted", "released"])
    }))

  it.effect("spine.add and setFeature return once the packages they started have had their first check", () =>
    Effect.gen(function*() {
      const base = checked("base", () => Effect.void)
      const late = checked("late", () => Effect.fail("late is broken"), { optional: true })
      const gated = checked("gated", () => Effect.as(Effect.void, { status: "warn" as const }), { feature: "g" })
      const { spine } = yield* build(Spine.layer({ packages: [base.pkg, gated.pkg], features: { g: false } }))
      yield* spine.add(late.pkg)
      expect((yield* spine.health).packages.late).toMatchObject({ status: "fail", errors: ["late is broken"] })
      yield* spine.setFeature("g", true)
      expect((yield* spine.health).packages.gated.status).toBe("warn")
      expect([late.runs(), gated.runs()]).toEqual([1, 1])
    }))

  it.effect("no first check when scheduled checks are off", () =>
    Effect.gen(function*() {
      const db = checked("db", () => Effect.fail("down"))
      const { spine } = yield* build(Spine.layer({ packages: [db.pkg], health: { enabled: false } }))
      expect(db.runs()).toBe(0)
      const health = yield* spine.health
      expect(health.packages.db).toMatchObject({ status: "pass", lastCheck: undefined })
    }))
})
