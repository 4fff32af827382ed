/**
 * HTTP probes and reports for a running spine, over `@effect/platform`:
 * `/livez` and `/readyz` for load balancers and orchestrators, `/metrics`
 * for Prometheus, `/health`, `/report` and `/graph` for people. Every route
 * reads the spine's cached state and never runs a health check.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Spine, SpineHttp } from "@auth-spine/core"
 *
 * // below the spine: probes answer from before the first package starts until the last is released
 * const AppLive = Spine.layer({ packages }).pipe(Layer.provideMerge(SpineHttp.layer({ port: 9000, prefix: "/ops" })))
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Duration, Effect, Layer, Option } from "effect"
import { createServer, type Server, type ServerResponse } from "node:http"
import type * as Health from "../Health.js"
import { oneLine } from "../internal/cause.js"
import { mapAllDetails, mapDetails, withPlainDetails } from "../internal/health.js"
import { shown } from "../internal/kind.js"
import type * as Report from "../Report.js"
import * as Spine from "../Spine.js"
import * as SpineTelemetry from "../telemetry/SpineTelemetry.js"

/**
 * When `/health` and `/report` include each package's `details`: `"never"` (the default),
 * `"always"`, or `"authorized"`, when `authorize` accepts the request.
 *
 * @since 0.1.0
 * @category models
 */
export type Details = "never" | "always" | "authorized"

/**
 * Decides whether a request may see health details.
 *
 * @since 0.1.0
 * @category models
 */
export type Authorize = (
  request: HttpServerRequest.HttpServerRequest
) => Effect.Effect<boolean> | boolean

/**
 * The options of `router`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RouterOptions {
  /** Prepended to every path, e.g. `"/ops"`. Default: none. */
  readonly prefix?: string | undefined
  /** When `/health` and `/report` include package details. Default `"never"`. */
  readonly details?: Details | undefined
  /** Used when `details` is `"authorized"`; without it, details are never shown. */
  readonly authorize?: Authorize | undefined
}

/**
 * The options of `layer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends RouterOptions {
  /** The port to listen on; `0` picks a free one. */
  readonly port: number
  /** The address to listen on, e.g. `"127.0.0.1"`. Default: every interface. */
  readonly host?: string | undefined
}

/**
 * One entry of the IETF health-check response draft's `checks`.
 *
 * @since 0.1.0
 * @category models
 */
export interface HealthCheck {
  readonly componentId: string
  readonly status: Health.HealthStatus
  /** ISO time of the last check; absent before the first. */
  readonly time?: string
  readonly observedValue: number
  readonly observedUnit: "ms"
  /** The errors of the last failing run, joined. */
  readonly output?: string
}

/**
 * The body of `/readyz`, following the IETF health-check response draft.
 *
 * @since 0.1.0
 * @category models
 */
export interface HealthResponse {
  readonly status: Health.HealthStatus
  readonly checks: Readonly<Record<string, ReadonlyArray<HealthCheck>>>
}

/**
 * The cached system health as an IETF health-check response: one check per
 * package, keyed `"<package>:health"`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const toHealthResponse = (health: Health.SystemHealth): HealthResponse => {
  const checks: Record<string, ReadonlyArray<HealthCheck>> = {}
  for (const pkg of Object.values(health.packages)) {
    checks[`${pkg.name}:health`] = [{
      componentId: pkg.name,
      status: pkg.status,
      ...(pkg.lastCheck === undefined ? {} : { time: pkg.lastCheck.toISOString() }),
      observedValue: pkg.durationMs,
      observedUnit: "ms",
      ...(pkg.errors.length === 0 ? {} : { output: pkg.errors.join("; ") })
    }]
  }
  return { status: health.status, checks }
}

/**
 * The cached system health as Kubernetes-style verbose lines: `[+]name ok`,
 * `[-]name failed: errors` (joined into one line), then `readyz check passed` or `readyz check failed`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const toVerboseText = (health: Health.SystemHealth): string => {
  const lines = Object.values(health.packages).map((pkg) => {
    if (pkg.status === "fail") {
      // one line per package: an error over several lines would otherwise read as more packages
      return `[-]${pkg.name} failed${pkg.errors.length === 0 ? "" : `: ${oneLine(pkg.errors.join("; "))}`}`
    }
    return `[+]${pkg.name} ${pkg.status === "warn" ? "warn" : "ok"}`
  })
  lines.push(health.ready ? "readyz check passed" : "readyz check failed")
  return `${lines.join("\n")}\n`
}

const noDetails = () => undefined

/** The health without any package's details. */
const withoutDetails = (health: Health.SystemHealth) => mapAllDetails(health, noDetails)

/** The report with no package's health details, in its `health` and in each of its `packages`. */
const reportWithoutDetails = (report: Report.Report): Report.Report => ({
  ...report,
  health: mapAllDetails(report.health, noDetails),
  packages: report.packages.map((pkg) =>
    pkg.health === undefined ? pkg : { ...pkg, health: mapDetails(pkg.health, noDetails) }
  )
})

const normalizePrefix = (prefix: string | undefined): string => {
  const trimmed = (prefix ?? "").replace(/\/+$/, "")
  return trimmed === "" ? "" : trimmed.startsWith("/") ? trimmed : `/${trimmed}`
}

/** Whether a query flag is present and not explicitly off (`?verbose`, `?verbose=1`). */
const flag = (params: URLSearchParams, name: string): boolean => {
  const value = params.get(name)
  return value !== null && value !== "false" && value !== "0"
}

const noQuery = new URLSearchParams()

/** The query of a request URL; parsed only when there is one, which probes rarely have. */
const queryOf = (url: string): URLSearchParams => {
  const at = url.indexOf("?")
  return at === -1 ? noQuery : new URLSearchParams(url.slice(at + 1))
}

const pathOf = (url: string): string => {
  const at = url.indexOf("?")
  return at === -1 ? url : url.slice(0, at)
}

const statusOf = (ready: boolean) => ready ? 200 : 503

const encoder = new TextEncoder()

/**
 * A response derived from the cached health, made once per health value:
 * `Spine.health` returns the same object until something changes, and a
 * response is an immutable value.
 */
const perHealth = <A>(render: (health: Health.SystemHealth) => A) => {
  let last: Health.SystemHealth | undefined
  let value: A
  return (health: Health.SystemHealth): A => {
    if (health !== last) {
      value = render(health)
      last = health
    }
    return value
  }
}

type PrometheusMetrics = SpineTelemetry.PrometheusMetrics

const metricsHandler = Effect.gen(function*() {
  const metrics = yield* SpineTelemetry.PrometheusMetrics
  return HttpServerResponse.text(yield* metrics.scrape, { contentType: SpineTelemetry.prometheusContentType })
})

/** A route's handler, given the spine and the request directly: the served app looks neither up per request. */
type Handler = (
  spine: Spine.SpineService,
  request: HttpServerRequest.HttpServerRequest
) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, PrometheusMetrics>

/** The routes: GET paths (with the prefix) and their handlers, served by `router` and `app`. */
const routes = (options: RouterOptions): ReadonlyArray<readonly [`/${string}`, Handler]> => {
  const prefix = normalizePrefix(options.prefix)
  const path = (route: `/${string}`): `/${string}` => `${prefix}${route}` as `/${string}`
  const details = options.details ?? "never"
  const authorize = options.authorize

  const showDetails = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<boolean> => {
    if (details === "always") return Effect.succeed(true)
    if (details === "never" || authorize === undefined) return Effect.succeed(false)
    const allowed = authorize(request)
    return typeof allowed === "boolean" ? Effect.succeed(allowed) : allowed
  }

  /**
   * A JSON document with package details, shown as `details` and `authorize` allow (made plain JSON by
   * `plain`, when they may not be), else stripped.
   */
  const detailed = <A>(
    read: (spine: Spine.SpineService) => Effect.Effect<A>,
    strip: (value: A) => A,
    plain: (value: A) => A = (value) => value
  ): Handler =>
  (spine, request) =>
    Effect.gen(function*() {
      const value = yield* read(spine)
      return HttpServerResponse.unsafeJson((yield* showDetails(request)) ? plain(value) : strip(value))
    })

  const readyJson = perHealth((health) =>
    HttpServerResponse.uint8Array(encoder.encode(JSON.stringify(toHealthResponse(health))), {
      status: statusOf(health.ready),
      contentType: "application/health+json"
    })
  )
  const readyText = perHealth((health) =>
    HttpServerResponse.text(toVerboseText(health), { status: statusOf(health.ready) })
  )
  const ok = Effect.succeed(HttpServerResponse.text("ok"))
  const stopping = Effect.succeed(HttpServerResponse.text("stopping", { status: 503 }))

  return [
    [
      path("/livez"),
      (spine) => Effect.flatMap(spine.phase, (phase) => phase === "booting" || phase === "ready" ? ok : stopping)
    ],
    [
      path("/readyz"),
      (spine, request) =>
        Effect.map(
          spine.health,
          (health) => flag(queryOf(request.url), "verbose") ? readyText(health) : readyJson(health)
        )
    ],
    [path("/metrics"), () => metricsHandler],
    [path("/health"), detailed((spine) => spine.health, withoutDetails, withPlainDetails)],
    [path("/report"), detailed((spine) => spine.report, reportWithoutDetails)],
    [
      path("/graph"),
      (spine, request) =>
        Effect.map(spine.graph, (graph) =>
          queryOf(request.url).get("format") === "dot"
            ? HttpServerResponse.text(graph.toDot(), { contentType: "text/vnd.graphviz" })
            : HttpServerResponse.text(graph.toMermaid(), { contentType: "text/vnd.mermaid" }))
    ]
  ]
}

/**
 * The probe, metrics and report routes as an `HttpRouter`, to mount in a
 * router of your own; needs the `Spine` service and a Prometheus scrape
 * (`SpineTelemetry.PrometheusMetrics`, from `SpineTelemetry.layerPrometheus`
 * or `SpineTelemetry.layer`):
 *
 * - `GET /livez`: `200 ok` while booting or ready, `503 stopping` once shutdown began
 * - `GET /readyz`: `application/health+json` (IETF health-check draft), 200 for
 *   `pass` and `warn`, 503 for `fail`; `?verbose` gives Kubernetes-style text lines
 * - `GET /metrics`: every Effect metric in the Prometheus text format, through
 *   `@effect/opentelemetry` and the OpenTelemetry Prometheus serializer
 * - `GET /health`: the cached `SystemHealth` (always 200), package details as `details` allows
 * - `GET /report`: the spine's report as JSON, package details as `details` allows
 * - `GET /graph`: the package graph as Mermaid, or DOT with `?format=dot`
 *
 * @since 0.1.0
 * @category routers
 */
export const router = (
  options: RouterOptions = {}
): HttpRouter.HttpRouter<never, Spine.Spine | SpineTelemetry.PrometheusMetrics> =>
  routes(options).reduce<HttpRouter.HttpRouter<never, Spine.Spine | SpineTelemetry.PrometheusMetrics>>(
    (router, [path, handler]) =>
      HttpRouter.get(
        router,
        path,
        Effect.flatMap(Spine.Spine, (spine) =>
          Effect.flatMap(HttpServerRequest.HttpServerRequest, (r) => handler(spine, r)))
      ),
    HttpRouter.empty
  )

/**
 * The routes of `router` as one `HttpApp` that finds the handler by exact
 * path in a map: what `layer` serves. Other paths and methods answer 404.
 * Cheaper per request than a general router, which matters for probes that
 * orchestrators call all the time.
 *
 * @since 0.1.0
 * @category routers
 */
export const app = (
  options: RouterOptions = {}
): HttpApp.Default<never, Spine.Spine | SpineTelemetry.PrometheusMetrics> => {
  const serve = dispatch(options)
  return Effect.flatMap(Spine.Spine, (spine) => serve(Option.some(spine)))
}

const notFound = Effect.succeed(HttpServerResponse.empty({ status: 404 }))

/** The app for a spine, or for none yet (then `beforeSpine` answers). */
const dispatch = (options: RouterOptions) => {
  const table = new Map<string, Handler>(routes(options))
  const early = beforeSpine(options)
  return (spine: Option.Option<Spine.SpineService>): HttpApp.Default<never, PrometheusMetrics> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      if (Option.isNone(spine)) return early(request)
      const handler = readable(request) ? table.get(pathOf(request.url)) : undefined
      return handler === undefined ? notFound : handler(spine.value, request)
    })
}

/** The answers before the spine exists (validation and configuration are running): probes say so, metrics work. */
const beforeSpine = (options: RouterOptions) => {
  const prefix = normalizePrefix(options.prefix)
  const body = encoder.encode(JSON.stringify({ status: "fail", output: "booting", checks: {} }))
  const booting = Effect.succeed(HttpServerResponse.text("booting", { status: 503 }))
  const table = new Map<string, Effect.Effect<HttpServerResponse.HttpServerResponse, never, PrometheusMetrics>>([
    [`${prefix}/livez`, Effect.succeed(HttpServerResponse.text("ok"))],
    [
      `${prefix}/readyz`,
      Effect.succeed(HttpServerResponse.uint8Array(body, { status: 503, contentType: "application/health+json" }))
    ],
    [`${prefix}/metrics`, metricsHandler],
    [`${prefix}/health`, booting],
    [`${prefix}/report`, booting],
    [`${prefix}/graph`, booting]
  ])
  const verbose = Effect.succeed(HttpServerResponse.text("[-]spine booting\nreadyz check failed\n", { status: 503 }))
  return (request: HttpServerRequest.HttpServerRequest) => {
    if (!readable(request)) return notFound
    const path = pathOf(request.url)
    if (path === `${prefix}/readyz` && flag(queryOf(request.url), "verbose")) return verbose
    return table.get(path) ?? notFound
  }
}

/** GET, or HEAD, which the server answers like GET without the body (as `HttpRouter` does). */
const readable = (request: HttpServerRequest.HttpServerRequest) => request.method === "GET" || request.method === "HEAD"

/**
 * How long requests in flight get to finish once the layer's scope closes, before their connections are
 * closed: ample for these routes, and well within the spine's default stop timeout (10 s).
 */
const closeGrace = Duration.seconds(2)

/**
 * Bounds the close of `server`, whose responses in progress are `responses`. Registered after the platform's
 * finalizer, it runs just before it: that one calls `server.close()`, which stops accepting but waits for every
 * connection, and a closed server no longer enforces its header and request timeouts, so a client that sent
 * nothing, or half a request, would hold the shutdown forever. Idle connections are closed at once; a response
 * in progress is sent with `Connection: close`, so that its connection closes once it is written instead of
 * turning idle after the close and staying open (each response of this server writes its head and body at
 * once). Whatever is still open after `closeGrace` is closed then.
 */
const boundedClose = (server: Server, responses: ReadonlySet<ServerResponse>) =>
  Effect.addFinalizer(() =>
    Effect.sync(() => {
      server.closeIdleConnections()
      for (const response of responses) response.shouldKeepAlive = false
      const timer = setTimeout(() => server.closeAllConnections(), Duration.toMillis(closeGrace))
      server.once("close", () => clearTimeout(timer))
    })
  )

/** Tracks the responses of `server` in progress, from now on. */
const track = (server: Server): ReadonlySet<ServerResponse> => {
  const open = new Set<ServerResponse>()
  server.on("request", (_, response: ServerResponse) => {
    open.add(response)
    response.once("close", () => open.delete(response))
  })
  return open
}

/**
 * What is wrong with the options, as the layer's typed error says it: Node throws a `RangeError` from `listen`
 * for a port that is no port, a defect the layer's type does not show, and a prefix with a query, a fragment or
 * a space matches no request's path, so every route would answer 404.
 */
const problemOf = (options: Options): string | undefined => {
  const port: unknown = options.port
  if (!(Number.isSafeInteger(port) && (port as number) >= 0 && (port as number) <= 65535)) {
    return `port must be a whole number from 0 to 65535 (got ${shown(port)})`
  }
  const prefix: unknown = options.prefix
  if (prefix !== undefined && (typeof prefix !== "string" || /[?#\s]/.test(prefix))) {
    return `prefix must be a URL path, without query, fragment or spaces (got ${shown(prefix)})`
  }
  return undefined
}

/**
 * Serves `app(options)` on `options.port` with Node's HTTP server, for as
 * long as the layer's scope is open. Needs nothing: provide it below the
 * spine (`Spine.layer(...).pipe(Layer.provideMerge(SpineHttp.layer(...)))`)
 * and it listens before the boot, answering the probes while packages start
 * (`/readyz` 503 with each package's state, `/livez` 200) and until the last
 * package is released; provided above the spine, it serves once the spine
 * has booted. `/metrics` uses `SpineTelemetry.layer`'s scrape when that is
 * provided. It logs the address it listens on (at info level), so that with
 * `port: 0` the port picked is known. Requests to `/livez` and `/readyz` make no trace spans:
 * orchestrators call them every few seconds, and they would drown the traces
 * that matter. When its scope closes, the server stops accepting, closes idle
 * connections at once and lets requests in flight finish for up to 2 seconds,
 * closing each connection as its response is written (or when that time is up).
 * A port that is no port, or a prefix with a query, a fragment or a space,
 * fails the layer with a `ServeError` saying so.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Spine.Announce, HttpServerError.ServeError> => {
  const problem = problemOf(options)
  if (problem !== undefined) {
    return Layer.fail(new HttpServerError.ServeError({ cause: new RangeError(`SpineHttp: ${problem}`) }))
  }
  const prefix = normalizePrefix(options.prefix)
  const probes = new Set([`${prefix}/livez`, `${prefix}/readyz`])
  return Layer.unwrapEffect(Effect.gen(function*() {
    const spine = yield* Effect.serviceOption(Spine.Spine)
    // loaded on first use: the Node server module brings in a WebSocket server, an HTTP client and
    // multipart parsing, which every importer of the library would otherwise pay for
    const NodeHttpServer = yield* Effect.promise(() => import("@effect/platform-node/NodeHttpServer"))
    const server = createServer()
    const responses = track(server)
    const serve = dispatch(options)
    let served = serve(spine)
    const announce = Layer.succeed(Spine.Announce, {
      announce: (service) => {
        served = serve(Option.some(service))
      }
    })
    return HttpServer.serve()(Effect.suspend(() => served)).pipe(
      HttpMiddleware.withTracerDisabledWhen((request) => probes.has(pathOf(request.url))),
      // "Listening on http://…": with `port: 0`, the only way to learn the port picked
      HttpServer.withLogAddress,
      Layer.provide(SpineTelemetry.layerPrometheus),
      Layer.provide(
        Layer.scopedDiscard(boundedClose(server, responses)).pipe(
          Layer.provideMerge(NodeHttpServer.layer(() => server, {
            port: options.port,
            ...(options.host === undefined ? {} : { host: options.host })
          }))
        )
      ),
      Layer.merge(announce)
    )
  }))
}
