/**
 * The lifecycle vocabulary of the spine: the state of each package, the phase
 * of the spine itself, the events published on every transition and the boot
 * timeline.
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import { Data } from "effect"
import type { HealthStatus } from "./Health.js"

/**
 * The state of one package.
 *
 * - `registered`: known, not yet started
 * - `disabled`: its feature flag is off; never built
 * - `starting` / `ready` / `failed`: its layer is building, built, or failed to build
 * - `skipped`: a dependency failed or is absent, so it was not started
 * - `stopping` / `stopped`: its scope is closing, closed
 *
 * @since 0.1.0
 * @category models
 */
export type PackageState = (typeof packageStates)[number]

/**
 * Every package state, in lifecycle order.
 *
 * @since 0.1.0
 * @category constants
 */
export const packageStates = [
  "registered",
  "disabled",
  "starting",
  "ready",
  "failed",
  "skipped",
  "stopping",
  "stopped"
] as const

/**
 * How many of `states` are in each state, every state present.
 *
 * @since 0.1.0
 * @category constructors
 */
export const countByState = (states: Iterable<PackageState>): Record<PackageState, number> => {
  const counts: Record<PackageState, number> = {
    registered: 0,
    disabled: 0,
    starting: 0,
    ready: 0,
    failed: 0,
    skipped: 0,
    stopping: 0,
    stopped: 0
  }
  for (const state of states) counts[state]++
  return counts
}

/**
 * The phase of the spine as a whole.
 *
 * @since 0.1.0
 * @category models
 */
export type SpinePhase = "booting" | "ready" | "stopping" | "stopped"

/**
 * A lifecycle event. Every event carries the time it happened.
 *
 * @since 0.1.0
 * @category models
 */
export type SpineEvent = Data.TaggedEnum<{
  /** A package moved from one state to another. */
  PackageStateChanged: {
    readonly package: string
    readonly from: PackageState
    readonly to: PackageState
    readonly at: Date
    /** The attempt number, for `starting`, `ready` and `failed`. */
    readonly attempt?: number
    /** Why, for `failed` and `skipped`. */
    readonly reason?: string
  }
  /** A package's finalizers did not finish within its stop timeout. */
  PackageStopTimeout: {
    readonly package: string
    readonly timeout: Duration.Duration
    readonly at: Date
  }
  /** A package's finalizers failed; the failure is reported and release goes on. */
  PackageStopFailed: {
    readonly package: string
    readonly reason: string
    readonly at: Date
  }
  /** A package's health status changed (after the flap thresholds). */
  HealthChanged: {
    readonly package: string
    readonly from: HealthStatus
    readonly to: HealthStatus
    readonly at: Date
    /** The failure, for `fail`. */
    readonly reason?: string
  }
  /** The spine moved from one phase to another. */
  SpinePhaseChanged: {
    readonly from: SpinePhase
    readonly to: SpinePhase
    readonly at: Date
  }
}>

/**
 * Constructors and matchers for `SpineEvent`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const SpineEvent: Data.TaggedEnum.Constructor<SpineEvent> = Data.taggedEnum<SpineEvent>()

/**
 * What happened to one package: when it started and became ready, how many
 * attempts it took, how long release took, and the error if it failed.
 *
 * @since 0.1.0
 * @category models
 */
export interface TimelineEntry {
  readonly package: string
  readonly state: PackageState
  readonly attempts: number
  readonly startedAt: Date | undefined
  readonly readyAt: Date | undefined
  /** From the first attempt to ready or failed, in milliseconds. */
  readonly durationMs: number | undefined
  readonly stoppedAt: Date | undefined
  readonly stopDurationMs: number | undefined
  readonly error: string | undefined
}
