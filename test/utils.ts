import type { Exit } from "effect"
import { Chunk, Clock, Effect, Fiber, Option, TestClock } from "effect"

/**
 * Runs an effect in a fiber and moves the `TestClock` from one pending sleep
 * to the next until the fiber is done, so that sleeps, timeouts and stop
 * timeouts all fire without real waiting. With `interruptAt`, the fiber is
 * interrupted once the clock reaches that many milliseconds.
 */
export const runWithClock = <A, E>(
  effect: Effect.Effect<A, E>,
  options: { readonly interruptAt?: number | undefined; readonly maxSteps?: number } = {}
): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const fiber = yield* Effect.fork(effect)
    let interrupted = options.interruptAt === undefined
    for (let step = 0; step < (options.maxSteps ?? 100_000); step++) {
      yield* TestClock.adjust(0)
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return done.value
      const now = yield* Clock.currentTimeMillis
      if (!interrupted && now - start >= options.interruptAt!) {
        interrupted = true
        yield* Fiber.interruptFork(fiber)
        continue
      }
      const next = Chunk.head(yield* TestClock.sleeps())
      const target = Math.min(
        Option.getOrElse(next, () => now + 1),
        interrupted ? Infinity : start + options.interruptAt!
      )
      yield* TestClock.adjust(Math.max(1, target - now))
    }
    return yield* Effect.dieMessage("fiber still running after the step limit")
  })
