import type { Duration, Exit, Schedule } from "effect"
import { Chunk, Clock, Context, Effect, Fiber, Layer, Option, Scope, TestClock } from "effect"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"

import type { Health } from "../src/index.js"
import { Package, Spine } from "../src/index.js"

const root = fileURLToPath(new URL("..", import.meta.url))

/** A package whose health check runs `check` and counts its runs. */
export const checked = (
  name: string,
  check: (run: number) => Effect.Effect<void | Health.HealthDetail, unknown>,
  options: {
    readonly optional?: boolean
    readonly feature?: string
    readonly healthSchedule?: Schedule.Schedule<unknown, unknown>
    readonly init?: Effect.Effect<void>
  } = {}
) => {
  const tag = Context.GenericTag<string, number>(`health/${name}`)
  let runs = 0
  const pkg = Package.make({
    name,
    version: "1.0.0",
    provides: tag,
    optional: options.optional ?? false,
    ...(options.feature === undefined ? {} : { feature: options.feature }),
    ...(options.healthSchedule === undefined ? {} : { healthSchedule: options.healthSchedule }),
    layer: Layer.effect(tag, Effect.as(options.init ?? Effect.void, 1)),
    health: () => Effect.suspend(() => check(++runs))
  })
  return { pkg, tag, runs: () => runs }
}

/** A package whose layer sleeps `initMs`, records its acquisition and release, and may misbehave. */
export const makeTestPackage =
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

/** Builds a spine into a scope of its own and lets its first round of checks run. */
export const boot = (layer: Layer.Layer<Spine.Spine, unknown>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const spine = Context.get(yield* Layer.buildWithScope(layer, scope), Spine.Spine)
    yield* TestClock.adjust(0)
    return { spine, scope }
  })

/** Boots as `boot` does while `duration` of test time passes: for a boot that waits for slow first checks. */
export const bootWithin = (layer: Layer.Layer<Spine.Spine, unknown>, duration: Duration.DurationInput) =>
  Effect.gen(function*() {
    const booting = yield* Effect.fork(boot(layer))
    yield* TestClock.adjust(duration)
    return yield* Fiber.join(booting)
  })

/**
 * Starts a TypeScript program of this repository as a child process: node
 * itself with tsx as a loader, so a signal sent to the child reaches the
 * program directly. (The `tsx` command runs the program in a second process
 * and relays signals with a 30 ms window, which a loaded machine misses, and
 * then kills it with SIGKILL.) The child is killed after `killAfterMs`.
 */
export const startScript = (
  script: string,
  env: Record<string, string> = {},
  killAfterMs = 45_000
): {
  readonly child: ChildProcessWithoutNullStreams
  readonly exited: Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>
  readonly stdout: () => string
} => {
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: root, env: { ...process.env, ...env } })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk) => (stdout += chunk))
  child.stderr.on("data", (chunk) => (stderr += chunk))
  const killer = setTimeout(() => child.kill("SIGKILL"), killAfterMs)
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(killer)
      resolve({ code, stdout, stderr })
    })
  })
  return { child, exited, stdout: () => stdout }
}

/**
 * Runs an effect in a fiber and moves the `TestClock` from one pending sleep
 * to the next until the fiber is done, so that sleeps, timeouts and stop
 * timeouts all fire without real waiting. With `interruptAt`, the fiber is
 * interrupted once the clock reaches that many milliseconds.
 */
export const runWithClock = <A, E>(
  effect: Effect.Effect<A, E>,
  options: { readonly interruptAt?: number | undefined; readonly maxSteps?: number } = {}
): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(effect)
    let interrupted = options.interruptAt === undefined
    for (let step = 0; step < (options.maxSteps ?? 100_000); step++) {
      yield* TestClock.adjust(0)
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return done.value
      const now = yield* Clock.currentTimeMillis
      if (!interrupted && now - start >= options.interruptAt!) {
        interrupted = true
        yield* Fiber.interruptFork(fiber)
        continue
      }
      const next = Chunk.head(yield* TestClock.sleeps())
      const target = Math.min(
        Option.getOrElse(next, () => now + 1),
        interrupted ? Infinity : start + options.interruptAt!
      )
      yield* TestClock.adjust(Math.max(1, target - now))
    }
    return yield* Effect.dieMessage("fiber still running after the step limit")
  })

/** GET `path` from a server on loopback `port`: its status and body; fails while nothing listens (retry it). */
export const getLocal = (port: number, path: string) =>
  Effect.tryPromise(() =>
    fetch(`http://127.0.0.1:${port}${path}`).then(async (response) => ({
      status: response.status,
      text: await response.text()
    }))
  )

/** A TCP port free on loopback right now. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })
