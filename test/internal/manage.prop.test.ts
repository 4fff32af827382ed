/**
 * Property test of runtime package management (`spine.add`, `spine.remove`,
 * `spine.setFeature`): a random valid graph boots, then a random sequence of
 * 1–12 changes runs, each under `Effect.exit`, and the spine's scope closes.
 *
 * Two kinds of checks:
 * - on a timed log written by the packages' layers themselves (acquisition and
 *   release, with the acquisition ids of the dependencies each instance was
 *   built on): exactly-once release, a dependency acquired and not released
 *   when a package starts acquiring, a dependency released only after each
 *   dependent built on it has finished releasing;
 * - against a small model of the documented behaviour, re-synchronised from
 *   `spine.state` before each change: which error (tag and package) a change
 *   fails with, or that it succeeds; every package's state afterwards; that a
 *   refused change touches nothing; that a change only acquires or releases
 *   the packages it concerns; and that `spine.state` agrees with the log
 *   (ready ⇔ one acquisition not released, every other package with nothing
 *   acquired and no release still running).
 *
 * Environment: RUNS (default 300), SEED and FC_PATH (to replay a run), VERBOSE=1 (print the trace and
 * violations of a failing run, and how often each kind of change ended each way).
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Context, Effect, Exit, FastCheck as fc, Layer, Option, Scope } from "effect"
import { Package, Spine } from "../../src/index.js"
import type { PackageState } from "../../src/Lifecycle.js"
import { runWithClock } from "../utils.js"

const INIT_TIMEOUT = 200
const STOP_TIMEOUT = 1000
const FLAGS = ["f0", "f1", "f2"] as const
const ALL_FLAGS = [...FLAGS, "f3"] as const

type Init = "ok" | "fail" | "hang"
type Kind = "required" | "optional" | "gated"

/** A package as generated: dependencies are raw numbers, resolved against the packages listed at the time. */
interface RawSpec {
  readonly kind: Kind
  /** For a gated package: also optional. */
  readonly gatedOptional: boolean
  readonly flag: string
  readonly deps: ReadonlyArray<number>
  readonly init: Init
  /** The init of a gated package whose flag is off at boot, to be started later by `setFeature`. */
  readonly laterInit: Init
  readonly initMs: number
  readonly releaseMs: number
}

interface Spec {
  readonly name: string
  readonly deps: ReadonlyArray<string>
  readonly optional: boolean
  readonly feature: string | undefined
  readonly init: Init
  readonly initMs: number
  readonly releaseMs: number
}

type Op =
  | {
    readonly _tag: "add"
    readonly fresh: boolean
    readonly target: number
    /** A required package keeps dependencies on optional or gated ones (a validation error). */
    readonly lax: boolean
    /** With an existing name: add the very package value added last under that name again. */
    readonly reuse: boolean
    readonly spec: RawSpec
  }
  | { readonly _tag: "remove"; readonly unknown: boolean; readonly target: number; readonly cascade: boolean }
  | {
    readonly _tag: "setFeature"
    readonly flag: string
    /** `undefined`: the opposite of the flag's current value. */
    readonly on: boolean | undefined
  }

interface Scenario {
  readonly boot: ReadonlyArray<RawSpec>
  readonly features: Readonly<Record<string, boolean>>
  readonly ops: ReadonlyArray<Op>
}

/** `ok`, or with `percent` % chance a failing or hanging start (weights: fast-check biases numbers to bounds). */
const initArb = (percent: number): fc.Arbitrary<Init> =>
  fc.oneof(
    { weight: 100 - percent, arbitrary: fc.constant<Init>("ok") },
    { weight: percent, arbitrary: fc.constantFrom<Init>("fail", "fail", "hang") }
  )

const rawSpecArb = (rates: { readonly required: number; readonly optional: number }): fc.Arbitrary<RawSpec> =>
  fc.record({
    kind: fc.constantFrom<Kind>("required", "required", "optional", "gated", "gated"),
    gatedOptional: fc.boolean(),
    flag: fc.constantFrom(...FLAGS),
    deps: fc.uniqueArray(fc.nat({ max: 40 }), { maxLength: 3 }),
    requiredInit: initArb(rates.required),
    optionalInit: initArb(rates.optional),
    laterInit: initArb(40),
    initMs: fc.constantFrom(0, 0, 5, 20),
    releaseMs: fc.constantFrom(0, 0, 5, 30)
  }).map(({ optionalInit, requiredInit, ...rest }): RawSpec => {
    const required = rest.kind === "required" || (rest.kind === "gated" && !rest.gatedOptional)
    return { ...rest, init: required ? requiredInit : optionalInit }
  })

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      _tag: fc.constant("add" as const),
      fresh: fc.constantFrom(true, true, false),
      target: fc.nat({ max: 40 }),
      lax: fc.constantFrom(false, false, true),
      reuse: fc.boolean(),
      spec: rawSpecArb({ required: 20, optional: 30 })
    })
  },
  {
    weight: 3,
    arbitrary: fc.record({
      _tag: fc.constant("remove" as const),
      unknown: fc.constantFrom(false, false, false, false, true),
      target: fc.nat({ max: 40 }),
      cascade: fc.boolean()
    })
  },
  {
    weight: 3,
    arbitrary: fc.record({
      _tag: fc.constant("setFeature" as const),
      flag: fc.constantFrom(...FLAGS, ...FLAGS, "f3"),
      on: fc.constantFrom(true, false, undefined, undefined)
    })
  }
)

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  boot: fc.array(rawSpecArb({ required: 2, optional: 30 }), { minLength: 1, maxLength: 7 }),
  features: fc.record({ f0: fc.boolean(), f1: fc.boolean(), f2: fc.boolean() }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 12 })
})

const gated = (spec: Spec) => spec.optional || spec.feature !== undefined

const dedupe = <A>(items: ReadonlyArray<A>) => [...new Set(items)]

/** Places a generated package: its name, and dependencies among `listed`. */
const place = (
  raw: RawSpec,
  name: string,
  listed: ReadonlyArray<string>,
  specs: ReadonlyMap<string, Spec>,
  strict: boolean,
  features: ReadonlyMap<string, boolean> = new Map()
): Spec => {
  let deps = listed.length === 0 ? [] : dedupe(raw.deps.map((n) => listed[n % listed.length])).filter((d) => d !== name)
  const optional = raw.kind === "optional" || (raw.kind === "gated" && raw.gatedOptional)
  const feature = raw.kind === "gated" ? raw.flag : undefined
  // a required package may depend only on required, ungated ones
  if (strict && !optional && feature === undefined) deps = deps.filter((d) => !gated(specs.get(d)!))
  const init = feature !== undefined && features.get(feature) === false ? raw.laterInit : raw.init
  return { name, deps, optional, feature, init, initMs: raw.initMs, releaseMs: raw.releaseMs }
}

// ---------------------------------------------------------------------------------------------------------------
// the packages' own log

interface Instance {
  readonly id: number
  readonly name: string
  /** The acquisitions of its dependencies it was built on. */
  readonly deps: ReadonlyArray<number>
  releases: number
  ends: number
}

type LogEntry =
  | { readonly type: "start"; readonly name: string; readonly at: number }
  | {
    readonly type: "acquired" | "release" | "release-end"
    readonly name: string
    readonly id: number
    readonly at: number
  }

const tags = new Map<string, Context.Tag<string, number>>()
const tagOf = (name: string) => {
  let tag = tags.get(name)
  if (tag === undefined) {
    tag = Context.GenericTag<string, number>(`manage-prop/${name}`)
    tags.set(name, tag)
  }
  return tag
}

class World {
  readonly log: Array<LogEntry> = []
  readonly instances = new Map<number, Instance>()
  readonly violations: Array<string> = []
  readonly trace: Array<string> = []
  nextId = 0

  violation(message: string) {
    this.violations.push(`[after: ${this.trace.at(-1) ?? "start"}] ${message}`)
  }

  private checkDeps(spec: Spec, deps: ReadonlyArray<number>, what: string, at: number) {
    deps.forEach((id, k) => {
      const dep = this.instances.get(id)
      if (dep === undefined || dep.releases > 0) {
        this.violation(
          `${spec.name} ${what} at ${at} on ${spec.deps[k]}#${id}, which was ${
            dep === undefined ? "never acquired" : "already released"
          }`
        )
      }
    })
  }

  package(spec: Spec): Package.Any {
    const tag = tagOf(spec.name)
    const fields = {
      name: spec.name,
      version: "1.0.0",
      provides: tag,
      requires: spec.deps.map(tagOf),
      optional: spec.optional,
      ...(spec.feature === undefined ? {} : { feature: spec.feature }),
      initTimeout: `${INIT_TIMEOUT} millis`,
      stopTimeout: `${STOP_TIMEOUT} millis`
    } as const
    const layer = () =>
      Layer.scoped(
        tag,
        Effect.gen(this, function*() {
          const deps: Array<number> = []
          for (const d of spec.deps) deps.push(yield* tagOf(d))
          const at = yield* Clock.currentTimeMillis
          this.log.push({ type: "start", name: spec.name, at })
          this.checkDeps(spec, deps, "began acquiring", at)
          const id = yield* Effect.acquireRelease(
            Effect.flatMap(Clock.currentTimeMillis, (at) =>
              Effect.sync(() => {
                this.checkDeps(spec, deps, "acquired", at)
                const id = this.nextId++
                this.instances.set(id, { id, name: spec.name, deps, releases: 0, ends: 0 })
                this.log.push({ type: "acquired", name: spec.name, id, at })
                return id
              })),
            (id) => this.release(spec, id)
          )
          yield* Effect.sleep(spec.initMs)
          if (spec.init === "fail") return yield* Effect.fail(new Error(`${spec.name} failed to start`))
          if (spec.init === "hang") return yield* Effect.never
          return id
        })
      )
    return Package.make({ ...fields, layer: layer() })
  }

  private release(spec: Spec, id: number) {
    return Effect.flatMap(Clock.currentTimeMillis, (at) => {
      const instance = this.instances.get(id)!
      instance.releases++
      if (instance.releases > 1) this.violation(`${spec.name}#${id} released twice`)
      this.log.push({ type: "release", name: spec.name, id, at })
      for (const other of this.instances.values()) {
        if (other.ends === 0 && other.deps.includes(id)) {
          this.violation(`${spec.name}#${id} released at ${at} while its dependent ${other.name}#${other.id} was not`)
        }
      }
      return Effect.zipRight(
        Effect.sleep(spec.releaseMs),
        Effect.flatMap(Clock.currentTimeMillis, (end) =>
          Effect.sync(() => {
            instance.ends++
            this.log.push({ type: "release-end", name: spec.name, id, at: end })
          }))
      )
    })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the model

type States = ReadonlyMap<string, PackageState>

/** Every package depending on `name`, directly or not. */
const dependentsOf = (specs: ReadonlyMap<string, Spec>, name: string): Set<string> => {
  const seen = new Set<string>()
  const stack = [name]
  while (stack.length > 0) {
    const current = stack.pop()!
    for (const spec of specs.values()) {
      if (spec.deps.includes(current) && !seen.has(spec.name)) {
        seen.add(spec.name)
        stack.push(spec.name)
      }
    }
  }
  seen.delete(name)
  return seen
}

/** Whether `from` depends on `target`, directly or not (not looking past `target`). */
const reaches = (specs: ReadonlyMap<string, Spec>, from: string, target: string): boolean => {
  const seen = new Set<string>()
  const stack = [from]
  while (stack.length > 0) {
    const current = stack.pop()!
    if (current === target) return true
    if (seen.has(current)) continue
    seen.add(current)
    stack.push(...specs.get(current)!.deps)
  }
  return false
}

/**
 * A start of the packages in `starting` (in dependency order): each is skipped
 * unless its dependencies are ready, then ready or failed by its init. Also
 * the required packages that would fail: any of them aborts the start.
 */
const simulateStart = (
  specs: ReadonlyMap<string, Spec>,
  starting: ReadonlySet<string>,
  before: (name: string) => PackageState
) => {
  const result = new Map<string, PackageState>()
  const visit = (name: string): PackageState => {
    const known = result.get(name)
    if (known !== undefined) return known
    const spec = specs.get(name)!
    const depsReady = spec.deps.every((d) => (starting.has(d) ? visit(d) : before(d)) === "ready")
    const state: PackageState = !depsReady ? "skipped" : spec.init === "ok" ? "ready" : "failed"
    result.set(name, state)
    return state
  }
  for (const name of starting) visit(name)
  const aborting = [...result].filter(([name, state]) => state === "failed" && !specs.get(name)!.optional)
    .map(([name]) => name)
  return { result, aborting }
}

type Expected =
  | { readonly _tag: "success" }
  | { readonly _tag: "failure"; readonly error: string; readonly check: (error: Record<string, unknown>) => boolean }

const stats: Record<string, number> = {}
const count = (key: string) => {
  stats[key] = (stats[key] ?? 0) + 1
}

const initErrorOf = (spec: Spec) => spec.init === "hang" ? "PackageInitTimeout" : "PackageInitFailed"

// ---------------------------------------------------------------------------------------------------------------
// one run

const runScenario = (scenario: Scenario, world: World) =>
  Effect.gen(function*() {
    const specs = new Map<string, Spec>()
    /** The package value last added (or booted) under each name. */
    const values = new Map<string, Package.Any>()
    const removed = new Set<string>()
    const flags = new Map<string, boolean>(Object.entries(scenario.features))
    const names: Array<string> = []
    for (const [i, raw] of scenario.boot.entries()) {
      const spec = place(raw, `p${i}`, names, specs, true, flags)
      specs.set(spec.name, spec)
      names.push(spec.name)
    }
    world.trace.push(`boot ${JSON.stringify([...specs.values()])} features ${JSON.stringify(scenario.features)}`)

    // boot prediction: gated packages whose flag is off are disabled, the rest start
    const bootStarting = new Set(names.filter((n) => {
      const feature = specs.get(n)!.feature
      return feature === undefined || flags.get(feature) === true
    }))
    const bootSim = simulateStart(specs, bootStarting, () => "disabled")

    const scope = yield* Scope.make()
    for (const name of names) values.set(name, world.package(specs.get(name)!))
    const built = yield* Effect.exit(Layer.buildWithScope(
      Spine.layer({ packages: names.map((n) => values.get(n)!), features: scenario.features }),
      scope
    ))
    if (Exit.isFailure(built)) {
      count("boot:failed")
      const failure = Cause.failureOption(built.cause)
      const error = Option.getOrUndefined(failure) as Record<string, unknown> | undefined
      const name = error?.package as string | undefined
      if (
        error === undefined || name === undefined || !bootSim.aborting.includes(name) ||
        error._tag !== initErrorOf(specs.get(name)!)
      ) {
        world.violation(`boot failed unexpectedly: ${Cause.pretty(built.cause)} (expected one of ${bootSim.aborting})`)
      }
      yield* Scope.close(scope, built)
      for (const instance of world.instances.values()) {
        if (instance.releases !== 1 || instance.ends !== 1) {
          world.violation(`${instance.name}#${instance.id} released ${instance.releases} times after a failed boot`)
        }
      }
      return
    }
    count("boot:ok")
    if (bootSim.aborting.length > 0) world.violation(`boot succeeded, expected a failure of ${bootSim.aborting}`)
    const spine = Context.get(built.value, Spine.Spine)

    const snapshot = Effect.gen(function*() {
      const listed = (yield* spine.packages).map((info) => info.name)
      const states = new Map<string, PackageState>()
      for (const name of listed) states.set(name, yield* Effect.orDie(spine.state(name)))
      return { listed, states, at: world.log.length }
    })

    /** The checks after every change: the spine's view against the model and against the log. */
    const consistent = (listed: ReadonlyArray<string>, states: States, expected: States) =>
      Effect.gen(function*() {
        if (new Set(listed).size !== listed.length) world.violation(`a name is listed twice: ${listed}`)
        const modelled = [...specs.keys()].sort()
        if (JSON.stringify([...listed].sort()) !== JSON.stringify(modelled)) {
          world.violation(`listed ${listed}, expected ${modelled}`)
        }
        for (const [name, state] of states) {
          const want = expected.get(name)
          if (want !== state) world.violation(`${name} is ${state}, expected ${want}`)
          const live = [...world.instances.values()].filter((i) => i.name === name && i.releases === 0)
          if (state === "ready" ? live.length !== 1 : live.length !== 0) {
            world.violation(`${name} is ${state} with ${live.length} acquisition(s) not released`)
          }
          if (state === "ready") {
            for (const d of specs.get(name)!.deps) {
              if (states.get(d) !== "ready") {
                world.violation(`${name} is ready while its dependency ${d} is ${states.get(d)}`)
              }
            }
          }
        }
        for (const instance of world.instances.values()) {
          if (instance.releases > 0 && instance.ends === 0) {
            world.violation(`the release of ${instance.name}#${instance.id} still runs after the change returned`)
          }
        }
        for (const flag of ALL_FLAGS) {
          const on = yield* spine.isFeatureEnabled(flag)
          if (on !== (flags.get(flag) === true)) world.violation(`flag ${flag} is ${on}, expected ${flags.get(flag)}`)
        }
      })

    {
      const { listed, states } = yield* snapshot
      yield* consistent(listed, states, new Map(names.map((n) => [n, bootSim.result.get(n) ?? "disabled"])))
    }

    let fresh = 0
    for (const op of scenario.ops) {
      const before = yield* snapshot
      const stateOf = (name: string) => before.states.get(name)!
      const listed = before.listed
      /** The state expected of every package afterwards: unchanged unless said otherwise. */
      const after = new Map(before.states)
      /** Packages the change may acquire or release; `undefined` for a refused change, which touches none. */
      let touched: ReadonlySet<string> | undefined
      let expected: Expected = { _tag: "success" }
      /** Packages whose layer the change must run (start acquiring). */
      let starts: ReadonlySet<string> = new Set()
      let run: Effect.Effect<void, unknown>
      let onExit: (ok: boolean, error: Record<string, unknown> | undefined) => void = () => {}
      let label: string

      if (op._tag === "add") {
        const name = op.fresh || listed.length === 0 ? `q${fresh++}` : listed[op.target % listed.length]
        const existing = before.states.get(name)
        const reuse = existing !== undefined && op.reuse
        const spec = reuse ? specs.get(name)! : place(op.spec, name, listed, specs, !op.lax)
        const pkg = reuse ? values.get(name)! : world.package(spec)
        label = `${existing === undefined ? "add" : reuse ? "add-same" : "add-again"} ${JSON.stringify(spec)}`
        const replacing = existing !== undefined
        const problems = () => {
          if (replacing && spec.deps.some((d) => reaches(specs, d, name))) {
            return {
              tag: "DependencyCycle",
              check: (e: Record<string, unknown>) => (e.cycle as Array<string>).includes(name)
            }
          }
          const requiredOnGated = (!gated(spec) && spec.deps.some((d) => gated(specs.get(d)!))) ||
            (gated(spec) && replacing &&
              // what removed packages require is not checked again
              [...specs.values()].some((s) =>
                s.name !== name && !gated(s) && !removed.has(s.name) && s.deps.includes(name)
              ))
          if (requiredOnGated) {
            return {
              tag: "RequiredDependsOnOptional",
              check: (e: Record<string, unknown>) => e.package === name || e.dependency === name
            }
          }
          return undefined
        }
        const problem = problems()
        const notRunning = spec.deps.find((d) => stateOf(d) !== "ready")
        if (existing === "ready" || existing === "starting") {
          expected = { _tag: "failure", error: "DuplicatePackage", check: (e) => e.package === name }
        } else if (problem !== undefined) {
          expected = { _tag: "failure", error: problem.tag, check: problem.check }
        } else if (notRunning !== undefined) {
          const state = removed.has(notRunning) ? "removed" : stateOf(notRunning)
          expected = {
            _tag: "failure",
            error: "DependencyNotRunning",
            check: (e) => e.package === name && e.dependency === notRunning && e.state === state
          }
        } else {
          touched = new Set([name])
          const off = spec.feature !== undefined && flags.get(spec.feature) !== true
          after.set(name, off ? "disabled" : spec.init === "ok" ? "ready" : "failed")
          if (!off && spec.init !== "ok" && !spec.optional) {
            expected = { _tag: "failure", error: initErrorOf(spec), check: (e) => e.package === name }
          }
          if (!off) starts = new Set([name])
          onExit = (ok) => {
            specs.set(name, spec)
            values.set(name, pkg)
            removed.delete(name)
            if (!ok) removed.add(name)
          }
        }
        run = spine.add(pkg)
      } else if (op._tag === "remove") {
        const name = op.unknown ? "nope" : listed[op.target % listed.length]
        label = `${op.cascade ? "remove-cascade" : "remove"} ${name}`
        if (!before.states.has(name)) {
          expected = { _tag: "failure", error: "PackageNotFound", check: (e) => e.package === name }
        } else {
          const dependents = dependentsOf(specs, name)
          const alive = [...dependents].filter((d) => stateOf(d) === "ready" || stateOf(d) === "starting").sort()
          if (alive.length > 0 && !op.cascade) {
            expected = {
              _tag: "failure",
              error: "PackageHasDependents",
              check: (e) =>
                e.package === name &&
                JSON.stringify([...(e.dependents as Array<string>)].sort()) === JSON.stringify(alive)
            }
          } else {
            const gone = new Set([name, ...dependents])
            touched = gone
            for (const n of gone) if (stateOf(n) === "ready") after.set(n, "stopped")
            onExit = () => {
              for (const n of gone) removed.add(n)
            }
          }
        }
        run = spine.remove(name, { cascade: op.cascade })
      } else {
        const { flag } = op
        const current = flags.get(flag) === true
        const on = op.on ?? !current
        label = `${current === on ? "setFeature-same" : on ? "setFeature-on" : "setFeature-off"} ${flag}`
        if (current !== on) {
          const gatedByFlag = [...specs.values()].filter((s) => s.feature === flag && !removed.has(s.name))
          const affected = new Set<string>()
          for (const s of gatedByFlag) {
            affected.add(s.name)
            for (const d of dependentsOf(specs, s.name)) if (!removed.has(d)) affected.add(d)
          }
          touched = affected
          /** What turning the flag off leaves: its packages disabled, their dependents skipped. */
          const switchedOff = (name: string, state: PackageState): PackageState =>
            specs.get(name)!.feature === flag
              ? "disabled"
              : ["stopped", "registered", "failed", "ready"].includes(state)
              ? "skipped"
              : state
          if (!on) {
            for (const n of affected) after.set(n, switchedOff(n, stateOf(n)))
            onExit = () => void flags.set(flag, false)
          } else {
            const flagOn = (name: string) => {
              const feature = specs.get(name)!.feature
              return feature === undefined || feature === flag || flags.get(feature) === true
            }
            const waking = new Set(
              [...affected].filter((n) => ["disabled", "skipped", "stopped"].includes(stateOf(n)) && flagOn(n))
            )
            const sim = simulateStart(specs, waking, stateOf)
            if (sim.aborting.length > 0) {
              expected = {
                _tag: "failure",
                error: "PackageInitFailed|PackageInitTimeout",
                check: (e) =>
                  sim.aborting.includes(e.package as string) && e._tag === initErrorOf(specs.get(e.package as string)!)
              }
              for (const n of affected) after.set(n, switchedOff(n, waking.has(n) ? "registered" : stateOf(n)))
            } else {
              for (const [n, state] of sim.result) after.set(n, state)
              starts = new Set([...sim.result].filter(([, state]) => state !== "skipped").map(([n]) => n))
            }
            onExit = (ok) => void flags.set(flag, ok)
          }
        }
        run = spine.setFeature(flag, on)
      }

      world.trace.push(label)
      const exit = yield* Effect.exit(run)
      const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      const error = failure as Record<string, unknown> | undefined
      world.trace[world.trace.length - 1] = `${label} -> ${Exit.isSuccess(exit) ? "ok" : String(error?._tag)}`
      count(`${label.split(" ")[0]}:${Exit.isSuccess(exit) ? "ok" : String(error?._tag ?? "defect")}`)
      if (Exit.isFailure(exit) && error === undefined) {
        world.violation(`${label} died or was interrupted: ${Cause.pretty(exit.cause)}`)
      }
      if (expected._tag === "success") {
        if (Exit.isFailure(exit)) world.violation(`${label} failed with ${error?._tag}, expected success`)
      } else if (error === undefined) {
        world.violation(`${label} succeeded, expected ${expected.error}`)
      } else if (!expected.error.split("|").includes(error._tag as string) || !expected.check(error)) {
        world.violation(
          `${label} failed with ${error._tag} ${JSON.stringify(error)}, expected ${expected.error}`
        )
      }
      onExit(Exit.isSuccess(exit), error)

      // a package started by the change, or failing it, ran its layer during the change
      const started = new Set(world.log.slice(before.at).flatMap((e) => e.type === "start" ? [e.name] : []))
      const failing = error?._tag === "PackageInitFailed" || error?._tag === "PackageInitTimeout"
        ? [error.package as string]
        : []
      for (const name of [...starts, ...failing]) {
        if (!started.has(name)) world.violation(`${label}: ${name} did not run its layer`)
      }

      const now = yield* snapshot
      // a refused change acquires and releases nothing; another, only what it concerns
      for (const entry of world.log.slice(before.at)) {
        if (touched === undefined || !touched.has(entry.name)) {
          world.violation(`${label} touched ${entry.name} (${entry.type})`)
          break
        }
      }
      yield* consistent(now.listed, now.states, after)
    }

    // shutdown: every ready package stops, nothing else changes
    const last = yield* snapshot
    yield* Scope.close(scope, Exit.void)
    world.trace.push("shutdown")
    for (const [name, state] of last.states) {
      const now = yield* Effect.orDie(spine.state(name))
      const want = state === "ready" ? "stopped" : state
      if (now !== want) world.violation(`${name} is ${now} after shutdown, expected ${want}`)
    }
    if ((yield* spine.phase) !== "stopped") world.violation(`phase ${yield* spine.phase} after shutdown`)
    for (const instance of world.instances.values()) {
      if (instance.releases !== 1 || instance.ends !== 1) {
        world.violation(`${instance.name}#${instance.id} released ${instance.releases} time(s), ended ${instance.ends}`)
      }
    }
  })

describe("runtime package management (properties)", () => {
  afterAll(() => {
    if (process.env.VERBOSE !== undefined) console.log(JSON.stringify(stats, Object.keys(stats).sort()))
  })

  it.effect.prop(
    "add, remove and setFeature keep the lifecycle invariants and do what the docs say",
    [scenarioArb],
    ([scenario]) =>
      Effect.gen(function*() {
        const world = new World()
        const exit = yield* runWithClock(runScenario(scenario, world))
        if (Exit.isFailure(exit)) world.violation(`the scenario itself failed: ${Cause.pretty(exit.cause)}`)
        if (world.violations.length > 0) {
          if (process.env.VERBOSE !== undefined) console.log([...world.trace, "--", ...world.violations].join("\n"))
          expect({ trace: world.trace, violations: world.violations }).toEqual({ trace: world.trace, violations: [] })
        }
      }),
    {
      timeout: 300_000,
      fastCheck: {
        numRuns: Number(process.env.RUNS ?? 300),
        ...(process.env.SEED === undefined ? {} : { seed: Number(process.env.SEED) }),
        ...(process.env.FC_PATH === undefined ? {} : { path: process.env.FC_PATH })
      }
    }
  )
})
