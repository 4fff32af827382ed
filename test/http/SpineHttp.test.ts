import { HttpClient, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Layer, Logger, Metric, Schedule, Schema, Scope } from "effect"
import { connect } from "node:net"
import * as SpineHttp from "../../src/http/SpineHttp.js"
import type { Health } from "../../src/index.js"
import { Package, Report, Spine, SpineTelemetry } from "../../src/index.js"
import { freePort, getLocal } from "../utils.js"

class Database extends Context.Tag("http-test/Database")<Database, { readonly url: string }>() {}
class Cache extends Context.Tag("http-test/Cache")<Cache, { readonly size: number }>() {}

const database = (check: () => Effect.Effect<void | Health.HealthDetail, unknown> = () => Effect.void) =>
  Package.make({
    name: "database",
    version: "1.0.0",
    provides: Database,
    layer: Layer.succeed(Database, { url: "memory://" }),
    health: () => check()
  })

const cache = Package.make({
  name: "cache",
  version: "1.0.0",
  provides: Cache,
  requires: [Database],
  layer: Layer.succeed(Cache, { size: 1 }),
  health: () => Effect.succeed({ details: { hits: 42 } })
})

const brokenCache = Package.make({
  name: "cache",
  version: "1.0.0",
  provides: Cache,
  optional: true,
  layer: Layer.fail("connection refused")
})

/**
 * Boots the spine in a scope of its own (closed by the caller or left to the
 * test), runs its checks once and serves the router on the test server.
 */
const serve = (
  layer: Layer.Layer<Spine.Spine, unknown>,
  options: SpineHttp.RouterOptions = {},
  mount: "app" | "router" = "app"
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const spine = Context.get(yield* Layer.buildWithScope(layer, scope), Spine.Spine)
    yield* spine.checkHealth()
    const metrics = yield* Layer.build(SpineTelemetry.layerPrometheus)
    yield* HttpServer.serveEffect()(mount === "app" ? SpineHttp.app(options) : SpineHttp.router(options)).pipe(
      Effect.provideService(Spine.Spine, spine),
      Effect.provide(metrics)
    )
    return { spine, scope }
  })

const get = (path: string) =>
  Effect.gen(function*() {
    const response = yield* HttpClient.get(path)
    return {
      status: response.status,
      contentType: response.headers["content-type"],
      text: yield* response.text
    }
  })

/**
 * A raw connection to the server on `port` that sends `data` and nothing more, destroyed when the test ends:
 * `answered` completes once the server wrote to it, `closed` once it is closed.
 */
const rawConnection = (port: number, data: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const socket = connect(port, "127.0.0.1")
      // read all along, so that the server's end is seen; a reset closes it too
      socket.resume().on("error", () => {})
      if (data !== "") socket.write(data)
      // listened to from the start, so that nothing is missed
      const event = (name: string) => {
        const happened = new Promise<void>((resolve) => socket.once(name, () => resolve()))
        return Effect.promise(() => happened)
      }
      return { socket, connected: event("connect"), answered: event("data"), closed: event("close") }
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  ).pipe(Effect.tap(({ connected }) => connected))

const spineOf = (packages: ReadonlyArray<Package.Any>) => Spine.layer({ packages, health: { enabled: false } })

describe("SpineHttp", () => {
  it.scopedLive("ready: /livez ok, /readyz 200 pass with one check per package", () =>
    Effect.gen(function*() {
      yield* serve(spineOf([database(), cache]))
      expect(yield* get("/livez")).toMatchObject({ status: 200, text: "ok" })
      const readyz = yield* get("/readyz")
      expect(readyz.status).toBe(200)
      expect(readyz.contentType).toContain("application/health+json")
      const body = JSON.parse(readyz.text)
      expect(body.status).toBe("pass")
      expect(Object.keys(body.checks).sort()).toEqual(["cache:health", "database:health"])
      const [check] = body.checks["database:health"]
      expect(check).toMatchObject({ componentId: "database", status: "pass", observedUnit: "ms" })
      expect(typeof check.observedValue).toBe("number")
      expect(new Date(check.time).toISOString()).toBe(check.time)
      expect(check.output).toBeUndefined()
      const verbose = yield* get("/readyz?verbose")
      expect(verbose.status).toBe(200)
      expect(verbose.text).toContain("[+]database ok")
      expect(verbose.text.trimEnd().endsWith("readyz check passed")).toBe(true)
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("/metrics: the Prometheus text of the spine's metrics and the application's own", () =>
    Effect.gen(function*() {
      const orders = Metric.counter("http_test_orders_total", { description: "Orders taken", incremental: true })
      yield* Metric.increment(orders)
      yield* Metric.increment(orders)
      yield* serve(spineOf([database(), brokenCache]))
      const response = yield* get("/metrics")
      expect(response.status).toBe(200)
      expect(response.contentType).toBe("text/plain; version=0.0.4; charset=utf-8")
      const lines = response.text.split("\n")
      const sample = (name: string, label: string) =>
        lines.find((line) => line.startsWith(`${name}{`) && line.includes(label))?.split(" ").at(-1)
      expect(lines).toContain("# TYPE spine_package_init_attempts_total counter")
      expect(lines).toContain("# TYPE spine_package_up gauge")
      expect(lines).toContain("# TYPE spine_package_init_duration_seconds histogram")
      expect(sample("spine_package_up", `package="database"`)).toBe("1")
      expect(sample("spine_package_up", `package="cache"`)).toBe("0")
      expect(Number(sample("spine_package_init_failures_total", `package="cache"`))).toBeGreaterThanOrEqual(1)
      expect(sample("spine_package_init_duration_seconds_count", `package="database"`)).toBeDefined()
      expect(lines).toContain("# TYPE http_test_orders_total counter")
      expect(sample("http_test_orders_total", "")).toBe("2")
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("app answers HEAD like GET, and 404 for other paths and methods", () =>
    Effect.gen(function*() {
      yield* serve(spineOf([database()]))
      const head = yield* HttpClient.head("/readyz")
      expect([head.status, yield* head.text]).toEqual([200, ""])
      expect((yield* HttpClient.head("/nope")).status).toBe(404)
      expect((yield* get("/nope")).status).toBe(404)
      expect((yield* get("/readyz/extra")).status).toBe(404)
      const post = yield* HttpClient.post("/readyz")
      expect(post.status).toBe(404)
      expect((yield* get("/readyz?verbose=0")).contentType).toContain("application/health+json")
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("router: the same routes for a router of your own", () =>
    Effect.gen(function*() {
      yield* serve(spineOf([database()]), { prefix: "/ops" }, "router")
      expect(yield* get("/ops/livez")).toMatchObject({ status: 200, text: "ok" })
      expect(JSON.parse((yield* get("/ops/readyz")).text).status).toBe("pass")
      expect((yield* get("/ops/metrics")).text).toContain("# TYPE spine_package_up gauge")
      expect((yield* get("/ops/graph?format=dot")).contentType).toContain("text/vnd.graphviz")
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("degraded: a failed optional package gives 200 warn", () =>
    Effect.gen(function*() {
      const { spine } = yield* serve(spineOf([database(), brokenCache]))
      expect(yield* spine.state("cache")).toBe("failed")
      const readyz = yield* get("/readyz")
      expect(readyz.status).toBe(200)
      const body = JSON.parse(readyz.text)
      expect(body.status).toBe("warn")
      expect(body.checks["cache:health"][0]).toMatchObject({ componentId: "cache", status: "fail" })
      expect(body.checks["database:health"][0].status).toBe("pass")
      expect(yield* get("/livez")).toMatchObject({ status: 200, text: "ok" })
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("failed: a failing required check gives 503 fail; ?verbose names it", () =>
    Effect.gen(function*() {
      let healthy = true
      const { spine } = yield* serve(
        spineOf([database(() => healthy ? Effect.void : Effect.fail(new Error("disk full"))), cache])
      )
      expect((yield* get("/readyz")).status).toBe(200)
      healthy = false
      // probes read the cache: nothing changes until the checks run
      expect((yield* get("/readyz")).status).toBe(200)
      yield* spine.checkHealth()
      const readyz = yield* get("/readyz")
      expect(readyz.status).toBe(503)
      const body = JSON.parse(readyz.text)
      expect(body.status).toBe("fail")
      expect(body.checks["database:health"][0]).toMatchObject({ status: "fail", output: "disk full" })
      const verbose = yield* get("/readyz?verbose")
      expect(verbose.status).toBe(503)
      expect(verbose.text).toContain("[-]database failed: disk full")
      expect(verbose.text).toContain("[+]cache ok")
      expect(verbose.text.trimEnd().endsWith("readyz check failed")).toBe(true)
      // liveness is not affected by package checks
      expect((yield* get("/livez")).status).toBe(200)
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("?verbose: a package whose check warns reads warn, and readiness passes", () =>
    Effect.gen(function*() {
      const { spine } = yield* serve(spineOf([database(() => Effect.succeed({ status: "warn" as const })), cache]))
      yield* spine.checkHealth()
      const verbose = yield* get("/readyz?verbose")
      expect(verbose).toMatchObject({ status: 200, text: "[+]database warn\n[+]cache ok\nreadyz check passed\n" })
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("?verbose: an error over several lines stays on its package's line", () =>
    Effect.gen(function*() {
      yield* serve(spineOf([database(() => Effect.fail(new Error("Expected string\n  at [\"url\"]\r\n[+]fake ok")))]))
      expect((yield* get("/readyz?verbose")).text).toBe(
        "[-]database failed: Expected string at [\"url\"] [+]fake ok\nreadyz check failed\n"
      )
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("stopping: /livez and /readyz turn 503 once shutdown begins, and stay so when stopped", () =>
    Effect.gen(function*() {
      const { scope, spine } = yield* serve(spineOf([database(), cache]))
      expect((yield* get("/livez")).status).toBe(200)
      yield* spine.beginShutdown
      expect(yield* spine.phase).toBe("stopping")
      expect(yield* get("/livez")).toMatchObject({ status: 503, text: "stopping" })
      const readyz = yield* get("/readyz")
      expect(readyz.status).toBe(503)
      expect(JSON.parse(readyz.text).status).toBe("fail")
      yield* Scope.close(scope, Exit.void)
      expect(yield* spine.phase).toBe("stopped")
      expect((yield* get("/livez")).status).toBe(503)
      expect((yield* get("/readyz")).status).toBe(503)
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("stopping: the probes answer 503 while packages are being released", () =>
    Effect.gen(function*() {
      const http = yield* HttpClient.HttpClient
      const seen: Array<number> = []
      const layer = Spine.layer({
        packages: [database(), cache],
        health: { enabled: false },
        hooks: {
          // the server is still up while the spine's scope closes
          beforeShutdown: Effect.gen(function*() {
            seen.push((yield* get("/livez")).status, (yield* get("/readyz")).status)
          }).pipe(Effect.provideService(HttpClient.HttpClient, http), Effect.orDie)
        }
      })
      const { scope } = yield* serve(layer)
      yield* Scope.close(scope, Exit.void)
      expect(seen).toEqual([503, 503])
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  describe("/health and /report details", () => {
    const details = (body: string) => JSON.parse(body).packages.cache.details
    /** The cache's details in a report: in its health, and in its entry of `packages`. */
    const reported = (body: string) => {
      const report = JSON.parse(body)
      const entry = report.packages.find((pkg: { name: string }) => pkg.name === "cache")
      return [report.health.packages.cache.details, entry.health.details]
    }

    it.scopedLive("stripped by default", () =>
      Effect.gen(function*() {
        yield* serve(spineOf([database(), cache]))
        const health = yield* get("/health")
        expect(health.status).toBe(200)
        const body = JSON.parse(health.text)
        expect(body).toMatchObject({ status: "pass", ready: true, live: true })
        expect(body.packages.cache.status).toBe("pass")
        expect("details" in body.packages.cache).toBe(false)
        expect(reported((yield* get("/report")).text)).toEqual([undefined, undefined])
      }).pipe(Effect.provide(NodeHttpServer.layerTest)))

    it.scopedLive("kept with details: always", () =>
      Effect.gen(function*() {
        yield* serve(spineOf([database(), cache]), { details: "always" })
        expect(details((yield* get("/health")).text)).toEqual({ hits: 42 })
      }).pipe(Effect.provide(NodeHttpServer.layerTest)))

    it.scopedLive("details JSON cannot carry (a bigint, a cycle, NaN) are served, not a 500", () =>
      Effect.gen(function*() {
        const looped: Record<string, unknown> = { rows: 10n, ratio: NaN }
        looped.self = looped
        const odd = Package.make({
          name: "cache",
          version: "1.0.0",
          provides: Cache,
          requires: [Database],
          layer: Layer.succeed(Cache, { size: 1 }),
          health: () => Effect.succeed({ details: looped })
        })
        yield* serve(spineOf([database(), odd]), { details: "always" })
        const health = yield* get("/health")
        expect(health.status).toBe(200)
        const expected = { rows: "10", ratio: null, self: "[Circular]" }
        expect(details(health.text)).toEqual(expected)
        const report = yield* get("/report")
        expect(report.status).toBe(200)
        expect(reported(report.text)).toEqual([expected, expected])
      }).pipe(Effect.provide(NodeHttpServer.layerTest)))

    it.scopedLive("with details: authorized, kept only when authorize says yes", () =>
      Effect.gen(function*() {
        yield* serve(spineOf([database(), cache]), {
          details: "authorized",
          authorize: (request) => Effect.succeed(request.headers["authorization"] === "Bearer secret")
        })
        expect(details((yield* get("/health")).text)).toBeUndefined()
        const client = yield* HttpClient.HttpClient
        const response = yield* client.get("/health", { headers: { authorization: "Bearer secret" } })
        expect(details(yield* response.text)).toEqual({ hits: 42 })
        const wrong = yield* client.get("/health", { headers: { authorization: "Bearer guess" } })
        expect(details(yield* wrong.text)).toBeUndefined()
        expect(reported((yield* get("/report")).text)).toEqual([undefined, undefined])
        const report = yield* client.get("/report", { headers: { authorization: "Bearer secret" } })
        expect(reported(yield* report.text)).toEqual([{ hits: 42 }, { hits: 42 }])
      }).pipe(Effect.provide(NodeHttpServer.layerTest)))

    it.scopedLive("authorize may be a plain function; without one, authorized shows nothing", () =>
      Effect.gen(function*() {
        yield* serve(spineOf([database(), cache]), { details: "authorized", authorize: () => true })
        expect(details((yield* get("/health")).text)).toEqual({ hits: 42 })
      }).pipe(
        Effect.zipRight(
          Effect.gen(function*() {
            yield* serve(spineOf([database(), cache]), { details: "authorized" })
            expect(details((yield* get("/health")).text)).toBeUndefined()
          }).pipe(Effect.provide(NodeHttpServer.layerTest))
        ),
        Effect.provide(NodeHttpServer.layerTest)
      ))
  })

  it.scopedLive("/report: the report as JSON, readable with the Report schema", () =>
    Effect.gen(function*() {
      yield* serve(spineOf([database(), cache]))
      const response = yield* get("/report")
      expect(response.status).toBe(200)
      expect(response.contentType).toContain("application/json")
      const body = JSON.parse(response.text)
      expect(body.summary).toMatchObject({ totalPackages: 2, overallHealth: "pass", initialized: true })
      const report = yield* Schema.decodeUnknown(Report.Report)(body)
      expect(report.packages.map((pkg) => pkg.name).sort()).toEqual(["cache", "database"])
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("/graph: Mermaid by default, DOT with ?format=dot", () =>
    Effect.gen(function*() {
      const { spine } = yield* serve(spineOf([database(), cache]))
      const graph = yield* spine.graph
      const mermaid = yield* get("/graph")
      expect(mermaid.status).toBe(200)
      expect(mermaid.text).toBe(graph.toMermaid())
      expect(mermaid.text).toMatch(/^flowchart/)
      const dot = yield* get("/graph?format=dot")
      expect(dot.status).toBe(200)
      expect(dot.text).toBe(graph.toDot())
      expect(dot.text).toMatch(/digraph/)
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("prefix: every route moves under it", () =>
    Effect.gen(function*() {
      yield* serve(spineOf([database(), cache]), { prefix: "/ops/" })
      expect(yield* get("/ops/livez")).toMatchObject({ status: 200, text: "ok" })
      expect((yield* get("/ops/readyz")).status).toBe(200)
      expect((yield* get("/ops/graph?format=dot")).text).toMatch(/digraph/)
      expect((yield* get("/livez")).status).toBe(404)
    }).pipe(Effect.provide(NodeHttpServer.layerTest)))

  it.scopedLive("layer: serves on a real port", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const spine = spineOf([database(), cache])
      yield* Layer.launch(SpineHttp.layer({ port, prefix: "/ops" }).pipe(Layer.provide(spine))).pipe(Effect.forkScoped)
      const response = yield* Effect.retry(getLocal(port, "/ops/livez"), {
        times: 100,
        schedule: Schedule.spaced("20 millis")
      })
      expect(response).toEqual({ status: 200, text: "ok" })
    }))

  it.scopedLive("closing: connections that sent nothing, half a request or a whole one do not hold it open", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(SpineHttp.layer({ port, host: "127.0.0.1" }), scope)
      const silent = yield* rawConnection(port, "")
      const partial = yield* rawConnection(port, "GET /livez HTTP/1.1\r\nHost: x\r\n")
      const idle = yield* rawConnection(port, "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
      // answered, so the server has accepted the connections made before it too
      yield* idle.answered
      // Node's `server.close()` alone waits for the first two forever: bounded, so that the test fails instead
      yield* Effect.all([Scope.close(scope, Exit.void), silent.closed, partial.closed, idle.closed], {
        concurrency: "unbounded"
      }).pipe(Effect.disconnect, Effect.timeout("10 seconds"))
    }))

  it.scopedLive("closing: a keep-alive request in flight is answered with Connection: close, then closed", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const asked = yield* Deferred.make<void>()
      const answer = yield* Deferred.make<void>()
      const slowMetrics = Package.make({
        name: "database",
        version: "1.0.0",
        provides: Database,
        layer: Layer.succeed(Database, { url: "memory://" }),
        metrics: () => Deferred.succeed(asked, void 0).pipe(Effect.zipRight(Deferred.await(answer)), Effect.as({}))
      })
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(
        SpineHttp.layer({ port, host: "127.0.0.1" }).pipe(Layer.provide(spineOf([slowMetrics]))),
        scope
      )
      // HTTP/1.1: keep-alive unless either side says otherwise
      const client = yield* rawConnection(port, "GET /report HTTP/1.1\r\nHost: x\r\n\r\n")
      const received: Array<string> = []
      client.socket.on("data", (chunk) => void received.push(String(chunk)))
      yield* Deferred.await(asked)
      const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
      // the server has stopped accepting, so the close has begun
      yield* Effect.retry(
        Effect.flatMap(
          Effect.either(getLocal(port, "/livez")),
          (r) => r._tag === "Left" ? Effect.void : Effect.fail("up")
        ),
        { times: 200, schedule: Schedule.spaced("10 millis") }
      )
      yield* Deferred.succeed(answer, void 0)
      yield* client.closed
      const head = received.join("").split("\r\n\r\n")[0].toLowerCase()
      expect(head).toMatch(/^http\/1\.1 200/)
      expect(head).toContain("connection: close")
      yield* Fiber.join(closing)
    }))

  it.scopedLive("a port that is no port fails the layer with a ServeError that names it, not a defect", () =>
    Effect.gen(function*() {
      for (const [port, shown] of [[-1, "-1"], [70000, "70000"], [1.5, "1.5"], [NaN, "NaN"], ["80", `"80"`]] as const) {
        const error = yield* Effect.flip(Layer.build(SpineHttp.layer({ port: port as number, host: "127.0.0.1" })))
        expect(error._tag).toBe("ServeError")
        expect(String(error.cause)).toBe(
          `RangeError: SpineHttp: port must be a whole number from 0 to 65535 (got ${shown})`
        )
      }
      // the bounds are ports: the layer listens, or at worst finds the port taken
      for (const port of [0, 65535]) {
        const built = yield* Effect.exit(Layer.build(SpineHttp.layer({ port, host: "127.0.0.1" })))
        // a ServeError keeps its reason in its cause
        const reason = Exit.isFailure(built) ? String((Cause.squash(built.cause) as { cause?: unknown }).cause) : ""
        expect(reason).not.toContain("port must be")
      }
    }))

  it.scopedLive("a prefix that no request path can match fails the layer with a ServeError that names it", () =>
    Effect.gen(function*() {
      for (const prefix of ["/ops?x=1", "/ops#top", "/my ops", "/ops\n", 8080 as unknown as string]) {
        const error = yield* Effect.flip(Layer.build(SpineHttp.layer({ port: 0, host: "127.0.0.1", prefix })))
        expect(String(error.cause)).toBe(
          `RangeError: SpineHttp: prefix must be a URL path, without query, fragment or spaces (got ${
            typeof prefix === "string" ? JSON.stringify(prefix) : "8080"
          })`
        )
      }
    }))

  it.scopedLive("before any spine announced itself: /readyz 503 booting, /livez 200, /metrics 200", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      yield* Layer.build(SpineHttp.layer({ port, host: "127.0.0.1" }))
      const fetchText = (path: string) => getLocal(port, path)
      expect(yield* fetchText("/readyz")).toEqual({
        status: 503,
        text: JSON.stringify({ status: "fail", output: "booting", checks: {} })
      })
      expect(yield* fetchText("/readyz?verbose")).toEqual({
        status: 503,
        text: "[-]spine booting\nreadyz check failed\n"
      })
      expect(yield* fetchText("/livez")).toEqual({ status: 200, text: "ok" })
      expect((yield* fetchText("/metrics")).status).toBe(200)
      expect(yield* fetchText("/report")).toEqual({ status: 503, text: "booting" })
      expect((yield* fetchText("/elsewhere")).status).toBe(404)
      // GET and HEAD only, as once the spine is there
      const posted = yield* Effect.tryPromise(() =>
        fetch(`http://127.0.0.1:${port}/livez`, { method: "POST" }).then((response) => response.status)
      )
      expect(posted).toBe(404)
    }))

  it.scopedLive("logs the address it listens on, so that with port 0 the port picked is known", () =>
    Effect.gen(function*() {
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => void logged.push(String(message)))
      yield* Layer.build(SpineHttp.layer({ port: 0, host: "127.0.0.1" })).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      const line = logged.find((message) => message.startsWith("Listening on http://127.0.0.1:"))
      const port = Number(line?.split(":").at(-1))
      expect(port).toBeGreaterThan(0)
      expect(yield* getLocal(port, "/livez")).toEqual({ status: 200, text: "ok" })
    }))

  it.scopedLive("booting: below the spine, it answers while packages start, and until the last is released", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const slow = Package.make({
        name: "cache",
        version: "1.0.0",
        provides: Cache,
        requires: [Database],
        layer: Layer.scoped(
          Cache,
          Effect.acquireRelease(
            Effect.zipRight(Deferred.await(opened), Effect.succeed({ size: 1 })),
            () => Deferred.await(release)
          )
        )
      })
      const fetchText = (path: string) => getLocal(port, path)
      const scope = yield* Scope.make()
      const app = spineOf([database(), slow]).pipe(
        Layer.provideMerge(SpineHttp.layer({ port, host: "127.0.0.1" }))
      )
      const booted = yield* Effect.forkDaemon(Layer.buildWithScope(app, scope))

      // booting: the server is up, readiness fails with each package's state, liveness passes
      const readyz = yield* Effect.retry(fetchText("/readyz"), { times: 200, schedule: Schedule.spaced("10 millis") })
      expect(readyz.status).toBe(503)
      const body = JSON.parse(readyz.text)
      expect(body.status).toBe("fail")
      expect(body.checks["cache:health"]?.[0]).toMatchObject({ status: "fail", output: "package is starting" })
      expect(yield* fetchText("/livez")).toEqual({ status: 200, text: "ok" })
      expect((yield* fetchText("/readyz?verbose")).text).toContain("[-]cache failed: package is starting")

      // ready
      yield* Deferred.succeed(opened, void 0)
      yield* Fiber.join(booted)
      expect((yield* fetchText("/readyz")).status).toBe(200)

      // stopping: the server outlives the packages, answering 503 while they are released
      const closing = yield* Effect.forkDaemon(Scope.close(scope, Exit.void))
      const stopping = yield* Effect.retry(
        Effect.flatMap(fetchText("/livez"), (r) => r.status === 503 ? Effect.succeed(r) : Effect.fail("not yet")),
        { times: 200, schedule: Schedule.spaced("10 millis") }
      )
      expect(stopping).toEqual({ status: 503, text: "stopping" })
      expect((yield* fetchText("/readyz")).status).toBe(503)
      yield* Deferred.succeed(release, void 0)
      yield* Fiber.join(closing)
    }))
})
