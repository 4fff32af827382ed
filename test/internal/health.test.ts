/**
 * The monitor's rules where checks meet the rest of the spine: the healthy
 * gauge, one concurrency bound over every loop and call, packages that join
 * or leave at runtime, readiness and the schedule.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Exit, Fiber, Layer, Metric, Schedule, Scope, Stream, TestClock } from "effect"
import { Package, Spine } from "../../src/index.js"
import { boot, bootWithin, checked } from "../utils.js"

let uid = 0
const unique = (name: string) => `${name}-${++uid}-${Math.random().toString(36).slice(2, 7)}`

const gauge = (
  snapshot: Spine.SpineService["metrics"] extends Effect.Effect<infer A> ? A : never,
  name: string,
  pkg: string
) => snapshot.spine.find((m) => m.name === name && m.labels.package === pkg)

describe("spine_package_healthy", () => {
  it.effect("spine_package_healthy is 1 for a package whose checks pass", () =>
    Effect.gen(function*() {
      const name = unique("okpkg")
      const db = checked(name, () => Effect.void)
      const { spine } = yield* boot(Spine.layer({ packages: [db.pkg] }))
      expect(db.runs()).toBe(1)
      expect((yield* spine.health).packages[name].status).toBe("pass")
      const m = gauge(yield* spine.metrics, "spine_package_healthy", name)
      expect(m).toMatchObject({ type: "gauge", value: 1 })
    }))

  it.effect("spine_package_healthy follows a re-added package's fresh health (was 0 for the removed one)", () =>
    Effect.gen(function*() {
      const name = unique("readd")
      let healthy = false
      const a = checked(name, () => healthy ? Effect.void : Effect.fail("down"), { optional: true })
      const { spine } = yield* boot(Spine.layer({ packages: [a.pkg], health: { interval: "1 hour" } }))
      expect((yield* spine.health).packages[name].status).toBe("fail")
      yield* spine.remove(name)
      healthy = true
      yield* spine.add(a.pkg)
      const h = yield* spine.checkHealth(name)
      expect(h.packages[name].status).toBe("pass")
      const m = gauge(yield* spine.metrics, "spine_package_healthy", name)
      expect(m).toMatchObject({ value: 1 })
    }))
})

describe("spine_package_healthy when a package stops", () => {
  it.effect("is 0 once a checked package is removed", () =>
    Effect.gen(function*() {
      const name = unique("gone")
      const a = checked(name, () => Effect.void, { optional: true })
      const { spine } = yield* boot(Spine.layer({ packages: [a.pkg], health: { interval: "1 hour" } }))
      expect(gauge(yield* spine.metrics, "spine_package_healthy", name)).toMatchObject({ value: 1 })
      yield* spine.remove(name)
      const snapshot = yield* Metric.snapshot
      const series = snapshot.find((pair) =>
        pair.metricKey.name === "spine_package_healthy" && pair.metricKey.tags.some((tag) => tag.value === name)
      )
      expect(series?.metricState).toMatchObject({ value: 0 })
    }))
})

describe("health concurrency", () => {
  const tracker = () => {
    let now = 0
    let max = 0
    const run = Effect.acquireUseRelease(
      Effect.sync(() => {
        now++
        max = Math.max(max, now)
      }),
      () => Effect.sleep("1 second"),
      () => Effect.sync(() => void now--)
    )
    return { run, max: () => max }
  }

  it.effect("within one round, at most `concurrency` checks run at once", () =>
    Effect.gen(function*() {
      const t = tracker()
      const pkgs = Array.from({ length: 5 }, (_, i) => checked(unique(`c${i}`), () => t.run).pkg)
      const { spine } = yield* boot(Spine.layer({ packages: pkgs, health: { enabled: false, concurrency: 2 } }))
      const f = yield* Effect.fork(spine.checkHealth())
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(f)
      expect(t.max()).toBe(2)
    }))

  it.effect("the concurrency bound holds across packages with their own schedules", () =>
    Effect.gen(function*() {
      const t = tracker()
      const pkgs = Array.from({ length: 4 }, (_, i) =>
        checked(unique(`own${i}`), () => t.run, { healthSchedule: Schedule.spaced("5 seconds") }).pkg)
      // the boot's first round: four checks of 1 second, one at a time
      yield* bootWithin(Spine.layer({ packages: pkgs, health: { concurrency: 1, interval: "1 hour" } }), "4 seconds")
      yield* TestClock.adjust("20 seconds")
      expect(t.max()).toBe(1)
    }))

  it.effect("checkHealth() during a scheduled round does not exceed the bound", () =>
    Effect.gen(function*() {
      const t = tracker()
      const pkgs = Array.from({ length: 2 }, (_, i) => checked(unique(`cc${i}`), () => t.run).pkg)
      const { spine } = yield* bootWithin(
        Spine.layer({ packages: pkgs, health: { concurrency: 1, interval: "10 seconds" } }),
        "2 seconds"
      )
      // the first scheduled round starts, and is in flight
      yield* TestClock.adjust("10 seconds")
      const f = yield* Effect.fork(spine.checkHealth())
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(f)
      expect(t.max()).toBe(1)
    }))
})

describe("health of packages changed at runtime", () => {
  it.effect("a check in flight when its package is removed is not recorded on a re-added package", () =>
    Effect.gen(function*() {
      const name = unique("stale")
      let incarnation = 0
      const tag = Context.GenericTag<string, number>(`health-internal/${name}`)
      const pkg = Package.make({
        name,
        version: "1.0.0",
        provides: tag,
        optional: true,
        layer: Layer.effect(tag, Effect.sync(() => ++incarnation)),
        // the first incarnation's check is slow and fails; the second's passes at once
        health: (n) => n === 1 ? Effect.zipRight(Effect.sleep("5 seconds"), Effect.fail("old instance")) : Effect.void
      })
      const { spine } = yield* bootWithin(
        Spine.layer({ packages: [pkg], health: { interval: "1 hour", timeout: "30 seconds" } }),
        "5 seconds"
      )
      const inFlight = yield* Effect.fork(spine.checkHealth(name))
      yield* TestClock.adjust("1 second")
      yield* spine.remove(name)
      yield* spine.add(pkg)
      const fresh = yield* spine.checkHealth(name)
      expect(fresh.packages[name].status).toBe("pass")
      yield* TestClock.adjust("10 seconds") // the old check ends
      yield* Fiber.join(inFlight)
      const h = yield* spine.health
      expect(h.packages[name]).toMatchObject({ status: "pass", errors: [] })
    }))

  it.effect("a package turned off and on again does not carry its old failing health", () =>
    Effect.gen(function*() {
      const name = unique("feat")
      let healthy = false
      const mail = checked(name, () => healthy ? Effect.void : Effect.fail("down"), { feature: "mail" })
      const { spine } = yield* boot(Spine.layer({
        packages: [mail.pkg],
        features: { mail: true },
        health: { interval: "1 hour", successThreshold: 3 }
      }))
      expect((yield* spine.health).packages[name].status).toBe("fail")
      yield* spine.setFeature("mail", false)
      healthy = true
      yield* spine.setFeature("mail", true)
      expect(yield* spine.state(name)).toBe("ready")
      // a freshly started instance: one passing check should suffice (as for spine.add, which resets)
      const h = yield* spine.checkHealth(name)
      expect(h.packages[name]).toMatchObject({ status: "pass", errors: [] })
    }))

  it.effect("a package added at runtime gets its first check without waiting a whole interval", () =>
    Effect.gen(function*() {
      const base = checked(unique("base"), () => Effect.void)
      const name = unique("late")
      const late = checked(name, () => Effect.fail("broken"), { optional: true })
      const { spine } = yield* boot(Spine.layer({ packages: [base.pkg], health: { interval: "60 seconds" } }))
      yield* spine.add(late.pkg)
      yield* TestClock.adjust("1 second")
      expect(late.runs()).toBe(1)
    }))

  it.effect("a required package being added at runtime does not turn readiness to fail while it starts", () =>
    Effect.gen(function*() {
      const base = checked(unique("base2"), () => Effect.void)
      const late = checked(unique("slow"), () => Effect.void, { init: Effect.sleep("5 seconds") })
      const { spine } = yield* boot(Spine.layer({ packages: [base.pkg] }))
      expect((yield* spine.health).status).toBe("pass")
      const f = yield* Effect.fork(spine.add(late.pkg))
      yield* TestClock.adjust("1 second")
      expect((yield* spine.health).status).not.toBe("fail")
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(f)
    }))
})

describe("readiness", () => {
  it.effect("a feature-gated, non-optional package failing its check fails readiness (as its failed start aborts)", () =>
    Effect.gen(function*() {
      const name = unique("gated")
      const g = checked(name, () => Effect.fail("down"), { feature: "g" })
      const { spine } = yield* boot(Spine.layer({ packages: [g.pkg], features: { g: true } }))
      const h = yield* spine.health
      expect(h.packages[name].status).toBe("fail")
      expect(h.status).toBe("fail")
    }))
})

describe("health schedule", () => {
  it.effect("the shared loop keeps its interval from round to round when checks take time (Schedule.fixed)", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const db = checked(unique("slowcheck"), () =>
        Effect.zipRight(
          Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (t) => Effect.sync(() => void times.push(t))),
          Effect.sleep("3 seconds")
        ))
      yield* bootWithin(Spine.layer({ packages: [db.pkg], health: { interval: "10 seconds" } }), "3 seconds")
      yield* TestClock.adjust("32 seconds")
      // Schedule.fixed counts from the end of the first round; Schedule.spaced gave 0, 13, 26 s
      expect(times).toEqual([0, 13_000, 23_000, 33_000])
    }))
})

describe("checks that overlap a change", () => {
  /** A check that takes `ms` of test time, recording when each run starts and the most runs at once. */
  const timed = (ms: number) => {
    const starts: Array<number> = []
    let now = 0
    let most = 0
    const run = Effect.acquireUseRelease(
      Effect.flatMap(Effect.clockWith((clock) => clock.currentTimeMillis), (at) =>
        Effect.sync(() => {
          starts.push(at)
          most = Math.max(most, ++now)
        })),
      () => Effect.sleep(ms),
      () => Effect.sync(() => void now--)
    )
    return { run, starts, most: () => most }
  }

  /** A package whose release runs `released`, checked by `check` (on its own schedule, if given). */
  const releasing = (
    name: string,
    released: Effect.Effect<unknown>,
    check: () => Effect.Effect<void>,
    healthSchedule?: Schedule.Schedule<unknown, unknown>
  ) => {
    const tag = Context.GenericTag<string, number>(`health-internal/${name}`)
    return Package.make({
      name,
      version: "1.0.0",
      provides: tag,
      layer: Layer.scoped(tag, Effect.acquireRelease(Effect.succeed(1), () => released)),
      health: check,
      ...(healthSchedule === undefined ? {} : { healthSchedule })
    })
  }

  it.effect("a package's own schedule counts from the end of its first check: its checks never overlap", () =>
    Effect.gen(function*() {
      const t = timed(4000)
      const own = checked(unique("own-slow"), () => t.run, { healthSchedule: Schedule.spaced("3 seconds") })
      yield* bootWithin(
        Spine.layer({ packages: [own.pkg], health: { interval: "1 hour", timeout: "10 seconds" } }),
        "4 seconds"
      )
      yield* TestClock.adjust("12 seconds")
      expect(t.starts).toEqual([0, 7000, 14_000])
      expect(t.most()).toBe(1)
    }))

  it.effect("a check left behind at its timeout, still running, keeps later rounds off its package", () =>
    Effect.gen(function*() {
      let started = 0
      const name = unique("stubborn")
      const stuck = checked(
        name,
        () => Effect.uninterruptible(Effect.sync(() => started++).pipe(Effect.zipRight(Effect.never))),
        {
          optional: true
        }
      )
      const { spine } = yield* bootWithin(
        Spine.layer({ packages: [stuck.pkg], health: { interval: "2 seconds", timeout: "1 second", concurrency: 1 } }),
        "1 second"
      )
      yield* TestClock.adjust("20 seconds")
      expect(started).toBe(1)
      expect((yield* spine.health).packages[name]).toMatchObject({
        status: "fail",
        errors: ["health check timed out after 1s"]
      })
    }))

  it.effect("a scheduled round skips a package whose first check is still running", () =>
    Effect.gen(function*() {
      const t = timed(3000)
      const base = checked(unique("base"), () => Effect.void)
      const late = checked(unique("late"), () => t.run, { optional: true })
      const { spine } = yield* boot(Spine.layer({ packages: [base.pkg], health: { interval: "10 seconds" } }))
      yield* TestClock.adjust("9 seconds")
      const adding = yield* Effect.fork(spine.add(late.pkg))
      // the round at 10 s finds its first check (9–12 s) running
      yield* TestClock.adjust("4 seconds")
      yield* Fiber.join(adding)
      expect(t.starts).toEqual([9000])
      yield* TestClock.adjust("10 seconds")
      expect(t.starts).toEqual([9000, 20_000])
      expect(t.most()).toBe(1)
    }))

  it.effect("while an added package's first check runs, it counts as warn, not as a pass", () =>
    Effect.gen(function*() {
      const base = checked(unique("base"), () => Effect.void)
      const name = unique("required-late")
      const late = checked(name, () => Effect.zipRight(Effect.sleep("2 seconds"), Effect.fail("late is broken")))
      const { spine } = yield* boot(Spine.layer({ packages: [base.pkg], health: { interval: "1 hour" } }))
      const adding = yield* Effect.fork(spine.add(late.pkg))
      yield* TestClock.adjust("1 second")
      const during = yield* spine.health
      expect(during.packages[name]).toMatchObject({ status: "warn", healthy: true, lastCheck: undefined })
      expect(during.status).toBe("warn")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(adding)
      const after = yield* spine.health
      expect(after.packages[name]).toMatchObject({ status: "fail", errors: ["late is broken"] })
      expect(after.status).toBe("fail")
    }))

  it.effect("an add interrupted during the first check releases the package and leaves it out", () =>
    Effect.gen(function*() {
      const released: Array<string> = []
      const name = unique("interrupted-add")
      const pkg = releasing(
        name,
        Effect.sync(() => released.push(name)),
        () => Effect.never,
        Schedule.spaced("1 second")
      )
      const { spine } = yield* boot(Spine.layer({ packages: [], health: { timeout: "30 seconds" } }))
      const adding = yield* Effect.fork(spine.add(pkg))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(adding)
      expect(released).toEqual([name])
      expect(yield* spine.state(name)).toBe("stopped")
      expect((yield* spine.health).packages[name]).toBeUndefined()
      expect((yield* spine.health).status).toBe("pass")
    }))

  it.effect("shutdown interrupts an add waiting for its first check, and the add fails", () =>
    Effect.gen(function*() {
      const released: Array<number> = []
      const pkg = releasing(
        unique("shutdown-add"),
        Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (at) => Effect.sync(() => released.push(at))),
        () => Effect.sleep("20 seconds")
      )
      const { scope, spine } = yield* boot(Spine.layer({ packages: [], health: { timeout: "30 seconds" } }))
      const adding = yield* Effect.fork(spine.add(pkg))
      yield* TestClock.adjust("1 second")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("1 second")
      expect(released).toEqual([1000])
      yield* Fiber.join(closing)
      expect(yield* Effect.flip(Fiber.join(adding))).toMatchObject({ _tag: "SpineNotRunning" })
    }))

  it.effect("shutdown interrupts a checkHealth call's checks before it releases the packages; the call returns", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const Pool = Context.GenericTag<"Pool", number>("health/Pool")
      const pool = Package.make({
        name: unique("pool"),
        version: "1.0.0",
        provides: Pool,
        layer: Layer.scoped(
          Pool,
          Effect.acquireRelease(Effect.succeed(1), () => Effect.sync(() => log.push("released")))
        ),
        // a check that outlasts the shutdown's start: a slow ping, say
        health: () => Effect.onInterrupt(Effect.never, () => Effect.sync(() => log.push("check interrupted")))
      })
      const { scope, spine } = yield* boot(Spine.layer({ packages: [pool], health: { enabled: false } }))
      const checking = yield* Effect.fork(spine.checkHealth())
      yield* Effect.yieldNow()
      yield* Scope.close(scope, Exit.void)
      expect(log).toEqual(["check interrupted", "released"])
      const health = yield* Fiber.join(checking)
      expect([health.status, health.live]).toEqual(["fail", false])
      // nothing runs once the packages are going
      expect((yield* spine.checkHealth()).packages[pool.name].lastCheck).toBeUndefined()
    }))

  it.effect("a check that ignores interruption holds the shutdown up for the check timeout at most", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const Stuck = Context.GenericTag<"Stuck", number>("health/Stuck")
      const stuck = Package.make({
        name: unique("stuck"),
        version: "1.0.0",
        provides: Stuck,
        layer: Layer.scoped(
          Stuck,
          Effect.acquireRelease(Effect.succeed(1), () => Effect.sync(() => log.push("released")))
        ),
        health: () => Effect.uninterruptible(Effect.never)
      })
      const { scope, spine } = yield* boot(
        Spine.layer({ packages: [stuck], health: { enabled: false, timeout: "5 seconds" } })
      )
      // daemons: were the shutdown to hang, the test fails instead of waiting for them
      yield* Effect.forkDaemon(spine.checkHealth())
      yield* Effect.yieldNow()
      const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("4 seconds")
      expect(log).toEqual([])
      yield* TestClock.adjust("1 second")
      for (let turn = 0; turn < 100 && closing.unsafePoll() === null; turn++) yield* Effect.yieldNow()
      expect(closing.unsafePoll()).not.toBeNull()
      expect(log).toEqual(["released"])
    }))

  for (const change of ["remove", "setFeature off"] as const) {
    it.effect(`a check in flight when ${change} stops its package is not recorded`, () =>
      Effect.gen(function*() {
        const name = unique("inflight")
        let runs = 0
        // the first check passes; the second, in flight during the change, fails after the package is released
        const db = checked(
          name,
          () =>
            Effect.zipRight(Effect.sleep("2 seconds"), ++runs === 1 ? Effect.void : Effect.fail("connection closed")),
          { optional: true, feature: "db" }
        )
        const { scope, spine } = yield* bootWithin(
          Spine.layer({ packages: [db.pkg], features: { db: true }, health: { interval: "10 seconds" } }),
          "2 seconds"
        )
        const events = yield* Effect.fork(Stream.runCollect(spine.events))
        yield* TestClock.adjust("11 seconds") // the round at 12 s is in flight until 14 s
        yield* change === "remove" ? spine.remove(name) : spine.setFeature("db", false)
        yield* TestClock.adjust("5 seconds")
        expect(runs).toBe(2)
        const series = (yield* Metric.snapshot).find((pair) =>
          pair.metricKey.name === "spine_package_healthy" && pair.metricKey.tags.some((tag) => tag.value === name)
        )
        expect(series?.metricState).toMatchObject({ value: 0 })
        yield* Scope.close(scope, Exit.void)
        const health = Chunk.toReadonlyArray(yield* Fiber.join(events)).filter((event) =>
          event._tag === "HealthChanged"
        )
        expect(health).toEqual([])
      }))
  }
})
