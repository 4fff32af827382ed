import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Effect, Layer } from "effect"
import { Package, Plugin, Spine } from "../../src/index.js"
import { oneLine, reasonOf } from "../../src/internal/cause.js"

/** An error `String` cannot convert: no prototype, so no toString. */
const bare = () => Object.create(null) as object

describe("reasonOf", () => {
  it("names an error String cannot convert by its kind, never its contents", () => {
    expect(reasonOf(Cause.fail(Object.assign(bare(), { password: "hunter2" })))).toBe("[object Object]")
    expect(reasonOf(Cause.fail(new Error("", { cause: new Error("port taken") })))).toBe("port taken")
  })

  it("always gives a string, whatever the error's message is", () => {
    const withMessage = (message: unknown) => Object.assign(new Error("x"), { message })
    expect(reasonOf(Cause.fail(withMessage(undefined)))).toBe("Error")
    expect(reasonOf(Cause.fail(withMessage(42)))).toBe("Error: 42")
    const throwing = Object.defineProperty(new Error("x"), "message", {
      get: () => {
        throw new Error("no message")
      }
    })
    expect(reasonOf(Cause.die(throwing))).toBe("[object Error]")
    const loop: Error = new Error("")
    loop.cause = loop
    expect(reasonOf(Cause.fail(loop))).toBe("Error")
  })

  it.effect("keeps the boot, the checks and extension points going when such an error comes", () =>
    Effect.gen(function*() {
      class Odd extends Context.Tag("cause/Odd")<Odd, number>() {}
      class Checked extends Context.Tag("cause/Checked")<Checked, number>() {}
      const packages = [
        Package.make({ name: "odd", version: "1.0.0", provides: Odd, optional: true, layer: Layer.fail(bare()) }),
        Package.make({
          name: "checked",
          version: "1.0.0",
          provides: Checked,
          layer: Layer.succeed(Checked, 1),
          health: () => Effect.fail(bare())
        })
      ]
      const health = yield* Effect.scoped(Effect.flatMap(
        Layer.build(Spine.layer({ packages, health: { enabled: false } })),
        (context) => Context.get(context, Spine.Spine).checkHealth()
      ))
      expect(health.packages.odd).toMatchObject({
        status: "fail",
        errors: ["Package \"odd\" failed to start after 1 attempt: [object Object]"]
      })
      expect(health.packages.checked).toMatchObject({ status: "fail", errors: ["[object Object]"] })

      const Point = Plugin.hook<number>("cause/point")
      const extensions = Plugin.extensions([Plugin.handle(Point, "odd", () => Effect.fail(bare()))])
      const rejected = yield* Effect.flip(Effect.provideService(Plugin.run(Point, 1), Plugin.Extensions, extensions))
      expect(rejected).toMatchObject({ _tag: "HookRejected", handler: "odd", reason: "[object Object]" })
    }))
})

describe("oneLine", () => {
  it("folds every line break, a lone carriage return included, which a terminal would use to overwrite the row", () => {
    expect(oneLine("start failed\rretry later\r\n  then\nagain")).toBe("start failed retry later then again")
  })
})
