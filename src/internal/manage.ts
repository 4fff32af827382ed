/**
 * Changing the running graph: adding a package, removing one (with its
 * dependents, on request) and flipping a feature flag. Each change is
 * validated against the running graph, then starts or releases only the
 * packages it touches, with the scheduler's own boot and release walks, so
 * the lifecycle rules (order, timeouts, exactly-once release) are the boot's.
 */
import type { Context } from "effect"
import { Effect, Either, Exit, Scope } from "effect"
import type * as Package from "../Package.js"
import type { SpineError } from "../SpineError.js"
import { PackageHasDependents, PackageNotFound, SpineNotRunning } from "../SpineError.js"
import * as loader from "./config.js"
import * as graph from "./graph.js"
import * as monitor from "./health.js"
import type { Entry, Runtime } from "./scheduler.js"
import * as scheduler from "./scheduler.js"

/** Changes run one at a time. */
export interface Manager {
  readonly runtime: Runtime
  readonly health: monitor.Monitor
  /** The caller's context: what packages may require besides each other. */
  readonly context: Context.Context<never>
  readonly scope: Scope.Scope
  readonly lock: Effect.Semaphore
}

const live = (entry: Entry) => entry.state === "ready" || entry.state === "starting"

const running = (runtime: Runtime) =>
  runtime.phase === "ready" ? Effect.void : Effect.fail(new SpineNotRunning({ phase: runtime.phase }))

/** Every package that depends on `index`, directly or not. */
const dependentsOf = (runtime: Runtime, index: number): Array<Entry> => {
  const seen = new Set<number>()
  const stack = [index]
  while (stack.length > 0) {
    for (const next of runtime.entries[stack.pop()!].node.dependents) {
      if (!seen.has(next)) {
        seen.add(next)
        stack.push(next)
      }
    }
  }
  return [...seen].map((i) => runtime.entries[i])
}

/** Installs a new resolution of the graph: every entry takes its new node. */
const install = (runtime: Runtime, resolved: graph.Resolved) => {
  runtime.resolved = resolved
  runtime.entries.forEach((entry, i) => {
    entry.node = resolved.nodes[i]
  })
  runtime.version++
}

/**
 * Adds a package: validated against the running graph (a package of the same
 * name that is no longer running is replaced), its configuration read, then
 * started in the spine's scope; it is health-checked and released in order
 * at shutdown like the others.
 */
export const add = (manager: Manager, pkg: Package.Any): Effect.Effect<void, SpineError | SpineNotRunning> =>
  manager.lock.withPermits(1)(Effect.gen(function*() {
    const { health, runtime } = manager
    yield* running(runtime)
    const existing = runtime.byName.get(pkg.name)
    const index = existing !== undefined && !live(existing) ? existing.node.index : runtime.entries.length
    const packages = runtime.entries.map((entry) => entry.pkg)
    packages[index] = pkg
    const resolved = yield* Either.match(graph.resolve(packages, manager.context), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    const { loaded } = yield* loader.load([pkg], Object.fromEntries(runtime.features))
    const entry = scheduler.makeEntry(resolved.nodes[index], loaded[0])
    if (existing !== undefined && index === existing.node.index) runtime.stateCounts[existing.state]--
    runtime.stateCounts[entry.state]++
    runtime.entries[index] = entry
    runtime.byName.set(pkg.name, entry)
    health.records[index] = monitor.freshRecord()
    install(runtime, resolved)
    yield* scheduler.boot(runtime, new Set([index]))
    yield* Scope.extend(monitor.startOwn(health, entry), manager.scope)
  }))

/**
 * Stops a package. Refuses while packages that depend on it run, unless
 * `cascade`, which stops them first, dependents before what they depend on.
 */
export const remove = (
  manager: Manager,
  name: string,
  options: { readonly cascade?: boolean | undefined } = {}
): Effect.Effect<void, PackageNotFound | PackageHasDependents | SpineNotRunning> =>
  manager.lock.withPermits(1)(Effect.gen(function*() {
    const { runtime } = manager
    yield* running(runtime)
    const entry = runtime.byName.get(name)
    if (entry === undefined) return yield* new PackageNotFound({ package: name })
    const dependents = dependentsOf(runtime, entry.node.index).filter(live)
    if (dependents.length > 0 && options.cascade !== true) {
      return yield* new PackageHasDependents({ package: name, dependents: dependents.map((d) => d.pkg.name) })
    }
    yield* scheduler.release(runtime, Exit.void, new Set([entry, ...dependents].map((e) => e.node.index)))
  }))

/**
 * Flips a feature flag at runtime. On: the gated packages are configured and
 * started, and so are the packages skipped for want of them. Off: they and
 * what depends on them are released, then marked `disabled` and `skipped`.
 */
export const setFeature = (
  manager: Manager,
  flag: string,
  enabled: boolean
): Effect.Effect<void, SpineError | SpineNotRunning> =>
  manager.lock.withPermits(1)(Effect.gen(function*() {
    const { runtime } = manager
    yield* running(runtime)
    if ((runtime.features.get(flag) === true) === enabled) return
    runtime.features.set(flag, enabled)
    runtime.version++
    const gated = runtime.entries.filter((entry) => entry.pkg.feature === flag)
    const affected = new Map<number, Entry>()
    for (const entry of gated) {
      affected.set(entry.node.index, entry)
      for (const dependent of dependentsOf(runtime, entry.node.index)) affected.set(dependent.node.index, dependent)
    }
    if (enabled) {
      const { loaded } = yield* loader.load(gated.map((entry) => entry.pkg), Object.fromEntries(runtime.features))
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
        scheduler.transition(runtime, entry, "registered", { reason: `feature "${flag}" on` })
      }
      return yield* scheduler.boot(runtime, new Set(waking.map((entry) => entry.node.index)))
    }
    yield* scheduler.release(runtime, Exit.void, new Set(affected.keys()))
    for (const entry of affected.values()) {
      if (entry.pkg.feature === flag) {
        entry.layer = undefined
        if (entry.state !== "disabled") {
          scheduler.transition(runtime, entry, "disabled", { reason: `feature "${flag}" off` })
        }
      } else if (entry.state === "stopped" || entry.state === "registered") {
        entry.error = `feature "${flag}" is off`
        scheduler.transition(runtime, entry, "skipped", { reason: entry.error })
      }
    }
  }))

const featureOn = (runtime: Runtime, entry: Entry) =>
  entry.pkg.feature === undefined || runtime.features.get(entry.pkg.feature) === true
