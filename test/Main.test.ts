import { describe, expect, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Cause, Chunk, Clock, Context, Deferred, Effect, Exit, Fiber, Layer, Option, Schedule, TestClock } from "effect"
import { createServer } from "node:net"
import type { Lifecycle } from "../src/index.js"
import { Package, Spine, SpineHttp } from "../src/index.js"
import { freePort, getLocal, startScript } from "./utils.js"

/** Runs the fixture; sends one SIGTERM once stdout shows `signalWhen`, if given. */
const run = (env: Record<string, string>, signalWhen?: string) => {
  const app = startScript("test/fixtures/main-app.ts", env, 30_000)
  if (signalWhen !== undefined) {
    const onData = () => {
      if (!app.stdout().includes(signalWhen)) return
      app.child.stdout.off("data", onData)
      app.child.kill("SIGTERM")
    }
    app.child.stdout.on("data", onData)
  }
  return app.exited
}

describe("Spine.runMain", () => {
  it("boots, prints the table, and on SIGTERM releases in reverse order and exits 0", async () => {
    const { code, stdout } = await run({}, "readiness pass")
    expect(code).toBe(0)
    const lines = stdout.split("\n")
    expect(lines.find((line) => line.startsWith("PACKAGE"))).toMatch(/^PACKAGE\s+VERSION\s+STATE/)
    expect(lines.filter((line) => line.startsWith("released "))).toEqual([
      "released api",
      "released db",
      "released config"
    ])
    const table = lines.slice(lines.findIndex((line) => /^PACKAGE\s+STOP$/.test(line)) + 1).filter((l) => l !== "")
    expect(table.map((line) => line.split(/\s+/)[0])).toEqual(["api", "db", "config"])
  })

  it("releases what had started when SIGTERM arrives during boot, and exits 0", async () => {
    const { code, stdout } = await run({ SLOW: "1" }, "acquired db")
    expect(code).toBe(0)
    const lines = stdout.split("\n")
    expect(lines.filter((line) => line.startsWith("acquired "))).toEqual(["acquired config", "acquired db"])
    expect(lines.filter((line) => line.startsWith("released "))).toEqual(["released db", "released config"])
  })

  it("the shutdown table lists only the packages released at shutdown, not one removed before", async () => {
    const { code, stdout } = await run({ PROGRAM: "remove" }, "program done")
    expect(code).toBe(0)
    const lines = stdout.split("\n")
    const table = lines.slice(lines.findIndex((line) => /^PACKAGE\s+STOP$/.test(line)) + 1).filter((l) => l !== "")
    expect(table.map((line) => line.split(/\s+/)[0])).toEqual(["db", "config"])
    expect(released(stdout)).toEqual(["released api", "released db", "released config"])
  })

  it("exits 1 when the boot fails, naming the package and releasing what had started", async () => {
    const { code, stderr, stdout } = await run({ BOOT_FAIL: "1" })
    expect(code).toBe(1)
    expect(stderr).toContain(`Boot failed: Package "api" failed to start after 1 attempt: api cannot connect`)
    expect(stdout.split("\n").filter((line) => line.startsWith("released "))).toEqual([
      "released db",
      "released config"
    ])
  })

  it("reports a failing or throwing program after releasing everything, and exits 1", async () => {
    for (const [program, message] of [["fail", "payment gateway unreachable"], ["die", "bug in the program"]]) {
      const { code, stderr, stdout } = await run({ PROGRAM: program })
      expect(code).toBe(1)
      expect(stderr).toContain(`Program failed: ${message}`)
      expect(released(stdout)).toEqual(["released api", "released db", "released config"])
    }
  })

  it("names the cause when the probes' port is taken", async () => {
    const port = await freePort()
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve))
    try {
      const { code, stderr } = await run({ PORT: String(port) })
      expect(code).toBe(1)
      expect(stderr).toMatch(/Boot failed: .*EADDRINUSE/)
    } finally {
      blocker.close()
    }
  })

  it("a second SIGTERM during the shutdown delay does not cut the release short", async () => {
    const app = startScript("test/fixtures/main-app.ts", { DELAY: "1000" }, 30_000)
    while (!app.stdout().includes("program done")) await new Promise((resolve) => setTimeout(resolve, 20))
    app.child.kill("SIGTERM")
    await new Promise((resolve) => setTimeout(resolve, 200))
    app.child.kill("SIGTERM")
    const { code, stdout } = await app.exited
    expect(released(stdout)).toEqual(["released api", "released db", "released config"])
    expect(code).toBe(0)
  })

  it("a second SIGTERM while an interrupted boot unwinds does not kill the process", async () => {
    const app = startScript("test/fixtures/main-app.ts", { SLOW: "1", RELEASE_MS: "1500" }, 30_000)
    while (!app.stdout().includes("acquired db")) await new Promise((resolve) => setTimeout(resolve, 20))
    app.child.kill("SIGTERM")
    await new Promise((resolve) => setTimeout(resolve, 300))
    app.child.kill("SIGTERM")
    const { code, stdout } = await app.exited
    expect(released(stdout)).toEqual(["released db", "released config"])
    expect(code).toBe(0)
  })

  it("exits when the program ends, even with a finalizer left behind past its stop timeout", async () => {
    const { code, stdout } = await startScript(
      "test/fixtures/main-app.ts",
      { KEEPALIVE: "0", HANG: "1", STOP_MS: "300" },
      20_000
    ).exited
    expect(released(stdout)).toEqual(["released api", "released config"])
    expect(code).toBe(0)
  })

  it("exits only once its output is written, however much a pipe still holds", async () => {
    const { code, stdout } = await run({ PROGRAM: "loud", KEEPALIVE: "0" })
    expect(stdout).toContain("program done")
    expect(released(stdout)).toEqual(["released api", "released db", "released config"])
    expect(stdout).toMatch(/PACKAGE\s+STOP\napi\s+\d+ ms\ndb\s+\d+ ms\nconfig\s+\d+ ms/)
    expect(code).toBe(0)
  })

  it.effect("interrupted, main turns readiness fail and waits the drain delay before it interrupts the program", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const started = yield* Deferred.make<void>()
      const program = Effect.flatMap(
        Spine.Spine,
        (spine) =>
          Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(
            Effect.onInterrupt(() =>
              Effect.map(
                Effect.all([spine.phase, spine.health, Clock.currentTimeMillis]),
                ([phase, health, at]) => void seen.push(`${phase}, ready ${health.ready}, at ${at} ms`)
              )
            )
          )
      )
      const main = yield* Effect.fork(Spine.main(Spine.layer({ packages: [quick()], health: { enabled: false } }), {
        tables: false,
        program,
        shutdownDelay: "1 second"
      }))
      yield* Deferred.await(started)
      yield* Fiber.interruptFork(main)
      // the drain delay's sleep, the only one
      while (Chunk.isEmpty(yield* TestClock.sleeps())) yield* Effect.yieldNow()
      yield* TestClock.adjust("1 second")
      yield* Fiber.await(main)
      expect(seen).toEqual(["stopping, ready false, at 1000 ms"])
    }))

  it.effect("with no program, main keeps the spine running until it is stopped (keepAlive's default)", () =>
    Effect.gen(function*() {
      const main = yield* Effect.fork(
        Spine.main(Spine.layer({ packages: [quick()], health: { enabled: false } }), { tables: false })
      )
      yield* TestClock.adjust("1 hour")
      expect(Option.isNone(yield* Fiber.poll(main))).toBe(true)
      yield* Fiber.interrupt(main)
    }))

  it.effect("a program that fails while it is stopped, in the drain delay or its cleanup, is main's failure", () =>
    Effect.gen(function*() {
      const failing = Effect.zipRight(Effect.sleep("500 millis"), Effect.fail(new Error("lost the queue")))
      // interrupted at 0 ms, it fails at 500 ms, within the drain delay
      const inDrain = yield* stopDuringRun(failing)
      expect(Exit.isFailure(inDrain) ? Cause.failureOption(inDrain.cause) : Option.none()).toEqual(
        Option.some(new Error("lost the queue"))
      )
      const inCleanup = yield* stopDuringRun(
        Effect.onInterrupt(Effect.never, () => Effect.die(new Error("cleanup broke")))
      )
      expect(Exit.isFailure(inCleanup) ? Cause.dieOption(inCleanup.cause) : Option.none()).toEqual(
        Option.some(new Error("cleanup broke"))
      )
    }))

  it.effect("a change the shutdown refuses (SpineNotRunning) is part of the stop, not the program's failure", () =>
    Effect.gen(function*() {
      const Slow = Context.GenericTag<"Slow", number>("main/Slow")
      const slow = Package.make({
        name: "slow",
        version: "1.0.0",
        provides: Slow,
        layer: Layer.effect(Slow, Effect.as(Effect.sleep("10 seconds"), 1))
      })
      // still adding when the signal comes: the shutdown refuses the change
      const exit = yield* stopDuringRun(Effect.flatMap(Spine.Spine, (spine) => spine.add(slow)))
      expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
      // with no signal, a program that begins the shutdown itself and then asks for a change has failed
      const base = yield* Effect.console
      const errors: Array<string> = []
      const draining = Effect.flatMap(Spine.Spine, (spine) => Effect.zipRight(spine.beginShutdown, spine.add(slow)))
      const failed = yield* Effect.exit(Effect.withConsole(
        Spine.main(Spine.layer({ packages: [quick()], health: { enabled: false } }), {
          tables: false,
          program: draining
        }),
        { ...base, error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void errors.push(args.join(" "))) }
      ))
      expect(Exit.isFailure(failed) ? Cause.failureOption(failed.cause) : Option.none()).toMatchObject(
        Option.some({ _tag: "SpineNotRunning" })
      )
      expect(errors.map((line) => line.split(":")[0])).toEqual(["Program failed"])
    }))

  it.effect("a signal while the boot table is made: the table is printed whole, the program never starts", () =>
    Effect.gen(function*() {
      const base = yield* Effect.console
      for (const delay of ["1 second", "0 millis"] as const) {
        const printed: Array<string> = []
        const released: Array<number> = []
        const start = yield* Clock.currentTimeMillis
        const inTable = yield* Deferred.make<void>()
        const tabled = releasing(
          "tabled",
          Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => void released.push(at))),
          // the boot table waits for the packages' own metrics
          () => Effect.zipRight(Deferred.succeed(inTable, undefined), Effect.as(Effect.sleep("3 seconds"), {}))
        )
        const { layer, spine } = announcing(Spine.layer({ packages: [tabled], health: { enabled: false } }))
        const program = Effect.sync(() => void printed.push("program started"))
        const main = yield* Effect.fork(Effect.withConsole(Spine.main(layer, { shutdownDelay: delay, program }), {
          ...base,
          log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void printed.push(args.join(" ")))
        }))
        yield* Deferred.await(inTable)
        yield* Fiber.interruptFork(main)
        yield* untilPhase(spine, "stopping")
        yield* TestClock.adjust("3 seconds")
        yield* Fiber.await(main)
        // readiness `fail` at 0 ms, the table done at 3000 ms, after the drain delay
        expect(released).toEqual([start + 3000])
        expect(printed.map((text) => text.trim().split("\n")[0].split(/\s+/).slice(0, 2).join(" "))).toEqual([
          "PACKAGE VERSION",
          "PACKAGE STOP"
        ])
      }
    }))

  it.effect("the shutdown table lists a package whose removal is still under way when the shutdown begins", () =>
    Effect.gen(function*() {
      const base = yield* Effect.console
      const printed: Array<string> = []
      const leaving = releasing("leaving", Effect.sleep("2 seconds"))
      const { layer, spine } = announcing(Spine.layer({ packages: [quick(), leaving], health: { enabled: false } }))
      const main = yield* Effect.fork(Effect.withConsole(Spine.main(layer), {
        ...base,
        log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void printed.push(args.join(" ")))
      }))
      yield* untilPhase(spine, "ready")
      const service = spine()!
      yield* Effect.forkDaemon(service.remove("leaving"))
      while ((yield* service.state("leaving")) !== "stopping") yield* Effect.yieldNow()
      yield* Fiber.interruptFork(main)
      yield* untilPhase(spine, "stopping")
      // the shutdown waits for the removal, which ends at 2 s, then releases the rest
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.await(main)
      const table = printed.at(-1)!.trim().split("\n")
      expect(table[0]).toMatch(/^PACKAGE\s+STOP$/)
      expect(table.slice(1).map((line) => line.split(/\s+/)[0]).sort()).toEqual(["leaving", "quick"])
      expect(table.find((line) => line.startsWith("leaving"))).toMatch(/^leaving\s+2000 ms$/)
    }))

  it.effect("a failed boot stays main's failure when an interruption comes while it releases", () =>
    Effect.gen(function*() {
      const releaseBegun = yield* Deferred.make<void>()
      const held = releasing(
        "held",
        Effect.zipRight(Deferred.succeed(releaseBegun, undefined), Effect.sleep("1 second"))
      )
      const Boom = Context.GenericTag<"Boom", number>("main/Boom")
      const boom = Package.make({
        name: "boom",
        version: "1.0.0",
        provides: Boom,
        requires: [held.provides],
        layer: Layer.effect(Boom, Effect.fail("no route"))
      })
      const main = yield* Effect.fork(Spine.main(Spine.layer({ packages: [held, boom] }), { tables: false }))
      yield* Deferred.await(releaseBegun)
      yield* Fiber.interruptFork(main)
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(main)
      expect(Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()).toMatchObject(
        Option.some({ _tag: "PackageInitFailed", package: "boom" })
      )
    }))

  it.effect("fails with InvalidOptions, before anything starts, for a shutdownDelay that is not a duration", () =>
    Effect.gen(function*() {
      let built = false
      const Lazy = Context.GenericTag<"Lazy", number>("main/Lazy")
      const lazy = Package.make({
        name: "lazy",
        version: "1.0.0",
        provides: Lazy,
        layer: Layer.sync(Lazy, () => {
          built = true
          return 1
        })
      })
      const main = Spine.main(Spine.layer({ packages: [lazy] }), {
        tables: false,
        // as JavaScript may pass it, past the types
        shutdownDelay: "5s" as Duration.DurationInput
      })
      const error = yield* Effect.flip(main)
      expect(error).toMatchObject({ _tag: "InvalidOptions", option: "shutdownDelay" })
      expect(error.message).toBe(`Spine option shutdownDelay must be a duration, such as "30 seconds" (got "5s")`)
      expect(built).toBe(false)
    }))

  it.live("interrupted during the boot, Spine.main releases what was built below the spine too", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const starting = yield* Deferred.make<void>()
      const Slow = Context.GenericTag<"Slow", number>("main/Slow")
      const slow = Package.make({
        name: "slow",
        version: "1.0.0",
        provides: Slow,
        layer: Layer.effect(Slow, Effect.zipRight(Deferred.succeed(starting, undefined), Effect.never))
      })
      const app = Spine.layer({ packages: [slow], health: { enabled: false } }).pipe(
        Layer.provideMerge(SpineHttp.layer({ port, host: "127.0.0.1" }))
      )
      const main = yield* Effect.fork(Spine.main(app, { tables: false }))
      yield* Deferred.await(starting)
      const booting = yield* Effect.retry(getLocal(port, "/readyz"), {
        times: 100,
        schedule: Schedule.spaced("20 millis")
      })
      expect(booting.status).toBe(503)
      yield* Fiber.interrupt(main)
      expect((yield* Effect.either(getLocal(port, "/livez")))._tag).toBe("Left")
    }))
})

/** The layer, announcing its spine as soon as it exists, and a way to read it. */
const announcing = <A, E>(layer: Layer.Layer<A, E>) => {
  let spine: Spine.SpineService | undefined
  const announce = Layer.succeed(Spine.Announce, { announce: (service) => void (spine = service) })
  return { layer: Layer.provide(layer, announce), spine: () => spine }
}

const untilPhase = (spine: () => Spine.SpineService | undefined, phase: Lifecycle.SpinePhase) =>
  Effect.gen(function*() {
    while (true) {
      const service = spine()
      if (service !== undefined && (yield* service.phase) === phase) return
      yield* Effect.yieldNow()
    }
  })

/** Runs `Spine.main` with `program` and a drain delay of 1 second, interrupted once it is ready; its exit. */
const stopDuringRun = <E>(program: Effect.Effect<unknown, E, Spine.Spine>) =>
  Effect.gen(function*() {
    const { layer, spine } = announcing(Spine.layer({ packages: [quick()], health: { enabled: false } }))
    const main = yield* Effect.fork(Spine.main(layer, { tables: false, program, shutdownDelay: "1 second" }))
    yield* untilPhase(spine, "ready")
    yield* Fiber.interruptFork(main)
    yield* untilPhase(spine, "stopping")
    yield* TestClock.adjust("1 second")
    return yield* Fiber.await(main)
  })

/** A package whose service is 1, whose release runs `onRelease`, and which may report metrics of its own. */
const releasing = (
  name: string,
  onRelease: Effect.Effect<void>,
  metrics?: () => Effect.Effect<Record<string, number>>
) => {
  const tag = Context.GenericTag<string, number>(`main/${name}`)
  return Package.make({
    name,
    version: "1.0.0",
    provides: tag,
    ...(metrics === undefined ? {} : { metrics }),
    layer: Layer.scoped(tag, Effect.acquireRelease(Effect.succeed(1), () => onRelease))
  })
}

const quick = () => {
  const Quick = Context.GenericTag<"Quick", number>("main/Quick")
  return Package.make({ name: "quick", version: "1.0.0", provides: Quick, layer: Layer.succeed(Quick, 1) })
}

const released = (stdout: string) => stdout.split("\n").filter((line) => line.startsWith("released "))
