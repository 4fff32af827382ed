/**
 * Where packages' configuration comes from: a `ConfigProvider` built from
 * environment variables, a JSON file and a per-environment overlay of it
 * (`config.production.json` beside `config.json`, chosen by `NODE_ENV`), and
 * defaults. Precedence: environment > overlay > base file > defaults. Every
 * package reads through it, so a misconfiguration from any source is one
 * `InvalidConfig` listing every issue with its package and key.
 *
 * @since 0.1.0
 */
import { ConfigError, ConfigProvider, ConfigProviderPathPatch as PathPatch, Data, Effect, HashSet, Layer } from "effect"
import { isRecord } from "effect/Predicate"
import { existsSync, readFileSync } from "node:fs"
import { basename, dirname, extname, join } from "node:path"

/**
 * A configuration file could not be read or parsed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigFileError extends Data.TaggedError("ConfigFileError")<{
  readonly path: string
  readonly reason: string
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `Configuration file ${this.path}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Environment variables; default `process.env`. Nested keys join with `_` (`DB_URL` for `DB.URL`). One that is
   * empty, or only spaces, counts as unset.
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** A JSON file of base values; it must exist when given. */
  readonly file?: string | undefined
  /** The environment whose overlay applies; default `NODE_ENV`, else (unset or empty) `"development"`. */
  readonly environment?: string | undefined
  /** Values used when no source has a key. */
  readonly defaults?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The path of the overlay of `file` for `environment`: `config.json` and
 * `production` give `config.production.json`.
 *
 * @since 0.1.0
 * @category paths
 */
export const overlayPath = (file: string, environment: string): string => {
  const extension = extname(file)
  return join(dirname(file), `${basename(file, extension)}.${environment}${extension}`)
}

/** Reads a JSON file of values: an object, or a `ConfigFileError` that never quotes the file's text. */
const readJson = (path: string) =>
  Effect.gen(function*() {
    const text = yield* Effect.try({
      try: () => readFileSync(path, "utf8"),
      catch: (cause) => new ConfigFileError({ path, reason: cause instanceof Error ? cause.message : String(cause) })
    })
    const json = yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      // the parser's message quotes the text around the error, secrets included: give the position only
      catch: (cause) => new ConfigFileError({ path, reason: `not valid JSON${at(text, cause)}` })
    })
    if (!isRecord(json)) return yield* new ConfigFileError({ path, reason: "must hold a JSON object" })
    return json
  })

const at = (text: string, cause: unknown) => {
  const position = /position (\d+)/.exec(cause instanceof Error ? cause.message : "")
  if (position === null) return ""
  const before = text.slice(0, Number(position[1])).split("\n")
  return ` (line ${before.length}, column ${before[before.length - 1].length + 1})`
}

/** `over` laid on `base`: objects merge key by key, anything else (arrays included) replaces. */
const overlay = (base: unknown, over: unknown): unknown => {
  if (!isRecord(base) || !isRecord(over)) return over
  const merged: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) merged[key] = overlay(base[key], value)
  return merged
}

/**
 * Each key from `first` when it has one, else from `second`. Unlike
 * `ConfigProvider.orElse`, a value `first` has but cannot parse is an error,
 * not a reason to look further, and a list `first` has replaces `second`'s
 * instead of being merged with it index by index.
 */
const firstWithKey = (
  first: ConfigProvider.ConfigProvider,
  has: (path: ReadonlyArray<string>) => boolean,
  second: ConfigProvider.ConfigProvider
) => {
  const a = first.flattened
  const b = second.flattened
  const none = () => HashSet.empty<string>()
  return ConfigProvider.fromFlat(ConfigProvider.makeFlat({
    load: (path, config, split) =>
      Effect.catchAll(a.load(path, config, split), (missing) =>
        ConfigError.isMissingDataOnly(missing)
          ? Effect.mapError(b.load(path, config, split), (error) => ConfigError.Or(missing, error))
          : Effect.fail(missing)),
    enumerateChildren: (path) =>
      has(path) ? a.enumerateChildren(path) : Effect.zipWith(
        Effect.orElseSucceed(a.enumerateChildren(path), none),
        Effect.orElseSucceed(b.enumerateChildren(path), none),
        (x, y) => HashSet.union(x, y)
      ),
    patch: PathPatch.empty
  }))
}

/**
 * Builds the provider. A missing overlay is not an error: most environments
 * have none. The files and the defaults are merged first (objects key by key,
 * a list as a whole), then the environment goes over them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const provider = (options: Options = {}): Effect.Effect<ConfigProvider.ConfigProvider, ConfigFileError> =>
  Effect.gen(function*() {
    const env = options.env ?? process.env
    const environment = options.environment || env.NODE_ENV || "development"
    let values: unknown = options.defaults ?? {}
    if (options.file !== undefined) {
      values = overlay(values, yield* readJson(options.file))
      const path = overlayPath(options.file, environment)
      if (existsSync(path)) values = overlay(values, yield* readJson(path))
    }
    // an empty variable (`PORT=`) is unset, as the OpenTelemetry variables are: read, it would hide the files'
    // value, and Effect reads "" as the number 0
    const variables = new Map(
      Object.entries(env).flatMap(([key, value]) => value === undefined || value.trim() === "" ? [] : [[key, value]])
    )
    const fromEnv = ConfigProvider.fromMap(variables, { pathDelim: "_" })
    return firstWithKey(fromEnv, (path) => variables.has(path.join("_")), ConfigProvider.fromJson(values))
  })

/**
 * A layer that installs the provider for everything built after it:
 * `Spine.layer(...).pipe(Layer.provide(SpineConfig.layer({ file: "config.json" })))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<never, ConfigFileError> =>
  Layer.unwrapEffect(Effect.map(provider(options), Layer.setConfigProvider))
