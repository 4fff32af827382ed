/**
 * The Promise facade: `new AuthSpine({ packages })` for code without Effect.
 *
 * @since 0.1.0
 */
export { AuthSpine, AuthSpineError } from "./promise/AuthSpine.js"
/**
 * The facade's errors and types.
 *
 * @since 0.1.0
 */
export * as Facade from "./promise/AuthSpine.js"
/**
 * @since 0.1.0
 */
export * as Health from "./Health.js"
/**
 * @since 0.1.0
 */
export * as Lifecycle from "./Lifecycle.js"
/**
 * @since 0.1.0
 */
export * as Metrics from "./Metrics.js"
/**
 * @since 0.1.0
 */
export * as Package from "./Package.js"
/**
 * @since 0.1.0
 */
export * as Plugin from "./Plugin.js"
/**
 * @since 0.1.0
 */
export * as Registry from "./Registry.js"
/**
 * @since 0.1.0
 */
export * as Report from "./Report.js"
/**
 * @since 0.1.0
 */
export * as Spine from "./Spine.js"
/**
 * @since 0.1.0
 */
export * as SpineConfig from "./SpineConfig.js"
/**
 * @since 0.1.0
 */
export * as SpineError from "./SpineError.js"
/**
 * @since 0.1.0
 */
export * as SpineHttp from "./http/SpineHttp.js"
/**
 * @since 0.1.0
 */
export * as SpineTelemetry from "./telemetry/SpineTelemetry.js"
/**
 * @since 0.1.0
 */
export * as SpineTest from "./testing/SpineTest.js"
