import { describe, expect, it } from "@effect/vitest"
import { startScript } from "../utils.js"

describe("examples/basic-app.ts", () => {
  it("boots, degrades, prints its table and releases in reverse order", async () => {
    const { code, stdout } = await startScript("examples/basic-app.ts", {
      EXAMPLE_EXIT_AFTER_BOOT: "1",
      PORT: "0",
      DATABASE_PASSWORD: "hunter2-topsecret"
    }).exited
    expect(code).toBe(0)
    const row = (name: string) => stdout.split("\n").find((line) => line.startsWith(`${name} `))
    expect(row("config")).toMatch(/ready/)
    expect(row("search-index")).toMatch(/failed/)
    expect(row("search-sync")).toMatch(/skipped/)
    const released = stdout.split("\n").filter((line) => line.startsWith("released "))
    expect(released).toEqual(["released api", "released audit-log", "released database", "released config"])
    expect(stdout).not.toContain("hunter2")
  })
})
