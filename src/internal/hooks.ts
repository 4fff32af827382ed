/**
 * The lifecycle hooks of the spine's options and of its plugins: run in
 * order, each with the `Spine` service and within a limit (the default init
 * timeout at boot, the default stop timeout at shutdown). Past the limit, or
 * when the boot is interrupted, a hook is interrupted and waited for while it
 * unwinds, at most the stop timeout, as a package's start is: a hook's own
 * cleanup may still use the packages, which are released only after it.
 */
import type { Duration } from "effect"
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import type * as Package from "../Package.js"
import type * as Plugin from "../Plugin.js"
import { DuplicateHandler, DuplicatePackage, DuplicatePlugin, HookFailed, HookTimeout } from "../SpineError.js"
import { reasonOf } from "./cause.js"

type Hook<R> = Effect.Effect<unknown, never, R>

export interface Hooks {
  /** The hooks of a boot moment, in order; the first that dies or times out fails the boot. */
  readonly boot: (
    moment: "beforeInit" | "onInitialize" | "afterInit"
  ) => Effect.Effect<void, HookTimeout | HookFailed>
  /** The hooks of a shutdown moment, in order; one that dies or times out is logged, and the rest run. */
  readonly shutdown: (moment: "beforeShutdown" | "afterShutdown") => Effect.Effect<void>
}

export const make = <R>(options: {
  readonly hooks: Plugin.Hooks<R>
  readonly plugins: ReadonlyArray<Plugin.Plugin<ReadonlyArray<Package.Any>, R>>
  /** Provides what the hooks need (the `Spine` service). */
  readonly provide: (hook: Hook<R>) => Hook<never>
  readonly initTimeout: Duration.Duration
  readonly stopTimeout: Duration.Duration
  /** Runs when a boot hook is interrupted or times out, before it unwinds: the boot is failing from then on. */
  readonly aborting: Effect.Effect<void>
}): Hooks => {
  const { aborting, initTimeout, plugins, provide, stopTimeout } = options
  const owners: ReadonlyArray<readonly [plugin: string | undefined, hooks: Plugin.Hooks<R>]> = [
    [undefined, options.hooks],
    ...plugins.map((plugin) => [plugin.name, plugin.hooks] as const)
  ]
  const hooksOf = (moment: HookTimeout["hook"]): ReadonlyArray<readonly [string | undefined, Hook<R>]> =>
    moment === "onInitialize"
      ? plugins.flatMap((plugin) => plugin.onInitialize === undefined ? [] : [[plugin.name, plugin.onInitialize]])
      : owners.flatMap(([plugin, hooks]) => hooks[moment] === undefined ? [] : [[plugin, hooks[moment]]])

  /**
   * The hook's exit, or `None` if it ran past `timeout` (it is then interrupted and has unwound, or been left).
   * `stopping` runs first when it is interrupted or times out.
   */
  const within = (hook: Hook<R>, timeout: Duration.Duration, stopping: Effect.Effect<void>) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        // a fiber of its own, interruptible even when this runs in a finalizer, and a daemon: one that ignores
        // interruption is left behind, which a parent fiber would wait for when it ends
        const fiber = yield* Effect.forkDaemon(Effect.interruptible(provide(hook)))
        const stop = Effect.zipRight(stopping, unwind(fiber))
        const exit = yield* restore(awaitAtMost(fiber, timeout)).pipe(Effect.onInterrupt(() => stop))
        if (Option.isNone(exit)) yield* stop
        return exit
      })
    )
  /** Waits for the fiber at most `timeout`; the wait, not this fiber, is what the timeout interrupts. */
  const awaitAtMost = (fiber: Fiber.Fiber<unknown>, timeout: Duration.Duration) =>
    Effect.timeoutOption(Effect.interruptible(Fiber.await(fiber)), timeout)
  const unwind = (fiber: Fiber.Fiber<unknown>) =>
    Effect.zipRight(Fiber.interruptFork(fiber), awaitAtMost(fiber, stopTimeout))

  return {
    boot: (moment) =>
      Effect.forEach(hooksOf(moment), ([plugin, hook]) =>
        Effect.flatMap(
          within(hook, initTimeout, aborting),
          Option.match({
            onNone: (): Effect.Effect<void, HookTimeout | HookFailed> =>
              Effect.fail(new HookTimeout({ hook: moment, plugin, timeout: initTimeout })),
            // interrupted only, it passes the interruption on; else it died, which a typed error tells
            onSome: (exit) =>
              Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)
                ? Exit.asVoid(exit)
                : Effect.fail(new HookFailed({ hook: moment, plugin, cause: exit.cause, reason: reasonOf(exit.cause) }))
          })
        ), { discard: true }),
    shutdown: (moment) =>
      Effect.forEach(
        hooksOf(moment),
        ([plugin, hook]) =>
          Effect.flatMap(within(hook, stopTimeout, Effect.void), (exit) => {
            if (Option.isNone(exit)) {
              const timedOut = new HookTimeout({ hook: moment, plugin, timeout: stopTimeout })
              return Effect.logError(`${timedOut.message}; interrupted, the shutdown goes on`)
            }
            return Exit.isFailure(exit.value)
              ? Effect.logError(`${moment} hook of ${ownerOf(plugin)} failed`, exit.value.cause)
              : Effect.void
          }),
        { discard: true }
      )
  }
}

const ownerOf = (plugin: string | undefined) => plugin === undefined ? "the spine's options" : `plugin "${plugin}"`

/**
 * A validation error, with who registered the package when it is a name registered twice and a plugin
 * registered it: the name alone does not say which plugin to look at.
 */
export const withRegistrars = <E>(
  error: E,
  own: ReadonlyArray<Package.Any>,
  plugins: ReadonlyArray<{ readonly name: string; readonly packages: ReadonlyArray<Package.Any> }>
): E | DuplicatePackage => {
  if (!(error instanceof DuplicatePackage)) return error
  const fromPlugins = plugins.flatMap((plugin) =>
    plugin.packages.some((pkg) => pkg.name === error.package) ? [ownerOf(plugin.name)] : []
  )
  if (fromPlugins.length === 0) return error
  const fromOptions = own.some((pkg) => pkg.name === error.package) ? [ownerOf(undefined)] : []
  return new DuplicatePackage({ package: error.package, registeredBy: [...fromOptions, ...fromPlugins] })
}

/** The first plugin name, or handler name on one extension point, registered twice. */
export const duplicateOf = (
  plugins: ReadonlyArray<{ readonly name: string }>,
  handlers: ReadonlyArray<Plugin.Handler>
): DuplicatePlugin | DuplicateHandler | undefined => {
  const names = new Set<string>()
  for (const { name } of plugins) {
    if (names.has(name)) return new DuplicatePlugin({ plugin: name })
    names.add(name)
  }
  const keys = new Set<string>()
  for (const { hook, name } of handlers) {
    // JSON: no hook and handler names can join into another pair's key
    const key = JSON.stringify([hook, name])
    if (keys.has(key)) return new DuplicateHandler({ hook, handler: name })
    keys.add(key)
  }
  return undefined
}
