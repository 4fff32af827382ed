/**
 * Property tests of the boot scheduler: random graphs of required and optional
 * packages with random init failures, inits that hang past their timeout,
 * flaky inits that succeed on retry, finalizers that take time, fail, hang or
 * run past their stop timeout, and interruption at a random moment. Every run
 * checks the lifecycle invariants on a timed log of acquisitions and releases.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Context, Effect, Exit, FastCheck as fc, Layer, Option, Schedule } from "effect"
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
  /** `slow`: a finalizer that ends, but after its stop timeout. */
  readonly release: "ok" | "fail" | "hang" | "slow"
  readonly releaseMs: number
}

interface Scenario {
  readonly specs: ReadonlyArray<Spec>
  /** Interrupt the boot after this many ms of test time; `undefined`: never. */
  readonly interruptAt: number | undefined
}

const specArb = (index: number, failRates: { readonly required: number; readonly optional: number }) =>
  fc.record({
    deps: fc.uniqueArray(fc.nat({ max: Math.max(0, index - 1) }), { maxLength: index === 0 ? 0 : 3 }),
    optional: fc.boolean(),
    gate: fc.constantFrom("none", "none", "none", "none", "on", "off") as fc.Arbitrary<Spec["gate"]>,
    roll: fc.double({ min: 0, max: 1, noNaN: true }),
    kind: fc.constantFrom("fail" as const, "hang" as const, "flaky" as const),
    initMs: fc.integer({ min: 0, max: 20 }),
    release: fc.constantFrom("ok", "ok", "ok", "ok", "ok", "fail", "hang", "slow") as fc.Arbitrary<Spec["release"]>,
    releaseMs: fc.constantFrom(0, 0, 5, 10, 30)
  }).map(({ deps, gate, initMs, kind, optional, release, releaseMs, roll }): Spec => ({
    deps,
    optional,
    gate,
    // required packages fail rarely, so that boots get far enough for optional failures and their dependents
    init: roll < (optional ? failRates.optional : failRates.required) ? kind : "ok",
    initMs,
    release,
    releaseMs
  }))

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  size: fc.integer({ min: 1, max: 60 }),
  failRates: fc.record({
    required: fc.constantFrom(0, 0.01, 0.05, 0.2),
    optional: fc.constantFrom(0, 0.1, 0.3, 0.5)
  }),
  // most boots end within ~60 ms of test time: interrupt often inside that window
  interruptAt: fc.oneof(
    fc.constant(undefined),
    fc.integer({ min: 0, max: 60 }),
    fc.integer({ min: 0, max: 400 })
  )
}).chain(({ failRates, interruptAt, size }) =>
  fc.tuple(...Array.from({ length: size }, (_, i) => specArb(i, failRates))).map((raw) => {
    // a required package may only depend on required, ungated ones (validation forbids the rest)
    const gated = (spec: Spec) => spec.optional || spec.gate !== "none"
    const specs = raw.map((spec) => gated(spec) ? spec : { ...spec, deps: spec.deps.filter((d) => !gated(raw[d])) })
    return { specs, interruptAt }
  })
)

type LogEntry =
  | { readonly type: "acquire-start"; readonly pkg: number }
  | { readonly type: "acquired"; readonly pkg: number; readonly id: number }
  | { readonly type: "release"; readonly pkg: number; readonly id: number; readonly at: number }
  | { readonly type: "release-end"; readonly pkg: number; readonly id: number; readonly at: number }

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
              Effect.flatMap(Clock.currentTimeMillis, (at) => {
                log.push({ type: "release", pkg: i, id, at })
                alive.delete(id)
                for (const dependent of dependents[i]) {
                  for (const entry of log) {
                    if (entry.type === "acquired" && entry.pkg === dependent && alive.has(entry.id)) {
                      violations.push(`p${i} released while dependent p${dependent} was alive`)
                    }
                  }
                }
                const releasing = spec.release === "fail"
                  ? Effect.dieMessage(`p${i} release failed`)
                  : spec.release === "hang"
                  ? Effect.never
                  : Effect.sleep(`${spec.release === "slow" ? STOP_TIMEOUT + 30 : spec.releaseMs} millis`)
                // the end of a release, or of the wait for it once interrupted past the stop timeout
                return Effect.ensuring(
                  Effect.zipRight(Effect.sleep(`${spec.releaseMs} millis`), releasing),
                  Effect.flatMap(
                    Clock.currentTimeMillis,
                    (end) => Effect.sync(() => void log.push({ type: "release-end", pkg: i, id, at: end }))
                  )
                )
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
        // what is alive once the boot has ended: the started packages' resources, no failed attempt's
        let aliveAtBoot: Array<number> = []
        const exit = yield* runWithClock(
          Effect.scoped(Effect.zipRight(
            Layer.build(layer),
            Effect.sync(() => {
              booted = true
              aliveAtBoot = [...alive].sort((a, b) => a - b)
            })
          )),
          { interruptAt: scenario.interruptAt }
        )

        // every acquisition released exactly once, nothing left alive
        const acquired = log.filter((e) => e.type === "acquired").map((e) => e.id)
        const released = log.filter((e) => e.type === "release").map((e) => e.id)
        expect([...released].sort((a, b) => a - b)).toEqual(acquired)
        expect(alive.size).toBe(0)
        expect(violations).toEqual([])
        // a dependency's release begins once the release of every dependent built on it has ended, or the
        // spine has waited its stop timeout for it
        const index = (type: "acquired" | "release") =>
          new Map(log.flatMap((e, i) => e.type === type ? [[e.id, i] as const] : []))
        const acquiredAt = index("acquired")
        const releasedAt = index("release")
        const ends = new Map(log.flatMap((e) => e.type === "release-end" ? [[e.id, e.at] as const] : []))
        const releases = log.flatMap((e) => e.type === "release" ? [e] : [])
        for (const release of releases) {
          const built = acquiredAt.get(release.id)!
          const gone = releasedAt.get(release.id)!
          for (const dependent of releases) {
            if (!scenario.specs[dependent.pkg].deps.includes(release.pkg)) continue
            const acquired = acquiredAt.get(dependent.id)!
            if (acquired < built || acquired > gone) continue
            const end = ends.get(dependent.id)
            const waited = (end !== undefined && end <= release.at) || release.at >= dependent.at + STOP_TIMEOUT
            if (!waited) violations.push(`p${release.pkg} released at ${release.at} under p${dependent.pkg}`)
          }
        }
        expect(violations).toEqual([])

        const spine = getSpine()
        const expected = expectedOutcome(scenario.specs)
        const interrupted = Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
        const timeline = spine === undefined ? [] : yield* spine.timeline
        for (const entry of timeline) {
          expect(["starting", "ready", "stopping"]).not.toContain(entry.state)
        }
        if (interrupted || expected.requiredFailure) {
          // an aborted boot leaves every package in a final state: what never began to start is skipped
          timeline.forEach((entry, i) => {
            if (scenario.specs[i].gate === "off") expect(entry.state).toBe("disabled")
            else expect(["stopped", "failed", "skipped"]).toContain(entry.state)
            if (entry.state === "skipped") expect(entry.attempts).toBe(0)
          })
        }
        if (interrupted) return

        if (expected.requiredFailure) {
          expect(Exit.isFailure(exit)).toBe(true)
          const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
          expect(Option.isSome(failure)).toBe(true)
          if (Option.isSome(failure)) {
            const name = "package" in failure.value ? failure.value.package : ""
            const failed = scenario.specs[Number(name.slice(1))]
            expect(failed.optional).toBe(false)
            expect(["fail", "hang"]).toContain(failed.init)
            // a hang is a timeout; a failure is a failure, unless the failed build's own cleanup (which Effect
            // runs inside the build) keeps it from ending within the init timeout
            const expectedTag = failed.init === "hang"
              ? ["PackageInitTimeout"]
              : failed.release === "hang"
              ? ["PackageInitTimeout"]
              : failed.release === "slow" || failed.initMs + failed.releaseMs * 2 >= INIT_TIMEOUT
              ? ["PackageInitFailed", "PackageInitTimeout"]
              : ["PackageInitFailed"]
            expect(expectedTag).toContain(failure.value._tag)
          }
          return
        }
        // an optional failure never aborts the boot; transitive dependents are skipped
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(booted).toBe(true)
        expect(timeline.map((entry) => entry.state)).toEqual(expected.states)
        const lastAcquired = new Map(log.flatMap((e) => e.type === "acquired" ? [[e.pkg, e.id] as const] : []))
        const started = expected.states.flatMap((state, i) => state === "stopped" ? [lastAcquired.get(i)!] : [])
        expect(aliveAtBoot).toEqual(started.sort((a, b) => a - b))
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
