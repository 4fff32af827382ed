/**
 * The load generator of the HTTP load bench, in a process of its own (compiled and run by bench/http.ts):
 * `node .bench/bench/http-load.js <port> <connections> <durationMs> <warmupMs> [serverPid]`.
 *
 * Opens `connections` raw keep-alive TCP connections to 127.0.0.1:<port>; each sends `GET /readyz` (HTTP/1.1, no
 * pipelining), parses the response (status line, `content-length`) and sends the next one as soon as it is
 * complete. After `warmupMs`, counts the responses completed in the next `durationMs` and their latencies (request
 * written to response complete). Checks the status of every response and, on a sample (the first of each
 * connection, then one in 64), that it is `application/health+json` with `"status":"pass"`. Non-200 responses,
 * socket and protocol errors and failed samples are counted over warm-up and measurement. Reads its own CPU time
 * and the server's (`/proc/<pid>/stat`, Linux) over the measured window, and the machine's (`/proc/stat`) to tell
 * how much other processes (and the host of a virtual machine) took. Prints one JSON line.
 */
import { readFileSync } from "node:fs"
import type { Socket } from "node:net"
import { connect } from "node:net"
import type { LoadResult } from "./http.js"

const [portArg, connectionsArg = "50", durationArg = "10000", warmupArg = "1000", serverPid] = process.argv.slice(2)
const port = Number(portArg)
const connections = Number(connectionsArg)
const durationMs = Number(durationArg)
const warmupMs = Number(warmupArg)
const HOST = "127.0.0.1"
const SAMPLE_EVERY = 64
const DRAIN_MS = 2000
const CLOCK_TICKS_PER_SECOND = 100

if (!(port > 0)) throw new Error("usage: http-load.js <port> <connections> <durationMs> <warmupMs> [serverPid]")
// never outlive the bench
process.stdin.on("end", () => process.exit(1))
process.stdin.resume()

const request = Buffer.from(`GET /readyz HTTP/1.1\r\nHost: ${HOST}:${port}\r\nConnection: keep-alive\r\n\r\n`)
const HEADER_END = Buffer.from("\r\n\r\n")

let phase: "warmup" | "measure" | "drain" = "warmup"
let latencies = new Float64Array(1 << 20)
let requests = 0
let responsesTotal = 0
let non200 = 0
let socketErrors = 0
let protocolErrors = 0
let sampled = 0
let badSamples = 0
let bodyBytes = 0
let reconnects = 0
const firstErrors: Array<string> = []

const noteError = (message: string) => {
  if (firstErrors.length < 5) firstErrors.push(message)
}

const record = (latencyMs: number) => {
  if (requests === latencies.length) {
    const grown = new Float64Array(latencies.length * 2)
    grown.set(latencies)
    latencies = grown
  }
  latencies[requests++] = latencyMs
}

/** `content-length` of a response head, or -1 when absent (chunked bodies are not expected here). */
const contentLength = (head: string) => {
  const match = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)
  return match === null ? -1 : Number(match[1])
}

/** One sampled response: the right content type and a body of `"status":"pass"`. */
const checkSample = (head: string, body: Buffer) => {
  sampled++
  bodyBytes = body.length
  let ok = /\r\ncontent-type:[ \t]*application\/health\+json/i.test(head)
  try {
    ok = ok && (JSON.parse(body.toString("utf8")) as { status?: unknown }).status === "pass"
  } catch {
    ok = false
  }
  if (!ok) {
    badSamples++
    noteError(`unexpected sample: ${head.split("\r\n")[0]} ${body.toString("utf8").slice(0, 120)}`)
  }
}

interface Connection {
  socket: Socket
  buffer: Buffer
  sentAt: number
  inFlight: boolean
  responses: number
  closedByUs: boolean
}

const live = new Set<Connection>()

const close = (conn: Connection) => {
  conn.closedByUs = true
  live.delete(conn)
  conn.socket.destroy()
}

const send = (conn: Connection) => {
  conn.inFlight = true
  conn.sentAt = performance.now()
  conn.socket.write(request)
}

const open = () => {
  const socket = connect({ host: HOST, port, noDelay: true })
  const conn: Connection = {
    socket,
    buffer: Buffer.alloc(0),
    sentAt: 0,
    inFlight: false,
    responses: 0,
    closedByUs: false
  }
  live.add(conn)
  socket.on("connect", () => {
    if (phase !== "drain") send(conn)
  })
  socket.on("data", (chunk: Buffer) => onData(conn, chunk))
  socket.on("error", (error) => {
    if (conn.closedByUs) return
    socketErrors++
    noteError(`socket: ${error.message}`)
  })
  socket.on("close", () => {
    live.delete(conn)
    if (conn.closedByUs || phase === "drain") return
    // closed by the server or after an error: an error, then a fresh connection (paced if the server is gone)
    if (!socket.errored) {
      socketErrors++
      noteError("connection closed by the server")
    }
    reconnects++
    setTimeout(open, 10)
  })
}

const abandon = (conn: Connection, message: string) => {
  protocolErrors++
  noteError(message)
  close(conn)
  if (phase !== "drain") {
    reconnects++
    open()
  }
}

const onData = (conn: Connection, chunk: Buffer) => {
  conn.buffer = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk])
  for (;;) {
    const headerEnd = conn.buffer.indexOf(HEADER_END)
    if (headerEnd < 0) return
    const head = conn.buffer.toString("latin1", 0, headerEnd)
    const length = contentLength(head)
    if (length < 0) return abandon(conn, `response without content-length: ${head.slice(0, 200)}`)
    const end = headerEnd + 4 + length
    if (conn.buffer.length < end) return
    if (!conn.inFlight) return abandon(conn, "response without a request")
    const now = performance.now()
    const status = Number(head.slice(9, 12))
    const body = conn.buffer.subarray(headerEnd + 4, end)
    conn.buffer = conn.buffer.length === end ? Buffer.alloc(0) : conn.buffer.subarray(end)
    conn.inFlight = false
    responsesTotal++
    if (phase === "measure") record(now - conn.sentAt)
    if (status !== 200) {
      non200++
      noteError(`status ${status}`)
    }
    if (conn.responses++ === 0 || responsesTotal % SAMPLE_EVERY === 0) checkSample(head, body)
    if (phase === "drain") {
      close(conn)
      if (live.size === 0) finish()
      return
    }
    send(conn)
  }
}

/** user + system CPU seconds of a process, from /proc (Linux); undefined elsewhere. */
const procCpuSeconds = (pid: string | undefined) => {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
  } catch {
    return undefined
  }
}

/**
 * CPU seconds of the whole machine over all cores, from /proc/stat (Linux); undefined elsewhere: `busy` (user,
 * nice, system, irq: what processes run) and `steal` (time a virtual machine's CPUs were taken by the host).
 */
const machineCpuSeconds = () => {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal
    const busy = fields[0] + fields[1] + fields[2] + fields[5]
    return { busy: busy / CLOCK_TICKS_PER_SECOND, steal: (fields[7] ?? 0) / CLOCK_TICKS_PER_SECOND }
  } catch {
    return undefined
  }
}

const ownCpuSeconds = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

let measureStart = 0
let measureEnd = 0
let clientCpuStart = 0
let clientCpu = 0
let serverCpuStart: number | undefined
let serverCpu: number | undefined
let machineCpuStart: { readonly busy: number; readonly steal: number } | undefined
let machineCpu: { readonly busy: number; readonly steal: number } | undefined
let finished = false

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]

const finish = () => {
  if (finished) return
  finished = true
  for (const conn of [...live]) close(conn)
  const sorted = latencies.slice(0, requests).sort()
  const seconds = (measureEnd - measureStart) / 1000
  const result: LoadResult = {
    connections,
    durationMs: measureEnd - measureStart,
    requests,
    rps: requests / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1],
    non200,
    socketErrors,
    protocolErrors,
    sampled,
    badSamples,
    bodyBytes,
    reconnects,
    clientCpu: clientCpu / seconds,
    serverCpu: serverCpu === undefined ? null : serverCpu / seconds,
    otherCpu: machineCpu === undefined || serverCpu === undefined
      ? null
      : Math.max(0, machineCpu.busy - serverCpu - clientCpu) / seconds,
    stealCpu: machineCpu === undefined ? null : machineCpu.steal / seconds,
    firstErrors
  }
  console.log(JSON.stringify(result))
  process.exit(0)
}

for (let i = 0; i < connections; i++) open()

setTimeout(() => {
  phase = "measure"
  measureStart = performance.now()
  clientCpuStart = ownCpuSeconds()
  serverCpuStart = procCpuSeconds(serverPid)
  machineCpuStart = machineCpuSeconds()
  setTimeout(() => {
    measureEnd = performance.now()
    clientCpu = ownCpuSeconds() - clientCpuStart
    const serverCpuEnd = procCpuSeconds(serverPid)
    serverCpu = serverCpuStart === undefined || serverCpuEnd === undefined ? undefined : serverCpuEnd - serverCpuStart
    const machineCpuEnd = machineCpuSeconds()
    machineCpu = machineCpuStart === undefined || machineCpuEnd === undefined
      ? undefined
      : { busy: machineCpuEnd.busy - machineCpuStart.busy, steal: machineCpuEnd.steal - machineCpuStart.steal }
    phase = "drain"
    // in-flight responses complete (uncounted) and close their connections; idle ones close now
    for (const conn of [...live]) {
      if (!conn.inFlight) close(conn)
    }
    if (live.size === 0) finish()
    setTimeout(finish, DRAIN_MS).unref()
  }, durationMs)
}, warmupMs)
