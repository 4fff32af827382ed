/**
 * The boot scheduler. A package is dispatched, in a fiber of its own, once
 * every dependency has resolved; it builds only its own layer into a scope of
 * its own with its dependencies' services provided. Release walks the graph
 * the other way: a package's scope closes once every dependent's has closed,
 * independent packages in parallel, each within its stop timeout.
 *
 * Fibers are forked synchronously from a runtime captured at construction, so
 * that dispatching and aborting never race, and timeouts wait on fiber
 * observers rather than racing fibers: a package costs two small fibers to
 * start and one or two to release.
 */
import type { Duration, Layer as L, Schedule } from "effect"
import {
  Cause,
  Clock,
  Context,
  Deferred,
  Effect,
  Exit,
  Fiber,
  FiberId,
  Layer,
  Option,
  PubSub,
  Runtime,
  Scope
} from "effect"
import type { PackageState, SpinePhase } from "../Lifecycle.js"
import { SpineEvent } from "../Lifecycle.js"
import type * as Package from "../Package.js"
import { PackageInitFailed, PackageInitTimeout, PackageStopTimeout } from "../SpineError.js"
import type { Node, Resolved } from "./graph.js"

/** The mutable runtime record of one package. Internal: exposed only as snapshots. */
export interface Entry {
  readonly node: Node
  readonly pkg: Package.Any
  /** The layer to build; `undefined` when the package is disabled. */
  readonly layer: L.Layer<never, unknown, unknown> | undefined
  state: PackageState
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
  readonly resolved: Resolved
  readonly entries: ReadonlyArray<Entry>
  readonly byName: ReadonlyMap<string, Entry>
  readonly features: ReadonlyMap<string, boolean>
  readonly events: PubSub.PubSub<SpineEvent>
  readonly defaults: Defaults
  /** Forks fibers with the caller's context, synchronously. */
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
  /** Shared by first attempts, so a layer used by two packages is built once. */
  readonly memoMap: L.MemoMap
  phase: SpinePhase
}

export const make = Effect.fnUntraced(function*(options: {
  readonly resolved: Resolved
  readonly layers: ReadonlyArray<L.Layer<never, unknown, unknown> | undefined>
  readonly features: ReadonlyMap<string, boolean>
  readonly defaults: Defaults
}) {
  const { layers, resolved } = options
  const entries: Array<Entry> = []
  const byName = new Map<string, Entry>()
  for (const node of resolved.nodes) {
    const layer = layers[node.index]
    const entry: Entry = {
      node,
      pkg: node.pkg,
      layer,
      state: layer === undefined ? "disabled" : "registered",
      attempts: 0,
      startedAt: undefined,
      readyAt: undefined,
      durationMs: undefined,
      stoppedAt: undefined,
      stopDurationMs: undefined,
      error: undefined,
      scope: undefined,
      service: Option.none()
    }
    entries.push(entry)
    byName.set(node.pkg.name, entry)
  }
  const events = yield* PubSub.unbounded<SpineEvent>({ replay: 256 + 4 * entries.length })
  const runtime: Runtime = {
    resolved,
    entries,
    byName,
    features: options.features,
    events,
    defaults: options.defaults,
    fork: Runtime.runFork(yield* Effect.runtime<never>()),
    memoMap: yield* Layer.makeMemoMap,
    phase: "booting"
  }
  return runtime
})

/** Publishes an event stamped with the current time. */
export const emit = (runtime: Runtime, event: (at: Date) => SpineEvent) =>
  Effect.flatMap(Clock.currentTimeMillis, (millis) => PubSub.publish(runtime.events, event(new Date(millis))))

const transition = (
  runtime: Runtime,
  entry: Entry,
  to: PackageState,
  extra: { readonly attempt?: number; readonly reason?: string } = {}
) => {
  const from = entry.state
  entry.state = to
  return emit(runtime, (at) => SpineEvent.PackageStateChanged({ package: entry.pkg.name, from, to, at, ...extra }))
}

export const setPhase = (runtime: Runtime, to: SpinePhase) => {
  const from = runtime.phase
  runtime.phase = to
  return from === to ? Effect.void : emit(runtime, (at) => SpineEvent.SpinePhaseChanged({ from, to, at }))
}

/** A readable reason from a failure cause, without stack traces. */
export const reasonOf = (cause: Cause.Cause<unknown>): string => {
  const squashed = Cause.squash(cause)
  if (squashed instanceof Error) return squashed.message
  if (typeof squashed === "object" && squashed !== null && "_tag" in squashed) return String(squashed._tag)
  return String(squashed)
}

/**
 * Waits at most `timeout` for a fiber to end, without forking a racer and
 * without ever being held up by the fiber: `None` when it is still running.
 * Usable inside finalizers, where interruption is off.
 */
const awaitWithin = <A, E>(runtime: Runtime, fiber: Fiber.RuntimeFiber<A, E>, timeout: Duration.Duration) =>
  Effect.async<Option.Option<Exit.Exit<A, E>>>((resume) => {
    let settled = false
    // eslint-disable-next-line prefer-const -- assigned after the observer that reads it
    let timer: Fiber.RuntimeFiber<void> | undefined
    const onExit = (exit: Exit.Exit<A, E>) => {
      if (settled) return
      settled = true
      timer?.unsafeInterruptAsFork(FiberId.none)
      resume(Effect.succeed(Option.some(exit)))
    }
    fiber.addObserver(onExit)
    if (settled) return
    timer = runtime.fork(Effect.sleep(timeout))
    timer.addObserver(() => {
      if (settled) return
      settled = true
      fiber.removeObserver(onExit)
      resume(Effect.succeed(Option.none()))
    })
    return Effect.sync(() => {
      settled = true
      fiber.removeObserver(onExit)
      timer?.unsafeInterruptAsFork(FiberId.none)
    })
  })

/**
 * Builds one attempt of a package's layer in a fresh scope, in a fiber of its
 * own. Past the init timeout, or when the boot is interrupted, the build is
 * interrupted and given the stop timeout to unwind; a build whose cleanup
 * hangs is reported and left behind, never waited for. On failure the
 * attempt's scope is closed before the failure propagates.
 */
const attempt = (
  runtime: Runtime,
  entry: Entry,
  layer: L.Layer<never, unknown, unknown>,
  deps: Context.Context<unknown>
) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      entry.attempts++
      const timeout = entry.pkg.initTimeout ?? runtime.defaults.initTimeout
      const scope = yield* Scope.make()
      entry.scope = scope
      const build = entry.attempts === 1
        ? Layer.buildWithMemoMap(layer, runtime.memoMap, scope)
        : Layer.buildWithScope(layer, scope)
      const fiber = runtime.fork(Effect.flatMap(Effect.provide(build, deps), (context) =>
        Option.match(Context.getOption(context, entry.pkg.provides), {
          onNone: () => Effect.dieMessage(`the layer did not provide ${entry.pkg.provides.key}`),
          onSome: Effect.succeed
        })))
      const waited = yield* Effect.exit(restore(awaitWithin(runtime, fiber, timeout)))
      let exit: Exit.Exit<unknown, unknown>
      if (Exit.isSuccess(waited) && Option.isSome(waited.value)) {
        exit = waited.value.value
      } else {
        fiber.unsafeInterruptAsFork(FiberId.none)
        // the build's own failure, if it ends in one while unwinding, is no release failure
        const unwound = yield* awaitWithin(runtime, fiber, stopTimeoutOf(runtime, entry))
        if (Option.isNone(unwound)) {
          yield* reportStop(runtime, entry, unwound)
        }
        exit = Exit.isSuccess(waited)
          ? Exit.fail(new PackageInitTimeout({ package: entry.pkg.name, timeout, attempts: entry.attempts }))
          : waited
      }
      if (Exit.isSuccess(exit)) {
        return exit.value
      }
      entry.scope = undefined
      yield* closeWithin(runtime, entry, scope, exit)
      return yield* exit
    })
  )

const initError = (entry: Entry, cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  if (
    Option.isSome(failure) && failure.value instanceof PackageInitTimeout && failure.value.package === entry.pkg.name
  ) {
    return new PackageInitTimeout({ ...failure.value, attempts: entry.attempts })
  }
  return new PackageInitFailed({ package: entry.pkg.name, attempts: entry.attempts, cause, reason: reasonOf(cause) })
}

/** Retries on any failure or defect, never on interruption. */
const retry = <A, E>(effect: Effect.Effect<A, E>, schedule: Schedule.Schedule<unknown, unknown>) =>
  Effect.sandbox(effect).pipe(
    Effect.retry({ schedule, while: (cause) => !Cause.isInterruptedOnly(cause) }),
    Effect.unsandbox
  )

/**
 * Starts one package whose dependencies are all ready. Succeeds when it is
 * ready or, being optional, failed; fails with the error of a required
 * package.
 */
const start = (runtime: Runtime, entry: Entry, layer: L.Layer<never, unknown, unknown>) =>
  Effect.gen(function*() {
    const services = new Map<string, unknown>()
    for (const index of entry.node.dependencies) {
      const dependency = runtime.entries[index]
      if (Option.isSome(dependency.service)) services.set(dependency.pkg.provides.key, dependency.service.value)
    }
    const startedAt = yield* Clock.currentTimeMillis
    entry.startedAt = startedAt
    const once = attempt(runtime, entry, layer, Context.unsafeMake(services))
    const schedule = entry.pkg.initRetry ?? runtime.defaults.initRetry
    const exit = yield* transition(runtime, entry, "starting", { attempt: 1 }).pipe(
      Effect.zipRight(schedule === undefined ? once : retry(once, schedule)),
      Effect.onInterrupt(() => transition(runtime, entry, "stopped", { reason: "interrupted while starting" })),
      Effect.exit
    )
    const finishedAt = yield* Clock.currentTimeMillis
    entry.durationMs = finishedAt - startedAt
    if (Exit.isSuccess(exit)) {
      entry.service = Option.some(exit.value)
      entry.readyAt = finishedAt
      yield* transition(runtime, entry, "ready", { attempt: entry.attempts })
      return
    }
    if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
    const error = initError(entry, exit.cause)
    entry.error = error.message
    yield* transition(runtime, entry, "failed", { attempt: entry.attempts, reason: error.message })
    if (!entry.pkg.optional) return yield* error
    yield* Effect.logWarning(`optional ${error.message}; its dependents are skipped`)
  })

/**
 * Starts every enabled package as soon as its own dependencies are ready.
 * A required package's failure, or the boot's interruption, interrupts the
 * packages still starting and waits for them; the caller's scope then
 * releases what had started.
 */
export const boot = (runtime: Runtime): Effect.Effect<void, PackageInitFailed | PackageInitTimeout> =>
  Effect.gen(function*() {
    const { entries } = runtime
    const done = yield* Deferred.make<void, PackageInitFailed | PackageInitTimeout>()
    const running = new Set<Fiber.RuntimeFiber<void>>()
    const pending = entries.map((entry) => entry.node.dependencies.length)
    let unresolved = entries.length
    let aborted = false

    const resolved = (entry: Entry): Effect.Effect<void> =>
      Effect.suspend(() => {
        unresolved--
        const next: Array<Effect.Effect<void>> = []
        for (const dependent of entry.node.dependents) {
          if (--pending[dependent] === 0) next.push(dispatch(entries[dependent]))
        }
        if (unresolved === 0) next.push(Deferred.succeed(done, undefined))
        return Effect.all(next, { discard: true })
      })

    const dispatch = (entry: Entry): Effect.Effect<void> =>
      Effect.suspend(() => {
        const layer = entry.layer
        if (layer === undefined) return resolved(entry)
        const missing = entry.node.dependencies.map((i) => entries[i]).find((d) => d.state !== "ready")
        if (missing !== undefined) {
          const reason = `dependency "${missing.pkg.name}" is ${missing.state}`
          entry.error = reason
          return transition(runtime, entry, "skipped", { reason }).pipe(Effect.zipRight(resolved(entry)))
        }
        if (aborted) return Effect.void
        const fiber = runtime.fork(
          start(runtime, entry, layer).pipe(
            Effect.matchCauseEffect({
              onSuccess: () => resolved(entry),
              onFailure: (cause) => Deferred.failCause(done, cause).pipe(Effect.asVoid)
            })
          )
        )
        running.add(fiber)
        fiber.addObserver(() => running.delete(fiber))
        return Effect.void
      })

    yield* Effect.forEach(entries, (entry) => entry.node.dependencies.length === 0 ? dispatch(entry) : Effect.void, {
      discard: true
    })
    yield* Deferred.await(done).pipe(
      Effect.onExit(() =>
        Effect.suspend(() => {
          aborted = true
          return Fiber.interruptAll(running)
        })
      )
    )
  })

const stopTimeoutOf = (runtime: Runtime, entry: Entry) => entry.pkg.stopTimeout ?? runtime.defaults.stopTimeout

/** Reports a release that timed out or failed, on the event stream and in the log. */
const reportStop = (runtime: Runtime, entry: Entry, result: Option.Option<Exit.Exit<unknown, unknown>>) => {
  const name = entry.pkg.name
  if (Option.isNone(result)) {
    const error = new PackageStopTimeout({ package: name, timeout: stopTimeoutOf(runtime, entry) })
    return Effect.zipRight(
      Effect.logWarning(error.message),
      emit(runtime, (at) => SpineEvent.PackageStopTimeout({ package: name, timeout: error.timeout, at }))
    )
  }
  if (Exit.isSuccess(result.value) || Cause.isInterruptedOnly(result.value.cause)) return Effect.void
  const reason = reasonOf(result.value.cause)
  return Effect.zipRight(
    Effect.logError(`Package "${name}" failed to release: ${reason}`),
    emit(runtime, (at) => SpineEvent.PackageStopFailed({ package: name, reason, at }))
  )
}

/**
 * Closes a scope within the package's stop timeout. The close runs in a fiber
 * of its own, so a finalizer that hangs (finalizers are uninterruptible)
 * delays nobody: past the timeout it is reported and left to finish.
 */
const closeWithin = (runtime: Runtime, entry: Entry, scope: Scope.CloseableScope, exit: Exit.Exit<unknown, unknown>) =>
  Effect.suspend(() => awaitWithin(runtime, runtime.fork(Scope.close(scope, exit)), stopTimeoutOf(runtime, entry)))
    .pipe(
      Effect.flatMap((result) => reportStop(runtime, entry, result))
    )

/**
 * Releases every started package: dependents first, independent packages in
 * parallel, each within its stop timeout. Packages that never started
 * release nothing but still let their dependencies go.
 */
export const release = (runtime: Runtime, exit: Exit.Exit<unknown, unknown>) =>
  Effect.gen(function*() {
    const { entries } = runtime
    const done = yield* Deferred.make<void>()
    const remaining = entries.map((entry) => entry.node.dependents.length)
    let unreleased = entries.length

    const released = (entry: Entry): Effect.Effect<void> =>
      Effect.suspend(() => {
        unreleased--
        const next: Array<Effect.Effect<void>> = []
        for (const dependency of entry.node.dependencies) {
          if (--remaining[dependency] === 0) next.push(releaseOne(entries[dependency]))
        }
        if (unreleased === 0) next.push(Deferred.succeed(done, undefined))
        return Effect.all(next, { discard: true })
      })

    const stop = (entry: Entry, scope: Scope.CloseableScope) =>
      Effect.gen(function*() {
        const startedAt = yield* Clock.currentTimeMillis
        yield* transition(runtime, entry, "stopping")
        yield* closeWithin(runtime, entry, scope, exit)
        const stoppedAt = yield* Clock.currentTimeMillis
        entry.stoppedAt = stoppedAt
        entry.stopDurationMs = stoppedAt - startedAt
        entry.service = Option.none()
        yield* transition(runtime, entry, "stopped")
      })

    const releaseOne = (entry: Entry): Effect.Effect<void> =>
      Effect.suspend(() => {
        const scope = entry.scope
        if (scope === undefined) return released(entry)
        entry.scope = undefined
        runtime.fork(Effect.zipRight(stop(entry, scope), released(entry)))
        return Effect.void
      })

    yield* Effect.forEach(entries, (entry) => entry.node.dependents.length === 0 ? releaseOne(entry) : Effect.void, {
      discard: true
    })
    if (entries.length > 0) yield* Deferred.await(done)
  })

/** The services of every ready package, keyed by tag. */
export const services = (runtime: Runtime): Map<string, unknown> => {
  const map = new Map<string, unknown>()
  for (const entry of runtime.entries) {
    if (Option.isSome(entry.service)) map.set(entry.pkg.provides.key, entry.service.value)
  }
  return map
}
