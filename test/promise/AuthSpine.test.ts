import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Package, Plugin, Spine } from "../../src/index.js"
import * as AuthSpine from "../../src/promise/AuthSpine.js"

/** A package that records its acquisition and release in `log`, and may fail or wait for `gate` first. */
const makeTestPackage =
  (log: Array<string>) =>
  <const Deps extends ReadonlyArray<Context.Tag<string, number>>>(name: string, options: {
    readonly deps?: Deps
    readonly optional?: boolean
    readonly feature?: string
    readonly fail?: boolean
    readonly gate?: Promise<void>
    readonly health?: () => Effect.Effect<void, Error>
  } = {}) => {
    const tag = Context.GenericTag<string, number>(`test/${name}`)
    const pkg = Package.make({
      name,
      version: "1.2.3",
      category: name === "a" ? "core" : "custom",
      provides: tag,
      requires: options.deps ?? [],
      optional: options.optional ?? false,
      ...(options.feature === undefined ? {} : { feature: options.feature }),
      ...(options.health === undefined ? {} : { health: options.health }),
      layer: Layer.scoped(
        tag,
        Effect.gen(function*() {
          log.push(`start ${name}`)
          const gate = options.gate
          if (gate !== undefined) yield* Effect.promise(() => gate)
          if (options.fail) return yield* Effect.fail(new Error(`${name} exploded`))
          return yield* Effect.acquireRelease(
            Effect.sync(() => log.push(`acquired ${name}`)),
            () => Effect.sync(() => log.push(`released ${name}`))
          )
        })
      )
    })
    return { tag, pkg }
  }

const released = (log: ReadonlyArray<string>) => log.filter((line) => line.startsWith("released "))

const rejection = async (promise: Promise<unknown>): Promise<AuthSpine.AuthSpineError> => {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(AuthSpine.AuthSpineError)
  return error as AuthSpine.AuthSpineError
}

describe("AuthSpine", () => {
  it("shares one boot between concurrent and repeated initialize() calls", async () => {
    const log: Array<string> = []
    const make = makeTestPackage(log)
    let gateOpen = () => {}
    const gate = new Promise<void>((resolve) => (gateOpen = resolve))
    const a = make("a", { gate })
    const b = make("b", { deps: [a.tag] })
    const spine = new AuthSpine.AuthSpine({ packages: [a.pkg, b.pkg] })
    const calls = [spine.initialize(), spine.initialize(), spine.initialize()]
    expect(calls[1]).toBe(calls[0])
    expect(calls[2]).toBe(calls[0])
    gateOpen()
    await Promise.all(calls)
    await spine.initialize()
    expect(log).toEqual(["start a", "acquired a", "start b", "acquired b"])
    expect(await spine.get(b.tag)).toBe(4)
    await spine.cleanup()
  })

  it("cleanup releases in reverse dependency order, once", async () => {
    const log: Array<string> = []
    const make = makeTestPackage(log)
    const a = make("a")
    const b = make("b", { deps: [a.tag] })
    const c = make("c", { deps: [b.tag] })
    const spine = new AuthSpine.AuthSpine({ packages: [c.pkg, a.pkg, b.pkg] })
    await spine.initialize()
    expect(released(log)).toEqual([])
    const first = spine.cleanup()
    const second = spine.cleanup()
    expect(second).toBe(first)
    await Promise.all([first, second])
    expect(released(log)).toEqual(["released c", "released b", "released a"])
    await spine.cleanup()
    expect(released(log)).toEqual(["released c", "released b", "released a"])
  })

  it("cleanup during initialize waits for the boot and releases everything", async () => {
    const log: Array<string> = []
    const make = makeTestPackage(log)
    let gateOpen = () => {}
    const gate = new Promise<void>((resolve) => (gateOpen = resolve))
    const a = make("a")
    const b = make("b", { deps: [a.tag], gate })
    const spine = new AuthSpine.AuthSpine({ packages: [a.pkg, b.pkg] })
    const booting = spine.initialize()
    const cleaning = spine.cleanup()
    await Promise.resolve()
    expect(released(log)).toEqual([])
    gateOpen()
    await booting
    await cleaning
    expect(log).toEqual(["start a", "acquired a", "start b", "acquired b", "released b", "released a"])
    const error = await rejection(spine.getHealth())
    expect(error.error._tag).toBe("CleanedUp")
  })

  it("a facade kept after cleanup() no longer holds its packages' services", async () => {
    // the collector, for this one test: `--expose-gc` is not among vitest's own flags
    setFlagsFromString("--expose-gc")
    const gc = runInNewContext("gc") as () => void
    const Big = Context.GenericTag<"Big", { readonly bytes: Uint8Array }>("test/Big")
    let service: WeakRef<object> | undefined
    const big = Package.make({
      name: "big",
      version: "1.0.0",
      provides: Big,
      layer: Layer.sync(Big, () => {
        const value = { bytes: new Uint8Array(1024) }
        service = new WeakRef(value)
        return value
      })
    })
    const kept = new AuthSpine.AuthSpine({ packages: [big] })
    await kept.initialize()
    await kept.cleanup()
    for (let round = 0; round < 3 && service?.deref() !== undefined; round++) {
      await new Promise((resolve) => setTimeout(resolve, 0))
      gc()
    }
    expect(service?.deref()).toBeUndefined()
    await expect(kept.getHealth()).rejects.toMatchObject({ error: { _tag: "CleanedUp" } })
  })

  it("initialize after cleanup rejects with CleanedUp and starts nothing", async () => {
    const log: Array<string> = []
    const a = makeTestPackage(log)("a")
    const spine = new AuthSpine.AuthSpine({ packages: [a.pkg] })
    await spine.initialize()
    await spine.cleanup()
    const error = await rejection(spine.initialize())
    expect(error._tag).toBe("CleanedUp")
    expect(error.name).toBe("CleanedUp")
    expect(error.message).toContain("initialize() called after cleanup()")
    expect(log).toEqual(["start a", "acquired a", "released a"])

    const never = new AuthSpine.AuthSpine({ packages: [makeTestPackage(log)("b").pkg] })
    await never.cleanup()
    expect((await rejection(never.initialize())).error._tag).toBe("CleanedUp")
    expect(log).not.toContain("start b")
  })

  it("methods reject with NotInitialized before initialize()", async () => {
    const spine = new AuthSpine.AuthSpine({ packages: [makeTestPackage([])("a").pkg] })
    const error = await rejection(spine.getStatistics())
    expect(error.error._tag).toBe("NotInitialized")
    expect(error.message).toBe("AuthSpine.getStatistics() called before initialize() completed")
    await spine.cleanup()
  })

  it("a failing required package rejects with PackageInitFailed and releases what started", async () => {
    const log: Array<string> = []
    const make = makeTestPackage(log)
    const a = make("a")
    const b = make("b", { deps: [a.tag] })
    const broken = make("broken", { deps: [a.tag], fail: true })
    const spine = new AuthSpine.AuthSpine({
      packages: [a.pkg, b.pkg, broken.pkg],
      hooks: { afterShutdown: Effect.sync(() => log.push("afterShutdown")) }
    })
    const error = await rejection(spine.initialize())
    // the runtime was disposed before the rejection: the spine's scope is closed
    expect(log.at(-1)).toBe("afterShutdown")
    expect(error.error._tag).toBe("PackageInitFailed")
    expect(error._tag).toBe("PackageInitFailed")
    expect(error.name).toBe("PackageInitFailed")
    expect(error.message).toContain("\"broken\"")
    expect(error.message).toBe(error.error.message)
    expect(error.cause).toBe(error.error)
    if (error.error._tag === "PackageInitFailed") expect(error.error.package).toBe("broken")
    const acquired = log.filter((line) => line.startsWith("acquired ")).map((line) => line.slice(9))
    expect(acquired).toContain("a")
    expect(released(log).map((line) => line.slice(9)).sort()).toEqual([...acquired].sort())
    // the failed boot is remembered, and nothing starts again
    const again = await rejection(spine.initialize())
    expect(again).toBe(error)
    const after = await rejection(spine.getHealth())
    expect(after.error._tag).toBe("NotInitialized")
    expect(after.message).toBe(
      `AuthSpine.getHealth() called after initialize() failed (${error.message}); make a new AuthSpine to retry`
    )
    await spine.cleanup()
    expect(log.filter((line) => line === "start a")).toHaveLength(1)
  })

  it("a validation error rejects before anything starts", async () => {
    const log: Array<string> = []
    const make = makeTestPackage(log)
    const spine = new AuthSpine.AuthSpine({ packages: [make("twin").pkg, make("twin").pkg] })
    const error = await rejection(spine.initialize())
    expect(error.error._tag).toBe("DuplicatePackage")
    expect(error.message).toBe("Package \"twin\" is registered more than once")
    expect(log).toEqual([])
  })

  it("accepts at compile time only requirements that packages provide; at run time reports the missing one", async () => {
    class Clock extends Context.Tag("test/Clock")<Clock, number>() {}
    class Timer extends Context.Tag("test/Timer")<Timer, number>() {}
    let started = 0
    const timer = Package.make({
      name: "timer",
      version: "1.0.0",
      provides: Timer,
      requires: [Clock],
      layer: Layer.effect(Timer, Effect.map(Clock, (now) => (started++, now)))
    })
    // @ts-expect-error: no package provides test/Clock
    const spine = new AuthSpine.AuthSpine({ packages: [timer] })
    const error = await rejection(spine.initialize())
    expect(error.error._tag).toBe("MissingDependency")
    expect(error.message).toContain("\"timer\" requires test/Clock")
    expect(started).toBe(0)
  })

  it("get rejects for a package stopped since the boot", async () => {
    const log: Array<string> = []
    const make = makeTestPackage(log)
    const a = make("a")
    const retired = make("retired")
    // a plugin keeps the Spine service, and later removes a package the facade's boot context still holds
    let captured: Spine.SpineService | undefined
    const janitor = Plugin.make({
      name: "janitor",
      onInitialize: Effect.map(Spine.Spine, (service) => void (captured = service))
    })
    const spine = new AuthSpine.AuthSpine({ packages: [a.pkg, retired.pkg], plugins: [janitor] })
    await spine.initialize()
    expect(await spine.get(retired.tag)).toBe(4)
    await Effect.runPromise(captured!.remove("retired"))
    expect(await spine.get(a.tag)).toBe(2)
    const stopped = await rejection(spine.get(retired.tag))
    expect(stopped.message).toBe("Package \"retired\" (test/retired) is not started: it is stopped")
    await spine.cleanup()
    expect(released(log)).toEqual(["released retired", "released a"])
  })

  it("get gives the service running now: a package added again, or turned on, after the boot", async () => {
    const log: Array<string> = []
    const make = makeTestPackage(log)
    const conn = make("conn")
    const audit = make("audit", { feature: "audit" })
    let captured: Spine.SpineService | undefined
    const admin = Plugin.make({
      name: "admin",
      onInitialize: Effect.map(Spine.Spine, (service) => void (captured = service))
    })
    const spine = new AuthSpine.AuthSpine({
      packages: [conn.pkg, audit.pkg],
      plugins: [admin],
      features: { audit: false }
    })
    await spine.initialize()
    const first = await spine.get(conn.tag)
    await Effect.runPromise(captured!.remove("conn"))
    await Effect.runPromise(captured!.add(conn.pkg))
    await Effect.runPromise(captured!.setFeature("audit", true))
    // each service is the log's length when it was acquired
    expect([first, await spine.get(conn.tag), await spine.get(audit.tag)]).toEqual([
      log.indexOf("acquired conn") + 1,
      log.lastIndexOf("acquired conn") + 1,
      log.indexOf("acquired audit") + 1
    ])
    expect(log.lastIndexOf("acquired conn")).toBeGreaterThan(log.indexOf("released conn"))
    await spine.cleanup()
  })

  it("get, getPackage, health, report, statistics, metrics and feature flags", async () => {
    const log: Array<string> = []
    const make = makeTestPackage(log)
    const a = make("a")
    const b = make("b", { deps: [a.tag], health: () => Effect.void })
    const flaky = make("flaky", { optional: true, fail: true })
    const beta = make("beta", { feature: "beta" })
    const gamma = make("gamma", { feature: "gamma" })
    const spine = new AuthSpine.AuthSpine({
      packages: [a.pkg, b.pkg, flaky.pkg, beta.pkg, gamma.pkg],
      features: { beta: true, gamma: false }
    })
    await spine.initialize()

    expect(await spine.get(a.tag)).toBe(2)
    const missing = await rejection(spine.get(flaky.tag))
    expect(missing.error._tag).toBe("ServiceUnavailable")
    expect(missing.message).toBe("Package \"flaky\" (test/flaky) is not started: it is failed")
    expect((await rejection(spine.get(gamma.tag))).message).toContain("it is disabled")

    expect(await spine.getPackage("b")).toEqual({
      name: "b",
      version: "1.2.3",
      category: "custom",
      status: "active",
      provides: "test/b",
      requires: [{ tag: "test/a" }],
      optional: false,
      state: "ready"
    })
    expect((await spine.getPackage("gamma")).state).toBe("disabled")
    const notFound = await rejection(spine.getPackage("nope"))
    expect(notFound.error._tag).toBe("PackageNotFound")
    expect(notFound.message).toBe("No package named \"nope\"")

    expect(await spine.isFeatureEnabled("beta")).toBe(true)
    expect(await spine.isFeatureEnabled("gamma")).toBe(false)
    expect(await spine.isFeatureEnabled("unknown")).toBe(false)

    const health = await spine.getHealth()
    expect(health.status).toBe("warn")
    expect(health.ready).toBe(true)
    expect(health.live).toBe(true)
    expect(health.packages["flaky"]?.status).toBe("fail")

    const statistics = await spine.getStatistics()
    expect(statistics.total).toBe(5)
    expect(statistics.byCategory).toEqual({ core: 1, custom: 4 })
    expect(statistics.byState.ready).toBe(3)
    expect(statistics.byState.failed).toBe(1)
    expect(statistics.byState.disabled).toBe(1)

    const report = await spine.generateReport()
    expect(report.summary.totalPackages).toBe(5)
    expect(report.summary.initialized).toBe(true)
    expect(report.summary.overallHealth).toBe("warn")
    expect(report.packages.map((pkg) => [pkg.name, pkg.state])).toEqual([
      ["a", "ready"],
      ["b", "ready"],
      ["flaky", "failed"],
      ["beta", "ready"],
      ["gamma", "disabled"]
    ])

    const metrics = await spine.getMetrics()
    expect(metrics.spine.length).toBeGreaterThan(0)

    await spine.cleanup()
    expect(released(log).sort()).toEqual(["released a", "released b", "released beta"])
  })
})
