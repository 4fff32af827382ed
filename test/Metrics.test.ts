import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric, MetricBoundaries } from "effect"
import { Metrics } from "../src/index.js"

// 0, 1 and +Infinity
const boundaries = MetricBoundaries.linear({ start: 0, width: 1, count: 3 })
const find = (values: ReadonlyArray<Metrics.MetricValue>, name: string) => values.filter((value) => value.name === name)

describe("Metrics.values", () => {
  it.effect("gives a histogram's extremes as recorded, zeros and negative values included", () =>
    Effect.gen(function*() {
      const zeros = Metric.histogram("metrics_test_zeros", boundaries)
      const negative = Metric.histogram("metrics_test_negative", boundaries)
      const mixed = Metric.histogram("metrics_test_mixed", boundaries)
      yield* Metric.update(zeros, 0)
      yield* Metric.update(zeros, 0)
      yield* Metric.update(negative, -2)
      yield* Metric.update(mixed, 0)
      yield* Metric.update(mixed, 1.5)
      const { application } = yield* Metrics.values()
      // Effect starts a histogram's max at Number.MIN_VALUE (5e-324), above any value that is not positive
      expect(find(application, "metrics_test_zeros")).toMatchObject([{ count: 2, min: 0, max: 0 }])
      expect(find(application, "metrics_test_negative")).toMatchObject([{ count: 1, min: -2, max: -2 }])
      expect(find(application, "metrics_test_mixed")).toMatchObject([{ count: 2, min: 0, max: 1.5 }])
    }))

  it.effect("an empty histogram has extremes of 0, and its +Inf bucket is left to `count`", () =>
    Effect.gen(function*() {
      const empty = Metric.histogram("metrics_test_empty", boundaries)
      yield* Metric.value(empty)
      const { application } = yield* Metrics.values()
      expect(find(application, "metrics_test_empty")).toEqual([{
        name: "metrics_test_empty",
        type: "histogram",
        labels: {},
        count: 0,
        sum: 0,
        min: 0,
        max: 0,
        buckets: [[0, 0], [1, 0]]
      }])
    }))

  it.effect("keeps the spine's series of the packages named, the application's all, less Effect's and non-finite ones", () =>
    Effect.gen(function*() {
      const up = Metric.gauge("spine_package_up")
      yield* Metric.set(Metric.tagged(up, "package", "metrics-test-mine"), 1)
      yield* Metric.set(Metric.tagged(up, "package", "metrics-test-other"), 1)
      yield* Metric.set(Metric.gauge("metrics_test_nan"), NaN)
      yield* Metric.set(Metric.gauge("metrics_test_infinite"), -Infinity)
      const huge = Metric.histogram("metrics_test_huge", boundaries)
      yield* Metric.update(huge, 1e308)
      yield* Metric.update(huge, 1e308)
      yield* Metric.increment(Metric.counter("metrics_test_count"))
      yield* Metric.incrementBy(Metric.counter("metrics_test_bigint", { bigint: true }), BigInt(5))
      // the application's own `package` label is no spine package's
      yield* Metric.increment(Metric.tagged(Metric.counter("metrics_test_installs"), "package", "left-pad"))
      yield* Metric.increment(Metric.counter("effect_metrics_test"))
      const { application, spine } = yield* Metrics.values(new Set(["metrics-test-mine"]))
      const packages = find(spine, "spine_package_up").map((value) => value.labels.package)
      expect(packages).toContain("metrics-test-mine")
      expect(packages).not.toContain("metrics-test-other")
      expect(find(application, "metrics_test_count")).toMatchObject([{ type: "counter", value: 1 }])
      expect(find(application, "metrics_test_bigint")).toMatchObject([{ type: "counter", value: 5 }])
      expect(find(application, "metrics_test_installs")).toMatchObject([{ labels: { package: "left-pad" }, value: 1 }])
      // NaN, an infinity, and a histogram whose sum overflowed to one
      expect(find(application, "metrics_test_nan")).toEqual([])
      expect(find(application, "metrics_test_infinite")).toEqual([])
      expect(find(application, "metrics_test_huge")).toEqual([])
      expect([...application, ...spine].some((value) => value.name.startsWith("effect_"))).toBe(false)
    }))

  it.effect("writes -0 as 0, as JSON does, and keeps every label, __proto__ included", () =>
    Effect.gen(function*() {
      yield* Metric.set(Metric.gauge("metrics_test_negative_zero"), -0)
      yield* Metric.update(Metric.histogram("metrics_test_negative_zero_histogram", boundaries), -0)
      const counter = Metric.counter("metrics_test_proto")
      yield* Metric.increment(Metric.tagged(counter, "__proto__", "a"))
      yield* Metric.incrementBy(Metric.tagged(counter, "__proto__", "b"), 2)
      const { application } = yield* Metrics.values()
      const [gauge] = find(application, "metrics_test_negative_zero")
      const [histogram] = find(application, "metrics_test_negative_zero_histogram")
      expect(gauge.type === "gauge" && Object.is(gauge.value, 0)).toBe(true)
      expect(
        histogram.type === "histogram" && [histogram.sum, histogram.min, histogram.max].every((v) => Object.is(v, 0))
      )
        .toBe(true)
      const proto = find(application, "metrics_test_proto")
      expect(proto.map((value) => [Object.entries(value.labels), value.type === "counter" && value.value])).toEqual([
        [[["__proto__", "a"]], 1],
        [[["__proto__", "b"]], 2]
      ])
    }))

  it.effect("orders series by name, then labels", () =>
    Effect.gen(function*() {
      const gauge = Metric.gauge("metrics_test_order")
      for (const zone of ["c", "a", "b"]) yield* Metric.set(Metric.tagged(gauge, "zone", zone), 1)
      yield* Metric.set(Metric.gauge("metrics_test_order_after"), 1)
      const { application } = yield* Metrics.values()
      const names = application.map((value) => `${value.name}${value.labels.zone ?? ""}`)
        .filter((name) => name.startsWith("metrics_test_order"))
      expect(names).toEqual([
        "metrics_test_ordera",
        "metrics_test_orderb",
        "metrics_test_orderc",
        "metrics_test_order_after"
      ])
    }))
})
