/**
 * The boot scheduler. A package is dispatched once every dependency has
 * resolved: one fiber per attempt builds only its own layer, into a scope of
 * its own, with its dependencies' services provided. Release walks the graph
 * the other way: a package's scope closes once every dependent's has closed,
 * independent packages in parallel.
 *
 * The bookkeeping between fibers (states, events, who is next) is plain
 * synchronous code run from fiber observers, and every init and stop timeout
 * is a deadline on one shared timer, so a package costs one fiber to start and
 * one to release. A fiber that outlives its timeout (a hanging finalizer) is
 * interrupted, reported and left behind, never waited for.
 */
import type { Clock, Fiber, Layer as L, Tracer } from "effect"
import {
  Cause,
  Context,
  Deferred,
  Duration,
  Effect,
  Equal,
  Exit,
  FiberId,
  HashSet,
  Layer,
  MetricLabel,
  Option,
  PubSub,
  Runtime as R,
  Schedule,
  Scope
} from "effect"
import type { PackageState, SpinePhase } from "../Lifecycle.js"
import { countByState, packageStates, SpineEvent } from "../Lifecycle.js"
import * as Metrics from "../Metrics.js"
import type * as Package from "../Package.js"
import { PackageInitFailed, PackageInitTimeout, PackageNotFound, PackageStopTimeout } from "../SpineError.js"
import { reasonOf } from "./cause.js"
import { type Node, type Resolved, walk } from "./graph.js"
import * as Timers from "./timers.js"
import * as Tracing from "./tracing.js"

/** The mutable runtime record of one package. Internal: exposed only as snapshots. */
export interface Entry {
  node: Node
  readonly pkg: Package.Any
  /** The layer to build; `undefined` when the package is disabled. */
  layer: L.Layer<never, unknown, unknown> | undefined
  /** `package=<name>`, one array for the package's lifetime: Effect caches metric hooks by its identity. */
  readonly labels: ReadonlyArray<MetricLabel.MetricLabel>
  state: PackageState
  /** Taken out of the running graph by `remove`, or never joined it (a failed `add`): readiness ignores it. */
  removed: boolean
  attempts: number
  startedAt: number | undefined
  readyAt: number | undefined
  durationMs: number | undefined
  stoppedAt: number | undefined
  stopDurationMs: number | undefined
  error: string | undefined
  scope: Scope.CloseableScope | undefined
  service: Option.Option<unknown>
}

export interface Defaults {
  readonly initTimeout: Duration.Duration
  readonly stopTimeout: Duration.Duration
  readonly initRetry: Package.Any["initRetry"]
}

export interface Runtime {
  resolved: Resolved
  readonly entries: Array<Entry>
  readonly byName: Map<string, Entry>
  readonly features: Map<string, boolean>
  readonly events: PubSub.PubSub<SpineEvent>
  readonly defaults: Defaults
  readonly clock: Clock.Clock
  readonly timers: Timers.Timers
  /** Forks a daemon fiber with the caller's context, synchronously. */
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
  phase: SpinePhase
  /** Every package of the first boot has started: runtime changes are accepted from then until shutdown. */
  booted: boolean
  /** Bumped on every change of state, phase or health: caches of derived views compare it. */
  version: number
  /** This spine's packages per state; `spine_packages` sums them over every spine of the process. */
  readonly stateCounts: Record<PackageState, number>
  bootStartedAt: number
  bootDurationMs: number | undefined
}

export const make = Effect.fnUntraced(function*(options: {
  readonly resolved: Resolved
  readonly layers: ReadonlyArray<L.Layer<never, unknown, unknown> | undefined>
  readonly features: ReadonlyMap<string, boolean>
  readonly defaults: Defaults
  /** When the boot began, before validation: the clock's milliseconds. */
  readonly startedAt: number
}) {
  const entries = options.resolved.nodes.map((node) => makeEntry(node, options.layers[node.index]))
  const clock = yield* Effect.clock
  const fork = R.runFork(yield* Effect.runtime<never>())
  const runtime: Runtime = {
    resolved: options.resolved,
    entries,
    byName: new Map(entries.map((entry) => [entry.pkg.name, entry])),
    features: new Map(options.features),
    events: yield* PubSub.unbounded<SpineEvent>({ replay: 256 + 4 * entries.length }),
    defaults: options.defaults,
    clock,
    timers: Timers.make(clock, fork),
    fork,
    phase: "booting",
    booted: false,
    version: 0,
    stateCounts: countByState([]),
    bootStartedAt: options.startedAt,
    bootDurationMs: undefined
  }
  // every state gets a series, 0 included
  const initial = countByState(entries.map((entry) => entry.state))
  for (const state of packageStates) count(runtime, state, initial[state])
  return runtime
})

/** A package's record before it starts: `disabled` without a layer, else `registered`. */
export const makeEntry = (node: Node, layer: L.Layer<never, unknown, unknown> | undefined): Entry => ({
  node,
  pkg: node.pkg,
  layer,
  labels: [MetricLabel.make("package", node.pkg.name)],
  state: layer === undefined ? "disabled" : "registered",
  removed: false,
  attempts: 0,
  startedAt: undefined,
  readyAt: undefined,
  durationMs: undefined,
  stoppedAt: undefined,
  stopDurationMs: undefined,
  error: undefined,
  scope: undefined,
  service: Option.none()
})

/** One label array per state, so that Effect's metric hook cache (keyed by the array) hits. */
const stateLabels = new Map<PackageState, ReadonlyArray<MetricLabel.MetricLabel>>(
  packageStates.map((state) => [state, [MetricLabel.make("state", state)]])
)
const labelsOfState = (state: PackageState) => stateLabels.get(state) ?? []

/** Moves this spine's count of packages in `state` by `delta`, and the process-wide `spine_packages` with it. */
export const count = (runtime: Runtime, state: PackageState, delta: number) => {
  runtime.stateCounts[state] += delta
  Metrics.packages.unsafeModify(delta, labelsOfState(state))
}

/** Takes a stopped spine's packages out of `spine_packages`, which counts the spines still running. */
export const leave = (runtime: Runtime) =>
  Effect.sync(() => {
    for (const state of packageStates) count(runtime, state, -runtime.stateCounts[state])
  })

/**
 * After a first boot that failed or was interrupted (in the scheduler or in a
 * hook), what never began to start is `skipped`, not left `registered`: the
 * spine's finalizer calls it, before anything is released.
 */
export const skipNotStarted = (runtime: Runtime, cause: Cause.Cause<unknown>) =>
  Effect.sync(() => {
    if (runtime.booted) return
    const reason = Cause.isInterruptedOnly(cause)
      ? "not started: the boot was interrupted"
      : "not started: the boot failed"
    for (const entry of runtime.entries) {
      if (entry.state !== "registered") continue
      entry.error = reason
      transition(runtime, entry, "skipped", { reason })
    }
  })

const now = (runtime: Runtime) => runtime.clock.unsafeCurrentTimeMillis()

const emit = (runtime: Runtime, event: (at: Date) => SpineEvent) => {
  runtime.events.unsafeOffer(event(new Date(now(runtime))))
}

export const transition = (
  runtime: Runtime,
  entry: Entry,
  to: PackageState,
  extra: { readonly attempt?: number; readonly reason?: string } = {}
) => {
  const from = entry.state
  entry.state = to
  runtime.version++
  // 0 also for a package that failed or was skipped without ever being up, so that it has a series
  if (to === "ready" || from === "ready" || to === "failed" || to === "skipped") {
    Metrics.packageUp.unsafeUpdate(to === "ready" ? 1 : 0, entry.labels)
  }
  // a package that is not ready reports `fail`; its checks set the gauge while it is
  if (from === "ready" && entry.pkg.health !== undefined) Metrics.packageHealthy.unsafeUpdate(0, entry.labels)
  count(runtime, from, -1)
  count(runtime, to, 1)
  emit(runtime, (at) => SpineEvent.PackageStateChanged({ package: entry.pkg.name, from, to, at, ...extra }))
}

const phases: ReadonlyArray<SpinePhase> = ["booting", "ready", "stopping", "stopped"]

/**
 * Moves the phase forward, never back: a boot that ends after shutdown began
 * (`beginShutdown` from `onInitialize`) stays `stopping`, though its duration
 * is recorded, and a stopped spine stays stopped.
 */
export const setPhase = (runtime: Runtime, to: SpinePhase) => Effect.sync(() => enterPhase(runtime, to))

const enterPhase = (runtime: Runtime, to: SpinePhase) => {
  const from = runtime.phase
  runtime.version++
  if (to === "ready") {
    runtime.bootDurationMs = now(runtime) - runtime.bootStartedAt
    Metrics.bootDuration.unsafeUpdate(runtime.bootDurationMs / 1000, [])
  }
  if (phases.indexOf(to) <= phases.indexOf(from)) return
  runtime.phase = to
  emit(runtime, (at) => SpineEvent.SpinePhaseChanged({ from, to, at }))
}

/** Logs from synchronous bookkeeping, in a fiber of its own (rare paths only). */
const log = (runtime: Runtime, level: "warning" | "error", message: string) => {
  runtime.fork(level === "warning" ? Effect.logWarning(message) : Effect.logError(message))
}

const stopTimeoutOf = (runtime: Runtime, entry: Entry) => entry.pkg.stopTimeout ?? runtime.defaults.stopTimeout

/**
 * Waits for a fiber at most `timeout`: `onExit` gets its exit, or `None` when
 * the deadline came first, exactly once. No fiber waits: an observer and a
 * deadline on the shared timer.
 */
const observeWithin = <A, E>(
  runtime: Runtime,
  fiber: Fiber.RuntimeFiber<A, E>,
  timeout: Duration.Duration,
  onExit: (exit: Option.Option<Exit.Exit<A, E>>) => void
) => {
  let settled = false
  const observer = (exit: Exit.Exit<A, E>) => {
    if (settled) return
    settled = true
    cancel()
    onExit(Option.some(exit))
  }
  const limit = Duration.toMillis(timeout)
  const cancel = !Number.isFinite(limit) ? () => {} : runtime.timers.schedule(limit, () => {
    if (settled) return
    settled = true
    fiber.removeObserver(observer)
    onExit(Option.none())
  })
  fiber.addObserver(observer)
}

/** Reports a release that timed out or failed, on the event stream and in the log. */
const reportStop = (runtime: Runtime, entry: Entry, result: Option.Option<Exit.Exit<unknown, unknown>>) => {
  const name = entry.pkg.name
  if (Option.isNone(result)) {
    const error = new PackageStopTimeout({ package: name, timeout: stopTimeoutOf(runtime, entry) })
    log(runtime, "warning", error.message)
    emit(runtime, (at) => SpineEvent.PackageStopTimeout({ package: name, timeout: error.timeout, at }))
    return
  }
  if (Exit.isSuccess(result.value) || Cause.isInterruptedOnly(result.value.cause)) return
  const reason = reasonOf(result.value.cause)
  log(runtime, "error", `Package "${name}" failed to release: ${reason}`)
  emit(runtime, (at) => SpineEvent.PackageStopFailed({ package: name, reason, at }))
}

/** What one attempt produces. */
interface Built {
  readonly service: unknown
  readonly scope: Scope.CloseableScope
}

/**
 * One attempt, run in a fiber of its own: build the layer into a fresh scope;
 * on failure or interruption, close that scope before ending. A first
 * attempt builds with the walk's `memoMap`; any later one (a retry, or a
 * start again after an interruption through a shared layer), whose layer
 * that map holds as failed, with a MemoMap of its own.
 */
const buildAttempt = (
  entry: Entry,
  layer: L.Layer<never, unknown, unknown>,
  deps: Context.Context<unknown>,
  memoMap: L.MemoMap | undefined
): Effect.Effect<Built, unknown> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Scope.make(), (scope) =>
      Effect.flatMap(
        Effect.exit(restore(
          Effect.flatMap(
            Effect.provide(
              memoMap === undefined
                ? Layer.buildWithScope(layer, scope)
                : Layer.buildWithMemoMap(layer, memoMap, scope),
              deps
            ),
            (context) =>
              Option.match(Context.getOption(context, entry.pkg.provides), {
                onNone: () => Effect.dieMessage(`the layer did not provide ${entry.pkg.provides.key}`),
                onSome: (service) => Effect.succeed({ service, scope })
              })
          )
        )),
        (exit) => Exit.isSuccess(exit) ? exit : Effect.zipRight(Scope.close(scope, exit), exit)
      ))
  )

/** The outcome of a boot: completed, or failed with a required package's error. */
type BootError = PackageInitFailed | PackageInitTimeout

/**
 * Starts every enabled package as soon as its own dependencies are ready.
 * A required package's failure, or the boot's interruption, interrupts the
 * packages still starting and waits for them (each at most its stop
 * timeout); the caller's scope then releases what had started.
 */
export const boot = (runtime: Runtime, only?: ReadonlySet<number>): Effect.Effect<void, BootError> =>
  Effect.gen(function*() {
    const { entries } = runtime
    // one MemoMap per walk, as one `Layer.provide` build would have: a layer used by two packages is built once.
    // Not one per spine: a MemoMap keeps a layer whose build failed, so a later `add` or `setFeature` of the same
    // layer would get the old failure without building it again.
    const memoMap = yield* Layer.makeMemoMap
    const done = yield* Deferred.make<void, BootError>()
    const settled = yield* Deferred.make<void>()
    const running = new Map<Entry, Fiber.RuntimeFiber<Built, unknown>>()
    const retries = new Map<Entry, Fiber.RuntimeFiber<unknown, unknown>>()
    // one span per package start, a child of the caller's span (`spine.boot`)
    const tracing = yield* Tracing.current()
    const spans = new Map<Entry, Tracer.Span>()
    let aborted = false
    // whether a start of this walk has timed out
    let timedOut = false

    /**
     * Whether an attempt was interrupted through a layer it shares with a start of this walk that timed out:
     * interrupted only, by some fiber other than its own (not only a layer that interrupts itself), once a start
     * has timed out. Which fiber says little more: a shared build in a child fiber (`Layer.merge`) carries its
     * parent's id, the attempt's own `Layer.merge` adds the attempt's id when it interrupts its other members,
     * and a start that begins after the timeout gets the MemoMap's failed entry.
     */
    const throughTimeout = (exit: Exit.Exit<Built, unknown>, own: FiberId.FiberId) =>
      timedOut && Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause) &&
      HashSet.some(Cause.interruptors(exit.cause), (id) => !Equal.equals(id, own))

    const settle = () => {
      if (aborted && running.size === 0 && retries.size === 0) Deferred.unsafeDone(settled, Exit.void)
    }

    // starts given up on: interrupted by an abort, they outlived their stop timeout
    const abandoned = new Set<Entry>()

    const abort = () => {
      if (aborted) return
      aborted = true
      for (const fiber of retries.values()) fiber.unsafeInterruptAsFork(FiberId.none)
      for (const [entry, fiber] of running) {
        fiber.unsafeInterruptAsFork(FiberId.none)
        // the boot waits for each start at most its stop timeout, then leaves it behind
        observeWithin(runtime, fiber, stopTimeoutOf(runtime, entry), (result) => {
          if (Option.isSome(result) || running.get(entry) !== fiber) return
          running.delete(entry)
          abandoned.add(entry)
          reportStop(runtime, entry, result)
          stoppedWhileStarting(entry)
          settle()
        })
      }
      settle()
    }

    const graph = walk(runtime.resolved.nodes, "start", (index) => dispatch(entries[index]), () => {
      Deferred.unsafeDone(done, Exit.void)
    }, only)
    const resolved = (entry: Entry) => graph.finish(entry.node.index)

    const dispatch = (entry: Entry) => {
      const layer = entry.layer
      if (layer === undefined) return resolved(entry)
      const services = new Map<string, unknown>()
      for (const index of entry.node.dependencies) {
        const dependency = entries[index]
        if (dependency.state !== "ready" || Option.isNone(dependency.service)) {
          entry.error = `dependency "${dependency.pkg.name}" is ${dependency.state}`
          transition(runtime, entry, "skipped", { reason: entry.error })
          return resolved(entry)
        }
        services.set(dependency.pkg.provides.key, dependency.service.value)
      }
      if (aborted) return
      // a start afresh (a flag turned on again): nothing of the last run's timeline stays
      entry.startedAt = now(runtime)
      entry.readyAt = undefined
      entry.durationMs = undefined
      entry.stoppedAt = undefined
      entry.stopDurationMs = undefined
      transition(runtime, entry, "starting", { attempt: 1 })
      const span = Tracing.start(tracing, "spine.package.start", {
        "spine.package.name": entry.pkg.name,
        "spine.package.version": entry.pkg.version,
        "spine.package.category": entry.pkg.category,
        "spine.package.optional": entry.pkg.optional
      })
      if (span !== undefined) spans.set(entry, span)
      launch(entry, layer, Context.unsafeMake(services), undefined, true)
    }

    /**
     * Runs one attempt; `driver` is the retry schedule's, from the second attempt on. Only a package's first
     * attempt builds with the walk's MemoMap (`shared`), as later ones must build afresh what failed.
     */
    const launch = (
      entry: Entry,
      layer: L.Layer<never, unknown, unknown>,
      deps: Context.Context<unknown>,
      driver: Schedule.ScheduleDriver<unknown, unknown> | undefined,
      shared: boolean
    ) => {
      ++entry.attempts
      Metrics.packageInitAttempts.unsafeUpdate(1, entry.labels)
      const timeout = entry.pkg.initTimeout ?? runtime.defaults.initTimeout
      const fiber = runtime.fork(
        Tracing.within(spans.get(entry), buildAttempt(entry, layer, deps, shared ? memoMap : undefined))
      )
      running.set(entry, fiber)
      observeWithin(runtime, fiber, timeout, (result) => {
        if (abandoned.has(entry)) return releaseLate(result)
        if (Option.isSome(result)) {
          running.delete(entry)
          return finished(entry, layer, deps, driver, shared && throughTimeout(result.value, fiber.id()), result.value)
        }
        // past the init timeout: interrupt, and give the build the stop timeout to unwind
        timedOut = true
        fiber.unsafeInterruptAsFork(FiberId.none)
        observeWithin(runtime, fiber, stopTimeoutOf(runtime, entry), (unwound) => {
          releaseLate(unwound)
          if (abandoned.has(entry)) return
          if (Option.isNone(unwound)) reportStop(runtime, entry, unwound)
          running.delete(entry)
          finished(entry, layer, deps, driver, false, timeoutError(entry, timeout))
        })
      })
    }

    /** A start that ended after the boot stopped waiting for it: release what it built. */
    const releaseLate = (result: Option.Option<Exit.Exit<Built, unknown>>) => {
      if (Option.isSome(result) && Exit.isSuccess(result.value)) {
        runtime.fork(Scope.close(result.value.value.scope, Exit.void))
      }
    }

    const timeoutError = (entry: Entry, timeout: Duration.Duration): Exit.Exit<Built, unknown> =>
      Exit.fail(new PackageInitTimeout({ package: entry.pkg.name, timeout, attempts: entry.attempts }))

    const finished = (
      entry: Entry,
      layer: L.Layer<never, unknown, unknown>,
      deps: Context.Context<unknown>,
      driver: Schedule.ScheduleDriver<unknown, unknown> | undefined,
      /** A first attempt, built with the walk's MemoMap, interrupted through a start of the walk that timed out. */
      throughShared: boolean,
      exit: Exit.Exit<Built, unknown>
    ) => {
      if (Exit.isSuccess(exit)) {
        if (aborted) {
          // built while the boot was aborting: release it at once
          runtime.fork(Scope.close(exit.value.scope, Exit.void))
          stoppedWhileStarting(entry)
          return settle()
        }
        entry.scope = exit.value.scope
        entry.service = Option.some(exit.value.service)
        entry.readyAt = now(runtime)
        entry.durationMs = entry.readyAt - entry.startedAt!
        Metrics.packageInitDuration.unsafeUpdate(entry.durationMs / 1000, entry.labels)
        transition(runtime, entry, "ready", { attempt: entry.attempts })
        endSpan(entry, Exit.void)
        return resolved(entry)
      }
      if (aborted) {
        stoppedWhileStarting(entry)
        return settle()
      }
      // Interrupted, yet not by the boot: through a layer it shares with a package whose start was interrupted (its
      // init timeout) and which was building it. Not this package's failure: it starts again at once, building
      // everything itself, so that an optional package's timeout never fails a required one.
      if (throughShared) return launch(entry, layer, deps, driver, false)
      const schedule = entry.pkg.initRetry ?? runtime.defaults.initRetry
      if (schedule !== undefined) {
        return retry(entry, layer, deps, schedule, driver, exit)
      }
      failed(entry, exit.cause)
    }

    /** Waits out the retry schedule in a fiber, then launches the next attempt, or fails for good. */
    const retry = (
      entry: Entry,
      layer: L.Layer<never, unknown, unknown>,
      deps: Context.Context<unknown>,
      schedule: Schedule.Schedule<unknown, unknown>,
      previous: Schedule.ScheduleDriver<unknown, unknown> | undefined,
      exit: Exit.Failure<Built, unknown>
    ) => {
      const fiber = runtime.fork(Effect.flatMap(
        previous === undefined ? Schedule.driver(schedule) : Effect.succeed(previous),
        // the input is the error, as with `Effect.retry` (`squash` gives the failure, else the defect)
        (driver) => Effect.as(driver.next(Cause.squash(exit.cause)), driver)
      ))
      retries.set(entry, fiber)
      fiber.addObserver((next) => {
        retries.delete(entry)
        if (aborted) {
          stoppedWhileStarting(entry)
          return settle()
        }
        if (Exit.isSuccess(next)) {
          return launch(entry, layer, deps, next.value, false)
        }
        failed(entry, exit.cause)
      })
    }

    const stoppedWhileStarting = (entry: Entry) => {
      entry.stoppedAt = now(runtime)
      entry.durationMs = entry.stoppedAt - (entry.startedAt ?? entry.stoppedAt)
      transition(runtime, entry, "stopped", { reason: "interrupted while starting" })
      endSpan(entry, Exit.interrupt(FiberId.none))
    }

    const endSpan = (entry: Entry, exit: Exit.Exit<unknown, unknown>) => {
      Tracing.end(tracing, spans.get(entry), exit, {
        "spine.package.attempts": entry.attempts,
        "spine.package.state": entry.state
      })
      spans.delete(entry)
    }

    const failed = (entry: Entry, cause: Cause.Cause<unknown>) => {
      const error = initError(entry, cause)
      entry.durationMs = now(runtime) - entry.startedAt!
      entry.error = error.message
      Metrics.packageInitDuration.unsafeUpdate(entry.durationMs / 1000, entry.labels)
      Metrics.packageInitFailures.unsafeUpdate(1, entry.labels)
      transition(runtime, entry, "failed", { attempt: entry.attempts, reason: error.message })
      endSpan(entry, Exit.fail(error))
      if (!entry.pkg.optional) {
        Deferred.unsafeDone(done, Exit.fail(error))
        return abort()
      }
      log(runtime, "warning", `optional ${error.message}; its dependents are skipped`)
      resolved(entry)
    }

    graph.start()
    yield* Deferred.await(done).pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit) ? Effect.void : Effect.suspend(() => {
          // a first boot that fails or is interrupted is the start of the shutdown: `/livez` answers 503 from now,
          // not once the starts in progress have unwound
          if (!runtime.booted) enterPhase(runtime, "stopping")
          abort()
          return Deferred.await(settled)
        })
      ),
      Effect.ensuring(Effect.sync(runtime.timers.idle))
    )
  })

const initError = (entry: Entry, cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  if (
    Option.isSome(failure) && failure.value instanceof PackageInitTimeout && failure.value.package === entry.pkg.name
  ) {
    return new PackageInitTimeout({ ...failure.value, attempts: entry.attempts })
  }
  return new PackageInitFailed({ package: entry.pkg.name, attempts: entry.attempts, cause, reason: reasonOf(cause) })
}

/**
 * Releases every started package: dependents first, independent packages in
 * parallel, each within its stop timeout. Packages that never started
 * release nothing but still let their dependencies go.
 */
export const release = (runtime: Runtime, exit: Exit.Exit<unknown, unknown>, only?: ReadonlySet<number>) =>
  Effect.suspend(() => {
    const { entries } = runtime
    const done = Deferred.unsafeMake<void>(FiberId.none)
    const graph = walk(runtime.resolved.nodes, "release", (index) => releaseOne(entries[index]), () => {
      Deferred.unsafeDone(done, Exit.void)
    }, only)
    const released = (entry: Entry) => graph.finish(entry.node.index)

    const releaseOne = (entry: Entry) => {
      const scope = entry.scope
      if (scope === undefined) return released(entry)
      entry.scope = undefined
      const startedAt = now(runtime)
      transition(runtime, entry, "stopping")
      const closing = runtime.fork(Scope.close(scope, exit))
      observeWithin(runtime, closing, stopTimeoutOf(runtime, entry), (result) => {
        // past the stop timeout: interrupted (a finalizer that ignores it runs on), reported and left behind
        if (Option.isNone(result)) closing.unsafeInterruptAsFork(FiberId.none)
        reportStop(runtime, entry, result)
        entry.stoppedAt = now(runtime)
        entry.stopDurationMs = entry.stoppedAt - startedAt
        entry.service = Option.none()
        transition(runtime, entry, "stopped")
        released(entry)
      })
    }

    graph.start()
    return Effect.ensuring(Deferred.await(done), Effect.sync(runtime.timers.idle))
  })

/** The record of the package called `name`, read when the effect runs. */
export const entryOf = (runtime: Runtime, name: string): Effect.Effect<Entry, PackageNotFound> =>
  Effect.suspend(() => {
    const entry = runtime.byName.get(name)
    return entry === undefined ? Effect.fail(new PackageNotFound({ package: name })) : Effect.succeed(entry)
  })

/** The service of the ready package that provides `key`, if one does. */
export const serviceOf = (runtime: Runtime, key: string): Option.Option<unknown> => {
  const entry = runtime.entries.find((entry) => entry.pkg.provides.key === key && entry.state === "ready")
  return entry === undefined ? Option.none() : entry.service
}

/** The services of every ready package, keyed by tag. */
export const services = (runtime: Runtime): Map<string, unknown> => {
  const map = new Map<string, unknown>()
  for (const entry of runtime.entries) {
    if (Option.isSome(entry.service)) map.set(entry.pkg.provides.key, entry.service.value)
  }
  return map
}
