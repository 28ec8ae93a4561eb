/**
 * Shared primitives used by every subsystem: typed errors, the injected clock
 * and randomness, namespaced logging and the key-value storage seam.
 *
 * @example
 * ```ts
 * import { ManualClock, seededRandom, MemoryKv } from '../common/index.ts'
 * const clock = new ManualClock(0)
 * const rng = seededRandom(42)
 * ```
 */
export * from './clock.ts'
export * from './errors.ts'
export * from './kv.ts'
export * from './logger.ts'
export * from './random.ts'
export * from './signing.ts'
