import { describe, expect, it } from "@effect/vitest"
import type { Fiber } from "effect"
import { Effect, Exit, Option, Runtime, TestClock } from "effect"
import * as Timers from "../../src/internal/timers.js"

/** Timers whose forked sleepers are recorded. */
const setup = Effect.gen(function*() {
  const sleepers: Array<Fiber.RuntimeFiber<void>> = []
  const runFork = Runtime.runFork(yield* Effect.runtime<never>())
  const timers = Timers.make(yield* Effect.clock, (effect) => {
    const fiber = runFork(effect)
    sleepers.push(fiber)
    return fiber
  })
  return { sleepers, timers }
})

const isInterrupted = (fiber: Fiber.RuntimeFiber<void>) =>
  Effect.map(fiber.poll, (exit) => Option.isSome(exit) && Exit.isInterrupted(exit.value))

describe("internal/timers", () => {
  it.effect("fires callbacks in deadline order through one sleeping fiber", () =>
    Effect.gen(function*() {
      const { sleepers, timers } = yield* setup
      const fired: Array<string> = []
      timers.schedule(300, () => fired.push("c"))
      timers.schedule(100, () => fired.push("a"))
      timers.schedule(200, () => fired.push("b"))
      yield* TestClock.adjust(150)
      expect(fired).toEqual(["a"])
      yield* TestClock.adjust(200)
      expect(fired).toEqual(["a", "b", "c"])
      // one sleeper per earlier deadline registered, then one per next deadline after a firing
      expect(sleepers.length).toBeLessThanOrEqual(4)
    }))

  it.effect("keeps its sleeper through a burst of cancels and schedules, and stops it when idle", () =>
    Effect.gen(function*() {
      const { sleepers, timers } = yield* setup
      let fired = 0
      for (let i = 0; i < 100; i++) {
        const cancel = timers.schedule(30_000, () => fired++)
        cancel()
      }
      expect(sleepers).toHaveLength(1)
      expect(yield* isInterrupted(sleepers[0])).toBe(false)
      timers.idle()
      yield* Effect.yieldNow()
      expect(yield* isInterrupted(sleepers[0])).toBe(true)
      yield* TestClock.adjust(60_000)
      expect(fired).toBe(0)
    }))

  it.effect("idle leaves the sleeper alone while a deadline is pending", () =>
    Effect.gen(function*() {
      const { sleepers, timers } = yield* setup
      let fired = 0
      timers.schedule(1_000, () => fired++)
      timers.idle()
      yield* Effect.yieldNow()
      expect(yield* isInterrupted(sleepers[0])).toBe(false)
      yield* TestClock.adjust(1_000)
      expect(fired).toBe(1)
    }))

  it.effect("a callback that schedules a later deadline does not hold back the earlier ones", () =>
    Effect.gen(function*() {
      const { timers } = yield* setup
      const fired: Array<string> = []
      timers.schedule(100, () => {
        fired.push("a")
        timers.schedule(10_000, () => fired.push("late"))
      })
      timers.schedule(200, () => fired.push("b"))
      yield* TestClock.adjust(250)
      expect(fired).toEqual(["a", "b"])
      yield* TestClock.adjust(10_000)
      expect(fired).toEqual(["a", "b", "late"])
    }))

  it.effect("a cancel after the firing, or a second one, leaves the other deadlines pending", () =>
    Effect.gen(function*() {
      const { timers } = yield* setup
      const fired: Array<string> = []
      const cancelA = timers.schedule(100, () => fired.push("a"))
      const cancelB = timers.schedule(200, () => fired.push("b"))
      timers.schedule(300, () => fired.push("c"))
      yield* TestClock.adjust(100)
      cancelA()
      cancelB()
      cancelB()
      timers.idle()
      yield* TestClock.adjust(200)
      expect(fired).toEqual(["a", "c"])
    }))

  it.effect("once nothing is due, no sleeper waits for a deadline that was cancelled", () =>
    Effect.gen(function*() {
      const { sleepers, timers } = yield* setup
      const fired: Array<string> = []
      timers.schedule(100, () => fired.push("a"))
      timers.schedule(60_000, () => fired.push("never"))()
      yield* TestClock.adjust(100)
      expect(fired).toEqual(["a"])
      const running = yield* Effect.filter(sleepers, (fiber) => Effect.map(fiber.poll, Option.isNone))
      expect(running).toEqual([])
    }))
})
