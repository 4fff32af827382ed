/**
 * One measurement in a fresh process:
 * `node --expose-gc .bench/bench/child.js <spine|raw|latency|latency-raw> <N> <seed>` (compiled by bench/index.ts).
 * Warms up on a small DAG of the same kind, then builds once, measures the
 * retained heap while the scope is open, releases, and prints one JSON line.
 */
import { Context as C, Effect, Exit, Layer, Option, Scope } from "effect"
import type { Service } from "./dag.js"
import { makeDag, makeLayers, rawLayer, spineLayer } from "./dag.js"

const [mode = "spine", nArg = "100", seedArg = "1"] = process.argv.slice(2)
const n = Number(nArg)
const seed = Number(seedArg)
const gc = globalThis.gc
if (gc === undefined) throw new Error("run with node --expose-gc")
const raw = mode === "raw" || mode === "latency-raw"
const initMs = mode.startsWith("latency") ? 5 : 0

const heapAfterGc = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const layerOf = (size: number, dagSeed: number, delay: number, prefix: string) => {
  const dag = makeDag(size, dagSeed)
  const { layers, tags } = makeLayers(size, delay, prefix)
  const layer: Layer.Layer<Service, unknown> = raw ? rawLayer(dag, layers) : spineLayer(dag, tags, layers)
  return { layer, tags }
}

const measure = async (layer: Layer.Layer<Service, unknown>) => {
  const scope = Effect.runSync(Scope.make())
  const start = performance.now()
  const context: C.Context<Service> = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const buildMs = performance.now() - start
  return { scope, context, buildMs }
}

const release = async (scope: Scope.CloseableScope) => {
  const start = performance.now()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  return performance.now() - start
}

// Warm-up: compiles the code paths once so per-package figures are not one-off JIT costs.
const warm = layerOf(50, seed + 1, 0, "warm")
await release((await measure(warm.layer)).scope)

const { layer, tags } = layerOf(n, seed, initMs, "bench")
const baseline = heapAfterGc()
const { buildMs, context, scope } = await measure(layer)
const retained = heapAfterGc() - baseline
const missing = tags.filter((tag, index) => Option.getOrUndefined(C.getOption(context, tag))?.index !== index).length
const releaseMs = await release(scope)
if (missing > 0) throw new Error(`${missing} services missing from the built context`)
console.log(JSON.stringify({ mode, n, seed, buildMs, releaseMs, heapPerPackage: retained / n }))
