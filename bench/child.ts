/**
 * One measurement in a fresh process:
 * `node --expose-gc .bench/bench/child.js <mode> <N> <seed>` (compiled by bench/index.ts), mode one of
 * spine, raw, floor, latency, latency-raw, latency-floor.
 * Warms up on DAGs of the same kind, times one build and release, measures the
 * retained heap of another build while its scope is open, and prints one JSON line.
 */
import { Context as C, Effect, Exit, Layer, Option, Scope } from "effect"
import type { Service } from "./dag.js"
import { floorLayer, makeDag, makeLayers, rawLayer, spineLayer } from "./dag.js"

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
  const layer: Layer.Layer<Service, unknown> = raw
    ? rawLayer(dag, layers)
    : mode.endsWith("floor")
    ? floorLayer(dag, tags, layers)
    : spineLayer(dag, tags, layers, prefix)
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

// Warm-up: V8 optimizes the hot paths only after a few thousand calls, so the
// build is timed after WARMUPS builds of the same kind (other DAGs, tags and
// package names, so no metric series is reused; at most 1000 packages). The
// first of them is reported as `coldMs`.
const WARMUPS = 3
let coldMs = 0
for (let round = 0; round < WARMUPS; round++) {
  const warm = layerOf(Math.min(n, 1000), seed + 1 + round, initMs, `warm${round}`)
  const { buildMs, scope } = await measure(warm.layer)
  const releaseMs = await release(scope)
  if (round === 0) coldMs = buildMs + releaseMs
}

// Timed: no forced GC just before, which would shrink the young generation and
// slow the build down with extra scavenges.
const timed = layerOf(n, seed, initMs, "bench")
const { buildMs, context, scope } = await measure(timed.layer)
const releaseMs = await release(scope)
const missing = timed.tags.filter((tag, index) => Option.getOrUndefined(C.getOption(context, tag))?.index !== index)
  .length

// Retained heap: the same DAG built once more under new names, between two GCs, its scope open.
const counted = layerOf(n, seed, initMs, "heap")
const baseline = heapAfterGc()
const held = await measure(counted.layer)
const retained = heapAfterGc() - baseline
await release(held.scope)
if (missing > 0) throw new Error(`${missing} services missing from the built context`)
console.log(JSON.stringify({ mode, n, seed, buildMs, releaseMs, heapPerPackage: retained / n, coldMs }))
