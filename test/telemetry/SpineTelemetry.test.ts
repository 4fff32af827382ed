import { describe, expect, it } from "@effect/vitest"
import { context as otelContext } from "@opentelemetry/api"
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks"
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import {
  Cause,
  ConfigError,
  ConfigProvider,
  Context,
  Effect,
  Exit,
  Fiber,
  Layer,
  Metric,
  Schedule,
  Scope
} from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Metrics, Package, Spine, SpineHttp, SpineTelemetry } from "../../src/index.js"
import { freePort, getLocal } from "../utils.js"

const tag = (name: string) => Context.GenericTag<string>(`telemetry-test/${name}`)
const Config = tag("config")
const Db = tag("db")
const Api = tag("api")
const Flaky = tag("flaky")
const Search = tag("search")

const packages = [
  Package.make({ name: "config", version: "1.0.0", provides: Config, layer: Layer.succeed(Config, "config") }),
  Package.make({
    name: "db",
    version: "2.3.0",
    category: "storage",
    provides: Db,
    requires: [Config],
    // a span the package's own layer makes nests under its start span
    layer: Layer.effect(Db, Effect.withSpan(Effect.succeed("db"), "db.connect")),
    health: () => Effect.void
  }),
  Package.make({
    name: "api",
    version: "1.0.0",
    provides: Api,
    requires: [Db],
    layer: Layer.succeed(Api, "api"),
    health: () => Effect.fail(new Error("upstream down"))
  }),
  Package.make({
    name: "flaky",
    version: "0.1.0",
    provides: Flaky,
    optional: true,
    initRetry: Schedule.recurs(1),
    layer: Layer.fail(new Error("no route to host"))
  }),
  Package.make({
    name: "search",
    version: "1.0.0",
    provides: Search,
    optional: true,
    requires: [Flaky],
    layer: Layer.succeed(Search, "search")
  })
]

const spineLayer = Spine.layer({ packages, health: { enabled: false } })

/**
 * Builds the telemetry layer into the test's scope (it sets the tracer for
 * the rest of the test), then the spine into a scope the caller closes: the
 * exporters outlive the spine's shutdown, as in an application.
 */
const boot = (
  telemetry: Layer.Layer<SpineTelemetry.PrometheusMetrics, unknown>,
  layer: Layer.Layer<Spine.Spine, unknown> = spineLayer
) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(telemetry)
    const scope = yield* Scope.make()
    const spine = Context.get(yield* Layer.buildWithScope(layer, scope), Spine.Spine)
    return { scope, spine, context }
  })

/** Builds `layer` and closes it, with the variables of `env` only. */
const buildWith = <A, E>(layer: Layer.Layer<A, E>, env: Record<string, string>) =>
  Effect.scoped(Layer.build(layer)).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.exit
  )

/** The `target_info` line of a scrape: the resource as Prometheus sees it. */
const targetInfo = (layer: Layer.Layer<SpineTelemetry.PrometheusMetrics, unknown>, env: Record<string, string>) =>
  Effect.flatMap(SpineTelemetry.PrometheusMetrics, (metrics) => metrics.scrape).pipe(
    Effect.provide(layer),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.map((text) => text.split("\n").find((line) => line.startsWith("target_info")))
  )

const named = (spans: ReadonlyArray<ReadableSpan>, name: string) => spans.filter((span) => span.name === name)

describe("SpineTelemetry", () => {
  it.scopedLive("traces the boot: one child span per package start, with its attributes and status", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      const { scope } = yield* boot(SpineTelemetry.layer({
        serviceName: "telemetry-test",
        spanProcessor: new SimpleSpanProcessor(exporter),
        otlp: false
      }))
      const spans = exporter.getFinishedSpans()
      const [root] = named(spans, "spine.boot")
      expect(named(spans, "spine.boot")).toHaveLength(1)
      expect(root.parentSpanContext).toBeUndefined()
      expect(root.attributes["spine.packages"]).toBe(5)
      expect(root.resource.attributes["service.name"]).toBe("telemetry-test")

      const starts = named(spans, "spine.package.start")
      // the skipped package never started
      expect(starts.map((span) => span.attributes["spine.package.name"]).sort()).toEqual([
        "api",
        "config",
        "db",
        "flaky"
      ])
      for (const span of starts) {
        expect(span.parentSpanContext?.spanId).toBe(root.spanContext().spanId)
        expect(span.spanContext().traceId).toBe(root.spanContext().traceId)
      }
      const start = (name: string) => starts.find((span) => span.attributes["spine.package.name"] === name)!
      expect(start("db").attributes).toMatchObject({
        "spine.package.version": "2.3.0",
        "spine.package.category": "storage",
        "spine.package.optional": false,
        "spine.package.attempts": 1,
        "spine.package.state": "ready"
      })
      expect(start("db").status.code).toBe(1) // OK
      expect(start("flaky").attributes).toMatchObject({ "spine.package.attempts": 2, "spine.package.state": "failed" })
      expect(start("flaky").status).toMatchObject({ code: 2 }) // ERROR
      expect(start("flaky").status.message).toContain("no route to host")
      // dependencies end before their dependents start
      const end = (span: ReadableSpan) => span.endTime[0] * 1e9 + span.endTime[1]
      const begin = (span: ReadableSpan) => span.startTime[0] * 1e9 + span.startTime[1]
      expect(end(start("db"))).toBeLessThanOrEqual(begin(start("api")))
      const [connect] = named(spans, "db.connect")
      expect(connect.parentSpanContext?.spanId).toBe(start("db").spanContext().spanId)

      yield* Scope.close(scope, Exit.void)
      const [shutdown] = named(exporter.getFinishedSpans(), "spine.shutdown")
      expect(shutdown.parentSpanContext).toBeUndefined()
    }))

  it.scopedLive("makes no span where tracing is disabled (Effect.withTracerEnabled(false))", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      const untraced = Effect.withTracerEnabled(false)
      const { scope, spine } = yield* untraced(boot(SpineTelemetry.layer({
        serviceName: "telemetry-test",
        spanProcessor: new SimpleSpanProcessor(exporter),
        otlp: false
      })))
      yield* untraced(spine.checkHealth())
      expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual([])
      // where it is enabled, the same tracer gets the spans
      yield* spine.checkHealth()
      expect(named(exporter.getFinishedSpans(), "spine.health.check")).toHaveLength(2)
      exporter.reset()
      yield* untraced(Scope.close(scope, Exit.void))
      expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual([])
    }))

  it.scopedLive("a failed boot ends spine.boot with an error naming the package", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      const Broken = tag("broken")
      const broken = Package.make({
        name: "broken",
        version: "1.0.0",
        provides: Broken,
        layer: Layer.fail(new Error("cannot bind"))
      })
      const telemetry = SpineTelemetry.layer({
        serviceName: "telemetry-test",
        spanProcessor: new SimpleSpanProcessor(exporter),
        otlp: false
      })
      const exit = yield* Effect.exit(boot(telemetry, Spine.layer({ packages: [broken] })))
      expect(Exit.isFailure(exit)).toBe(true)
      const [root] = named(exporter.getFinishedSpans(), "spine.boot")
      expect(root.status.code).toBe(2)
      expect(root.status.message).toContain(`Package "broken" failed to start`)
      const [start] = named(exporter.getFinishedSpans(), "spine.package.start")
      expect(start.parentSpanContext?.spanId).toBe(root.spanContext().spanId)
      expect(start.attributes["spine.package.state"]).toBe("failed")
    }))

  it.scopedLive("traces each health check as a root span with the resulting status", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      const { scope, spine } = yield* boot(SpineTelemetry.layer({
        serviceName: "telemetry-test",
        spanProcessor: new SimpleSpanProcessor(exporter),
        otlp: false
      }))
      exporter.reset()
      yield* spine.checkHealth()
      const checks = named(exporter.getFinishedSpans(), "spine.health.check")
      expect(checks.map((span) => span.attributes["spine.package.name"]).sort()).toEqual(["api", "db"])
      for (const span of checks) expect(span.parentSpanContext).toBeUndefined()
      const check = (name: string) => checks.find((span) => span.attributes["spine.package.name"] === name)!
      expect(check("db").attributes["spine.health.status"]).toBe("pass")
      expect(check("db").status.code).toBe(1)
      expect(check("api").attributes["spine.health.status"]).toBe("fail")
      expect(check("api").status).toMatchObject({ code: 2, message: "upstream down" })
      yield* Scope.close(scope, Exit.void)
    }))

  it.scopedLive("health-check spans stay roots under an OpenTelemetry context manager, and end when interrupted", () =>
    Effect.gen(function*() {
      otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
      yield* Effect.addFinalizer(() => Effect.sync(() => otelContext.disable()))
      const exporter = new InMemorySpanExporter()
      let hang = false
      const Slow = tag("slow")
      const slow = Package.make({
        name: "slow",
        version: "1.0.0",
        provides: Slow,
        layer: Layer.succeed(Slow, "slow"),
        health: () => hang ? Effect.never : Effect.void
      })
      const { scope, spine } = yield* boot(
        SpineTelemetry.layer({
          serviceName: "telemetry-test",
          spanProcessor: new SimpleSpanProcessor(exporter),
          otlp: false
        }),
        Spine.layer({ packages: [slow], health: { interval: "1 hour", timeout: "1 minute" } })
      )
      yield* spine.checkHealth()
      const checks = () => named(exporter.getFinishedSpans(), "spine.health.check")
      expect(checks().map((span) => span.parentSpanContext)).toEqual([undefined, undefined])
      // a check in flight at shutdown is interrupted, and its span ended
      hang = true
      const running = yield* Effect.fork(spine.checkHealth())
      yield* Effect.sleep("20 millis")
      yield* Scope.close(scope, Exit.void)
      yield* Fiber.interrupt(running)
      expect(checks()).toHaveLength(3)
    }))

  it.scopedLive("SpineHttp.layer traces requests, but not the probes", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      yield* Layer.build(SpineTelemetry.layer({
        serviceName: "telemetry-test",
        spanProcessor: new SimpleSpanProcessor(exporter),
        otlp: false
      }))
      const port = yield* Effect.promise(freePort)
      yield* Layer.build(SpineHttp.layer({ port, host: "127.0.0.1" }).pipe(Layer.provide(spineLayer)))
      for (const path of ["/livez", "/readyz", "/report", "/metrics"]) {
        expect((yield* getLocal(port, path)).status).toBe(200)
      }
      const traced = exporter.getFinishedSpans().filter((span) => span.name.startsWith("http.server"))
      expect(traced.map((span) => span.attributes["url.path"]).sort()).toEqual(["/metrics", "/report"])
    }))

  it.scopedLive("exports the spine's metrics to a metric reader, and scrapes them as Prometheus text", () =>
    Effect.gen(function*() {
      const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
      const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
      // spine_packages sums every spine of the process, those of earlier tests included
      const skipped = Metric.value(Metric.tagged(Metrics.packages, "state", "skipped"))
      const skippedBefore = (yield* skipped).value
      const { context, scope } = yield* boot(SpineTelemetry.layer({
        serviceName: "telemetry-test",
        metricReader: reader,
        otlp: false
      }))
      yield* Effect.promise(() => reader.forceFlush())
      const [resourceMetrics] = exporter.getMetrics().slice(-1)
      expect(resourceMetrics.resource.attributes["service.name"]).toBe("telemetry-test")
      const metrics = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)
      const points = (name: string) => metrics.find((metric) => metric.descriptor.name === name)?.dataPoints ?? []
      const of = (name: string, pkg: string) => points(name).find((point) => point.attributes.package === pkg)?.value
      expect(of("spine_package_up", "db")).toBe(1)
      expect(of("spine_package_up", "flaky")).toBe(0)
      expect(of("spine_package_init_attempts_total", "flaky")).toBeGreaterThanOrEqual(2)
      expect(points("spine_packages").find((point) => point.attributes.state === "skipped")?.value).toBe(
        skippedBefore + 1
      )

      const text = yield* Context.get(context, SpineTelemetry.PrometheusMetrics).scrape
      expect(text).toContain(`service_name="telemetry-test"`)
      expect(text).toMatch(/^spine_package_up\{package="db",.*\} 1$/m)
      yield* Scope.close(scope, Exit.void)
    }))

  it.scopedLive("exports over OTLP/HTTP where OTEL_EXPORTER_OTLP_ENDPOINT points, in the protocol and with the exporters the OTEL_* variables name", () =>
    Effect.gen(function*() {
      const received: Array<{ path: string; body: string; type: string | undefined }> = []
      const server = createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          // protobuf keeps names and strings as they are, so `latin1` text shows them either way
          received.push({
            path: request.url ?? "",
            body: Buffer.concat(chunks).toString("latin1"),
            type: request.headers["content-type"]
          })
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.close())
      )
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const run = (env: Record<string, string>, options: { readonly otlp?: boolean } = {}) =>
        Effect.gen(function*() {
          const saved = { ...process.env }
          Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...env })
          try {
            // closing the telemetry flushes the batch span processor and the periodic metric reader
            yield* Effect.scoped(Effect.gen(function*() {
              const { scope } = yield* boot(SpineTelemetry.layer({ serviceName: "otlp-test", ...options }))
              yield* Scope.close(scope, Exit.void)
            }))
          } finally {
            process.env = saved
          }
        })

      yield* run({})
      const traces = received.filter((request) => request.path === "/v1/traces")
      expect(traces.length).toBeGreaterThan(0)
      expect(traces.map((request) => request.body).join()).toContain("spine.boot")
      expect(traces.map((request) => request.body).join()).toContain("otlp-test")
      const exported = received.filter((request) => request.path === "/v1/metrics").map((request) => request.body)
      expect(exported.join()).toContain("spine_package_init_attempts_total")
      const types = () => new Set(received.map((request) => `${request.path} ${request.type}`))
      // http/protobuf unless told otherwise, as the specification says
      expect(types()).toEqual(new Set(["/v1/traces application/x-protobuf", "/v1/metrics application/x-protobuf"]))

      received.length = 0
      yield* run({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/protobuf" })
      expect(types()).toEqual(new Set(["/v1/traces application/json", "/v1/metrics application/x-protobuf"]))
      expect(received.find((request) => request.path === "/v1/traces")?.body).toContain(`"spine.boot"`)

      received.length = 0
      yield* run({ OTEL_TRACES_EXPORTER: "none", OTEL_SERVICE_NAME: "renamed" })
      expect(received.filter((request) => request.path === "/v1/traces")).toEqual([])
      const renamed = received.filter((request) => request.path === "/v1/metrics").map((request) => request.body)
      expect(renamed.join()).toContain("renamed")

      // empty is unset (the specification); resource attributes are percent-decoded
      received.length = 0
      yield* run({ OTEL_TRACES_EXPORTER: "", OTEL_SERVICE_NAME: " ", OTEL_RESOURCE_ATTRIBUTES: "team=a%2Cb,q=x%3Dy" })
      const traced = received.filter((request) => request.path === "/v1/traces").map((request) => request.body).join()
      expect(traced).toContain("otlp-test")
      expect(traced).toContain("a,b")
      expect(traced).toContain("x=y")

      // an export interval below the default export timeout (30 s) alone: the timeout follows it down
      received.length = 0
      yield* run({ OTEL_METRIC_EXPORT_INTERVAL: "1000" })
      expect(received.some((request) => request.path === "/v1/metrics")).toBe(true)

      // `otlp: false` in code switches OTLP off, whatever the variables name
      received.length = 0
      yield* run({ OTEL_TRACES_EXPORTER: "otlp", OTEL_METRICS_EXPORTER: "otlp" }, { otlp: false })
      expect(received).toEqual([])

      // a signal's own endpoint is used as it is, with no `/v1/<signal>` added (the specification)
      received.length = 0
      yield* run({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/collector/traces`,
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${endpoint}/collector/metrics`
      })
      expect(new Set(received.map((request) => request.path))).toEqual(
        new Set(["/collector/traces", "/collector/metrics"])
      )

      // an endpoint from a ConfigProvider (SpineConfig's, say) is where the exporters send
      received.length = 0
      yield* Effect.scoped(Effect.gen(function*() {
        const { scope } = yield* boot(SpineTelemetry.layer({ serviceName: "otlp-test" }))
        yield* Scope.close(scope, Exit.void)
      })).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OTEL_EXPORTER_OTLP_ENDPOINT", endpoint]]))))
      expect(new Set(received.map((request) => request.path))).toEqual(new Set(["/v1/traces", "/v1/metrics"]))
    }))

  it.effect("OTEL_SDK_DISABLED is true for \"true\" in any case, and false for anything else", () =>
    Effect.forEach(
      [["TRUE", 0], ["True", 0], ["yes", 1], ["", 1]] as const,
      ([value, expected]) =>
        Effect.gen(function*() {
          const exporter = new InMemorySpanExporter()
          yield* Effect.scoped(Effect.gen(function*() {
            const { scope } = yield* boot(SpineTelemetry.layer({
              serviceName: "x",
              spanProcessor: new SimpleSpanProcessor(exporter),
              otlp: false
            }))
            yield* Scope.close(scope, Exit.void)
            expect(named(exporter.getFinishedSpans(), "spine.boot")).toHaveLength(expected)
          })).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OTEL_SDK_DISABLED", value]]))))
        })
    ))

  it.effect("an invalid OTEL_* variable, an unknown exporter, or OTLP over gRPC, fails the layer with a ConfigError naming it", () =>
    Effect.forEach([
      ["OTEL_METRIC_EXPORT_INTERVAL", "soon", "integer"],
      ["OTEL_METRIC_EXPORT_TIMEOUT", "0", "positive"],
      ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc", "http/protobuf"],
      // a typo would export nothing, silently
      ["OTEL_TRACES_EXPORTER", "console,otpl", "got otpl"],
      ["OTEL_METRICS_EXPORTER", "zipkin", "otlp, console, prometheus, none"]
    ], ([name, value, expected]) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(
          Effect.scoped(Layer.build(SpineTelemetry.layer({ serviceName: "x", otlp: false }))).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map([[name, value]])))
          )
        )
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          expect(String(exit.cause)).toContain(name)
          expect(String(exit.cause)).toContain(expected)
        }
      })))

  it.scopedLive("OTEL_RESOURCE_ATTRIBUTES is the resource once, percent-decoded, without malformed pairs; a blank OTEL_SERVICE_NAME is unset", () =>
    Effect.gen(function*() {
      const env = { OTEL_RESOURCE_ATTRIBUTES: "team%20name=a%2Cb,bad=%E0%A4%A,=orphan,novalue,q=x%3Dy" }
      const exporter = new InMemorySpanExporter()
      const { scope } = yield* boot(
        SpineTelemetry.layer({ serviceName: "svc", spanProcessor: new SimpleSpanProcessor(exporter), otlp: false })
      ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      yield* Scope.close(scope, Exit.void)
      const [root] = named(exporter.getFinishedSpans(), "spine.boot")
      expect(root.resource.attributes).toEqual({
        "team name": "a,b",
        "q": "x=y",
        "service.name": "svc",
        "telemetry.sdk.name": "@effect/opentelemetry",
        "telemetry.sdk.language": "nodejs"
      })
      expect(yield* targetInfo(SpineTelemetry.layer({ serviceName: "svc", otlp: false }), env)).toBe(
        `target_info{team_name="a,b",q="x=y",service_name="svc",telemetry_sdk_name="@effect/opentelemetry",telemetry_sdk_language="nodejs"} 1`
      )

      // what the code gives wins over the variable, which adds the rest (the specification's order)
      const both = yield* targetInfo(
        SpineTelemetry.layer({ serviceName: "svc", attributes: { team: "code" }, otlp: false }),
        { OTEL_RESOURCE_ATTRIBUTES: "team=env,region=eu" }
      )
      expect(both).toMatch(/team="code"/)
      expect(both).toMatch(/region="eu"/)
      expect(both).not.toMatch(/team="env"/)

      // layerPrometheus alone (SpineHttp.layer without SpineTelemetry.layer) reads the same variables the same way
      expect(yield* targetInfo(SpineTelemetry.layerPrometheus, env)).toBe(`target_info{team_name="a,b",q="x=y"} 1`)
      expect(yield* targetInfo(SpineTelemetry.layerPrometheus, { ...env, OTEL_SERVICE_NAME: "  svc  " })).toBe(
        `target_info{team_name="a,b",q="x=y",service_name="svc"} 1`
      )
      expect(yield* targetInfo(SpineTelemetry.layerPrometheus, { OTEL_SERVICE_NAME: "" })).toBe("target_info 1")
      expect(yield* targetInfo(SpineTelemetry.layerPrometheus, { OTEL_SERVICE_NAME: " " })).toBe("target_info 1")
    }))

  it.effect("an OTLP endpoint that is not an http(s) URL fails the layer with a ConfigError naming it, not a defect", () =>
    Effect.forEach([
      ["OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"],
      // a template with no host: with `/v1/traces` added it would parse, as host `v1`
      ["OTEL_EXPORTER_OTLP_ENDPOINT", "http:/"],
      ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "::::"],
      // a URL, but of scheme "localhost:": every export would fail, later and far from here
      ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "localhost:4318"]
    ], ([name, value]) =>
      Effect.gen(function*() {
        const exit = yield* buildWith(SpineTelemetry.layer({ serviceName: "x" }), { [name]: value })
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          expect(Cause.isDie(exit.cause)).toBe(false)
          const failure = Cause.failureOption(exit.cause)
          expect(failure._tag === "Some" && ConfigError.isConfigError(failure.value)).toBe(true)
          expect(String(exit.cause)).toContain(name)
          expect(String(exit.cause)).toContain("http")
        }
        // an endpoint no signal uses is not checked: the kill switch and `none` still work with a bad one
        for (
          const off of [{ OTEL_SDK_DISABLED: "true" }, { OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" }]
        ) {
          expect(
            Exit.isSuccess(yield* buildWith(SpineTelemetry.layer({ serviceName: "x" }), { [name]: value, ...off }))
          )
            .toBe(true)
        }
      })))

  it.effect("a millisecond variable above 2147483647 (the longest timer Node keeps; more fires at once) is a ConfigError naming it", () =>
    Effect.gen(function*() {
      for (const name of ["OTEL_METRIC_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_TIMEOUT"]) {
        const exit = yield* buildWith(SpineTelemetry.layer({ serviceName: "x", otlp: false }), { [name]: "3000000000" })
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          expect(String(exit.cause)).toContain(name)
          expect(String(exit.cause)).toContain("2147483647")
        }
      }
      const limit = yield* buildWith(SpineTelemetry.layer({ serviceName: "x", otlp: false }), {
        OTEL_METRIC_EXPORT_INTERVAL: "2147483647"
      })
      expect(Exit.isSuccess(limit)).toBe(true)
    }))
})
