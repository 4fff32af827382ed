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
import { ConfigProvider, Data, Effect, Layer } from "effect"
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
  /** Environment variables; default `process.env`. Nested keys join with `_` (`DB_URL` for `DB.URL`). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** A JSON file of base values; it must exist when given. */
  readonly file?: string | undefined
  /** The environment whose overlay applies; default `NODE_ENV`, else `"development"`. */
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

const readJson = (path: string) =>
  Effect.try({
    try: (): unknown => JSON.parse(readFileSync(path, "utf8")),
    catch: (cause) => new ConfigFileError({ path, reason: cause instanceof Error ? cause.message : String(cause) })
  })

/**
 * Builds the provider. A missing overlay is not an error: most environments
 * have none.
 *
 * @since 0.1.0
 * @category constructors
 */
export const provider = (options: Options = {}): Effect.Effect<ConfigProvider.ConfigProvider, ConfigFileError> =>
  Effect.gen(function*() {
    const env = options.env ?? process.env
    const environment = options.environment ?? env.NODE_ENV ?? "development"
    const sources: Array<ConfigProvider.ConfigProvider> = [
      ConfigProvider.fromMap(
        new Map(Object.entries(env).flatMap(([key, value]) => value === undefined ? [] : [[key, value]])),
        { pathDelim: "_" }
      )
    ]
    if (options.file !== undefined) {
      const overlay = overlayPath(options.file, environment)
      if (existsSync(overlay)) sources.push(ConfigProvider.fromJson(yield* readJson(overlay)))
      sources.push(ConfigProvider.fromJson(yield* readJson(options.file)))
    }
    if (options.defaults !== undefined) sources.push(ConfigProvider.fromJson(options.defaults))
    return sources.reduce((first, next) => ConfigProvider.orElse(first, () => next))
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
