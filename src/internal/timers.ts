/**
 * One timer for many deadlines: a min-heap of callbacks and a single fiber
 * sleeping until the earliest. Each package's init and stop timeouts register
 * here instead of racing a timer fiber of their own. Sleeping through Effect's
 * `Clock` keeps `TestClock` in charge. The sleeper survives a moment with
 * nothing due, since a boot or a release cancels one deadline and registers
 * the next many times in a row (re-forking it each time cost ~15% of a boot);
 * `idle` stops it at the end of such a burst, so that no fiber sleeps while
 * nothing is due and a finished timeout never keeps the process alive.
 */
import type { Clock, Fiber } from "effect"
import { Effect, Exit, FiberId } from "effect"

interface Timer {
  readonly at: number
  callback: (() => void) | undefined
}

export interface Timers {
  /** Calls `callback` after `delayMs`; the returned function cancels it. */
  readonly schedule: (delayMs: number, callback: () => void) => () => void
  /** Stops the sleeping fiber if nothing is due: call it when a burst of work is over. */
  readonly idle: () => void
}

export const make = (
  clock: Clock.Clock,
  fork: (effect: Effect.Effect<void>) => Fiber.RuntimeFiber<void>
): Timers => {
  const heap: Array<Timer> = []
  let live = 0
  let sleeper: Fiber.RuntimeFiber<void> | undefined
  let sleeperAt = Infinity

  const push = (timer: Timer) => {
    heap.push(timer)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent].at <= heap[i].at) break
      ;[heap[parent], heap[i]] = [heap[i], heap[parent]]
      i = parent
    }
  }

  const pop = (): Timer => {
    const top = heap[0]
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        if (left < heap.length && heap[left].at < heap[smallest].at) smallest = left
        if (right < heap.length && heap[right].at < heap[smallest].at) smallest = right
        if (smallest === i) break
        ;[heap[smallest], heap[i]] = [heap[i], heap[smallest]]
        i = smallest
      }
    }
    return top
  }

  const stop = () => {
    sleeper?.unsafeInterruptAsFork(FiberId.none)
    sleeper = undefined
    sleeperAt = Infinity
  }

  const sleepUntil = (at: number) => {
    stop()
    sleeperAt = at
    const fiber = fork(Effect.sleep(Math.max(0, at - clock.unsafeCurrentTimeMillis())))
    sleeper = fiber
    fiber.addObserver((exit) => {
      if (sleeper === fiber && Exit.isSuccess(exit)) fire()
    })
  }

  const fire = () => {
    sleeper = undefined
    sleeperAt = Infinity
    const now = clock.unsafeCurrentTimeMillis()
    while (heap.length > 0 && heap[0].at <= now) {
      const timer = pop()
      const callback = timer.callback
      if (callback !== undefined) {
        timer.callback = undefined
        live--
        callback()
      }
    }
    if (live === 0) heap.length = 0
    // a callback may have scheduled a later deadline, and aimed the sleeper at it: re-aim at the earliest
    else if (heap.length > 0 && heap[0].at < sleeperAt) sleepUntil(heap[0].at)
  }

  return {
    schedule: (delayMs, callback) => {
      const timer: Timer = { at: clock.unsafeCurrentTimeMillis() + delayMs, callback }
      push(timer)
      live++
      if (timer.at < sleeperAt) sleepUntil(timer.at)
      return () => {
        if (timer.callback === undefined) return
        timer.callback = undefined
        if (--live === 0) heap.length = 0
      }
    },
    idle: () => {
      if (live === 0) stop()
    }
  }
}
