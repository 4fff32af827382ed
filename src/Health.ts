/**
 * Health in the vocabulary of the IETF health-check response draft: `pass`,
 * `warn`, `fail`. A package's check runs on a schedule with a timeout; its
 * latest result is cached, and the system's readiness and liveness are
 * derived from the cache and the package graph, never by running checks.
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export type HealthStatus = "pass" | "warn" | "fail"

/**
 * What a health check may return instead of `void`: a `warn` status (the
 * package works, degraded) and details to show in reports.
 *
 * @since 0.1.0
 * @category models
 */
export interface HealthDetail {
  readonly status?: "pass" | "warn" | undefined
  readonly details?: unknown
}

/**
 * The cached health of one package.
 *
 * @since 0.1.0
 * @category models
 */
export interface PackageHealth {
  readonly name: string
  /** The last check's; `warn` while the package's first check, part of its start, has not ended. */
  readonly status: HealthStatus
  /** `status !== "fail"` */
  readonly healthy: boolean
  /** `undefined` until the first check ran. */
  readonly lastCheck: Date | undefined
  readonly durationMs: number
  /** Messages of the last failing run. */
  readonly errors: ReadonlyArray<string>
  /** What the check returned. */
  readonly details?: unknown
  readonly consecutiveFailures: number
}

/**
 * The cached health of the system.
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemHealth {
  /** Readiness. */
  readonly status: HealthStatus
  /** `status !== "fail"` */
  readonly ready: boolean
  /** Liveness: true until shutdown begins; package checks do not affect it. */
  readonly live: boolean
  /** Every package healthy. */
  readonly overall: boolean
  readonly packages: Readonly<Record<string, PackageHealth>>
}

/**
 * The health options of `Spine.layer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Time from one round of checks to the next, kept as `Schedule.fixed` keeps it. Default 60 seconds. */
  readonly interval?: Duration.DurationInput | undefined
  /** The limit of one check. Default 5 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Checks running at once, over every round, schedule and `checkHealth` call. Default 16; a whole number from 1. */
  readonly concurrency?: number | undefined
  /** Consecutive failures before a package is reported `fail`. Default 1; a whole number from 1. */
  readonly failureThreshold?: number | undefined
  /** Consecutive successes before a failing package is reported `pass` again. Default 1; a whole number from 1. */
  readonly successThreshold?: number | undefined
  /**
   * `false` turns the scheduled checks off, the first check of a package's start included; `checkHealth` still
   * runs them. Default `true`.
   */
  readonly enabled?: boolean | undefined
}
