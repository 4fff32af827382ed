/**
 * One health measurement in a fresh process (compiled by bench/index.ts):
 * `node .bench/bench/health.js <N>`. Boots N packages with trivial checks
 * (scheduled checks off), times rounds of `checkHealth()` against running the
 * same check effects bare, and counts reads of the cached `Spine.health`.
 * Prints one JSON line.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { Package, Spine } from "../src/index.js"

const n = Number(process.argv[2] ?? "1000")
const ROUNDS = 15
const READS = 300_000

const check = () => Effect.void
const packages = Array.from({ length: n }, (_, index) => {
  const tag = Context.GenericTag<number>(`health-bench/${index}`)
  return Package.make({
    name: `pkg-${index}`,
    version: "1.0.0",
    provides: tag,
    layer: Layer.succeed(tag, index),
    health: check
  })
})

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[values.length >> 1]

const time = (effect: Effect.Effect<unknown, unknown>) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* effect
    return performance.now() - start
  })

const program = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const context = yield* Layer.buildWithScope(Spine.layer({ packages, health: { enabled: false } }), scope)
  const spine = Context.get(context, Spine.Spine)
  const bare = Effect.forEach(packages, (pkg, index) => pkg.health!(index), { discard: true })
  for (let i = 0; i < 3; i++) yield* Effect.zipRight(spine.checkHealth(), bare)
  const rounds: Array<number> = []
  const bareRounds: Array<number> = []
  for (let i = 0; i < ROUNDS; i++) {
    rounds.push(yield* time(spine.checkHealth()))
    bareRounds.push(yield* time(bare))
  }
  const health = yield* spine.checkHealth()
  if (Object.values(health.packages).some((p) => p.lastCheck === undefined)) throw new Error("a check did not run")
  const readStart = performance.now()
  for (let i = 0; i < READS; i++) yield* spine.health
  const readsPerSecond = READS / ((performance.now() - readStart) / 1000)
  yield* Scope.close(scope, Exit.void)
  const roundMs = median(rounds)
  const bareMs = median(bareRounds)
  return { n, roundMs, bareMs, overheadUsPerCheck: ((roundMs - bareMs) * 1000) / n, readsPerSecond }
})

Effect.runPromise(program).then((result) => console.log(JSON.stringify(result)))
