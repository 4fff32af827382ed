/**
 * The server of the HTTP load bench, in a process of its own (compiled and run by bench/http.ts):
 * `node .bench/bench/http-server.js <spine|baseline>`.
 *
 * - `spine`: boots 5 chained packages (`Layer.succeed`, scheduled health checks on, every second) and serves
 *   `SpineHttp.layer({ port, host: "127.0.0.1" })`, exactly what an application serves, on a free port picked
 *   beforehand.
 * - `baseline`: a bare `node:http` server answering `GET /readyz` with a constant `application/health+json`
 *   body of the same shape and size.
 *
 * Both listen on a free loopback port and print `{"port":N,...}` as one JSON line once listening. The process
 * exits on SIGTERM, or as soon as its stdin closes, so that it never outlives the bench.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { createServer as createNetServer } from "node:net"
import { Package, Spine, SpineHttp } from "../src/index.js"

const mode = process.argv[2] ?? "spine"
const PACKAGES = 5
const HOST = "127.0.0.1"

// the parent holds our stdin: when it goes away (even SIGKILLed), so do we
process.stdin.on("end", () => process.exit(0))
process.stdin.on("close", () => process.exit(0))
process.stdin.resume()

const ready = (port: number) => console.log(JSON.stringify({ mode, port, pid: process.pid }))

const spine = () => {
  const tags = Array.from({ length: PACKAGES }, (_, index) => Context.GenericTag<number>(`http-bench/${index}`))
  const packages = tags.map((tag, index) =>
    Package.make({
      name: `pkg-${index}`,
      version: "1.0.0",
      provides: tag,
      requires: index === 0 ? [] : [tags[index - 1]],
      layer: Layer.succeed(tag, index),
      health: () => Effect.void
    })
  )
  const SpineLive = Spine.layer({ packages, health: { interval: "1 second" } })
  const free = createNetServer().listen(0, HOST, () => {
    const address = free.address()
    if (address === null || typeof address === "string") throw new Error("expected a TCP address")
    free.close(() => {
      const HttpLive = SpineLive.pipe(Layer.provideMerge(SpineHttp.layer({ port: address.port, host: HOST })))
      NodeRuntime.runMain(Layer.launch(Layer.tap(HttpLive, () => Effect.sync(() => ready(address.port)))))
    })
  })
}

const baseline = () => {
  // the shape of the spine's /readyz body for PACKAGES packages: one IETF check per package
  const checks: Record<string, ReadonlyArray<SpineHttp.HealthCheck>> = {}
  for (let index = 0; index < PACKAGES; index++) {
    checks[`pkg-${index}:health`] = [{
      componentId: `pkg-${index}`,
      status: "pass",
      time: new Date().toISOString(),
      observedValue: 0.0123456789,
      observedUnit: "ms"
    }]
  }
  const body = Buffer.from(JSON.stringify({ status: "pass", checks }))
  const headers = { "content-type": "application/health+json", "content-length": body.length }
  const server = createServer((request, response) => {
    if (request.method === "GET" && request.url === "/readyz") {
      response.writeHead(200, headers)
      response.end(body)
    } else {
      response.writeHead(404, { "content-length": 0 })
      response.end()
    }
  })
  server.listen(0, HOST, () => {
    const address = server.address()
    if (address === null || typeof address === "string") throw new Error("expected a TCP address")
    ready(address.port)
  })
  process.on("SIGTERM", () => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  })
}

if (mode === "spine") spine()
else if (mode === "baseline") baseline()
else throw new Error(`unknown mode ${mode}: expected spine or baseline`)
