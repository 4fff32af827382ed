/**
 * Spans opened and ended from synchronous bookkeeping (the scheduler's and
 * the health monitor's fiber observers), where `Effect.withSpan` cannot wrap
 * the work: a package start spans several attempt fibers and retry waits.
 * The tracer, parent and context are read once, from the fiber that starts
 * the work. No span is made with tracing disabled
 * (`Effect.withTracerEnabled(false)`), nor with Effect's built-in tracer,
 * whose spans nobody reads: without a tracer installed (`SpineTelemetry`,
 * `Layer.setTracer`) the spine pays nothing for tracing.
 */
import type { Clock, Exit } from "effect"
import { Context, DefaultServices, Effect, FiberRef, Option, Tracer } from "effect"

const builtIn = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** Where new spans come from. */
export interface Tracing {
  readonly tracer: Tracer.Tracer
  readonly parent: Option.Option<Tracer.AnySpan>
  /** No parent at all, not even the one an OpenTelemetry context manager would supply. */
  readonly root: boolean
  readonly context: Context.Context<never>
  readonly clock: Clock.Clock
}

/** The current fiber's tracer, parent span and context; `undefined` when tracing is off. */
export const current = (options: { readonly root?: boolean } = {}): Effect.Effect<Tracing | undefined> =>
  Effect.gen(function*() {
    if (!(yield* FiberRef.get(FiberRef.currentTracerEnabled))) return undefined
    const tracer = yield* Effect.tracer
    if (tracer === builtIn) return undefined
    return {
      tracer,
      parent: options.root === true ? Option.none() : yield* Effect.option(Effect.currentParentSpan),
      root: options.root === true,
      context: yield* Effect.context<never>(),
      clock: yield* Effect.clock
    }
  })

/** Opens a span now, as a child of the tracing's parent. */
export const start = (
  tracing: Tracing | undefined,
  name: string,
  attributes: Readonly<Record<string, unknown>>
): Tracer.Span | undefined => {
  if (tracing === undefined) return undefined
  const span = tracing.tracer.span(
    name,
    tracing.parent,
    tracing.context,
    [],
    tracing.clock.unsafeCurrentTimeNanos(),
    "internal",
    { root: tracing.root }
  )
  for (const key in attributes) span.attribute(key, attributes[key])
  return span
}

/** Ends a span now with the given outcome; a failure gives it an error status. */
export const end = (
  tracing: Tracing | undefined,
  span: Tracer.Span | undefined,
  exit: Exit.Exit<unknown, unknown>,
  attributes: Readonly<Record<string, unknown>>
): void => {
  if (tracing === undefined || span === undefined || span.status._tag === "Ended") return
  for (const key in attributes) span.attribute(key, attributes[key])
  span.end(tracing.clock.unsafeCurrentTimeNanos(), exit)
}

/** Runs an effect with the span as its parent, so the spans it makes nest under it. */
export const within = <A, E, R>(
  span: Tracer.Span | undefined,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => span === undefined ? effect : Effect.withParentSpan(effect, span)
