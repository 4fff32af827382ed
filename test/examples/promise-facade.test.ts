import { describe, expect, it } from "@effect/vitest"
import { startScript } from "../utils.js"

describe("examples/promise-facade.ts", () => {
  it("boots through the Promise facade, serves calls, reports, and releases in reverse order", async () => {
    const { code, stdout } = await startScript("examples/promise-facade.ts").exited
    expect(code).toBe(0)
    const lines = stdout.split("\n")
    expect(lines).toContain("health: pass (ready true, live true)")
    expect(lines).toContain("hello ada (user #1)")
    expect(lines).toContain("report: 3/3 healthy, overall pass, initialized true")
    expect(lines).toContainEqual(expect.stringMatching(/^greeter\s+2\.1\.0\s+ready\s+pass/))
    // greeter requires users, so it is released first; audit depends on nothing and nothing on it
    const released = lines.filter((line) => line.startsWith("released "))
    expect(released.filter((line) => line !== "released audit (2 entries)")).toEqual([
      "released greeter",
      "released users"
    ])
    expect(released).toContain("released audit (2 entries)")
  })
})
