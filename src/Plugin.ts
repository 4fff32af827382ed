/**
 * Plugins and extension points. A plugin contributes packages, lifecycle
 * hooks and handlers; `onInitialize` runs once every package has started.
 * An extension point is a typed hook a package declares (an auth package's
 * `beforeAuth(credentials)`, say) and runs with `Plugin.run`; plugins and the
 * spine's options register handlers, which run in registration order. One
 * mechanism serves every such hook.
 *
 * @since 0.1.0
 */
import type { Cause } from "effect"
import { Context, Data, Effect } from "effect"
import { reasonOf } from "./internal/cause.js"
import type * as Package from "./Package.js"

/**
 * A typed extension point: handlers receive an `A`.
 *
 * @since 0.1.0
 * @category models
 */
export interface HookPoint<in out A> {
  readonly _tag: "HookPoint"
  readonly name: string
  /** Phantom: the type of what handlers receive. */
  readonly _A: (a: A) => A
}

/**
 * Declares an extension point.
 *
 * @example
 * ```ts
 * import { Plugin } from "@auth-spine/core"
 *
 * interface Credentials { readonly user: string; readonly password: string }
 * export const BeforeAuth = Plugin.hook<Credentials>("auth/beforeAuth")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const hook = <A>(name: string): HookPoint<A> => ({ _tag: "HookPoint", name, _A: (a) => a })

/**
 * A handler registered for an extension point. Failing rejects: the run
 * stops and fails with `HookRejected`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Handler {
  readonly hook: string
  readonly name: string
  readonly run: (input: unknown) => Effect.Effect<unknown, unknown>
}

/**
 * Registers `handler` under `name` for the extension point.
 *
 * @since 0.1.0
 * @category constructors
 */
export const handle = <A>(
  point: HookPoint<A>,
  name: string,
  handler: (input: A) => Effect.Effect<unknown, unknown>
): Handler => ({
  hook: point.name,
  name,
  // handlers are found by the point's name, so the input of a run is the point's `A`
  run: (input) => Effect.suspend(() => handler(input as A))
})

/**
 * A handler rejected (failed or died); names the extension point and the
 * handler.
 *
 * @since 0.1.0
 * @category errors
 */
export class HookRejected extends Data.TaggedError("HookRejected")<{
  readonly hook: string
  readonly handler: string
  readonly cause: Cause.Cause<unknown>
  readonly reason: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Handler "${this.handler}" of ${this.hook} rejected: ${this.reason}`
  }
}

/**
 * The registered handlers, provided by the spine to every package's layer
 * (list it in `requires` to use it) and to the application.
 *
 * @since 0.1.0
 * @category tags
 */
export class Extensions extends Context.Tag("@auth-spine/core/Extensions")<Extensions, {
  readonly handlers: (hook: string) => ReadonlyArray<Handler>
}>() {}

/**
 * Runs every handler of an extension point in registration order; the first
 * that rejects stops the run.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <A>(point: HookPoint<A>, input: A): Effect.Effect<void, HookRejected, Extensions> =>
  Effect.flatMap(
    Extensions,
    (extensions) =>
      Effect.forEach(extensions.handlers(point.name), (handler) =>
        Effect.catchAllCause(handler.run(input), (cause) =>
          Effect.fail(
            new HookRejected({ hook: point.name, handler: handler.name, cause, reason: reasonOf(cause) })
          )), { discard: true })
  )

/**
 * Builds the `Extensions` service over handlers in registration order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const extensions = (handlers: ReadonlyArray<Handler>): Context.Tag.Service<Extensions> => {
  const byHook = new Map<string, Array<Handler>>()
  for (const handler of handlers) {
    const list = byHook.get(handler.hook) ?? []
    list.push(handler)
    byHook.set(handler.hook, list)
  }
  return { handlers: (hook) => byHook.get(hook) ?? [] }
}

/**
 * Lifecycle hooks a plugin contributes; each runs with the `Spine` service
 * (typed loosely here to keep this module free of `Spine`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Hooks<R> {
  /** After validation and configuration, before any package starts. */
  readonly beforeInit?: Effect.Effect<unknown, never, R> | undefined
  /** After every package has started (or degraded). */
  readonly afterInit?: Effect.Effect<unknown, never, R> | undefined
  /** Before any package stops. */
  readonly beforeShutdown?: Effect.Effect<unknown, never, R> | undefined
  /** After every package has stopped. */
  readonly afterShutdown?: Effect.Effect<unknown, never, R> | undefined
}

/**
 * A plugin: packages, hooks and handlers it contributes, and an effect run
 * after every package has started.
 *
 * @since 0.1.0
 * @category models
 */
export interface Plugin<out Packages extends ReadonlyArray<Package.Any>, out R> {
  readonly _tag: "Plugin"
  readonly name: string
  readonly packages: ReadonlyArray<Package.Any>
  /** Phantom: the contributed packages' types. */
  readonly _Packages: (_: never) => Packages
  readonly hooks: Hooks<R>
  readonly handlers: ReadonlyArray<Handler>
  /** Once every package has started, within the default init timeout (past it, the boot fails with `HookTimeout`). */
  readonly onInitialize: Effect.Effect<unknown, never, R> | undefined
}

/**
 * Any plugin, for constraints over lists of plugins.
 *
 * @since 0.1.0
 * @category models
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = Plugin<ReadonlyArray<Package.Any>, any>

/**
 * The packages a list of plugins contributes.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Packages<P> = P extends Plugin<infer Packages, infer _R> ? Packages[number] : never

/**
 * Makes a plugin.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const Packages extends ReadonlyArray<Package.Any> = [], R = never>(options: {
  readonly name: string
  readonly packages?: Packages | undefined
  readonly hooks?: Hooks<R> | undefined
  readonly handlers?: ReadonlyArray<Handler> | undefined
  readonly onInitialize?: Effect.Effect<unknown, never, R> | undefined
}): Plugin<Packages, R> => ({
  _tag: "Plugin",
  name: options.name,
  packages: options.packages ?? [],
  _Packages: (_) => _,
  hooks: options.hooks ?? {},
  handlers: options.handlers ?? [],
  onInitialize: options.onInitialize
})
