import { Context, Either, Graph, Option, Schedule } from "effect"
import * as semver from "semver"
import * as Package from "../Package.js"
import type { PackageGraph } from "../Registry.js"
import {
  DependencyCycle,
  DuplicatePackage,
  DuplicateProvider,
  IncompatibleVersion,
  InvalidPackage,
  MissingDependency,
  RequiredDependsOnOptional,
  type ValidationError
} from "../SpineError.js"
import { kindOf, shown } from "./kind.js"
import { isPositive } from "./options.js"

/** A package placed in the graph. */
export interface Node {
  readonly index: number
  readonly pkg: Package.Any
  /** Indices of the packages it requires (its providers). */
  readonly dependencies: ReadonlyArray<number>
  /** Indices of the packages that require it. */
  readonly dependents: ReadonlyArray<number>
}

/** A validated package graph. */
export interface Resolved {
  readonly nodes: ReadonlyArray<Node>
  /** Node indices, every package after all of its dependencies. */
  readonly order: ReadonlyArray<number>
  /** Edges from a dependent to each of its dependencies. */
  readonly graph: Graph.DirectedGraph<string, string>
}

const kebab = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/

/** The public view of a resolved graph (from `Registry.validate`, or the spine's own). */
export const viewOf = (resolved: Resolved): PackageGraph => {
  const names = resolved.nodes.map((node) => node.pkg.name)
  const index = new Map(names.map((name, i) => [name, i]))
  const related = (name: string, pick: (node: Node) => ReadonlyArray<number>) => {
    const i = index.get(name)
    return i === undefined ? [] : pick(resolved.nodes[i]).map((j) => names[j])
  }
  return {
    topologicalOrder: resolved.order.map((i) => names[i]),
    dependencies: (name) => related(name, (node) => node.dependencies),
    dependents: (name) => related(name, (node) => node.dependents),
    toMermaid: () => Graph.toMermaid(resolved.graph, { direction: "LR" }),
    toDot: () => Graph.toGraphViz(resolved.graph, { graphName: "packages" })
  }
}

/**
 * Validates a list of packages against the caller's context and places them
 * in a graph. The first problem found is returned, checked in this order:
 * malformed descriptors, duplicate names, duplicate providers, missing
 * dependencies, cycles, version ranges, required-on-optional edges. The
 * requirements of the `inert` packages (taken out of a running graph) are
 * not checked: they keep their names, services and edges, and no more.
 */
export const resolve = (
  packages: ReadonlyArray<Package.Any>,
  context: Context.Context<never>,
  inert: ReadonlySet<number> = new Set()
): Either.Either<Resolved, ValidationError> => {
  for (const pkg of packages) {
    const problem = describeProblem(pkg)
    if (problem !== undefined) {
      const name = typeof pkg.name === "string" ? pkg.name : kindOf(pkg.name)
      return Either.left(new InvalidPackage({ package: name, reason: problem }))
    }
  }
  const byName = new Set<string>()
  for (const pkg of packages) {
    if (byName.has(pkg.name)) return Either.left(new DuplicatePackage({ package: pkg.name }))
    byName.add(pkg.name)
  }
  const byTag = new Map<string, number>()
  for (let index = 0; index < packages.length; index++) {
    const pkg = packages[index]
    const other = byTag.get(pkg.provides.key)
    if (other !== undefined) {
      return Either.left(
        new DuplicateProvider({ tag: pkg.provides.key, packages: [packages[other].name, pkg.name] })
      )
    }
    byTag.set(pkg.provides.key, index)
  }
  const dependencies: Array<Array<number>> = []
  const dependents: Array<Array<number>> = packages.map(() => [])
  for (let index = 0; index < packages.length; index++) {
    const own: Array<number> = []
    for (const dependency of packages[index].requires) {
      const provider = byTag.get(dependency.tag.key)
      if (provider === undefined) {
        if (!inert.has(index) && Option.isNone(Context.getOption(context, dependency.tag))) {
          return Either.left(new MissingDependency({ package: packages[index].name, dependency: dependency.tag.key }))
        }
      } else if (!own.includes(provider)) {
        own.push(provider)
        dependents[provider].push(index)
      }
    }
    dependencies.push(own)
  }
  const graph = Graph.directed<string, string>((mutable) => {
    for (const pkg of packages) Graph.addNode(mutable, pkg.name)
    for (let index = 0; index < packages.length; index++) {
      // one edge per provider, however often it is required; its label lists every range, each apart (all must hold)
      const ranges = new Map<number, Array<string>>()
      for (const dependency of packages[index].requires) {
        const provider = byTag.get(dependency.tag.key)
        if (provider === undefined) continue
        const own = ranges.get(provider) ?? []
        if (dependency.range !== undefined) own.push(dependency.range)
        ranges.set(provider, own)
      }
      for (const [provider, own] of ranges) Graph.addEdge(mutable, index, provider, own.join(", "))
    }
  })
  const cycle = findCycle(graph, dependencies)
  if (cycle !== undefined) return Either.left(new DependencyCycle({ cycle: cycle.map((i) => packages[i].name) }))
  for (const [index, pkg] of packages.entries()) {
    if (inert.has(index)) continue
    for (const dependency of pkg.requires) {
      const provider = byTag.get(dependency.tag.key)
      if (provider === undefined || dependency.range === undefined) continue
      const version = packages[provider].version
      if (!semver.satisfies(version, dependency.range)) {
        return Either.left(
          new IncompatibleVersion({
            package: pkg.name,
            dependency: packages[provider].name,
            range: dependency.range,
            version
          })
        )
      }
    }
  }
  for (let index = 0; index < packages.length; index++) {
    const pkg = packages[index]
    if (Package.isGated(pkg) || inert.has(index)) continue
    for (const provider of dependencies[index]) {
      const dependency = packages[provider]
      if (Package.isGated(dependency)) {
        return Either.left(
          new RequiredDependsOnOptional({
            package: pkg.name,
            dependency: dependency.name,
            reason: dependency.optional ? "optional" : "feature"
          })
        )
      }
    }
  }
  const nodes = packages.map((pkg, index): Node => ({
    index,
    pkg,
    dependencies: dependencies[index],
    dependents: dependents[index]
  }))
  return Either.right({ nodes, order: startOrder(nodes), graph })
}

/**
 * The order the spine starts packages in: each after what it requires, and
 * otherwise in the order the walk frees them (declaration order for packages
 * nothing orders).
 */
const startOrder = (nodes: ReadonlyArray<Node>): Array<number> => {
  const order: Array<number> = []
  const graph = walk(nodes, "start", (index) => order.push(index), () => {})
  graph.start()
  for (let i = 0; i < order.length; i++) graph.finish(order[i])
  return order
}

/** A version written exactly as semver writes it (no `v` prefix, no spaces); build metadata (`+build.5`) allowed. */
const isSemver = (version: string): boolean => {
  const parsed = semver.parse(version)
  return parsed !== null && version === parsed.version + (parsed.build.length > 0 ? `+${parsed.build.join(".")}` : "")
}

const statuses: ReadonlyArray<unknown> = Package.packageStatuses

const describeProblem = (pkg: Package.Any): string | undefined => {
  // `typeof` first: from JavaScript, `undefined` would pass the test as the string "undefined"
  if (typeof pkg.name !== "string" || !kebab.test(pkg.name)) return `name must be kebab-case (got ${shown(pkg.name)})`
  if (typeof pkg.version !== "string") return `version must be a semver string (got ${kindOf(pkg.version)})`
  if (!isSemver(pkg.version)) return `version ${shown(pkg.version)} is not semver`
  if (!statuses.includes(pkg.status)) {
    return `status must be one of ${statuses.map((status) => `"${status}"`).join(", ")} (got ${shown(pkg.status)})`
  }
  if (!Context.isTag(pkg.provides)) return `provides must be a Context.Tag (got ${kindOf(pkg.provides)})`
  if (!Array.isArray(pkg.requires)) {
    const given = Context.isTag(pkg.requires) ? "a lone Context.Tag" : kindOf(pkg.requires)
    return `requires must be an array of tags or [tag, range] pairs (got ${given})`
  }
  for (const field of ["initRetry", "healthSchedule"] as const) {
    const schedule: unknown = pkg[field]
    if (schedule !== undefined && !Schedule.isSchedule(schedule)) {
      return `${field} must be a Schedule (got ${shown(schedule)})`
    }
  }
  const misfit = pkg.requires.findIndex((dependency) => !Context.isTag(dependency.tag))
  if (misfit >= 0) return `requires[${misfit}] must be a Context.Tag or a [tag, range] pair`
  for (const [field, timeout] of [["initTimeout", pkg.initTimeout], ["stopTimeout", pkg.stopTimeout]] as const) {
    if (timeout !== undefined && !isPositive(timeout)) {
      return `${field} must be a positive duration, such as "30 seconds"`
    }
  }
  for (const dependency of pkg.requires) {
    if (dependency.range !== undefined && semver.validRange(dependency.range) === null) {
      return `range "${dependency.range}" for ${dependency.tag.key} is not a semver range`
    }
  }
  return undefined
}

/**
 * The shortest cycle through the first package that lies on one, as a path
 * that starts and ends with that package; `undefined` when acyclic.
 */
const findCycle = (
  graph: Graph.DirectedGraph<string, string>,
  dependencies: ReadonlyArray<ReadonlyArray<number>>
): ReadonlyArray<number> | undefined => {
  if (Graph.isAcyclic(graph)) return undefined
  let start = -1
  let members = new Set<number>()
  for (const component of Graph.stronglyConnectedComponents(graph)) {
    const first = Math.min(...component)
    const cyclic = component.length > 1 || dependencies[first].includes(first)
    if (cyclic && (start === -1 || first < start)) {
      start = first
      members = new Set(component)
    }
  }
  const parent = new Map<number, number>()
  const queue = [start]
  for (let head = 0; head < queue.length; head++) {
    const current = queue[head]
    for (const next of dependencies[current]) {
      if (!members.has(next)) continue
      if (next === start) {
        const path = [start]
        for (let at: number | undefined = current; at !== start && at !== undefined; at = parent.get(at)) {
          path.push(at)
        }
        return [start, ...path.slice(1).reverse(), start]
      }
      if (!parent.has(next)) {
        parent.set(next, current)
        queue.push(next)
      }
    }
  }
  return [start, start]
}

/**
 * Walks a resolved graph from its roots, in dependency order (`"start"`:
 * dependencies first) or in reverse (`"release"`: dependents first). `visit`
 * is called for a node once every node before it has been passed to
 * `finish`; `onDone` once every node has. With `only`, the walk covers those
 * nodes alone, as if the others were already finished. Nothing is visited twice, and
 * visits run from a queue, so a long chain finished synchronously does not
 * grow the stack.
 */
export const walk = (
  nodes: ReadonlyArray<Node>,
  order: "start" | "release",
  visit: (index: number) => void,
  onDone: () => void,
  only?: ReadonlySet<number>
) => {
  const inside = (index: number) => only === undefined || only.has(index)
  const restrict = (indices: ReadonlyArray<number>) => only === undefined ? indices : indices.filter(inside)
  const before = (node: Node) => restrict(order === "start" ? node.dependencies : node.dependents)
  const after = (node: Node) => restrict(order === "start" ? node.dependents : node.dependencies)
  const members = only === undefined ? nodes : nodes.filter((node) => inside(node.index))
  const pending = nodes.map((node) => inside(node.index) ? before(node).length : 0)
  const queue: Array<number> = []
  let head = 0
  let draining = false
  let unfinished = members.length
  const enqueue = (index: number) => {
    queue.push(index)
    if (draining) return
    draining = true
    while (head < queue.length) visit(queue[head++])
    queue.length = head = 0
    draining = false
  }
  return {
    start: () => {
      if (members.length === 0) return onDone()
      // the roots, taken before any visit: a visit may finish a node and free another one
      const roots = members.filter((node) => pending[node.index] === 0)
      for (const node of roots) enqueue(node.index)
    },
    finish: (index: number) => {
      unfinished--
      for (const next of after(nodes[index])) {
        if (--pending[next] === 0) enqueue(next)
      }
      if (unfinished === 0) onDone()
    }
  }
}
