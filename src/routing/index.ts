/**
 * Routing: the Q-routing family of routers (CQ by default; Q, full echo,
 * DRQ/CDRQ, PQ) and baselines (flooding, DHT lookup, random walk, the
 * shortest-path oracle) behind one `Router` interface, plus a discrete-event
 * simulator that drives the same router classes over virtual networks.
 * Pure logic: clock, randomness and storage are injected.
 *
 * @example
 * ```ts
 * import { createRouter, saveRouter } from '../routing/index.ts'
 * import { systemClock, cryptoRandom } from '../common/index.ts'
 * const router = createRouter('cq', {
 *   clock: systemClock, random: cryptoRandom, decay: 0.95, confidenceThreshold: 0.5,
 *   isLocal: (cap) => localCaps.has(cap as string), neighbours: ['peerA', 'peerB'],
 * })
 * const choice = router.choose('image-ocr', { exclude: (p) => path.includes(p) })
 * // choice.reason === 'low-confidence' → DHT provider lookup, then router.seed(cap, provider, rtt, 1)
 * // when the next hop answers with its estimate: router.feedback(cap, choice.next!, q, s, t, c)
 * await saveRouter(kv, router)
 * ```
 */

export { loadRouter, ROUTER_KEY, saveRouter } from './persist.ts'
export { createRouter, isRouterKind, ROUTER_KINDS, type RouterKind, tableFields } from './registry.ts'
export { CqRouter, type CqRouterInit } from './routers/cq.ts'
export { PqRouter, type PqRouterInit } from './routers/pq.ts'
export { QRouter, type QRouterInit } from './routers/q.ts'
export {
  type DhtLookupModel,
  DhtRouter,
  FloodRouter,
  kademliaLookup,
  RandomWalkRouter,
  ShortestPathRouter,
} from './routers/stateless.ts'
export { TableRouter, type TableRouterInit } from './routers/table-router.ts'
export { runWorkload, type WorkloadOptions } from './sim/capability.ts'
export { type ClassicOptions, type ClassicRun, runClassic } from './sim/classic.ts'
export * from './sim/experiments.ts'
export * from './sim/graph.ts'
export { EventHeap } from './sim/heap.ts'
export type { CurvePoint, WorkloadResult } from './sim/metrics.ts'
export { type ChartSpec, lineChart, type Series, stackCharts } from './sim/svg.ts'
export { RouterTable, type TableInit } from './table.ts'
export * from './types.ts'
