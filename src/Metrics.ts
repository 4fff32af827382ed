/**
 * The spine's metrics, as Effect `Metric`s in the global registry, so any
 * exporter of Effect metrics (Prometheus through OpenTelemetry, for one)
 * sees them, and the plain snapshot `Spine.metrics` returns.
 *
 * @since 0.1.0
 */
import { Effect, Metric, MetricBoundaries, MetricState } from "effect"
import { jsonNumber } from "./internal/json.js"

const seconds = MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 16 })

/**
 * @since 0.1.0
 * @category metrics
 */
export const packageInitDuration = Metric.histogram(
  "spine_package_init_duration_seconds",
  seconds,
  "Time from a package's first attempt to ready or failed"
)

/**
 * @since 0.1.0
 * @category metrics
 */
export const packageInitAttempts = Metric.counter("spine_package_init_attempts_total", {
  description: "Attempts to build a package's layer",
  incremental: true
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const packageInitFailures = Metric.counter("spine_package_init_failures_total", {
  description: "Packages that failed to start after every attempt",
  incremental: true
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const packageUp = Metric.gauge("spine_package_up", { description: "1 while a package is ready, else 0" })

/**
 * @since 0.1.0
 * @category metrics
 */
export const packageHealthy = Metric.gauge("spine_package_healthy", {
  description: "1 while a package's health is pass or warn, else 0"
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const healthCheckDuration = Metric.histogram(
  "spine_health_check_duration_seconds",
  seconds,
  "Duration of one health check"
)

/**
 * @since 0.1.0
 * @category metrics
 */
export const healthCheckFailures = Metric.counter("spine_health_check_failures_total", {
  description: "Health checks that failed, died or timed out",
  incremental: true
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const bootDuration = Metric.gauge("spine_boot_duration_seconds", {
  description: "Duration of the last boot, from validation to ready"
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const packages = Metric.gauge("spine_packages", {
  description: "Packages per state, summed over the spines of the process that have not stopped"
})

/**
 * One metric's current value.
 *
 * @since 0.1.0
 * @category models
 */
export type MetricValue =
  | {
    readonly name: string
    readonly type: "counter" | "gauge"
    readonly labels: Readonly<Record<string, string>>
    readonly value: number
  }
  | {
    readonly name: string
    readonly type: "histogram"
    readonly labels: Readonly<Record<string, string>>
    readonly count: number
    readonly sum: number
    readonly min: number
    readonly max: number
    /** Cumulative counts per finite upper bound; the +Inf bucket is `count`. */
    readonly buckets: ReadonlyArray<readonly [number, number]>
  }

/**
 * The snapshot `Spine.metrics` returns: the spine's own metrics and the values
 * each package reports through its `metrics` function.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetricsSnapshot {
  /**
   * The `spine_*` metrics: those labelled by package for this spine's packages
   * only; `spine_packages` and `spine_boot_duration_seconds` for the process.
   */
  readonly spine: ReadonlyArray<MetricValue>
  /** Effect metrics the application's own code records (all but `spine_*` and Effect's `effect_*`). */
  readonly application: ReadonlyArray<MetricValue>
  /**
   * What each ready package's `metrics` function reports; one that fails is logged and left out, and so is a
   * value that is not a finite number.
   */
  readonly packages: Readonly<Record<string, Readonly<Record<string, number>>>>
}

/**
 * The current values of the spine's metrics (`spine_*`, only those whose
 * `package` label, if any, is in `names`) and of the application's own,
 * less any series holding a value JSON cannot carry (`NaN`, an infinity).
 *
 * @since 0.1.0
 * @category snapshot
 */
export const values = (
  names?: ReadonlySet<string>
): Effect.Effect<{ readonly spine: ReadonlyArray<MetricValue>; readonly application: ReadonlyArray<MetricValue> }> =>
  Effect.map(Metric.snapshot, (pairs) => {
    const spine: Array<MetricValue> = []
    const application: Array<MetricValue> = []
    for (const pair of pairs) {
      const name = pair.metricKey.name
      if (name.startsWith("effect_")) continue
      const bucket = name.startsWith("spine_") ? spine : application
      // own properties, so that a label named `__proto__` is kept
      const labels: Record<string, string> = Object.fromEntries(pair.metricKey.tags.map((tag) => [tag.key, tag.value]))
      if (bucket === spine && names !== undefined && labels.package !== undefined && !names.has(labels.package)) {
        continue
      }
      const state = pair.metricState
      // a series holding a value JSON cannot carry (NaN, an infinity) is left out: the snapshot is plain JSON
      if (MetricState.isHistogramState(state)) {
        // plain JSON: the +Inf bucket equals `count`, and an empty histogram has no extremes
        const { count } = state
        const sum = jsonNumber(state.sum)
        const buckets = state.buckets.filter(([bound]) => Number.isFinite(bound))
        const [min, max] = count === 0 ? [0, 0] : [jsonNumber(state.min), jsonNumber(maxOf(state))]
        if ([sum, min, max].every(Number.isFinite)) {
          bucket.push({ name, type: "histogram", labels, count, sum, min, max, buckets })
        }
      } else if (MetricState.isCounterState(state)) {
        const value = jsonNumber(Number(state.count))
        if (Number.isFinite(value)) bucket.push({ name, type: "counter", labels, value })
      } else if (MetricState.isGaugeState(state)) {
        const value = jsonNumber(Number(state.value))
        if (Number.isFinite(value)) bucket.push({ name, type: "gauge", labels, value })
      }
    }
    return { spine: spine.sort(byKey), application: application.sort(byKey) }
  })

/**
 * Effect starts a histogram's max at `Number.MIN_VALUE` (5e-324), above any
 * value that is not positive, so a histogram of zeros (a duration under the
 * clock's millisecond) reports 5e-324. When the max never moved from there,
 * the min is the max if it is 0 or the only value; for several negative
 * values, Effect's state does not say which was the largest.
 */
const maxOf = (state: MetricState.MetricState.Histogram) =>
  state.max === Number.MIN_VALUE && (state.min === 0 || state.count === 1) ? state.min : state.max

const byKey = (a: MetricValue, b: MetricValue) => a.name.localeCompare(b.name) || labelKey(a).localeCompare(labelKey(b))

const labelKey = (value: MetricValue) => Object.entries(value.labels).map(([k, v]) => `${k}=${v}`).join(",")
