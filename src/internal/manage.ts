/**
 * Changing the running graph: adding a package, removing one (with its
 * dependents, on request) and flipping a feature flag. Each change is
 * validated against the running graph, then starts or releases only the
 * packages it touches, with the scheduler's own boot and release walks, so
 * the lifecycle rules (order, timeouts, exactly-once release) are the boot's.
 */
import type { Context } from "effect"
import { Deferred, Effect, Exit, Fiber, Graph } from "effect"
import type { PackageState } from "../Lifecycle.js"
import type * as Package from "../Package.js"
import type { PackageNotFound, SpineError } from "../SpineError.js"
import { DependencyNotRunning, PackageHasDependents, SpineNotRunning } from "../SpineError.js"
import * as loader from "./config.js"
import * as graph from "./graph.js"
import * as monitor from "./health.js"
import type { Entry, Runtime } from "./scheduler.js"
import * as scheduler from "./scheduler.js"

/**
 * Changes run one at a time, from the moment the first boot has started every
 * package (plugins' `onInitialize` and `afterInit` hooks may make them) until
 * shutdown begins.
 */
export interface Manager {
  readonly runtime: Runtime
  readonly health: monitor.Monitor
  /** The caller's context: what packages may require besides each other. */
  readonly context: Context.Context<never>
  readonly lock: Effect.Semaphore
  /** Done when shutdown begins: a change still starting packages is interrupted. */
  readonly stopping: Deferred.Deferred<void>
  /** The last state of each package whose place another took over (`add` under another name), by name. */
  readonly taken: Map<string, PackageState>
}

const live = (entry: Entry) => entry.state === "ready" || entry.state === "starting"

const running = (runtime: Runtime) =>
  runtime.phase === "ready" || (runtime.phase === "booting" && runtime.booted)
    ? Effect.void
    : Effect.fail(new SpineNotRunning({ phase: runtime.phase }))

/** Begins shutdown: readiness turns `fail`, no change starts from now on, and one still starting is interrupted. */
export const stop = (manager: Manager): Effect.Effect<void> =>
  Effect.zipRight(scheduler.setPhase(manager.runtime, "stopping"), Deferred.done(manager.stopping, Exit.void))

/** Waits until no change is in progress. */
export const settled = (manager: Manager): Effect.Effect<void> => manager.lock.withPermits(1)(Effect.void)

/**
 * Starts packages and runs their first health checks, unless shutdown begins
 * first: the start is then interrupted and the change fails. Interrupted, by
 * shutdown or by the caller, it returns only once the start has unwound, so
 * that the change's own cleanup never runs beside packages still starting.
 */
const start = (manager: Manager, entries: ReadonlyArray<Entry>) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const work = yield* Effect.fork(restore(Effect.zipRight(
        scheduler.boot(manager.runtime, new Set(entries.map((entry) => entry.node.index))),
        monitor.join(manager.health, entries)
      )))
      const stopping = Effect.zipRight(Deferred.await(manager.stopping), new SpineNotRunning({ phase: "stopping" }))
      // `Fiber.interrupt` waits for the start to unwind; a race alone would leave it running when the caller is
      // interrupted
      return yield* restore(Effect.raceFirst(Fiber.join(work), stopping)).pipe(
        Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Fiber.interrupt(work))
      )
    })
  )

/** The packages `indices` and every package that depends on one of them, directly or not: one walk. */
const withDependents = (runtime: Runtime, indices: Array<number>): Array<Entry> =>
  Array.from(
    Graph.indices(Graph.dfs(runtime.resolved.graph, { start: indices, direction: "incoming" })),
    (i) => runtime.entries[i]
  )

/** Installs a new resolution of the graph: every entry takes its new node. */
const install = (runtime: Runtime, resolved: graph.Resolved) => {
  runtime.resolved = resolved
  runtime.entries.forEach((entry, i) => {
    entry.node = resolved.nodes[i]
  })
  runtime.version++
}

/**
 * Adds a package: validated against the running graph (it takes the place
 * of a package of the same name that is no longer running, or else of a
 * removed one that provided the same service), each of its dependencies
 * running, its configuration read, then started in the spine's scope; it is
 * health-checked and released in order at shutdown like the others. If it
 * cannot start (a required package that fails, an interruption or shutdown
 * beginning, before its first check ended), it is released and stays in the
 * list as it ended but out of readiness, as if removed.
 */
export const add = (
  manager: Manager,
  pkg: Package.Any
): Effect.Effect<void, SpineError | DependencyNotRunning | SpineNotRunning> =>
  manager.lock.withPermits(1)(Effect.gen(function*() {
    const { health, runtime } = manager
    yield* running(runtime)
    const existing = runtime.byName.get(pkg.name)
    const replaced = existing !== undefined && !live(existing)
      ? existing
      : runtime.entries.find((entry) => entry.removed && entry.pkg.provides.key === pkg.provides.key)
    const index = replaced?.node.index ?? runtime.entries.length
    const packages = runtime.entries.map((entry) => entry.pkg)
    packages[index] = pkg
    // packages taken out (`remove`, a failed add) keep their place, but what they required is not checked again
    const inert = new Set(
      runtime.entries.filter((entry) => entry.removed && entry !== replaced).map((e) => e.node.index)
    )
    const resolved = yield* graph.resolve(packages, manager.context, inert)
    for (const dependency of resolved.nodes[index].dependencies.map((i) => runtime.entries[i])) {
      if (dependency.state !== "ready") {
        const state = dependency.removed ? "removed" : dependency.state
        return yield* new DependencyNotRunning({ package: pkg.name, dependency: dependency.pkg.name, state })
      }
    }
    const { loaded } = yield* loader.load([pkg], Object.fromEntries(runtime.features))
    const entry = scheduler.makeEntry(resolved.nodes[index], loaded[0])
    const initial = entry.state
    // a name known before moves on from its last state, with an event, whether its place was kept or taken over
    const previous = replaced?.pkg.name === pkg.name ? replaced.state : manager.taken.get(pkg.name)
    manager.taken.delete(pkg.name)
    if (replaced !== undefined) {
      scheduler.count(runtime, replaced.state, -1)
      if (replaced.pkg.name !== pkg.name) {
        manager.taken.set(replaced.pkg.name, replaced.state)
        runtime.byName.delete(replaced.pkg.name)
      }
    }
    entry.state = previous ?? initial
    scheduler.count(runtime, entry.state, 1)
    runtime.entries[index] = entry
    runtime.byName.set(pkg.name, entry)
    health.records[index] = monitor.freshRecord()
    install(runtime, resolved)
    if (entry.state !== initial) scheduler.transition(runtime, entry, initial, { reason: "added again" })
    // not added after all (it failed, or the caller or shutdown interrupted it, its first check included)
    yield* start(manager, [entry]).pipe(Effect.onError(() => drop(manager, [entry])))
  }))

/**
 * Stops packages (dependents first) and takes them out of the running graph:
 * their scheduled checks stop first, and a check still in flight is not
 * recorded once they stop. Runs to its end even if the caller is interrupted.
 */
const drop = (manager: Manager, entries: ReadonlyArray<Entry>) =>
  Effect.uninterruptible(Effect.gen(function*() {
    for (const entry of entries) yield* monitor.leave(manager.health, entry)
    yield* scheduler.release(manager.runtime, Exit.void, new Set(entries.map((entry) => entry.node.index)))
    // out of readiness and of what a feature flip may start again
    for (const entry of entries) entry.removed = true
    manager.runtime.version++
  }))

/**
 * Stops a package and takes it out of readiness. Refuses while packages that
 * depend on it run, unless `cascade`, which stops them first, dependents
 * before what they depend on. Once begun, the release runs to its end even
 * if the caller is interrupted.
 */
export const remove = (
  manager: Manager,
  name: string,
  options: { readonly cascade?: boolean | undefined } = {}
): Effect.Effect<void, PackageNotFound | PackageHasDependents | SpineNotRunning> =>
  manager.lock.withPermits(1)(Effect.gen(function*() {
    const { runtime } = manager
    yield* running(runtime)
    const entry = yield* scheduler.entryOf(runtime, name)
    // what can no longer start without it goes too, running or not
    const dependents = withDependents(runtime, [entry.node.index]).filter((other) => other !== entry && !other.removed)
    const alive = dependents.filter(live)
    if (alive.length > 0 && options.cascade !== true) {
      return yield* new PackageHasDependents({ package: name, dependents: alive.map((d) => d.pkg.name) })
    }
    yield* drop(manager, [entry, ...dependents])
  }))

/**
 * Flips a feature flag at runtime. On: the gated packages are configured and
 * started, and so are the packages skipped for want of them; if that fails,
 * the flag goes back off and whatever started is released. Off: they and
 * what depends on them are released, then marked `disabled` and `skipped`.
 * Removed packages stay as they are.
 */
export const setFeature = (
  manager: Manager,
  flag: string,
  enabled: boolean
): Effect.Effect<void, SpineError | SpineNotRunning> =>
  manager.lock.withPermits(1)(Effect.gen(function*() {
    const { health, runtime } = manager
    yield* running(runtime)
    if ((runtime.features.get(flag) === true) === enabled) return
    const gated = runtime.entries.filter((entry) => entry.pkg.feature === flag && !entry.removed)
    const affected = new Map<number, Entry>(
      withDependents(runtime, gated.map((entry) => entry.node.index)).flatMap((entry) =>
        entry.removed ? [] : [[entry.node.index, entry] as const]
      )
    )
    if (!enabled) return yield* switchOff(manager, flag, affected)
    const features = { ...Object.fromEntries(runtime.features), [flag]: true }
    const { loaded } = yield* loader.load(gated.map((entry) => entry.pkg), features)
    runtime.features.set(flag, true)
    runtime.version++
    gated.forEach((entry, i) => {
      entry.layer = loaded[i]
    })
    const waking = [...affected.values()].filter((entry) =>
      (entry.state === "disabled" || entry.state === "skipped" || entry.state === "stopped") &&
      entry.layer !== undefined && featureOn(runtime, entry)
    )
    for (const entry of waking) {
      entry.error = undefined
      entry.attempts = 0
      health.records[entry.node.index] = monitor.freshRecord()
      scheduler.transition(runtime, entry, "registered", { reason: `feature "${flag}" on` })
    }
    yield* start(manager, waking).pipe(Effect.onError(() => switchOff(manager, flag, affected)))
  }))

/** Turns a flag off: releases the affected packages, then marks the gated ones `disabled`, the others `skipped`. */
const switchOff = (manager: Manager, flag: string, affected: ReadonlyMap<number, Entry>) =>
  Effect.uninterruptible(Effect.gen(function*() {
    const { health, runtime } = manager
    runtime.features.set(flag, false)
    runtime.version++
    for (const entry of affected.values()) yield* monitor.leave(health, entry)
    yield* scheduler.release(runtime, Exit.void, new Set(affected.keys()))
    for (const entry of affected.values()) {
      if (entry.pkg.feature === flag) {
        entry.layer = undefined
        if (entry.state !== "disabled") {
          scheduler.transition(runtime, entry, "disabled", { reason: `feature "${flag}" off` })
        }
      } else if (entry.state === "stopped" || entry.state === "registered" || entry.state === "failed") {
        entry.error = `feature "${flag}" is off`
        scheduler.transition(runtime, entry, "skipped", { reason: entry.error })
      }
    }
  }))

const featureOn = (runtime: Runtime, entry: Entry) =>
  entry.pkg.feature === undefined || runtime.features.get(entry.pkg.feature) === true
