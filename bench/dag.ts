/**
 * The benchmark's graph: a seeded random DAG where package i depends on up to
 * three earlier packages, and the same trivial layers built three ways: through
 * the spine, by hand with `Layer.provide`, and by the bare scheduling the
 * spine is built on (the floor).
 */
import { Cause, Context, Deferred, Effect, Exit, Layer, Runtime, Scope } from "effect"
import { Package, Spine } from "../src/index.js"
import { type Node, walk } from "../src/internal/graph.js"

export interface Service {
  readonly index: number
}

/** mulberry32: a small, fast 32-bit PRNG with a good spread. Returns floats in [0, 1). */
export const prng = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** For each package, the indices of its dependencies: 0 to 3 distinct earlier packages. */
export const makeDag = (n: number, seed: number): ReadonlyArray<ReadonlyArray<number>> => {
  const random = prng(seed)
  const dag: Array<ReadonlyArray<number>> = []
  for (let i = 0; i < n; i++) {
    const count = Math.floor(random() * (Math.min(3, i) + 1))
    const deps = new Set<number>()
    while (deps.size < count) deps.add(Math.floor(random() * i))
    dag.push([...deps])
  }
  return dag
}

/** The longest dependency chain, counted in packages. */
export const longestChain = (dag: ReadonlyArray<ReadonlyArray<number>>): number => {
  const depth: Array<number> = []
  for (const deps of dag) depth.push(1 + Math.max(0, ...deps.map((j) => depth[j])))
  return Math.max(0, ...depth)
}

/** One tag and one trivial scoped layer per package; with `initMs`, each acquire sleeps that long. */
export const makeLayers = (n: number, initMs: number, prefix = "bench") => {
  const tags: Array<Context.Tag<Service, Service>> = []
  const layers: Array<Layer.Layer<Service>> = []
  for (let index = 0; index < n; index++) {
    const tag = Context.GenericTag<Service>(`${prefix}/P${index}`)
    const value: Service = { index }
    const acquire = initMs > 0 ? Effect.as(Effect.sleep(`${initMs} millis`), value) : Effect.succeed(value)
    tags.push(tag)
    layers.push(Layer.scoped(tag, Effect.acquireRelease(acquire, () => Effect.void)))
  }
  return { tags, layers }
}

/** One `Package.make` per node; `prefix` names the packages (and so their metric series). */
const packagesOf = (
  dag: ReadonlyArray<ReadonlyArray<number>>,
  tags: ReadonlyArray<Context.Tag<Service, Service>>,
  layers: ReadonlyArray<Layer.Layer<Service>>,
  prefix: string
) =>
  dag.map((deps, index) =>
    Package.make({
      name: `${prefix}-${index}`,
      version: "1.0.0",
      provides: tags[index],
      requires: deps.map((j) => tags[j]),
      layer: layers[index]
    })
  )

/** (a) The spine over one `Package.make` per node. */
export const spineLayer = (
  dag: ReadonlyArray<ReadonlyArray<number>>,
  tags: ReadonlyArray<Context.Tag<Service, Service>>,
  layers: ReadonlyArray<Layer.Layer<Service>>,
  prefix = "pkg"
) => Spine.layer({ packages: packagesOf(dag, tags, layers, prefix) })

/**
 * (b) Raw wiring: each layer provided with the merge of its wired dependencies.
 * Wired layers are reused by identity, so one build's MemoMap builds each once.
 */
export const rawLayer = (dag: ReadonlyArray<ReadonlyArray<number>>, layers: ReadonlyArray<Layer.Layer<Service>>) => {
  const wired: Array<Layer.Layer<Service>> = []
  dag.forEach((deps, index) => {
    const [first, ...rest] = deps.map((j) => wired[j])
    wired.push(first === undefined ? layers[index] : Layer.provide(layers[index], Layer.mergeAll(first, ...rest)))
  })
  const [head, ...tail] = wired
  return Layer.mergeAll(head, ...tail)
}

/**
 * (c) The design's floor: the spine's scheduling with nothing else. The
 * spine's own graph walk starts one fiber per package once its dependencies
 * are built, each layer built with a shared MemoMap into a scope of its own
 * with its dependencies' services provided, and releases in reverse order,
 * independent packages in parallel. No validation, states, events, metrics,
 * timeouts or error handling: what any scheduler of this design pays to Effect.
 */
export const floorLayer = (
  dag: ReadonlyArray<ReadonlyArray<number>>,
  tags: ReadonlyArray<Context.Tag<Service, Service>>,
  layers: ReadonlyArray<Layer.Layer<Service>>
): Layer.Layer<Service> => {
  const packages = packagesOf(dag, tags, layers, "floor")
  const dependents = dag.map((): Array<number> => [])
  dag.forEach((deps, index) => deps.forEach((j) => dependents[j].push(index)))
  const nodes: ReadonlyArray<Node> = packages.map((pkg, index) => ({
    index,
    pkg,
    dependencies: dag[index],
    dependents: dependents[index]
  }))
  return Layer.scopedContext(Effect.gen(function*() {
    const fork = Runtime.runFork(yield* Effect.runtime<never>())
    const memoMap = yield* Layer.makeMemoMap
    const services: Array<Service> = []
    const scopes: Array<Scope.CloseableScope> = []
    const built = yield* Deferred.make<void>()
    const boot = walk(nodes, "start", (index) => {
      const provided = new Map<string, unknown>(dag[index].map((j) => [tags[j].key, services[j]]))
      const scope = Effect.runSync(Scope.make())
      fork(Effect.provide(Layer.buildWithMemoMap(layers[index], memoMap, scope), Context.unsafeMake(provided)))
        .addObserver((exit) => {
          if (Exit.isFailure(exit)) return Deferred.unsafeDone(built, Exit.die(Cause.squash(exit.cause)))
          services[index] = Context.get(exit.value, tags[index])
          scopes[index] = scope
          boot.finish(index)
        })
    }, () => Deferred.unsafeDone(built, Exit.void))
    boot.start()
    yield* Deferred.await(built)
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        const release = walk(nodes, "release", (index) => {
          fork(Scope.close(scopes[index], Exit.void)).addObserver(() => release.finish(index))
        }, () => resume(Effect.void))
        release.start()
      })
    )
    return Context.unsafeMake<Service>(new Map(services.map((service, index) => [tags[index].key, service])))
  }))
}
