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
