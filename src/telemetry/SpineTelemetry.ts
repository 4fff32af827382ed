/**
 * OpenTelemetry for a spine, through `@effect/opentelemetry`'s `NodeSdk`.
 *
 * The spine traces itself: a `spine.boot` span covers validation,
 * configuration, hooks and every package start, with one child span
 * `spine.package.start` per package that started (attributes
 * `spine.package.name`, `.version`, `.category`, `.optional`, `.attempts`,
 * `.state`; error status when it failed); spans that a package's layer makes
 * nest under its start span. Each health check is a root span
 * `spine.health.check`, and the release a root span `spine.shutdown`. Every
 * Effect metric, the spine's `spine_*` ones included, goes to the metric
 * readers, and to `/metrics` of `SpineHttp` as Prometheus text.
 *
 * `layer` exports with OTLP over HTTP (protobuf, or JSON as
 * `OTEL_EXPORTER_OTLP_PROTOCOL` says) when the standard `OTEL_*` environment
 * variables ask for it (see `Options.otlp`), and to span processors and
 * metric readers of your own.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Spine, SpineHttp, SpineTelemetry } from "@auth-spine/core"
 *
 * const AppLive = Spine.layer({ packages }).pipe(
 *   Layer.provideMerge(SpineHttp.layer({ port: 8080 })),
 *   Layer.provide(SpineTelemetry.layer({ serviceName: "orders", serviceVersion: "1.2.0" }))
 * )
 * Spine.runMain(AppLive)
 * ```
 *
 * @since 0.1.0
 */
import * as Metrics from "@effect/opentelemetry/Metrics"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as Resource from "@effect/opentelemetry/Resource"
import * as Tracer from "@effect/opentelemetry/Tracer"
import type { Attributes } from "@opentelemetry/api"
import * as MetricsJson from "@opentelemetry/exporter-metrics-otlp-http"
import * as MetricsProto from "@opentelemetry/exporter-metrics-otlp-proto"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import * as TracesJson from "@opentelemetry/exporter-trace-otlp-http"
import * as TracesProto from "@opentelemetry/exporter-trace-otlp-proto"
import { resourceFromAttributes } from "@opentelemetry/resources"
import type { MetricReader, PushMetricExporter } from "@opentelemetry/sdk-metrics"
import { ConsoleMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { BatchSpanProcessor, ConsoleSpanExporter } from "@opentelemetry/sdk-trace-base"
import { Array as Arr, Config, ConfigError, Context, Duration, Effect, Either, Layer, Option } from "effect"

/**
 * Scrapes every Effect metric as Prometheus text, for `/metrics`.
 *
 * @since 0.1.0
 * @category tags
 */
export class PrometheusMetrics extends Context.Tag("@auth-spine/core/SpineTelemetry/PrometheusMetrics")<
  PrometheusMetrics,
  {
    /** The Prometheus text exposition (format 0.0.4) of every metric now. */
    readonly scrape: Effect.Effect<string>
  }
>() {}

/**
 * The content type of the Prometheus text exposition.
 *
 * @since 0.1.0
 * @category constants
 */
export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

/** The Prometheus exporter (its server off) and serializer, fed by `@effect/opentelemetry`'s producer. */
const prometheusOf: Layer.Layer<PrometheusMetrics, never, Resource.Resource> = Layer.scoped(
  PrometheusMetrics,
  Effect.gen(function*() {
    const exporter = new PrometheusExporter({ preventServerStart: true })
    yield* Metrics.registerProducer(yield* Metrics.makeProducer, () => exporter)
    const serializer = new PrometheusSerializer()
    return {
      scrape: Effect.gen(function*() {
        const { errors, resourceMetrics } = yield* Effect.promise(() => exporter.collect())
        for (const error of errors) yield* Effect.logWarning("collecting metrics for /metrics failed", error)
        return serializer.serialize(resourceMetrics)
      })
    }
  })
)

/**
 * `PrometheusMetrics` over the OpenTelemetry Prometheus exporter (its server
 * off) and its serializer, fed by `@effect/opentelemetry`'s metric producer.
 * Reuses the scrape of `layer` when that is provided; else makes one with the
 * `Resource` provided, or the one `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES` describe. `SpineHttp.layer` includes it; add it
 * yourself when you serve `SpineHttp.router` in a server of your own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPrometheus: Layer.Layer<PrometheusMetrics> = Layer.unwrapEffect(Effect.gen(function*() {
  const provided = yield* Effect.serviceOption(PrometheusMetrics)
  if (Option.isSome(provided)) return Layer.succeed(PrometheusMetrics, provided.value)
  // not `Resource.layerFromEnv`: it reads both variables raw (untrimmed, not percent-decoded, malformed pairs kept)
  const env = yield* Effect.orDie(
    Config.all({ serviceName: variable("OTEL_SERVICE_NAME"), attributes: resourceAttributes })
  )
  const resource = Option.match(yield* Effect.serviceOption(Resource.Resource), {
    onNone: () =>
      Layer.succeed(
        Resource.Resource,
        resourceFromAttributes(Option.match(env.serviceName, {
          onNone: () => env.attributes,
          onSome: (serviceName) => ({ ...env.attributes, "service.name": serviceName })
        }))
      ),
    onSome: (value) => Layer.succeed(Resource.Resource, value)
  })
  return Layer.provide(prometheusOf, resource)
}))

/**
 * The options of `layer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `service.name`; `OTEL_SERVICE_NAME` overrides it. */
  readonly serviceName: string
  /** `service.version`. */
  readonly serviceVersion?: string | undefined
  /** More resource attributes; `OTEL_RESOURCE_ATTRIBUTES` adds to them. */
  readonly attributes?: Attributes | undefined
  /** Span processors of your own (an in-memory exporter in tests, say), besides the OTLP one. */
  readonly spanProcessor?: SpanProcessor | ReadonlyArray<SpanProcessor> | undefined
  /** Metric readers of your own, besides the OTLP one and the Prometheus scrape. */
  readonly metricReader?: MetricReader | ReadonlyArray<MetricReader> | undefined
  /**
   * OTLP over HTTP: `"env"` (the default) exports traces and metrics when
   * `OTEL_EXPORTER_OTLP_ENDPOINT` (or the signal's own
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `..._METRICS_ENDPOINT`) is set, or
   * `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` name `otlp`; `true`
   * always (to `http://localhost:4318` unless configured); `false` never.
   */
  readonly otlp?: boolean | "env" | undefined
  /** How long the SDK may take to flush on shutdown. Default 3 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

/** A variable as the specification reads it: trimmed, and unset when empty. */
const variable = (name: string): Config.Config<Option.Option<string>> =>
  Config.string(name).pipe(
    Config.option,
    Config.map(Option.flatMap((value) => Option.liftPredicate(value.trim(), (trimmed) => trimmed !== "")))
  )

/** An optional variable parsed by `parse`, whose failure is a `ConfigError` naming the variable. */
const parsed = <A>(name: string, parse: (value: string) => Either.Either<A, string>) =>
  Config.mapOrFail(variable(name), (value) =>
    Option.match(value, {
      onNone: () => Either.right(Option.none<A>()),
      onSome: (text) =>
        Either.mapBoth(parse(text), {
          onLeft: (message) => ConfigError.InvalidData([name], message),
          onRight: Option.some
        })
    }))

/**
 * The exporters an `OTEL_*_EXPORTER` variable names; unset means "otlp if an
 * endpoint is set". A name this layer does not know (a typo such as `otpl`)
 * fails the layer: it would silently export nothing. `prometheus` is accepted
 * for metrics, which `SpineHttp` serves at `/metrics` in any case.
 */
const exporters = (name: string, known: ReadonlyArray<string>) =>
  parsed(name, (list) => {
    const names = list.split(",").map((item) => item.trim().toLowerCase()).filter((item) => item !== "")
    const unknown = names.find((item) => !known.includes(item))
    return unknown === undefined
      ? Either.right(names)
      : Either.left(`Expected ${known.join(", ")} (comma-separated), but got ${unknown}`)
  })

/**
 * The OTLP protocol of one signal: its own variable, else the general one, else
 * `http/protobuf` as the specification says. gRPC is not supported: the
 * variable then fails the layer with a `ConfigError` naming it.
 */
const protocol = (signal: "TRACES" | "METRICS") =>
  Config.all(
    [`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`, "OTEL_EXPORTER_OTLP_PROTOCOL"].map((name) =>
      parsed(name, (value) =>
        value === "http/protobuf" || value === "http/json"
          ? Either.right(value)
          : Either.left(`Expected http/protobuf or http/json, but got ${value}`))
    )
  ).pipe(Config.map((named) => Option.getOrElse(Option.firstSomeOf(named), () => "http/protobuf" as const)))

/** The longest delay of a Node timer: a longer one fires after 1 ms, so an export interval would turn into a loop. */
const maxTimerMillis = 2 ** 31 - 1

/** A positive number of milliseconds a timer can wait, `fallback` when unset. */
const millis = (name: string, fallback: number) =>
  Config.map(
    parsed(name, (value) =>
      /^\d+$/.test(value) && Number(value) > 0 && Number(value) <= maxTimerMillis
        ? Either.right(Number(value))
        : Either.left(
          `Expected a positive integer number of milliseconds, at most ${maxTimerMillis}, but got ${value}`
        )),
    Option.getOrElse(() => fallback)
  )

/**
 * `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs separated by commas, keys and
 * values percent-decoded (`a%2Cb` is `a,b`); a malformed pair is skipped.
 */
const resourceAttributes = Config.map(variable("OTEL_RESOURCE_ATTRIBUTES"), (value) => {
  const attributes: Record<string, string> = {}
  for (const pair of Option.getOrElse(value, () => "").split(",")) {
    const at = pair.indexOf("=")
    if (at <= 0) continue
    try {
      attributes[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim())
    } catch {
      // not valid percent-encoding: skipped, as the specification allows
    }
  }
  return attributes
})

/** The standard environment variables the SDK does not read by itself. */
const environment = Config.all({
  // the specification: true only for "true", in any case; anything else is false
  disabled: Config.map(variable("OTEL_SDK_DISABLED"), Option.exists((value) => value.toLowerCase() === "true")),
  serviceName: variable("OTEL_SERVICE_NAME"),
  attributes: resourceAttributes,
  endpoint: variable("OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracesEndpoint: variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  metricsEndpoint: variable("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
  tracesExporter: exporters("OTEL_TRACES_EXPORTER", ["otlp", "console", "none"]),
  metricsExporter: exporters("OTEL_METRICS_EXPORTER", ["otlp", "console", "prometheus", "none"]),
  tracesProtocol: protocol("TRACES"),
  metricsProtocol: protocol("METRICS"),
  exportInterval: millis("OTEL_METRIC_EXPORT_INTERVAL", 60_000),
  exportTimeout: millis("OTEL_METRIC_EXPORT_TIMEOUT", 30_000)
})

/**
 * Where one signal goes: its own endpoint as given, else the general one
 * with `/v1/<signal>` appended, as the specification says. Passed to the
 * exporter, so that an endpoint from any `ConfigProvider` is the one used.
 * Checked only here, when the signal uses OTLP (so `OTEL_SDK_DISABLED` or
 * `none` turns a bad endpoint off too): the exporter would throw, a defect,
 * on what is not a URL, and take `localhost:4318` (a URL of scheme
 * `localhost:`) only to fail every export.
 */
const urlOf = (
  own: Option.Option<string>,
  general: Option.Option<string>,
  signal: "traces" | "metrics"
): Effect.Effect<{ readonly url?: string }, ConfigError.ConfigError> => {
  const [name, value] = Option.isSome(own)
    ? [`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`, own.value]
    : Option.isSome(general)
    ? ["OTEL_EXPORTER_OTLP_ENDPOINT", general.value]
    : [undefined, undefined]
  if (name === undefined || value === undefined) return Effect.succeed({})
  // the value as given: `http:/` would make a URL of host `v1` once the path is added
  const valid = Option.exists(
    toUrl(value),
    (parsed) => (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== ""
  )
  return valid
    ? Effect.succeed({ url: Option.isSome(own) ? value : `${value.replace(/\/+$/, "")}/v1/${signal}` })
    : Effect.fail(ConfigError.InvalidData([name], `Expected an http:// or https:// URL, but got ${value}`))
}

const toUrl = Option.liftThrowable((value: string) => new URL(value))

const toArray = <A>(value: A | ReadonlyArray<A> | undefined): Array<A> =>
  value === undefined ? [] : Array.isArray(value) ? [...value] : [value as A]

/** Which exporters one signal uses: the variable when set, else OTLP when an endpoint is; then `otlp` decides. */
const chosen = (
  otlp: boolean | "env",
  named: Option.Option<ReadonlyArray<string>>,
  endpoint: boolean
): ReadonlyArray<string> => {
  const list = Option.getOrElse(named, () => (endpoint ? ["otlp"] : []))
  return otlp === "env" ? list : otlp ? [...list, "otlp"] : list.filter((name) => name !== "otlp")
}

/**
 * OpenTelemetry for the application: what `NodeSdk.layer` sets up, with the
 * spine's spans and every Effect metric, exported over OTLP/HTTP as the
 * `OTEL_*` environment says, and to the processors and readers in `options`.
 * This layer reads `OTEL_SDK_DISABLED`, `OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES`, the endpoints (`OTEL_EXPORTER_OTLP_ENDPOINT`
 * and its `_TRACES_` and `_METRICS_` forms, http or https URLs),
 * `OTEL_TRACES_EXPORTER` and `OTEL_METRICS_EXPORTER` (`otlp`, `console`,
 * `none`), `OTEL_EXPORTER_OTLP_PROTOCOL` and its `_TRACES_` and `_METRICS_`
 * forms (`http/protobuf`, the default, or `http/json`),
 * `OTEL_METRIC_EXPORT_INTERVAL` and `OTEL_METRIC_EXPORT_TIMEOUT`; headers,
 * timeout, compression, sampler and batch settings are read by the SDK's
 * exporters and processors. An invalid variable fails the layer with a
 * `ConfigError` naming it. Metrics are always exported cumulative, whatever
 * `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` says:
 * `@effect/opentelemetry` reports Effect's metric state, which is cumulative.
 * Also provides the Prometheus scrape that `SpineHttp` serves at `/metrics`,
 * with the same resource.
 *
 * Provide it below the spine (`Layer.provide` / `Layer.provideMerge`) so that
 * the boot is traced.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<Resource.Resource | PrometheusMetrics, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const env = yield* environment
    const otlp = options.otlp ?? "env"
    const any = Option.isSome(env.endpoint)
    const traces = env.disabled ? [] : chosen(otlp, env.tracesExporter, any || Option.isSome(env.tracesEndpoint))
    const metrics = env.disabled ? [] : chosen(otlp, env.metricsExporter, any || Option.isSome(env.metricsEndpoint))
    const spanProcessor: Array<SpanProcessor> = env.disabled ? [] : toArray(options.spanProcessor)
    if (traces.includes("otlp")) {
      const Exporter = env.tracesProtocol === "http/json" ? TracesJson.OTLPTraceExporter : TracesProto.OTLPTraceExporter
      spanProcessor.push(new BatchSpanProcessor(new Exporter(yield* urlOf(env.tracesEndpoint, env.endpoint, "traces"))))
    }
    if (traces.includes("console")) spanProcessor.push(new BatchSpanProcessor(new ConsoleSpanExporter()))
    const metricReader: Array<MetricReader> = env.disabled ? [] : toArray(options.metricReader)
    const periodic = (exporter: PushMetricExporter) =>
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: env.exportInterval,
        exportTimeoutMillis: Math.min(env.exportTimeout, env.exportInterval)
      })
    if (metrics.includes("otlp")) {
      const Exporter = env.metricsProtocol === "http/json"
        ? MetricsJson.OTLPMetricExporter
        : MetricsProto.OTLPMetricExporter
      metricReader.push(periodic(new Exporter(yield* urlOf(env.metricsEndpoint, env.endpoint, "metrics"))))
    }
    if (metrics.includes("console")) metricReader.push(periodic(new ConsoleMetricExporter()))
    // What `NodeSdk.layer` does, but with this resource only: it would add `Resource.layerFromEnv`, which reads
    // `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` again, raw, beside the parsed ones
    const resource = Resource.layer({
      serviceName: Option.getOrElse(env.serviceName, () => options.serviceName),
      ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion }),
      attributes: { ...env.attributes, ...options.attributes }
    })
    const shutdownTimeout = options.shutdownTimeout ?? Duration.seconds(3)
    const tracing = Arr.isNonEmptyArray(spanProcessor)
      ? Layer.provide(Tracer.layer, NodeSdk.layerTracerProvider(spanProcessor, { shutdownTimeout }))
      : Layer.empty
    const metering = Arr.isNonEmptyArray(metricReader)
      ? Metrics.layer(() => metricReader, { shutdownTimeout })
      : Layer.empty
    return Layer.mergeAll(tracing, metering, prometheusOf).pipe(Layer.provideMerge(resource))
  }))
