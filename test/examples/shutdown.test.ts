/**
 * Graceful shutdown, end to end: the main example as a child process with its
 * probes on an ephemeral port, stopped with SIGTERM once ready (a SIGTERM
 * during boot is tested in test/Main.test.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { freePort, startScript } from "../utils.js"

const status = (port: number, path: string) =>
  fetch(`http://127.0.0.1:${port}${path}`).then((response) => response.status, () => 0)

describe("graceful shutdown of the main example", () => {
  it("turns /readyz 503 before any package stops, releases in reverse order, exits 0", async () => {
    const port = await freePort()
    const app = startScript("examples/basic-app.ts", { PORT: String(port) })
    while (await status(port, "/readyz") !== 200) await new Promise((r) => setTimeout(r, 50))
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text())
    expect(metrics).toMatch(/^spine_package_up\{package="api",.*\} 1$/m)
    expect(metrics).toContain(`service_name="basic-app"`)
    app.child.kill("SIGTERM")
    let sawUnready = false
    while (app.stdout().indexOf("released") === -1 && !sawUnready) {
      const code = await status(port, "/readyz")
      if (code === 503) sawUnready = app.stdout().indexOf("released") === -1
      if (code === 0) break
    }
    expect(sawUnready).toBe(true)
    expect((await app.exited).code).toBe(0)
    const released = app.stdout().split("\n").filter((line) => line.startsWith("released "))
    expect(released).toEqual(["released api", "released audit-log", "released database", "released config"])
  })
})
