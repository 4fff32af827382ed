import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { Package, Spine } from "../../src/index.js"

/** A package that records its acquisition and release in `log`. */
const recorded = (log: Array<string>) =>
(
  name: string,
  options: {
    readonly deps?: ReadonlyArray<Context.Tag<string, number>>
    readonly optional?: boolean
    readonly feature?: string
    readonly health?: boolean
  } = {}
) => {
  const tag = Context.GenericTag<string, number>(`manage/${name}`)
  const pkg = Package.make({
    name,
    version: "1.0.0",
    provides: tag,
    requires: options.deps ?? [],
    optional: options.optional ?? false,
    ...(options.feature === undefined ? {} : { feature: options.feature }),
    ...(options.health ? { health: () => Effect.sync(() => void log.push(`check ${name}`)) } : {}),
    layer: Layer.scoped(
      tag,
      Effect.acquireRelease(
        Effect.sync(() => (log.push(`+${name}`), 1)),
        () => Effect.sync(() => void log.push(`-${name}`))
      )
    )
  })
  return { tag, pkg }
}

const withSpine = <A, E>(
  options: Spine.Options<ReadonlyArray<Package.Any>>,
  f: (spine: Spine.SpineService) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const spine = Context.get(yield* Layer.buildWithScope(Spine.layer(options), scope), Spine.Spine)
    const events = yield* Effect.fork(Stream.runCollect(spine.events))
    const result = yield* f(spine)
    yield* Scope.close(scope, Exit.void)
    return { result, spine, events: Chunk.toReadonlyArray(yield* Fiber.join(events)) }
  })

describe("runtime package management", () => {
  it.effect("adds a package to the running graph, health-checks it and releases it in order at shutdown", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const db = make("db")
      const cache = make("cache", { deps: [db.tag], health: true })
      const { result } = yield* withSpine({ packages: [db.pkg] }, (spine) =>
        Effect.gen(function*() {
          yield* spine.add(cache.pkg)
          const state = yield* spine.state("cache")
          const health = yield* spine.checkHealth("cache")
          const duplicate = yield* Effect.flip(spine.add(cache.pkg))
          const graph = yield* spine.graph
          return { state, health: health.packages.cache.status, duplicate, dependents: graph.dependents("db") }
        }))
      expect(result).toMatchObject({ state: "ready", health: "pass", dependents: ["cache"] })
      expect(result.duplicate).toMatchObject({ _tag: "DuplicatePackage", package: "cache" })
      expect(log).toEqual(["+db", "+cache", "check cache", "-cache", "-db"])
    }))

  it.effect("rejects an added package whose requirement nobody provides, and starts nothing", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const db = make("db")
      const orphan = make("orphan", { deps: [Context.GenericTag<string, number>("manage/nowhere")] })
      const { result } = yield* withSpine({ packages: [db.pkg] }, (spine) => Effect.flip(spine.add(orphan.pkg)))
      expect(result).toMatchObject({ _tag: "MissingDependency", package: "orphan" })
      expect(log).toEqual(["+db", "-db"])
    }))

  it.effect("refuses to remove a package with running dependents; cascade stops them first, in reverse order", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const db = make("db")
      const repo = make("repo", { deps: [db.tag] })
      const api = make("api", { deps: [repo.tag] })
      const other = make("other")
      const { result, spine } = yield* withSpine(
        { packages: [db.pkg, repo.pkg, api.pkg, other.pkg] },
        (spine) =>
          Effect.gen(function*() {
            const refused = yield* Effect.flip(spine.remove("db"))
            log.push("--")
            yield* spine.remove("db", { cascade: true })
            const states = yield* Effect.forEach(["db", "repo", "api", "other"], spine.state)
            yield* spine.remove("other")
            return { refused, states }
          })
      )
      expect(result.refused).toMatchObject({ _tag: "PackageHasDependents", package: "db", dependents: ["repo", "api"] })
      expect(result.refused.message).toContain("cascade")
      expect(result.states).toEqual(["stopped", "stopped", "stopped", "ready"])
      expect(log).toEqual(["+db", "+other", "+repo", "+api", "--", "-api", "-repo", "-db", "-other"])
      expect(yield* spine.state("other")).toBe("stopped")
    }))

  it.effect("starts and stops a feature's packages, and what depends on them, without a restart", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const make = recorded(log)
      const mail = make("mail", { feature: "mail" })
      const digest = make("digest", { deps: [mail.tag], optional: true })
      const { events, result } = yield* withSpine(
        { packages: [mail.pkg, digest.pkg], features: { mail: false } },
        (spine) =>
          Effect.gen(function*() {
            const states = () => Effect.forEach(["mail", "digest"], spine.state)
            const before = yield* states()
            yield* spine.setFeature("mail", true)
            const on = yield* states()
            const flag = yield* spine.isFeatureEnabled("mail")
            yield* spine.setFeature("mail", false)
            const off = yield* states()
            return { before, on, flag, off }
          })
      )
      expect(result).toEqual({
        before: ["disabled", "skipped"],
        on: ["ready", "ready"],
        flag: true,
        off: ["disabled", "skipped"]
      })
      expect(log).toEqual(["+mail", "+digest", "-digest", "-mail"])
      const transitions = events.flatMap((event) =>
        event._tag === "PackageStateChanged" ? [`${event.package}:${event.from}->${event.to}`] : []
      )
      expect(transitions).toEqual([
        "digest:registered->skipped",
        "mail:disabled->registered",
        "digest:skipped->registered",
        "mail:registered->starting",
        "mail:starting->ready",
        "digest:registered->starting",
        "digest:starting->ready",
        "digest:ready->stopping",
        "digest:stopping->stopped",
        "mail:ready->stopping",
        "mail:stopping->stopped",
        "mail:stopped->disabled",
        "digest:stopped->skipped"
      ])
    }))
})
