/**
 * The health monitor: runs each package's check on a schedule with a
 * timeout, keeps the latest result per package with flap thresholds, and
 * derives the system's health from the cache and the graph. Reading the
 * system's health never runs a check; it is recomputed only after a change.
 */
import type { Scope } from "effect"
import { Cause, Data, Duration, Effect, Exit, Fiber, FiberId, FiberMap, Option, Schedule } from "effect"
import type * as Health from "../Health.js"
import { SpineEvent } from "../Lifecycle.js"
import * as Metrics from "../Metrics.js"
import { reasonOf } from "./cause.js"
import { toJson } from "./json.js"
import { asEffect, shown } from "./kind.js"
import type { Entry, Runtime } from "./scheduler.js"
import * as Tracing from "./tracing.js"

/** The mutable health record of one package. */
interface Record {
  status: Health.HealthStatus
  lastCheck: number | undefined
  durationMs: number
  errors: ReadonlyArray<string>
  details: unknown
  consecutiveFailures: number
  consecutiveSuccesses: number
  /** Its first check, part of its start, has not ended yet: the package counts as `warn`, not as a `pass`. */
  pending: boolean
}

export interface Settings {
  readonly interval: Duration.Duration
  readonly timeout: Duration.Duration
  readonly concurrency: number
  readonly failureThreshold: number
  readonly successThreshold: number
  readonly enabled: boolean
}

export interface Monitor {
  readonly runtime: Runtime
  readonly settings: Settings
  readonly records: Array<Record>
  /**
   * The scheduled loops: the shared one under `*`, one per package with a schedule of its own under its name (and
   * under it too, a first check of a package that joined at runtime).
   */
  readonly loops: FiberMap.FiberMap<string>
  /** One permit per worker running checks (one at a time), over every round, loop and `checkHealth` call. */
  readonly permits: Effect.Semaphore
  /** The checks in flight per package: a scheduled round skips a package whose check has not ended. */
  readonly busy: Map<Entry, number>
  /** The runs of checks in progress, each with what ends it at once (its checks interrupted, none recorded). */
  readonly runs: Set<Effect.Effect<void>>
  /** Set by `stop`: no check runs from then on, since the packages are about to be released. */
  stopped: boolean
  cache: { readonly version: number; readonly value: Health.SystemHealth } | undefined
}

/** The options with their defaults; `options.check` has refused the ones that cannot be used. */
export const settings = (options: Health.Options = {}): Settings => ({
  interval: Duration.decode(options.interval ?? "60 seconds"),
  timeout: Duration.decode(options.timeout ?? "5 seconds"),
  concurrency: options.concurrency ?? 16,
  failureThreshold: options.failureThreshold ?? 1,
  successThreshold: options.successThreshold ?? 1,
  enabled: options.enabled ?? true
})

export const make = (runtime: Runtime, settings: Settings): Effect.Effect<Monitor, never, Scope.Scope> =>
  Effect.map(FiberMap.make<string>(), (loops) => ({
    runtime,
    settings,
    records: runtime.entries.map(freshRecord),
    loops,
    permits: Effect.unsafeMakeSemaphore(settings.concurrency),
    busy: new Map(),
    runs: new Set(),
    stopped: false,
    cache: undefined
  }))

/** A package's health before its first check. */
export const freshRecord = (): Record => ({
  status: "pass",
  lastCheck: undefined,
  durationMs: 0,
  errors: [],
  details: undefined,
  consecutiveFailures: 0,
  consecutiveSuccesses: 0,
  pending: false
})

/**
 * Whether a package that is not healthy takes the system out of readiness: a
 * required one (feature-gated or not: the boot fails without it too), unless
 * it is on its way in or out at runtime (an `add`, a `remove`, a feature
 * flip), which leaves the running system degraded, not down.
 */
const failsReadiness = (entry: Entry) =>
  !entry.pkg.optional && entry.state !== "registered" && entry.state !== "starting" && entry.state !== "stopping"

const packageHealth = (monitor: Monitor, entry: Entry): Health.PackageHealth => {
  const record = monitor.records[entry.node.index]
  const lastCheck = record.lastCheck === undefined ? undefined : new Date(record.lastCheck)
  const base = {
    name: entry.pkg.name,
    lastCheck,
    durationMs: record.durationMs,
    consecutiveFailures: record.consecutiveFailures
  }
  if (entry.state !== "ready") {
    const errors = [entry.error ?? `package is ${entry.state}`]
    return { ...base, status: "fail", healthy: false, errors }
  }
  const status = record.pending && record.status === "pass" ? "warn" : record.status
  return {
    ...base,
    status,
    healthy: status !== "fail",
    errors: record.errors,
    ...(record.details === undefined ? {} : { details: record.details })
  }
}

/** A package's health with its details put through `f`; left out where `f` gives `undefined`. */
export const mapDetails = <P extends { readonly details?: unknown }>(pkg: P, f: (details: unknown) => unknown): P => {
  if (pkg.details === undefined) return pkg
  const { details, ...rest } = pkg
  const mapped = f(details)
  // `details` is optional in P: without it, or with another value, the rest is still a P
  return (mapped === undefined ? rest : { ...rest, details: mapped }) as P
}

/** The health (of `Spine.health`, or a report's) with every package's details put through `f`. */
export const mapAllDetails = <
  H extends { readonly packages: { readonly [name: string]: { readonly details?: unknown } } }
>(health: H, f: (details: unknown) => unknown): H => ({
  ...health,
  packages: Object.fromEntries(Object.entries(health.packages).map(([name, pkg]) => [name, mapDetails(pkg, f)]))
})

/** The health with every package's details as plain JSON (`toJson`), for a report or a response. */
export const withPlainDetails = (health: Health.SystemHealth): Health.SystemHealth => mapAllDetails(health, toJson)

/** The cached system health; recomputed only when something changed since. */
export const system = (monitor: Monitor): Health.SystemHealth => {
  const { runtime } = monitor
  if (monitor.cache !== undefined && monitor.cache.version === runtime.version) return monitor.cache.value
  const packages: { [name: string]: Health.PackageHealth } = {}
  let status: Health.HealthStatus = runtime.phase === "ready" ? "pass" : "fail"
  let overall = true
  for (const entry of runtime.entries) {
    if (entry.state === "disabled" || entry.removed) continue
    const health = packageHealth(monitor, entry)
    packages[entry.pkg.name] = health
    if (!health.healthy) overall = false
    if (health.status === "fail") status = failsReadiness(entry) ? "fail" : status === "fail" ? "fail" : "warn"
    else if (health.status === "warn" && status === "pass") status = "warn"
  }
  const live = runtime.phase === "booting" || runtime.phase === "ready"
  const value: Health.SystemHealth = { status, ready: status !== "fail", live, overall, packages }
  monitor.cache = { version: runtime.version, value }
  return value
}

/** A check's result, read once inside the check: a getter that throws there fails the check, not the monitor. */
interface Detail {
  readonly status: "pass" | "warn"
  readonly details: unknown
}

/** A check that returned a status other than `pass` or `warn`: it fails, with the details it returned. */
class FailedWithDetails extends Data.TaggedError("FailedWithDetails")<{
  readonly message: string
  readonly details: unknown
}> {}

const readDetail = (result: void | Health.HealthDetail): Effect.Effect<Detail, FailedWithDetails> => {
  if (typeof result !== "object" || result === null) return Effect.succeed({ status: "pass", details: undefined })
  const { details, status } = result
  if (status === undefined || status === "pass" || status === "warn") {
    return Effect.succeed({ status: status ?? "pass", details })
  }
  // from plain JavaScript: a `fail`, or anything else, is no pass; a long status is cut, and kept on one line
  const given: unknown = status
  const returned = shown(typeof given === "string" ? given.slice(0, 40) : given)
  return Effect.fail(new FailedWithDetails({ message: `the check returned status ${returned}`, details }))
}

/**
 * Applies one check's outcome to the record it was started for, with the flap
 * thresholds; emits a transition when the status changes. An outcome for a
 * package no longer ready (stopping or stopped by `remove`, a feature flip or
 * shutdown), or for a record replaced since (the package was added again or
 * restarted by a feature flip), is dropped.
 */
const record = (
  monitor: Monitor,
  entry: Entry,
  current: Record,
  outcome: Exit.Exit<Detail, unknown> | undefined,
  durationMs: number
) => {
  const { runtime, settings } = monitor
  if (monitor.records[entry.node.index] !== current || entry.state !== "ready") return
  current.pending = false
  const before = current.status
  const name = entry.pkg.name
  const labels = entry.labels
  current.lastCheck = runtime.clock.unsafeCurrentTimeMillis()
  current.durationMs = durationMs
  Metrics.healthCheckDuration.unsafeUpdate(durationMs / 1000, labels)
  if (outcome === undefined || Exit.isFailure(outcome)) {
    const message = outcome === undefined
      ? `health check timed out after ${Duration.format(settings.timeout)}`
      : reasonOf(outcome.cause)
    Metrics.healthCheckFailures.unsafeUpdate(1, labels)
    const failure = outcome === undefined ? Option.none() : Cause.failureOption(outcome.cause)
    // what the check returned with its failing status; a check that failed otherwise returned nothing new
    if (Option.isSome(failure) && failure.value instanceof FailedWithDetails) current.details = failure.value.details
    current.consecutiveFailures++
    current.consecutiveSuccesses = 0
    current.errors = [message]
    if (current.consecutiveFailures >= settings.failureThreshold) current.status = "fail"
  } else {
    current.consecutiveSuccesses++
    current.consecutiveFailures = 0
    current.details = outcome.value.details
    if (before !== "fail" || current.consecutiveSuccesses >= settings.successThreshold) {
      current.status = outcome.value.status
      current.errors = []
    }
  }
  runtime.version++
  Metrics.packageHealthy.unsafeUpdate(current.status === "fail" ? 0 : 1, labels)
  if (current.status !== before) {
    const to = current.status
    runtime.events.unsafeOffer(
      SpineEvent.HealthChanged({
        package: name,
        from: before,
        to,
        at: new Date(current.lastCheck),
        ...(to === "fail" ? { reason: current.errors.join("; ") } : {})
      })
    )
  }
}

/**
 * Runs the checks of the given packages now (all when none given) and
 * records their results. Worker fibers, each holding one of the monitor's
 * `concurrency` permits (shared by every round, loop and `checkHealth` call),
 * take checks from a queue and run them inline, one at a time, each bounded by
 * the timeout on the shared timer from when it starts: a check past its timeout is
 * recorded as failed, its worker is interrupted and left behind with its permit
 * given back (a check that ignores interruption must not hold up the others,
 * nor the boot waiting for its first checks), and a fresh worker takes the
 * rest of the queue.
 * A check that fails, dies or hangs never fails this effect. Packages that are
 * not ready, or have no check, are skipped; so is, in a `scheduled` round, a
 * package whose check (another round's, a first check, a `checkHealth` call)
 * has not ended, so that the checks of one package never pile up. Interrupting
 * it interrupts the checks in flight and waits for them, at most the check
 * timeout.
 */
export const checkAll = (
  monitor: Monitor,
  entries: ReadonlyArray<Entry> = monitor.runtime.entries,
  scheduled = false
) =>
  // each check is a root span of its own: a scheduled round is not part of whatever forked the loop
  Effect.flatMap(Tracing.current({ root: true }), (tracing) => runChecks(monitor, entries, scheduled, tracing)).pipe(
    Effect.ensuring(Effect.sync(monitor.runtime.timers.idle))
  )

/** Counts a package's checks in flight: `+1` when one starts, `-1` when it is settled. */
const busy = (monitor: Monitor, entry: Entry, delta: 1 | -1) => {
  const count = (monitor.busy.get(entry) ?? 0) + delta
  if (count === 0) monitor.busy.delete(entry)
  else monitor.busy.set(entry, count)
}

/**
 * `checkAll`'s work. Workers run the checks inline, and a worker holds its permit for its whole run, since a
 * fiber per check cost about 70 µs per check and a permit taken per check 18–28 µs, against 10–16 µs for a
 * whole round this way (measured with `bench/health.ts`, which `npm run bench` runs).
 */
const runChecks = (
  monitor: Monitor,
  entries: ReadonlyArray<Entry>,
  scheduled: boolean,
  tracing: Tracing.Tracing | undefined
) =>
  Effect.async<void>((resume) => {
    const { permits, runtime, settings } = monitor
    const queue = monitor.stopped ?
      [] :
      entries.filter((entry) =>
        entry.pkg.health !== undefined && entry.state === "ready" && !(scheduled && monitor.busy.has(entry))
      )
    const timeout = Duration.toMillis(settings.timeout)
    const clock = runtime.clock
    let next = 0
    let remaining = queue.length
    let cancelled = false
    // each worker with what gives its permit back, once: when it ends, or when it is left behind
    const workers = new Map<Fiber.RuntimeFiber<void>, () => void>()
    // the checks in flight: their deadline's cancel, how to end their span, and how to leave them behind
    const inFlight = new Set<
      {
        readonly cancel: () => void
        readonly ended: (exit: Exit.Exit<unknown, unknown>) => void
        /** Counts the package busy until the check's worker has ended. */
        readonly leftBehind: () => void
      }
    >()
    let resumed = false
    const end = () => {
      if (resumed) return
      resumed = true
      monitor.runs.delete(stopNow)
      resume(Effect.void)
    }
    const finish = () => {
      if (--remaining === 0) end()
    }
    const worker = () => {
      let holding = false
      const giveBack = () => {
        if (!holding) return
        holding = false
        Effect.runSync(permits.release(1))
      }
      const checkOne = (entry: Entry): Effect.Effect<void> => {
        const run = entry.pkg.health
        if (run === undefined || Option.isNone(entry.service)) return Effect.sync(finish)
        const service = entry.service.value
        const current = monitor.records[entry.node.index]
        const startedAt = clock.unsafeCurrentTimeMillis()
        const span = Tracing.start(tracing, "spine.health.check", { "spine.package.name": entry.pkg.name })
        const ended = (exit: Exit.Exit<unknown, unknown>) =>
          Tracing.end(tracing, span, exit, { "spine.health.status": current.status })
        let settled = false
        // busy until the check itself ends: one left behind still running keeps scheduled rounds off the package
        let counted = true
        const uncount = () => {
          if (!counted) return
          counted = false
          busy(monitor, entry, -1)
        }
        busy(monitor, entry, 1)
        const cancel = runtime.timers.schedule(timeout, () => {
          if (settled || cancelled) return
          settled = true
          inFlight.delete(check)
          fiber.addObserver(uncount)
          record(monitor, entry, current, undefined, clock.unsafeCurrentTimeMillis() - startedAt)
          ended(Exit.fail(current.errors[0]))
          // left behind with its permit given back: a check that ignores interruption holds up no other
          fiber.unsafeInterruptAsFork(FiberId.none)
          giveBack()
          if (next < queue.length) worker()
          finish()
        })
        const check = { cancel, ended, leftBehind: () => fiber.addObserver(uncount) }
        inFlight.add(check)
        return Effect.map(
          Effect.exit(
            Tracing.within(span, Effect.flatMap(Effect.suspend(() => asEffect(run(service), "the check")), readDetail))
          ),
          (exit) => {
            if (settled || cancelled) return
            settled = true
            inFlight.delete(check)
            uncount()
            cancel()
            record(monitor, entry, current, exit, clock.unsafeCurrentTimeMillis() - startedAt)
            ended(exit)
            finish()
          }
        )
      }
      // a worker runs one check at a time, so one permit for its whole run bounds the checks
      const fiber = runtime.fork(Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(permits.take(1)), () => {
          holding = true
          return Effect.ensuring(
            restore(Effect.gen(function*() {
              while (next < queue.length) yield* checkOne(queue[next++])
            })),
            Effect.sync(giveBack)
          )
        })
      ))
      workers.set(fiber, giveBack)
      fiber.addObserver(() => workers.delete(fiber))
    }
    // interrupted (the loop stopped, the caller gave up) or stopped with the monitor: no check goes on, none is
    // recorded; the checks in flight get the check timeout to unwind
    const abandon = Effect.suspend(() => {
      monitor.runs.delete(stopNow)
      cancelled = true
      next = queue.length
      for (const check of inFlight) {
        check.cancel()
        check.ended(Exit.interrupt(FiberId.none))
        check.leftBehind()
      }
      // interruptible, so that the timeout bounds the wait even here, in a finalizer or an interruption handler
      return Effect.ignore(
        Effect.timeout(Effect.interruptible(Fiber.interruptAll([...workers.keys()])), settings.timeout)
      ).pipe(
        // the workers that have not unwound by then are left behind, their permits given back
        Effect.ensuring(Effect.sync(() => workers.forEach((giveBack) => giveBack())))
      )
    })
    // the monitor stops it so, and then its caller goes on with the health as it stands
    const stopNow: Effect.Effect<void> = Effect.zipRight(abandon, Effect.sync(end))
    if (remaining === 0) return end()
    monitor.runs.add(stopNow)
    for (let i = 0; i < Math.min(settings.concurrency, queue.length); i++) worker()
    return abandon
  })

/**
 * Forks the shared loop: the packages on the spine's interval, checked on it
 * from one interval after the boot on (the interval as `Schedule.fixed`: a
 * slow round does not push the later ones back), until `stop` or the spine's
 * scope closes. Their first check was the boot's (`join`).
 */
export const start = (monitor: Monitor): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (!monitor.settings.enabled) return
    // the shared loop takes the current packages each round: packages added at runtime join it
    const shared = Effect.suspend(() =>
      checkAll(monitor, monitor.runtime.entries.filter((entry) => entry.pkg.healthSchedule === undefined), true)
    )
    yield* FiberMap.run(monitor.loops, "*", Effect.schedule(shared, Schedule.fixed(monitor.settings.interval)))
  })

/**
 * Checks packages that have just started (at boot, or added or turned on at
 * runtime) and waits for the results, each within the check timeout: a
 * package's first check is part of its start, and until it ends the package
 * counts as `warn`, so readiness never counts a check that has not run as a
 * pass. A package with a schedule of its own then gets its loop (in place of
 * the loop of a package of the same name before it), counting from the end of
 * its first check; the others are in the shared loop's next round.
 */
export const join = (monitor: Monitor, entries: ReadonlyArray<Entry>): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (!monitor.settings.enabled) return Effect.void
    const checked = entries.filter((entry) => entry.pkg.health !== undefined && entry.state === "ready")
    for (const entry of checked) monitor.records[entry.node.index].pending = true
    monitor.runtime.version++
    // once the first checks have ended (or were given up on, the caller interrupted)
    const loops = Effect.forEach(checked, (entry) => {
      const own = entry.pkg.healthSchedule
      return own === undefined || entry.state !== "ready"
        ? Effect.void
        : FiberMap.run(monitor.loops, entry.pkg.name, Effect.schedule(checkAll(monitor, [entry], true), own))
    }, { discard: true })
    return Effect.ensuring(checkAll(monitor, checked), loops)
  })

/** Stops a package's own loop. */
export const leave = (monitor: Monitor, entry: Entry): Effect.Effect<void> =>
  FiberMap.remove(monitor.loops, entry.pkg.name)

/**
 * Stops every loop and every run of checks (a `checkHealth` call's too: the packages are about to be released),
 * interrupting the checks in flight; no check runs from then on.
 */
export const stop = (monitor: Monitor): Effect.Effect<void> =>
  Effect.suspend(() => {
    monitor.stopped = true
    return Effect.zipRight(
      FiberMap.clear(monitor.loops),
      Effect.forEach([...monitor.runs], (stopNow) => stopNow, { discard: true, concurrency: "unbounded" })
    )
  })
