/**
 * The package registry: validation of a list of packages into a graph, and
 * the read-only view of that graph (order, dependencies, Mermaid and DOT).
 *
 * @since 0.1.0
 */
import { Context, Either } from "effect"
import type { SystemHealth } from "./Health.js"
import * as internal from "./internal/graph.js"
import { countByState, type PackageState } from "./Lifecycle.js"
import type * as Package from "./Package.js"
import type { ValidationError } from "./SpineError.js"

/**
 * The dependency graph of the registered packages.
 *
 * @since 0.1.0
 * @category models
 */
export interface PackageGraph {
  /** Every package after all of its dependencies: the start order. */
  readonly topologicalOrder: ReadonlyArray<string>
  /** The packages `name` requires directly. */
  readonly dependencies: (name: string) => ReadonlyArray<string>
  /** The packages that require `name` directly. */
  readonly dependents: (name: string) => ReadonlyArray<string>
  /** A Mermaid flowchart; an arrow points from a package to what it requires. */
  readonly toMermaid: () => string
  /** The same graph in Graphviz DOT. */
  readonly toDot: () => string
}

/**
 * Validates a list of packages without starting anything: names, versions,
 * duplicates, cycles, missing providers (tags neither provided by a package
 * nor present in `context`), version ranges and required-on-optional edges.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (
  packages: ReadonlyArray<Package.Any>,
  context: Context.Context<never> = Context.empty()
): Either.Either<PackageGraph, ValidationError> => Either.map(internal.resolve(packages, context), internal.viewOf)

/**
 * Counts of the registered packages.
 *
 * @since 0.1.0
 * @category models
 */
export interface Statistics {
  readonly total: number
  readonly byCategory: Readonly<Record<string, number>>
  readonly byStatus: Readonly<Record<Package.PackageStatus, number>>
  readonly byState: Readonly<Record<PackageState, number>>
  /** Packages whose cached health is pass or warn; disabled packages are not counted. */
  readonly healthy: number
  readonly unhealthy: number
}

/**
 * Statistics of packages in their current states, with their cached health.
 *
 * @since 0.1.0
 * @category statistics
 */
export const statistics = (
  packages: ReadonlyArray<{ readonly info: Package.Info; readonly state: PackageState }>,
  health: SystemHealth
): Statistics => {
  // categories are free text: counted in a Map, so "constructor" or "__proto__" count like any other
  const byCategory = new Map<string, number>()
  const byStatus: Record<Package.PackageStatus, number> = { active: 0, beta: 0, deprecated: 0 }
  const byState = countByState(packages.map((p) => p.state))
  for (const { info } of packages) {
    byCategory.set(info.category, (byCategory.get(info.category) ?? 0) + 1)
    byStatus[info.status]++
  }
  const checked = Object.values(health.packages)
  const healthy = checked.filter((entry) => entry.healthy).length
  return {
    total: packages.length,
    byCategory: Object.fromEntries(byCategory),
    byStatus,
    byState,
    healthy,
    unhealthy: checked.length - healthy
  }
}
