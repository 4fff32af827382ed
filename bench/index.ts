/**
 * `npm run bench`: the spine against raw `Layer.provide` wiring of the same
 * seeded random DAG, and against the bare scheduling it is built on (the
 * floor); then boot latency against the longest dependency chain, health
 * checks, the cost of importing the library (bench/import.ts), and
 * `GET /readyz` under HTTP load (bench/http.ts, also `npm run bench:http`
 * alone). Every figure is the median over fresh processes (bench/child.ts);
 * the bench reports PASS/FAIL per target and exits 0 (1 only when the HTTP
 * section times out).
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { compile } from "./compile.js"
import { longestChain, makeDag } from "./dag.js"
import { httpSection } from "./http.js"

interface Sample {
  readonly buildMs: number
  readonly releaseMs: number
  readonly heapPerPackage: number
  readonly coldMs: number
}

interface Row {
  readonly mode: string
  readonly n: number
  readonly reps: number
  readonly buildMs: number
  readonly releaseMs: number
  readonly usPerPackage: number
  readonly heapPerPackage: number
  readonly spread: number
  /** The first warm-up build + release of each process, per package (at most 1000 packages). */
  readonly coldUsPerPackage: number
}

const SEED = 42
const REPS = 5
const SIZES = [100, 1000, 5000]
/** Wall-clock budget of one (mode, N) cell: slow cells run fewer processes. */
const CELL_BUDGET_MS = 40_000
const LATENCY_N = 200
const STEP_MS = 5.8
const root = fileURLToPath(new URL("..", import.meta.url))
const child = fileURLToPath(new URL("../.bench/bench/child.js", import.meta.url))

compile()

const spawn = (mode: string, n: number): Sample | undefined => {
  const result = spawnSync(process.execPath, ["--expose-gc", child, mode, `${n}`, `${SEED}`], {
    cwd: root,
    encoding: "utf8",
    timeout: 180_000
  })
  const line = result.stdout.split("\n").find((text) => text.startsWith("{"))
  if (result.status === 0 && line !== undefined) return JSON.parse(line) as Sample
  console.log(`  ${mode} N=${n}: child failed (status ${result.status}, ${result.signal ?? "no signal"})`)
  console.log(result.stderr.split("\n").slice(0, 10).join("\n"))
  return undefined
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

const measure = (mode: string, n: number): Row => {
  const samples: Array<Sample> = []
  let reps = REPS
  for (let i = 0; i < reps; i++) {
    const start = performance.now()
    const sample = spawn(mode, n)
    if (sample !== undefined) samples.push(sample)
    if (i === 0) reps = Math.max(1, Math.min(REPS, Math.floor(CELL_BUDGET_MS / (performance.now() - start))))
  }
  const totals = samples.map((s) => s.buildMs + s.releaseMs)
  return {
    mode,
    n,
    reps: samples.length,
    buildMs: median(samples.map((s) => s.buildMs)),
    releaseMs: median(samples.map((s) => s.releaseMs)),
    usPerPackage: (median(totals) * 1000) / n,
    heapPerPackage: median(samples.map((s) => s.heapPerPackage)),
    spread: Math.max(...totals) / Math.min(...totals),
    coldUsPerPackage: (median(samples.map((s) => s.coldMs)) * 1000) / Math.min(n, 1000)
  }
}

const fixed = (value: number, digits: number, width: number) =>
  (Number.isFinite(value) ? value.toFixed(digits) : "n/a").padStart(width)

console.log(
  `spine and floor vs raw Layer.provide wiring, seed ${SEED}, median of up to ${REPS} fresh processes per cell`
)
console.log(
  "each child times one build + release after 3 warm-up builds of the same kind (cold = the first of them);\n" +
    "heap = retained after GC by another build of the same DAG, scope open.\n" +
    "floor = the same scheduling (a fiber, a MemoMap build and a scope per package) with nothing else\n"
)
console.log(
  "     N  mode   reps  build ms  release ms  µs/pkg (b+r)  heap B/pkg  max/min  cold µs/pkg  raw/mode time  heap"
)
const rows: Array<Row> = []
for (const n of SIZES) {
  const spine = measure("spine", n)
  const floor = measure("floor", n)
  const raw = measure("raw", n)
  rows.push(spine, floor, raw)
  for (const row of [spine, floor, raw]) {
    const ratios = row === raw
      ? ""
      : `${fixed(raw.usPerPackage / row.usPerPackage, 2, 13)}  ${fixed(raw.heapPerPackage / row.heapPerPackage, 2, 4)}`
    console.log(
      `${fixed(n, 0, 6)}  ${row.mode.padEnd(5)}  ${fixed(row.reps, 0, 4)}  ${fixed(row.buildMs, 1, 8)}  ${
        fixed(row.releaseMs, 1, 10)
      }  ${fixed(row.usPerPackage, 1, 12)}  ${fixed(row.heapPerPackage, 0, 10)}  ${fixed(row.spread, 2, 7)}  ${
        fixed(row.coldUsPerPackage, 1, 11)
      }  ${ratios}`
    )
  }
}
if (rows.some((row) => row.reps < REPS)) console.log(`(cells with reps < ${REPS} exceeded the per-cell time budget)`)

const chain = longestChain(makeDag(LATENCY_N, SEED))
const expected = chain * STEP_MS
const latency = measure("latency", LATENCY_N)
const latencyRaw = measure("latency-raw", LATENCY_N)
const latencyFloor = measure("latency-floor", LATENCY_N)
const noSleep = measure("spine", LATENCY_N)
console.log(
  `\nlatency: N=${LATENCY_N}, each init sleeps 5 ms, longest chain L=${chain}, L × ${STEP_MS} ms = ${expected} ms`
)
for (const row of [latency, latencyRaw, latencyFloor]) {
  console.log(
    `  ${row.mode.padEnd(13)} boot ${fixed(row.buildMs, 1, 7)} ms  (${row.reps} runs)  boot / (L × ${STEP_MS}) = ${
      fixed(row.buildMs / expected, 2, 4)
    }`
  )
}
console.log(`  same DAG without the sleeps: spine build ${noSleep.buildMs.toFixed(1)} ms, the CPU floor of the boot`)

// health: a round of trivial checks over N = 1000, and reads of the cached health
const healthChild = fileURLToPath(new URL("../.bench/bench/health.js", import.meta.url))
interface HealthSample {
  readonly roundMs: number
  readonly bareMs: number
  readonly overheadUsPerCheck: number
  readonly readsPerSecond: number
}
const healthSamples: Array<HealthSample> = []
for (let i = 0; i < REPS; i++) {
  const result = spawnSync(process.execPath, [healthChild, "1000"], { cwd: root, encoding: "utf8", timeout: 120_000 })
  const line = result.stdout.split("\n").find((text) => text.startsWith("{"))
  if (result.status === 0 && line !== undefined) healthSamples.push(JSON.parse(line) as HealthSample)
  else {console.log(
      `  health child failed (status ${result.status}):\n${result.stderr.split("\n").slice(0, 10).join("\n")}`
    )}
}
const healthOf = (pick: (sample: HealthSample) => number) => median(healthSamples.map(pick))
const overhead = healthOf((sample) => sample.overheadUsPerCheck)
const reads = healthOf((sample) => sample.readsPerSecond)
console.log(`\nhealth: N=1000 trivial checks, concurrency 16, median of ${healthSamples.length} fresh processes`)
console.log(
  `  round ${healthOf((sample) => sample.roundMs).toFixed(1)} ms (the checks alone ${
    healthOf((sample) => sample.bareMs).toFixed(1)
  } ms), overhead ${overhead.toFixed(1)} µs per check; Spine.health reads ${Math.round(reads).toLocaleString("en")}/s`
)

// import: what `import "@auth-spine/core"` costs a process
const importChild = fileURLToPath(new URL("../.bench/bench/import.js", import.meta.url))
const imports: Array<{ readonly importMs: number; readonly heapMB: number }> = []
for (let i = 0; i < REPS; i++) {
  const result = spawnSync(process.execPath, ["--expose-gc", importChild], { cwd: root, encoding: "utf8" })
  const line = result.stdout.split("\n").find((text) => text.startsWith("{"))
  if (result.status === 0 && line !== undefined) imports.push(JSON.parse(line))
}
console.log(
  `\nimport: the library's index keeps ${
    median(imports.map((sample) => sample.heapMB)).toFixed(1)
  } MB of heap and takes ${
    median(imports.map((sample) => sample.importMs)).toFixed(0)
  } ms (median of ${imports.length} fresh processes)`
)

// http: GET /readyz under load, against a bare node:http server (bench/http.ts)
const http = await httpSection()

const find = (mode: string, n: number) => rows.find((row) => row.mode === mode && row.n === n)!
const speedup = find("raw", 1000).usPerPackage / find("spine", 1000).usPerPackage
const heap1000 = find("spine", 1000).heapPerPackage
const scaling = find("spine", 5000).usPerPackage / find("spine", 1000).usPerPackage
const checks: ReadonlyArray<readonly [string, boolean, string]> = [
  ["N=1000: spine build+release >= 5x faster than raw", speedup >= 5, `${speedup.toFixed(2)}x`],
  ["N=1000: spine retained heap < 5 KB per package", heap1000 < 5120, `${(heap1000 / 1024).toFixed(2)} KB`],
  [
    `latency: spine boot <= 1.3 x L x ${STEP_MS} ms`,
    latency.buildMs <= 1.3 * expected,
    `${latency.buildMs.toFixed(1)} ms vs ${(1.3 * expected).toFixed(1)} ms`
  ],
  ["spine µs/package at N=5000 <= 1.5x N=1000", scaling <= 1.5, `${scaling.toFixed(2)}x`],
  ["health: overhead <= 50 µs per check", overhead <= 50, `${overhead.toFixed(1)} µs`],
  ["health: Spine.health reads >= 100,000/s", reads >= 100_000, `${Math.round(reads).toLocaleString("en")}/s`],
  http
]
console.log("\ntargets")
for (const [label, ok, value] of checks) console.log(`  ${ok ? "PASS" : "FAIL"}  ${label.padEnd(52)} ${value}`)
const floor1000 = find("floor", 1000)
console.log(
  `  (the floor at N=1000: ${(find("raw", 1000).usPerPackage / floor1000.usPerPackage).toFixed(2)}x faster than raw, ${
    (floor1000.heapPerPackage / 1024).toFixed(2)
  } KB per package; the spine costs ${
    (find("spine", 1000).usPerPackage / floor1000.usPerPackage).toFixed(2)
  }x the floor;\n   the floor's boot in the latency case: ${latencyFloor.buildMs.toFixed(1)} ms)`
)
