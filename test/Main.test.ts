import { describe, expect, it } from "@effect/vitest"
import { startScript } from "./utils.js"

/** Runs the fixture; sends one SIGTERM once stdout shows `signalWhen`, if given. */
const run = (env: Record<string, string>, signalWhen?: string) => {
  const app = startScript("test/fixtures/main-app.ts", env, 30_000)
  if (signalWhen !== undefined) {
    const onData = () => {
      if (!app.stdout().includes(signalWhen)) return
      app.child.stdout.off("data", onData)
      app.child.kill("SIGTERM")
    }
    app.child.stdout.on("data", onData)
  }
  return app.exited
}

describe("Spine.runMain", () => {
  it("boots, prints the table, and on SIGTERM releases in reverse order and exits 0", async () => {
    const { code, stdout } = await run({}, "readiness pass")
    expect(code).toBe(0)
    const lines = stdout.split("\n")
    expect(lines.find((line) => line.startsWith("PACKAGE"))).toMatch(/^PACKAGE\s+VERSION\s+STATE/)
    expect(lines.filter((line) => line.startsWith("released "))).toEqual([
      "released api",
      "released db",
      "released config"
    ])
    const table = lines.slice(lines.findIndex((line) => /^PACKAGE\s+STOP$/.test(line)) + 1).filter((l) => l !== "")
    expect(table.map((line) => line.split(/\s+/)[0])).toEqual(["api", "db", "config"])
  })

  it("releases what had started when SIGTERM arrives during boot, and exits 0", async () => {
    const { code, stdout } = await run({ SLOW: "1" }, "acquired db")
    expect(code).toBe(0)
    const lines = stdout.split("\n")
    expect(lines.filter((line) => line.startsWith("acquired "))).toEqual(["acquired config", "acquired db"])
    expect(lines.filter((line) => line.startsWith("released "))).toEqual(["released db", "released config"])
  })

  it("exits 1 when the boot fails, naming the package and releasing what had started", async () => {
    const { code, stderr, stdout } = await run({ BOOT_FAIL: "1" })
    expect(code).toBe(1)
    expect(stderr).toContain(`Boot failed: Package "api" failed to start after 1 attempt: api cannot connect`)
    expect(stdout.split("\n").filter((line) => line.startsWith("released "))).toEqual([
      "released db",
      "released config"
    ])
  })
})
