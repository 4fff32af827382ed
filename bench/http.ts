/**
 * `npm run bench:http` (also the last section of `npm run bench`): `GET /readyz` under load. First a bare
 * `node:http` baseline, then the spine's `SpineHttp` server (5 packages, health checks on), each in a child process
 * of its own (bench/http-server.ts), driven by a load generator in another child (bench/http-load.ts, raw keep-alive
 * sockets), so that server and client each have a core: 50 connections, 1 s warm-up, then 10 s measured.
 *
 * Prints requests, requests/s, p50/p99 latency, non-200 responses and errors of each run, the spine's requests/s
 * as a ratio of the baseline's, and PASS/FAIL against the target of >= 5,000 requests/s with zero errors. Children
 * run the compiled JS in .bench/ (run directly, this file compiles the bench first). Each run is killed after 30 s
 * and the section after 75 s; server children are always killed. Exits 0, or 1 when the section timed out.
 */
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { compile } from "./compile.js"

/** One run's figures, as bench/http-load.ts prints them. */
export interface LoadResult {
  readonly connections: number
  readonly durationMs: number
  readonly requests: number
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly non200: number
  readonly socketErrors: number
  readonly protocolErrors: number
  readonly sampled: number
  readonly badSamples: number
  readonly bodyBytes: number
  readonly reconnects: number
  readonly clientCpu: number
  readonly serverCpu: number | null
  /** CPU of every other process on the machine: a busy machine distorts the figures. */
  readonly otherCpu: number | null
  /** CPU the host of a virtual machine took from it. */
  readonly stealCpu: number | null
  readonly firstErrors: ReadonlyArray<string>
}

const CONNECTIONS = 50
const DURATION_MS = 10_000
const WARMUP_MS = 1_000
const BOOT_TIMEOUT_MS = 10_000
const RUN_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 2_000
const SECTION_TIMEOUT_MS = 75_000
const TARGET_RPS = 5_000
const root = fileURLToPath(new URL("..", import.meta.url))
const serverJs = fileURLToPath(new URL("../.bench/bench/http-server.js", import.meta.url))
const loadJs = fileURLToPath(new URL("../.bench/bench/http-load.js", import.meta.url))

const children = new Set<ChildProcessWithoutNullStreams>()
const killAll = () => {
  for (const child of children) child.kill("SIGKILL")
}

interface Child {
  readonly process: ChildProcessWithoutNullStreams
  /** The first JSON line on stdout, or an error when the child exits or the time is up first. */
  readonly result: <A>(timeoutMs: number) => Promise<A>
  readonly stderr: () => string
}

const start = (name: string, file: string, args: ReadonlyArray<string>): Child => {
  const child = spawn(process.execPath, [file, ...args], { cwd: root, stdio: ["pipe", "pipe", "pipe"] })
  children.add(child)
  child.once("exit", () => children.delete(child))
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-4000)
  })
  let pending = ""
  let line: string | undefined
  const waiting = new Set<() => void>()
  // stdout is read to the end, so that a chatty child never blocks on a full pipe
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    if (line !== undefined) return
    pending += text
    for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
      const next = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      if (next.startsWith("{")) {
        line = next
        for (const wake of waiting) wake()
        return
      }
    }
  })
  const result = <A>(timeoutMs: number) =>
    new Promise<A>((resolvePromise, reject) => {
      const settle = () => {
        clearTimeout(timer)
        child.off("close", onExit)
        waiting.delete(settle)
        if (line !== undefined) resolvePromise(JSON.parse(line) as A)
      }
      const fail = (reason: string) => {
        settle()
        reject(new Error(`${name}: ${reason}\n${stderr.split("\n").slice(-12).join("\n")}`))
      }
      // "close" comes after the child's stdout has ended, so a result printed just before exiting is read
      const onExit = (code: number | null, signal: string | null) =>
        line === undefined && fail(`exited (${code ?? signal}) before its result`)
      const timer = setTimeout(() => fail(`no result within ${Math.round(timeoutMs)} ms`), timeoutMs)
      waiting.add(settle)
      child.once("close", onExit)
      if (line !== undefined) settle()
    })
  return { process: child, result, stderr: () => stderr }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the child has exited. */
const stop = (child: ChildProcessWithoutNullStreams) =>
  new Promise<void>((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise()
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS)
    child.once("exit", () => {
      clearTimeout(timer)
      resolvePromise()
    })
    child.kill("SIGTERM")
    child.stdin.end()
  })

const run = async (mode: "baseline" | "spine"): Promise<LoadResult> => {
  const server = start(`${mode} server`, serverJs, [mode])
  try {
    const started = performance.now()
    const { pid, port } = await server.result<{ port: number; pid: number }>(BOOT_TIMEOUT_MS)
    const load = start(`load generator (${mode})`, loadJs, [
      `${port}`,
      `${CONNECTIONS}`,
      `${DURATION_MS}`,
      `${WARMUP_MS}`,
      `${pid}`
    ])
    try {
      const result = await load.result<LoadResult>(RUN_TIMEOUT_MS - (performance.now() - started))
      if (server.process.exitCode !== null || server.process.signalCode !== null) {
        throw new Error(`${mode} server exited during the run\n${server.stderr()}`)
      }
      return result
    } finally {
      await stop(load.process)
    }
  } finally {
    await stop(server.process)
  }
}

const fixed = (value: number | null, digits: number) =>
  value !== null && Number.isFinite(value) ? value.toFixed(digits) : "n/a"
const percent = (share: number | null) => share === null ? "n/a" : `${(share * 100).toFixed(0)}%`
const thousands = (value: number) => Math.round(value).toLocaleString("en")
const errorsOf = (result: LoadResult) => result.socketErrors + result.protocolErrors + result.badSamples

/** The table: header, width, cell. */
const columns: ReadonlyArray<readonly [string, number, (result: LoadResult) => string]> = [
  ["requests", 9, (result) => fixed(result.requests, 0)],
  ["req/s", 7, (result) => fixed(result.rps, 0)],
  ["p50 ms", 6, (result) => fixed(result.p50Ms, 2)],
  ["p99 ms", 6, (result) => fixed(result.p99Ms, 2)],
  ["max ms", 6, (result) => fixed(result.maxMs, 1)],
  ["non-200", 7, (result) => fixed(result.non200, 0)],
  ["errors", 6, (result) => fixed(errorsOf(result), 0)],
  ["samples ok", 10, (result) => `${result.sampled - result.badSamples}/${result.sampled}`],
  ["body B", 6, (result) => fixed(result.bodyBytes, 0)],
  ["server CPU", 10, (result) => percent(result.serverCpu)],
  ["client CPU", 10, (result) => percent(result.clientCpu)],
  ["other CPU", 9, (result) => percent(result.otherCpu)]
]
const row = (name: string, cells: ReadonlyArray<string>) =>
  `  ${name.padEnd(8)}${cells.map((cell, index) => cell.padStart(columns[index][1] + 2)).join("")}`

/**
 * Runs the baseline, then the spine, prints both and their ratio, and returns the target as a
 * `[label, ok, value]` row of bench/index.ts's targets. Expects the bench to be compiled.
 */
export const httpSection = async (): Promise<readonly [string, boolean, string]> => {
  const watchdog = setTimeout(() => {
    killAll()
    console.log(`\n  FAIL  http section did not finish within ${SECTION_TIMEOUT_MS / 1000} s: children killed`)
    process.exit(1)
  }, SECTION_TIMEOUT_MS)
  const onSignal = () => {
    killAll()
    process.exit(130)
  }
  process.on("exit", killAll)
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  const label = `http: spine GET /readyz >= ${thousands(TARGET_RPS)} req/s, zero errors`
  try {
    console.log(
      `\nhttp: GET /readyz, ${CONNECTIONS} keep-alive connections, ${WARMUP_MS / 1000} s warm-up, then ${
        DURATION_MS / 1000
      } s measured; server, load generator: one process each`
    )
    console.log(row("server", columns.map(([header]) => header)))
    const results: Array<LoadResult | undefined> = []
    for (const mode of ["baseline", "spine"] as const) {
      let result: LoadResult | undefined
      try {
        result = await run(mode)
      } catch (error) {
        console.log(`  ${mode}: run failed: ${error instanceof Error ? error.message : String(error)}`)
      }
      results.push(result)
      if (result === undefined) continue
      console.log(row(mode, columns.map(([, , cell]) => cell(result))))
      for (const message of result.firstErrors) console.log(`    ${message}`)
    }
    const [baseline, spine] = results
    if (baseline !== undefined && spine !== undefined) {
      console.log(`  spine / baseline req/s: ${(spine.rps / baseline.rps).toFixed(2)}`)
    }
    console.log(
      "  CPU: share of one core over the measured window (other: the rest of the machine);"
        + " errors: socket, protocol, failed samples"
    )
    const measured = results.filter((result) => result !== undefined)
    if (measured.some((result) => (result.otherCpu ?? 0) > 0.25)) {
      console.log("  WARNING: other processes used the CPU during the runs: the figures are not reliable")
    }
    if (measured.some((result) => (result.stealCpu ?? 0) > 0.1)) {
      const steal = measured.map((result) => percent(result.stealCpu)).join(", ")
      console.log(`  WARNING: the host took CPU from this virtual machine (steal ${steal} of a core): figures vary`)
    }
    if (measured.some((result) => result.clientCpu > 0.9)) {
      console.log("  WARNING: the load generator was near a full core: its server's figure is a lower bound")
    }
    if (spine === undefined) return [label, false, "run failed"]
    const ok = spine.rps >= TARGET_RPS && spine.non200 === 0 && errorsOf(spine) === 0
    return [label, ok, `${thousands(spine.rps)}/s, ${spine.non200} non-200, ${errorsOf(spine)} errors`]
  } finally {
    clearTimeout(watchdog)
    process.off("exit", killAll)
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    killAll()
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  compile()
  const [label, ok, value] = await httpSection()
  console.log("\ntargets")
  console.log(`  ${ok ? "PASS" : "FAIL"}  ${label.padEnd(52)} ${value}`)
}
