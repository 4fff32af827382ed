/**
 * The report: a summary, the cached health, the metrics, every package with
 * its metadata, state and health, and the boot timeline, described by a
 * Schema whose JSON form is plain (dates as ISO strings); and `toText`, a
 * readable table.
 *
 * @since 0.1.0
 */
import { Graph, Option, Schema } from "effect"
import { oneLine } from "./internal/cause.js"
import { packageStates } from "./Lifecycle.js"
import { packageStatuses } from "./Package.js"

/**
 * A field always present in the type, `undefined` when unknown, and left out of the JSON then (which has no
 * `undefined`): so that the report's health and timeline are `Health.SystemHealth` and `Lifecycle.TimelineEntry`.
 */
const orUndefined = <A, I>(schema: Schema.Schema<A, I>) =>
  // an `undefined` given explicitly (an object not from JSON) is read as well
  Schema.optionalToRequired(Schema.UndefinedOr(schema), Schema.UndefinedOr(Schema.typeSchema(schema)), {
    decode: Option.getOrUndefined,
    encode: Option.fromNullable
  })

const Status = Schema.Literal("pass", "warn", "fail")
const PackageState = Schema.Literal(...packageStates)
const Counts = Schema.Record({ key: Schema.String, value: Schema.Number })

/**
 * @since 0.1.0
 * @category schemas
 */
export const PackageHealth = Schema.Struct({
  name: Schema.String,
  status: Status,
  healthy: Schema.Boolean,
  lastCheck: orUndefined(Schema.Date),
  durationMs: Schema.Number,
  errors: Schema.Array(Schema.String),
  details: Schema.optional(Schema.Unknown),
  consecutiveFailures: Schema.Number
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const SystemHealth = Schema.Struct({
  status: Status,
  ready: Schema.Boolean,
  live: Schema.Boolean,
  overall: Schema.Boolean,
  packages: Schema.Record({ key: Schema.String, value: PackageHealth })
})

const Labels = Schema.Record({ key: Schema.String, value: Schema.String })

/**
 * @since 0.1.0
 * @category schemas
 */
export const MetricValue = Schema.Union(
  Schema.Struct({
    name: Schema.String,
    type: Schema.Literal("counter", "gauge"),
    labels: Labels,
    value: Schema.Number
  }),
  Schema.Struct({
    name: Schema.String,
    type: Schema.Literal("histogram"),
    labels: Labels,
    count: Schema.Number,
    sum: Schema.Number,
    min: Schema.Number,
    max: Schema.Number,
    buckets: Schema.Array(Schema.Tuple(Schema.Number, Schema.Number))
  })
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const MetricsSnapshot = Schema.Struct({
  spine: Schema.Array(MetricValue),
  application: Schema.Array(MetricValue),
  packages: Schema.Record({ key: Schema.String, value: Counts })
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const TimelineEntry = Schema.Struct({
  package: Schema.String,
  state: PackageState,
  attempts: Schema.Number,
  startedAt: orUndefined(Schema.Date),
  readyAt: orUndefined(Schema.Date),
  durationMs: orUndefined(Schema.Number),
  stoppedAt: orUndefined(Schema.Date),
  stopDurationMs: orUndefined(Schema.Number),
  error: orUndefined(Schema.String)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const PackageReport = Schema.Struct({
  name: Schema.String,
  version: Schema.String,
  category: Schema.String,
  status: Schema.Literal(...packageStatuses),
  provides: Schema.String,
  requires: Schema.Array(Schema.Struct({ tag: Schema.String, range: Schema.optional(Schema.String) })),
  optional: Schema.Boolean,
  feature: Schema.optional(Schema.String),
  state: PackageState,
  health: Schema.optional(PackageHealth)
})

/**
 * The report's schema. `Schema.decodeUnknown(Report)` reads a report back from
 * its JSON.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Report = Schema.Struct({
  summary: Schema.Struct({
    totalPackages: Schema.Number,
    healthyPackages: Schema.Number,
    overallHealth: Status,
    initialized: Schema.Boolean,
    bootDurationMs: Schema.optional(Schema.Number)
  }),
  health: SystemHealth,
  metrics: MetricsSnapshot,
  packages: Schema.Array(PackageReport),
  timeline: Schema.Array(TimelineEntry)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Report = typeof Report.Type

const pad = (rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)))
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()).join("\n")
}

/**
 * Each package's position in the start order (every package after what it
 * requires), to order packages whose timestamps fall in the same millisecond.
 * Empty for a graph with a cycle, which no spine produces.
 */
const startRank = (packages: Report["packages"]): Map<string, number> => {
  const graph = Graph.directed<string, void>((mutable) => {
    const nodes = packages.map((pkg) => Graph.addNode(mutable, pkg.name))
    const provider = new Map(packages.map((pkg, index) => [pkg.provides, nodes[index]]))
    packages.forEach((pkg, index) => {
      for (const { tag } of pkg.requires) {
        const dependency = provider.get(tag)
        if (dependency !== undefined) Graph.addEdge(mutable, dependency, nodes[index], undefined)
      }
    })
  })
  if (!Graph.isAcyclic(graph)) return new Map()
  return new Map(Array.from(Graph.values(Graph.topo(graph)), (name, rank) => [name, rank]))
}

/**
 * The report as a table: one line per package in start order (name, version,
 * state, health, init time, note), then a summary line.
 *
 * @since 0.1.0
 * @category formatting
 */
export const toText = (report: Report): string => {
  const timeline = new Map(report.timeline.map((entry) => [entry.package, entry]))
  const rows = [["PACKAGE", "VERSION", "STATE", "HEALTH", "INIT", "NOTE"]]
  // in start order; packages that never started last
  const startOf = (name: string) => timeline.get(name)?.startedAt?.getTime() ?? Infinity
  const rank = startRank(report.packages)
  const ordered = [...report.packages].sort((a, b) =>
    startOf(a.name) - startOf(b.name) || (rank.get(a.name) ?? 0) - (rank.get(b.name) ?? 0)
  )
  for (const pkg of ordered) {
    const entry = timeline.get(pkg.name)
    const health = pkg.health
    // one line per package: a message over several lines (a Schema parse error, say) is joined into one
    const note = oneLine(entry?.error ?? health?.errors[0] ?? "")
    rows.push([
      pkg.name,
      pkg.version,
      pkg.state,
      health?.status ?? "-",
      entry?.durationMs === undefined ? "-" : `${entry.durationMs} ms`,
      note
    ])
  }
  const { summary } = report
  const boot = summary.bootDurationMs === undefined ? "" : ` in ${summary.bootDurationMs} ms`
  return `${
    pad(rows)
  }\n\n${summary.healthyPackages}/${summary.totalPackages} healthy, readiness ${summary.overallHealth}${
    summary.initialized ? "" : " (not initialized)"
  }${boot}`
}

/**
 * The packages released at shutdown, in the order they finished, with the
 * time each took. With `running`, the names of the packages not stopped when
 * shutdown began, those stopped before it (removed, or their feature turned
 * off) are left out.
 *
 * @since 0.1.0
 * @category formatting
 */
export const toShutdownText = (report: Report, running?: ReadonlyArray<string>): string => {
  // within one millisecond, dependents before what they require: the order the spine releases them in
  const rank = startRank(report.packages)
  const names = running === undefined ? undefined : new Set(running)
  const released = report.timeline.flatMap((entry) =>
    entry.stoppedAt === undefined || names?.has(entry.package) === false ? [] : [{ ...entry, at: entry.stoppedAt }]
  )
    .sort((a, b) => a.at.getTime() - b.at.getTime() || (rank.get(b.package) ?? 0) - (rank.get(a.package) ?? 0))
  return pad([
    ["PACKAGE", "STOP"],
    ...released.map((entry) => [entry.package, `${entry.stopDurationMs ?? 0} ms`])
  ])
}
