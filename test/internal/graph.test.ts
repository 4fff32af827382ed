/**
 * Property tests of validation: a random valid graph with one defect put in
 * (a duplicate name or provider, a cycle, a missing dependency, a version out
 * of range, a required package on an optional or feature-gated one, an
 * invalid version or timeout, bad configuration). Booting it must fail with that defect's
 * tagged error, naming the packages involved, before any package starts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Context, Effect, Exit, FastCheck as fc, Layer, Option } from "effect"
import type { Package as P } from "../../src/index.js"
import { Package, Spine } from "../../src/index.js"

type Defect =
  | {
    readonly kind: "duplicate-name" | "duplicate-provider" | "missing" | "invalid-version" | "invalid-timeout"
    readonly at: number
  }
  | { readonly kind: "cycle"; readonly at: number; readonly pick: number }
  | { readonly kind: "version"; readonly at: number; readonly pick: number }
  | { readonly kind: "optional" | "feature"; readonly pick: number }
  | { readonly kind: "config"; readonly bad: ReadonlyArray<number> }

interface Scenario {
  /** Each package's dependencies, all earlier packages. */
  readonly deps: ReadonlyArray<ReadonlyArray<number>>
  readonly defect: Defect
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.integer({ min: 1, max: 30 }).chain((size) =>
  fc.record({
    deps: fc.tuple(
      ...Array.from(
        { length: size },
        (_, index) => fc.uniqueArray(fc.nat({ max: Math.max(0, index - 1) }), { maxLength: index === 0 ? 0 : 3 })
      )
    ),
    defect: fc.oneof(
      fc.record({
        kind: fc.constantFrom("duplicate-name" as const, "duplicate-provider" as const, "missing" as const),
        at: fc.nat({ max: size - 1 })
      }),
      fc.record({
        kind: fc.constantFrom("invalid-version" as const, "invalid-timeout" as const),
        at: fc.nat({ max: size - 1 })
      }),
      fc.record({ kind: fc.constant("cycle" as const), at: fc.nat({ max: size - 1 }), pick: fc.nat() }),
      fc.record({ kind: fc.constant("version" as const), at: fc.nat({ max: size - 1 }), pick: fc.nat() }),
      fc.record({ kind: fc.constantFrom("optional" as const, "feature" as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constant("config" as const),
        bad: fc.uniqueArray(fc.nat({ max: size - 1 }), { minLength: 1, maxLength: size })
      })
    )
  })
)

const nameOf = (index: number) => `p${index}`
const tagOf = (index: number) => Context.GenericTag<string, number>(`graph-prop/P${index}`)
const Stray = Context.GenericTag<string, number>("graph-prop/Stray")

/** The packages that depend on `index`, directly or not, and `index` itself. */
const reaching = (deps: ReadonlyArray<ReadonlyArray<number>>, index: number): ReadonlyArray<number> => {
  const found = new Set([index])
  for (let i = index + 1; i < deps.length; i++) if (deps[i].some((d) => found.has(d))) found.add(i)
  return [...found]
}

/** The scenario's packages, each recording its acquisition in `started`, and the expected error. */
const build = ({ defect, deps }: Scenario, started: Array<string>) => {
  const size = deps.length
  const requires: Array<Array<P.Requirement>> = deps.map((own) => own.map(tagOf))
  const optional = new Set<number>()
  const gated = new Set<number>()
  const versions = deps.map(() => "1.2.3")
  const zeroTimeout = new Set<number>()
  const extra: Array<P.Any> = []
  const make = (index: number, name = nameOf(index), tag = tagOf(index)) =>
    Package.make({
      name,
      version: versions[index],
      provides: tag,
      requires: requires[index],
      optional: optional.has(index),
      ...(gated.has(index) ? { feature: "beta" } : {}),
      ...(zeroTimeout.has(index) ? { initTimeout: 0 } : {}),
      config: Config.integer(`PORT_${index}`),
      layer: () => Layer.sync(tag, () => started.push(name))
    })
  let expected: Record<string, unknown>
  switch (defect.kind) {
    case "duplicate-name": {
      extra.push(make(defect.at, nameOf(defect.at), Stray))
      expected = { _tag: "DuplicatePackage", package: nameOf(defect.at) }
      break
    }
    case "duplicate-provider": {
      extra.push(make(defect.at, "intruder"))
      expected = { _tag: "DuplicateProvider", tag: tagOf(defect.at).key, packages: [nameOf(defect.at), "intruder"] }
      break
    }
    case "missing": {
      requires[defect.at] = [...requires[defect.at], Stray]
      expected = { _tag: "MissingDependency", package: nameOf(defect.at), dependency: Stray.key }
      break
    }
    case "invalid-version": {
      versions[defect.at] = "1.2"
      expected = { _tag: "InvalidPackage", package: nameOf(defect.at) }
      break
    }
    case "invalid-timeout": {
      zeroTimeout.add(defect.at)
      expected = { _tag: "InvalidPackage", package: nameOf(defect.at) }
      break
    }
    case "cycle": {
      // an edge back from `at` to a package that depends on it (or to itself): every cycle runs through it
      const candidates = reaching(deps, defect.at)
      const target = candidates[defect.pick % candidates.length]
      requires[defect.at] = [...requires[defect.at], tagOf(target)]
      expected = { _tag: "DependencyCycle" }
      break
    }
    case "version": {
      if (defect.at === 0) return build({ deps, defect: { kind: "missing", at: 0 } }, started)
      const target = defect.pick % defect.at
      versions[target] = "1.9.0"
      requires[defect.at] = [...requires[defect.at], [tagOf(target), "^2.0.0"] as const]
      expected = {
        _tag: "IncompatibleVersion",
        package: nameOf(defect.at),
        dependency: nameOf(target),
        range: "^2.0.0",
        version: "1.9.0"
      }
      break
    }
    case "optional":
    case "feature": {
      const providers = [...new Set(deps.flat())]
      if (providers.length === 0) return build({ deps, defect: { kind: "missing", at: size - 1 } }, started)
      const target = providers[defect.pick % providers.length]
      ;(defect.kind === "optional" ? optional : gated).add(target)
      expected = { _tag: "RequiredDependsOnOptional", dependency: nameOf(target), reason: defect.kind }
      break
    }
    case "config": {
      expected = { _tag: "InvalidConfig" }
      break
    }
  }
  const packages = [...deps.map((_, index) => make(index)), ...extra]
  return { packages, expected }
}

/** The requirement edges of the built packages, by name: `from -> to` when `from` requires what `to` provides. */
const edgesOf = (packages: ReadonlyArray<P.Any>) => {
  const byTag = new Map(packages.map((pkg) => [pkg.provides.key, pkg.name]))
  return new Set(
    packages.flatMap((pkg) => pkg.requires.map((dependency) => `${pkg.name} -> ${byTag.get(dependency.tag.key)}`))
  )
}

describe("validation (properties)", () => {
  it.effect.prop(
    "fails a graph with one defect with that defect's error, naming its packages, before anything starts",
    [scenarioArb],
    ([scenario]) =>
      Effect.gen(function*() {
        const started: Array<string> = []
        const { expected, packages } = build(scenario, started)
        const bad = scenario.defect.kind === "config" ? scenario.defect.bad : []
        // bad configuration: half the chosen packages' values missing, half not numbers; the rest valid
        const provider = ConfigProvider.fromMap(
          new Map(
            scenario.deps.flatMap((_, index): Array<[string, string]> =>
              bad.includes(index)
                ? bad.indexOf(index) % 2 === 0 ? [] : [[`PORT_${index}`, "eighty"]]
                : [[`PORT_${index}`, "80"]]
            )
          )
        )
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(Spine.layer({
          packages,
          features: { beta: true }
        })))).pipe(Effect.withConfigProvider(provider))

        expect(started).toEqual([])
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isSuccess(exit)) return
        const error = Option.getOrThrow(Cause.failureOption(exit.cause))
        expect(error).toMatchObject(expected)
        switch (error._tag) {
          case "DependencyCycle": {
            const { cycle } = error
            const edges = edgesOf(packages)
            expect(cycle[0]).toBe(cycle[cycle.length - 1])
            for (let i = 0; i + 1 < cycle.length; i++) expect(edges).toContain(`${cycle[i]} -> ${cycle[i + 1]}`)
            expect(cycle).toContain(nameOf(scenario.defect.kind === "cycle" ? scenario.defect.at : -1))
            expect(error.message).toBe(`Dependency cycle: ${cycle.join(" -> ")}`)
            break
          }
          case "RequiredDependsOnOptional": {
            // a required, ungated package that requires the one made optional or gated
            const culprit = packages.find((pkg) => pkg.name === error.package)!
            expect(culprit.optional || culprit.feature !== undefined).toBe(false)
            expect(edgesOf(packages)).toContain(`${error.package} -> ${error.dependency}`)
            break
          }
          case "InvalidConfig": {
            expect([...error.packages].sort()).toEqual(bad.map(nameOf).sort())
            for (const name of error.packages) expect(error.message).toContain(name)
            break
          }
          default: {
            const named = "package" in error ? [error.package] : "packages" in error ? error.packages : []
            for (const name of named) expect(error.message).toContain(name)
          }
        }
      }),
    { fastCheck: { numRuns: 300 } }
  )
})
