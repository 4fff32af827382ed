/**
 * Property tests of the boot scheduler: random graphs of required and optional
 * packages with random init failures, inits that hang past their timeout,
 * flaky inits that succeed on retry, finalizers that fail or hang, and
 * interruption at a random moment. Every run checks the lifecycle invariants
 * on a log of acquisitions and releases.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, FastCheck as fc, Layer, Option, Schedule } from "effect"
import { Package, Spine } from "../../src/index.js"
import type { PackageState } from "../../src/Lifecycle.js"
import { runWithClock } from "../utils.js"

interface Spec {
  readonly deps: ReadonlyArray<number>
  readonly optional: boolean
  /** A feature flag gating the package, on or off. */
  readonly gate: "none" | "on" | "off"
  readonly init: "ok" | "fail" | "hang" | "flaky"
  readonly initMs: number
  readonly release: "ok" | "fail" | "hang"
}

interface Scenario {
  readonly specs: ReadonlyArray<Spec>
  /** Interrupt the boot after this many ms of test time; `undefined`: never. */
  readonly interruptAt: number | undefined
}

const specArb = (index: number, failRate: number) =>
  fc.record({
    deps: fc.uniqueArray(fc.nat({ max: Math.max(0, index - 1) }), { maxLength: index === 0 ? 0 : 3 }),
    optional: fc.boolean(),
    gate: fc.constantFrom("none", "none", "none", "none", "on", "off") as fc.Arbitrary<Spec["gate"]>,
    roll: fc.double({ min: 0, max: 1, noNaN: true }),
    kind: fc.constantFrom("fail" as const, "hang" as const, "flaky" as const),
    initMs: fc.integer({ min: 0, max: 20 }),
    release: fc.constantFrom("ok", "ok", "ok", "ok", "ok", "ok", "fail", "hang") as fc.Arbitrary<Spec["release"]>
  }).map(({ deps, gate, initMs, kind, optional, release, roll }): Spec => ({
    deps,
    optional,
    gate,
    init: roll < failRate ? kind : "ok",
    initMs,
    release
  }))

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  size: fc.integer({ min: 1, max: 60 }),
  failRate: fc.constantFrom(0, 0.02, 0.1, 0.3),
  interruptAt: fc.option(fc.integer({ min: 0, max: 400 }), { freq: 3, nil: undefined })
}).chain(({ failRate, interruptAt, size }) =>
  fc.tuple(...Array.from({ length: size }, (_, i) => specArb(i, failRate))).map((raw) => {
    // a required package may only depend on required, ungated ones (validation forbids the rest)
    const gated = (spec: Spec) => spec.optional || spec.gate !== "none"
    const specs = raw.map((spec) => gated(spec) ? spec : { ...spec, deps: spec.deps.filter((d) => !gated(raw[d])) })
    return { specs, interruptAt }
  })
)

type LogEntry =
  | { readonly type: "acquire-start"; readonly pkg: number }
  | { readonly type: "acquired"; readonly pkg: number; readonly id: number }
  | { readonly type: "release"; readonly pkg: number; readonly id: number }

const INIT_TIMEOUT = 100
const STOP_TIMEOUT = 50

const makeScenario = (scenario: Scenario) => {
  const log: Array<LogEntry> = []
  const violations: Array<string> = []
  const alive = new Set<number>()
  const attempts = new Map<number, number>()
  let nextId = 0
  let spine: Spine.SpineService | undefined
  const tags = scenario.specs.map((_, i) => Context.GenericTag<`p${number}`, number>(`p${i}`))
  const dependents = scenario.specs.map((_, i) => scenario.specs.flatMap((s, j) => s.deps.includes(i) ? [j] : []))
  const packages = scenario.specs.map((spec, i) =>
    Package.make({
      name: `p${i}`,
      version: "1.0.0",
      provides: tags[i],
      requires: spec.deps.map((d) => tags[d]),
      optional: spec.optional,
      ...(spec.gate === "none" ? {} : { feature: `f${i}` }),
      initTimeout: `${INIT_TIMEOUT} millis`,
      stopTimeout: `${STOP_TIMEOUT} millis`,
      initRetry: Schedule.recurs(1),
      layer: Layer.scoped(
        tags[i],
        Effect.gen(function*() {
          log.push({ type: "acquire-start", pkg: i })
          for (const d of spec.deps) {
            const state = spine === undefined ? "unknown" : yield* Effect.orDie(spine.state(`p${d}`))
            if (state !== "ready") violations.push(`p${i} started while dependency p${d} was ${state}`)
          }
          const attempt = (attempts.get(i) ?? 0) + 1
          attempts.set(i, attempt)
          yield* Effect.acquireRelease(
            Effect.sync(() => {
              const id = nextId++
              log.push({ type: "acquired", pkg: i, id })
              alive.add(id)
              return id
            }),
            (id) =>
              Effect.suspend(() => {
                log.push({ type: "release", pkg: i, id })
                alive.delete(id)
                for (const dependent of dependents[i]) {
                  for (const entry of log) {
                    if (entry.type === "acquired" && entry.pkg === dependent && alive.has(entry.id)) {
                      violations.push(`p${i} released while dependent p${dependent} was alive`)
                    }
                  }
                }
                return spec.release === "fail"
                  ? Effect.dieMessage(`p${i} release failed`)
                  : spec.release === "hang"
                  ? Effect.never
                  : Effect.void
              })
          )
          yield* Effect.sleep(`${spec.initMs} millis`)
          if (spec.init === "fail" || (spec.init === "flaky" && attempt === 1)) {
            return yield* Effect.fail(new Error(`p${i} init failed`))
          }
          if (spec.init === "hang") return yield* Effect.never
          return i
        })
      )
    })
  )
  const layer = Spine.layer({
    packages,
    features: Object.fromEntries(scenario.specs.map((spec, i) => [`f${i}`, spec.gate === "on"])),
    hooks: {
      beforeInit: Effect.map(Spine.Spine, (service) => {
        spine = service
      })
    }
  })
  return { layer, log, violations, alive, getSpine: () => spine }
}

/** What each package ends as when nothing interrupts the boot. */
const expectedOutcome = (specs: ReadonlyArray<Spec>) => {
  const up: Array<boolean> = []
  const states: Array<PackageState> = []
  let requiredFailure = false
  specs.forEach((spec, i) => {
    if (spec.gate === "off") {
      up[i] = false
      states[i] = "disabled"
    } else if (spec.deps.some((d) => !up[d])) {
      up[i] = false
      states[i] = "skipped"
    } else if (spec.init === "ok" || spec.init === "flaky") {
      up[i] = true
      states[i] = "stopped"
    } else {
      up[i] = false
      states[i] = "failed"
      if (!spec.optional) requiredFailure = true
    }
  })
  return { states, requiredFailure }
}

describe("boot scheduler (properties)", () => {
  it.effect.prop(
    "keeps the lifecycle invariants on random graphs",
    [scenarioArb],
    ([scenario]) =>
      Effect.gen(function*() {
        const { alive, getSpine, layer, log, violations } = makeScenario(scenario)
        let booted = false
        const exit = yield* runWithClock(
          Effect.scoped(Effect.zipRight(Layer.build(layer), Effect.sync(() => (booted = true)))),
          { interruptAt: scenario.interruptAt }
        )

        // every acquisition released exactly once, nothing left alive
        const acquired = log.filter((e) => e.type === "acquired").map((e) => e.id)
        const released = log.filter((e) => e.type === "release").map((e) => e.id)
        expect([...released].sort((a, b) => a - b)).toEqual(acquired)
        expect(alive.size).toBe(0)
        expect(violations).toEqual([])

        const spine = getSpine()
        const expected = expectedOutcome(scenario.specs)
        const interrupted = Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
        const timeline = spine === undefined ? [] : yield* spine.timeline
        for (const entry of timeline) {
          expect(["starting", "ready", "stopping"]).not.toContain(entry.state)
        }
        if (interrupted) return

        if (expected.requiredFailure) {
          expect(Exit.isFailure(exit)).toBe(true)
          const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
          expect(Option.isSome(failure)).toBe(true)
          if (Option.isSome(failure)) {
            expect(["PackageInitFailed", "PackageInitTimeout"]).toContain(failure.value._tag)
            const name = "package" in failure.value ? failure.value.package : ""
            const failed = scenario.specs[Number(name.slice(1))]
            expect(failed.optional).toBe(false)
            expect(["fail", "hang"]).toContain(failed.init)
          }
          return
        }
        // an optional failure never aborts the boot; transitive dependents are skipped
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(booted).toBe(true)
        expect(timeline.map((entry) => entry.state)).toEqual(expected.states)
        timeline.forEach((entry, i) => {
          const spec = scenario.specs[i]
          if (expected.states[i] === "stopped") expect(entry.attempts).toBe(spec.init === "flaky" ? 2 : 1)
          if (expected.states[i] === "skipped") expect(entry.attempts).toBe(0)
          if (expected.states[i] === "failed") expect(entry.attempts).toBe(2)
        })
      }),
    { timeout: 300_000, fastCheck: { numRuns: Number(process.env.RUNS ?? 200) } }
  )
})
