import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const root = fileURLToPath(new URL("../..", import.meta.url))
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url))

describe("examples/basic-app.ts", () => {
  it("boots, degrades, prints its table and releases in reverse order", async () => {
    const { stdout } = await promisify(execFile)(tsx, ["examples/basic-app.ts"], {
      cwd: root,
      env: { ...process.env, EXAMPLE_EXIT_AFTER_BOOT: "1", PORT: "0", DATABASE_PASSWORD: "hunter2-topsecret" },
      timeout: 60_000
    })
    const row = (name: string) => stdout.split("\n").find((line) => line.startsWith(`${name} `))
    expect(row("config")).toMatch(/ready/)
    expect(row("search-index")).toMatch(/failed/)
    expect(row("search-sync")).toMatch(/skipped/)
    const released = stdout.split("\n").filter((line) => line.startsWith("released "))
    expect(released).toEqual(["released api", "released audit-log", "released database", "released config"])
    expect(stdout).not.toContain("hunter2")
  })
})
