/**
 * The spine: `Spine.layer` validates a list of packages, starts them in
 * dependency order and in parallel, degrades when optional ones fail, and
 * releases them in reverse order when its scope closes. The `Spine` service
 * reports what happened.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { Config, Schedule, Stream } from "effect"
import {
  Array as Arr,
  Cause,
  Chunk,
  Clock,
  Console,
  Context,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Scope,
  Stream as S
} from "effect"
import type * as Health from "./Health.js"
import { reasonOf } from "./internal/cause.js"
import * as loader from "./internal/config.js"
import * as graph from "./internal/graph.js"
import * as monitor from "./internal/health.js"
import * as lifecycle from "./internal/hooks.js"
import { jsonNumber } from "./internal/json.js"
import { asEffect } from "./internal/kind.js"
import * as manage from "./internal/manage.js"
import * as spineOptions from "./internal/options.js"
import * as scheduler from "./internal/scheduler.js"
import type { PackageState, SpineEvent, SpinePhase, TimelineEntry } from "./Lifecycle.js"
import * as Metrics from "./Metrics.js"
import * as Package from "./Package.js"
import * as Plugin from "./Plugin.js"
import * as Registry from "./Registry.js"
import * as Report from "./Report.js"
import {
  type DependencyNotRunning,
  type InvalidOptions,
  type PackageHasDependents,
  type PackageNotFound,
  type SpineError,
  SpineNotRunning
} from "./SpineError.js"

/**
 * What the `Spine` service offers.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpineService {
  /** Metadata of every registered package, in registration order. */
  readonly packages: Effect.Effect<ReadonlyArray<Package.Info>>
  /** The current state of one package. */
  readonly state: (name: string) => Effect.Effect<PackageState, PackageNotFound>
  /** The phase of the spine: booting, ready, stopping, stopped. */
  readonly phase: Effect.Effect<SpinePhase>
  /**
   * Every lifecycle transition, with timestamps. A new subscriber first
   * receives the recent history (at least the whole boot), then live events;
   * the stream ends when the spine has stopped.
   */
  readonly events: Stream.Stream<SpineEvent>
  /** Per package: start, ready, duration, attempts, release, error. */
  readonly timeline: Effect.Effect<ReadonlyArray<TimelineEntry>>
  /** The dependency graph. */
  readonly graph: Effect.Effect<Registry.PackageGraph>
  /** Whether a feature flag is on. Unknown flags are off. */
  readonly isFeatureEnabled: (flag: string) => Effect.Effect<boolean>
  /**
   * The service of the package that provides `tag`, while that package is `ready`. The layer's context is made
   * once, when the boot ends: `Effect.serviceOption(tag)` lacks a package started since (by `add` or a flag
   * turned on) and still holds one stopped since. This reads the running graph.
   */
  readonly service: <I, S>(tag: Context.Tag<I, S>) => Effect.Effect<Option.Option<S>>
  /** The cached health: readiness, liveness, every package's last result. Never runs a check. */
  readonly health: Effect.Effect<Health.SystemHealth>
  /** Runs the checks now (of one package, or all), updates the cache and returns it. */
  readonly checkHealth: (name?: string) => Effect.Effect<Health.SystemHealth, PackageNotFound>
  /** Counts by category, status, state and health. */
  readonly statistics: Effect.Effect<Registry.Statistics>
  /** The spine's metrics and every ready package's own values. */
  readonly metrics: Effect.Effect<Metrics.MetricsSnapshot>
  /** Summary, health, metrics, packages and timeline, as plain JSON. */
  readonly report: Effect.Effect<Report.Report>
  /**
   * Adds a package to the running spine: validated against the running graph
   * (its dependencies must be ready), started in the spine's scope,
   * health-checked (it returns once the first check has a result), released
   * in order at shutdown. It takes the place of a stopped package of the same
   * name, or of a removed one that provided the same service. A required
   * package that fails to start stays listed, `failed`, but out of readiness;
   * an optional one degrades as at boot. Changes run one at a time; shutdown
   * interrupts one still starting or waiting for its first check.
   */
  readonly add: (pkg: Package.Any) => Effect.Effect<void, SpineError | DependencyNotRunning | SpineNotRunning>
  /**
   * Stops a package and takes it, and whatever depends on it, out of
   * readiness; refuses while packages depending on it run, unless `cascade`,
   * which stops them first, in reverse order. The release, once begun, is
   * not interrupted.
   */
  readonly remove: (
    name: string,
    options?: { readonly cascade?: boolean | undefined }
  ) => Effect.Effect<void, PackageNotFound | PackageHasDependents | SpineNotRunning>
  /**
   * Flips a feature flag: its packages, and what depends on them, start or
   * stop. Turning a flag on either starts them all, and returns once their
   * first checks have a result, or, on a failure, leaves the flag off and
   * releases what had started.
   */
  readonly setFeature: (flag: string, enabled: boolean) => Effect.Effect<void, SpineError | SpineNotRunning>
  /**
   * Turns readiness to `fail` (phase `stopping`) at once, before anything is
   * released: a load balancer stops sending traffic while the spine drains.
   * Runtime changes are refused from then on, and one still starting
   * packages is interrupted.
   */
  readonly beginShutdown: Effect.Effect<void>
}

/**
 * The spine service.
 *
 * @since 0.1.0
 * @category tags
 */
export class Spine extends Context.Tag("@auth-spine/core/Spine")<Spine, SpineService>() {}

/**
 * Where a spine announces its service as soon as it exists, after validation
 * and before any package starts, to a layer built below it: how
 * `SpineHttp.layer` answers probes while the spine boots. `Spine.layer` calls
 * `announce` once when this service is in its context.
 *
 * @since 0.1.0
 * @category tags
 */
export class Announce extends Context.Tag("@auth-spine/core/Spine/Announce")<
  Announce,
  { readonly announce: (spine: SpineService) => void }
>() {}

/**
 * Effects run at the edges of the lifecycle. Each has the `Spine` service,
 * and runs within the default init timeout at boot (past it, the boot fails
 * with `HookTimeout`) and the default stop timeout at shutdown (past it, it is
 * logged and the shutdown goes on).
 *
 * @since 0.1.0
 * @category models
 */
export interface Hooks extends Plugin.Hooks<Spine> {}

/**
 * The options of `Spine.layer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<
  Packages extends ReadonlyArray<Package.Any>,
  Plugins extends ReadonlyArray<Plugin.Plugin<ReadonlyArray<Package.Any>, Spine>> = []
> {
  readonly packages: Packages
  /** Plugins, initialized after the packages, in this order. */
  readonly plugins?: Plugins | undefined
  readonly hooks?: Hooks | undefined
  /** Handlers for extension points, before the plugins' own. */
  readonly handlers?: ReadonlyArray<Plugin.Handler> | undefined
  /** Feature flags; a flag not listed is off. */
  readonly features?: Readonly<Record<string, boolean | Config.Config<boolean>>> | undefined
  /** Scheduled health checks. */
  readonly health?: Health.Options | undefined
  /** Defaults for packages that set none. */
  readonly defaults?: {
    /** Default 30 seconds. */
    readonly initTimeout?: Duration.DurationInput | undefined
    /** Default 10 seconds. */
    readonly stopTimeout?: Duration.DurationInput | undefined
    /** Default: no retry. */
    readonly initRetry?: Schedule.Schedule<unknown, unknown> | undefined
  } | undefined
}

/**
 * The layer of a spine over a list of packages: `Spine` plus the service of
 * every required, non-feature-gated package. Optional and feature-gated
 * services are in the context only when started: read them with
 * `Effect.serviceOption(Tag)`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type SpineLayer<
  Packages extends ReadonlyArray<Package.Any>,
  Plugins extends ReadonlyArray<Plugin.Any> = []
> = Layer.Layer<
  Spine | Plugin.Extensions | Package.Provided<Packages[number] | Plugin.Packages<Plugins[number]>>,
  SpineError,
  Exclude<Package.Requirements<Packages[number] | Plugin.Packages<Plugins[number]>>, Plugin.Extensions>
>

/**
 * Validates the packages, reads every configuration, then starts each package
 * as soon as its dependencies are ready. When the layer's scope closes (normal
 * exit, failed boot or interruption), packages are released dependents first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Spine } from "@auth-spine/core"
 *
 * const AppLive = Spine.layer({ packages: [ConfigPackage, DatabasePackage] })
 * const program = Effect.gen(function*() {
 *   const spine = yield* Spine.Spine
 *   console.log(yield* spine.timeline)
 * })
 * Effect.runPromise(Effect.provide(program, AppLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <
  const Packages extends ReadonlyArray<Package.Any>,
  const Plugins extends ReadonlyArray<Plugin.Plugin<ReadonlyArray<Package.Any>, Spine>> = []
>(
  options: Options<Packages, Plugins>
): SpineLayer<Packages, Plugins> =>
  Layer.scopedContext(Effect.suspend(() => {
    const plugins = options.plugins ?? []
    const packages = [...options.packages, ...plugins.flatMap((plugin) => plugin.packages)]
    const handlers = [...(options.handlers ?? []), ...plugins.flatMap((plugin) => plugin.handlers)]
    const extensions = Plugin.extensions(handlers)
    // validation, configuration, hooks and every package start, traced as one `spine.boot` span
    const booting = Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      const mistake = spineOptions.check(options) ?? lifecycle.duplicateOf(plugins, handlers)
      if (mistake !== undefined) return yield* Effect.fail(mistake)
      const context = Context.add(yield* Effect.context<never>(), Plugin.Extensions, extensions)
      const resolved = yield* Either.mapLeft(
        graph.resolve(packages, context),
        (error) => lifecycle.withRegistrars(error, options.packages, plugins)
      )
      const { enabled, loaded } = yield* loader.load(packages, options.features ?? {})
      const runtime = yield* scheduler.make({
        startedAt,
        resolved,
        layers: loaded,
        features: enabled,
        defaults: {
          initTimeout: Duration.decode(options.defaults?.initTimeout ?? "30 seconds"),
          stopTimeout: Duration.decode(options.defaults?.stopTimeout ?? "10 seconds"),
          initRetry: options.defaults?.initRetry
        }
      })
      const health = yield* monitor.make(runtime, monitor.settings(options.health))
      const manager: manage.Manager = {
        runtime,
        health,
        context,
        lock: yield* Effect.makeSemaphore(1),
        stopping: yield* Deferred.make<void>(),
        taken: new Map()
      }
      const service = makeService(manager)
      const announce = Context.getOption(context, Announce)
      if (Option.isSome(announce)) announce.value.announce(service)
      const hooks = lifecycle.make({
        hooks: options.hooks ?? {},
        plugins,
        provide: (hook) => Effect.provideService(hook, Spine, service),
        initTimeout: runtime.defaults.initTimeout,
        stopTimeout: runtime.defaults.stopTimeout,
        // `/livez` answers 503 while the hook unwinds, as while an aborted boot's starts do
        aborting: scheduler.setPhase(runtime, "stopping")
      })
      yield* Effect.addFinalizer((exit) =>
        Effect.gen(function*() {
          yield* manage.stop(manager)
          yield* manage.settled(manager)
          yield* monitor.stop(health)
          // a failed or interrupted boot (in the scheduler or a hook) leaves packages that never began to start
          if (Exit.isFailure(exit)) yield* scheduler.skipNotStarted(runtime, exit.cause)
          yield* hooks.shutdown("beforeShutdown")
          yield* scheduler.release(runtime, exit)
          yield* hooks.shutdown("afterShutdown")
          yield* scheduler.setPhase(runtime, "stopped")
          yield* scheduler.leave(runtime)
        }).pipe(Effect.withSpan("spine.shutdown", { root: true }))
      )
      yield* hooks.boot("beforeInit")
      yield* scheduler.boot(runtime)
      runtime.booted = true
      yield* monitor.join(health, runtime.entries)
      yield* hooks.boot("onInitialize")
      yield* hooks.boot("afterInit")
      yield* scheduler.setPhase(runtime, "ready")
      return { runtime, health, service }
    }).pipe(Effect.withSpan("spine.boot", { attributes: { "spine.packages": packages.length } }))
    return Effect.gen(function*() {
      const { health, runtime, service } = yield* booting
      yield* monitor.start(health)
      const services = scheduler.services(runtime)
      services.set(Spine.key, service)
      services.set(Plugin.Extensions.key, extensions)
      return Context.unsafeMake<
        Spine | Plugin.Extensions | Package.Provided<Packages[number] | Plugin.Packages<Plugins[number]>>
      >(services)
    }).pipe(Effect.provideService(Plugin.Extensions, extensions))
  }))

const makeService = (manager: manage.Manager): SpineService => {
  const { health, runtime } = manager
  const infosOf = () => runtime.entries.map((entry) => Package.info(entry.pkg))
  const statistics = Effect.sync(() =>
    Registry.statistics(
      runtime.entries.map((entry) => ({ info: Package.info(entry.pkg), state: entry.state })),
      monitor.system(health)
    )
  )
  const metrics = Effect.gen(function*() {
    // a package's own values are extras: one that fails, or takes longer than a health check may, is logged and
    // left out, not the whole snapshot
    const { concurrency, timeout } = health.settings
    const reported = yield* Effect.forEach(runtime.entries, (entry) => {
      const own = entry.pkg.metrics
      if (own === undefined || entry.state !== "ready" || Option.isNone(entry.service)) return Effect.succeedNone
      // bounded wherever it runs (in an uninterruptible region too) and whatever it does: interruptible, and
      // disconnected, so that one ignoring interruption is left behind at its timeout
      const service = entry.service.value
      return Effect.suspend(() => asEffect(own(service), "metrics")).pipe(
        Effect.disconnect,
        Effect.interruptible,
        Effect.timeoutFail({ duration: timeout, onTimeout: () => `timed out after ${Duration.format(timeout)}` }),
        Effect.flatMap((values) => finiteValues(entry.pkg.name, values)),
        Effect.map((values) => Option.some([entry.pkg.name, values] as const)),
        Effect.catchAllCause((cause) =>
          Effect.as(Effect.logWarning(`metrics of package "${entry.pkg.name}" failed`, cause), Option.none())
        )
      )
    }, { concurrency })
    // after the wait on packages' own values: the spine's series then agree with the rest of a report
    const { application, spine } = yield* Metrics.values(new Set(runtime.byName.keys()))
    return { spine, application, packages: Object.fromEntries(Arr.getSomes(reported)) }
  })
  return Spine.of({
    packages: Effect.sync(infosOf),
    state: (name) => Effect.map(scheduler.entryOf(runtime, name), (entry) => entry.state),
    phase: Effect.sync(() => runtime.phase),
    events: S.fromPubSub(runtime.events).pipe(
      S.takeUntil((event) => event._tag === "SpinePhaseChanged" && event.to === "stopped")
    ),
    timeline: Effect.sync(() => runtime.entries.map(toTimelineEntry)),
    graph: Effect.sync(() => graph.viewOf(runtime.resolved)),
    isFeatureEnabled: (flag) => Effect.sync(() => runtime.features.get(flag) === true),
    service: <I, S>(tag: Context.Tag<I, S>) =>
      Effect.sync(() => scheduler.serviceOf(runtime, tag.key) as Option.Option<S>),
    health: Effect.sync(() => monitor.system(health)),
    checkHealth: (name) =>
      Effect.suspend(() =>
        name === undefined
          ? monitor.checkAll(health)
          : Effect.flatMap(scheduler.entryOf(runtime, name), (entry) => monitor.checkAll(health, [entry]))
      ).pipe(Effect.map(() => monitor.system(health))),
    statistics,
    metrics,
    report: Effect.gen(function*() {
      // first, as it waits on packages' own metrics: the rest is read after, at one moment, so that it agrees
      const snapshot = yield* metrics
      // plain JSON: a check's details as JSON writes them, and whatever JSON cannot carry made plain
      const system = monitor.withPlainDetails(monitor.system(health))
      const stats = yield* statistics
      return {
        summary: {
          totalPackages: stats.total,
          healthyPackages: stats.healthy,
          overallHealth: system.status,
          initialized: runtime.phase === "ready",
          ...(runtime.bootDurationMs === undefined ? {} : { bootDurationMs: runtime.bootDurationMs })
        },
        health: system,
        metrics: snapshot,
        packages: runtime.entries.map((entry) => {
          // own entries only: a package named "constructor" that has no health must not find Object's
          const packageHealth = Object.hasOwn(system.packages, entry.pkg.name)
            ? system.packages[entry.pkg.name]
            : undefined
          return {
            ...Package.info(entry.pkg),
            state: entry.state,
            ...(packageHealth === undefined ? {} : { health: packageHealth })
          }
        }),
        timeline: runtime.entries.map(toTimelineEntry)
      }
    }),
    beginShutdown: manage.stop(manager),
    add: (pkg) => manage.add(manager, pkg),
    remove: (name, options) => manage.remove(manager, name, options),
    setFeature: (flag, enabled) => manage.setFeature(manager, flag, enabled)
  })
}

/**
 * A copy of a package's own values (the package may go on changing its object) less those JSON cannot carry
 * (NaN, infinities, anything not a number), logged.
 */
const finiteValues = (name: string, values: Readonly<Record<string, number>>) => {
  const entries = Object.entries(values)
  const kept = entries.filter(([, value]) => typeof value === "number" && Number.isFinite(value))
  const copy = Object.fromEntries(kept.map(([key, value]) => [key, jsonNumber(value)]))
  if (kept.length === entries.length) return Effect.succeed(copy)
  const dropped = entries.filter((entry) => !kept.includes(entry)).map(([key]) => `"${key}"`)
  return Effect.as(
    Effect.logWarning(`metrics of package "${name}": ${dropped.join(", ")} left out, not finite numbers`),
    copy
  )
}

const date = (millis: number | undefined) => millis === undefined ? undefined : new Date(millis)

const toTimelineEntry = (entry: scheduler.Entry): TimelineEntry => ({
  package: entry.pkg.name,
  state: entry.state,
  attempts: entry.attempts,
  startedAt: date(entry.startedAt),
  readyAt: date(entry.readyAt),
  durationMs: entry.durationMs,
  stoppedAt: date(entry.stoppedAt),
  stopDurationMs: entry.stopDurationMs,
  error: entry.error
})

/**
 * The options of `runMain`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MainOptions<R = never, E = never> {
  /**
   * Between readiness turning `fail` and the release, for load balancers to notice. Default 0. One that is not a
   * duration fails `main` with `InvalidOptions` before anything starts.
   */
  readonly shutdownDelay?: Duration.DurationInput | undefined
  /** Print the boot and shutdown tables. Default `true`. */
  readonly tables?: boolean | undefined
  /** The application's own work, run after the boot table with the layer's services. */
  readonly program?: Effect.Effect<unknown, E, R> | undefined
  /** `false`: end (and release everything) when `program` ends, instead of waiting for a signal. Default `true`. */
  readonly keepAlive?: boolean | undefined
}

/**
 * The boot, the wait for SIGINT or SIGTERM and the shutdown, as an effect:
 * what `runMain` runs. Interrupting it turns readiness to `fail` at once,
 * waits `shutdownDelay`, then interrupts `program` and releases in reverse
 * order (SIGTERM is ignored meanwhile); interrupted during the boot, it
 * releases what had been built. A boot failure, or a failure of `program`, is
 * printed with its reason, and is `main`'s failure even if a signal comes
 * while it releases.
 *
 * @since 0.1.0
 * @category running
 */
export const main = <ROut, E, E2 = never>(
  appLayer: Layer.Layer<Spine | ROut, E>,
  options: MainOptions<Spine | ROut, E2> = {}
): Effect.Effect<void, E | E2 | InvalidOptions> => {
  const mistake = spineOptions.checkShutdownDelay(options.shutdownDelay)
  if (mistake !== undefined) {
    return Effect.zipRight(Console.error(`Not started: ${mistake.message}`), Effect.fail(mistake))
  }
  const tables = options.tables ?? true
  const program = options.program
  // the scope also closes when `main` is interrupted during the boot: what was built below the spine is released.
  // Interruptible only in the build and the run: a signal at any other moment (a failed boot releasing, say) waits
  // for them, so a failure is still reported as one and the drain delay and the tables are never skipped
  return Effect.acquireUseRelease(
    Scope.make(),
    (scope): Effect.Effect<void, E | E2> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const built = yield* Effect.exit(restore(Layer.buildWithScope(appLayer, scope)))
          if (Exit.isFailure(built)) {
            if (Cause.isInterruptedOnly(built.cause)) return yield* built
            yield* Scope.close(scope, built)
            yield* Console.error(`Boot failed: ${reasonOf(built.cause)}\nEverything that had started was released.`)
            return yield* built
          }
          const context = built.value
          const spine = Context.get(context, Spine)
          // the shutdown interrupts the work only once the boot table is printed, whole, even when a signal comes
          // while it is made (the report waits on packages' metrics, each within the check timeout)
          const printed = yield* Deferred.make<void>()
          const bootTable = tables
            ? Effect.flatMap(spine.report, (report) => Console.log(Report.toText(report)))
            : Effect.void
          let stopping = false
          const work = Effect.gen(function*() {
            yield* Effect.ensuring(bootTable, Deferred.done(printed, Exit.void))
            // a signal came while the table was made: the program does not start at all
            if (stopping) return
            if (program !== undefined) yield* Effect.provide(program, context)
            if (options.keepAlive ?? true) yield* Effect.never
          })
          // in the app's scope, not a child of this fiber, which an interruption of `main` would interrupt at once:
          // the work runs on through readiness turning `fail` and the drain delay
          const fiber = yield* Effect.forkIn(Effect.interruptible(work), scope)
          const joined = yield* Effect.exit(restore(Fiber.join(fiber)))
          return yield* Effect.gen(function*() {
            stopping = true
            const running = (yield* spine.timeline).flatMap((entry) =>
              entry.state === "starting" || entry.state === "ready" || entry.state === "stopping" ? [entry.package] : []
            )
            yield* spine.beginShutdown
            if (Exit.isInterrupted(joined)) yield* Effect.sleep(options.shutdownDelay ?? 0)
            yield* Deferred.await(printed)
            const ended = yield* Fiber.interrupt(fiber)
            yield* Scope.close(scope, Exit.void)
            if (tables) yield* Console.log(`\n${Report.toShutdownText(yield* spine.report, running)}`)
            // a change the shutdown refused is excused only when a signal stopped the program
            const excused = (cause: Cause.Cause<unknown>) =>
              Cause.isInterruptedOnly(cause) || (Exit.isInterrupted(joined) && refusedByShutdown(cause))
            if (Exit.isFailure(ended) && !excused(ended.cause)) {
              yield* Console.error(`Program failed: ${reasonOf(ended.cause)}\nEverything was released.`)
              return yield* ended
            }
            return yield* joined
          }).pipe(ignoringSigterm)
        })
      ),
    (scope, exit) => Scope.close(scope, exit)
  )
}

/**
 * Whether a program stopped by the shutdown ended as the shutdown made it: interrupted, or refused a runtime
 * change with `SpineNotRunning` because the spine had begun to stop (an `add` in flight when the signal came).
 */
const refusedByShutdown = (cause: Cause.Cause<unknown>) =>
  Chunk.isEmpty(Cause.defects(cause)) &&
  Chunk.every(Cause.failures(cause), (error) => error instanceof SpineNotRunning)

/**
 * Runs `effect` with SIGTERM ignored: a second SIGTERM (a process manager
 * relaying it to the group) must not kill a graceful shutdown half way. A
 * second SIGINT (Ctrl-C twice) still quits at once.
 */
const ignoringSigterm = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const ignore = () => {}
      process.on("SIGTERM", ignore)
      return ignore
    }),
    () => effect,
    (ignore) => Effect.sync(() => void process.off("SIGTERM", ignore))
  )

/**
 * Runs an application as a main program on `NodeRuntime.runMain`: boots,
 * prints the boot table and runs until SIGINT or SIGTERM; then readiness
 * turns `fail`, the drain delay passes, packages are released in reverse
 * order within their stop timeouts, the shutdown table is printed and the
 * process exits 0. A failed boot prints what failed, releases what had
 * started and exits 1.
 *
 * @since 0.1.0
 * @category running
 */
export const runMain = <ROut, E, E2 = never>(
  appLayer: Layer.Layer<Spine | ROut, E>,
  options: MainOptions<Spine | ROut, E2> = {}
): void =>
  // SIGTERM ignored from the start: after the first, the runtime no longer listens, and a second one (a process
  // manager relaying it) would kill the process before an interrupted boot or the program had unwound
  NodeRuntime.runMain(ignoringSigterm(main(appLayer, options)), {
    disableErrorReporting: true,
    // exit once `main` ends and its output is written (however long a slow reader takes): a finalizer left behind
    // past its stop timeout must not keep the process alive, and `process.exit` drops what a pipe has not taken yet
    teardown: (exit) => {
      const code = Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : 0
      process.exitCode = code
      process.stdout.write("", () => process.stderr.write("", () => process.exit(code)))
    }
  })
