/**
 * CFP routing in the daemon: the `/swarmd/route/1.0.0` protocol over the
 * node's wire, driven by a router from src/routing (CQ by default), with DHT
 * fallback, per-CFP decision traces, a gossipsub flooding baseline and the
 * control routes behind `swarmd route table|explain|probe`.
 *
 * @example
 * ```ts
 * import { RoutingService, ROUTING_SERVICE } from './routing/index.ts'
 * const node = new SwarmNode({ repo, services: [new RoutingService()] })
 * await node.start()
 * const routing = node.service<RoutingService>(ROUTING_SERVICE)!
 * routing.onDeliver((cfp) => market.handleCfp(cfp))          // CFPs for capabilities we provide
 * const out = await routing.engine.send('image-ocr', signedCfpBytes) // → { delivered, latencyMs, hops, ... }
 * ```
 */
export type {
  DeliveredCfp,
  RouteEngineComponents,
  RouteEngineInit,
  RouteOutcome,
  RouteTransport,
} from './engine.ts'
export { RouteEngine } from './engine.ts'
export type { Candidate, Hop, RouteAck, RouteCfp, RouteEstimate, RouteQuery } from './messages.ts'
export {
  decodeAck,
  decodeCfp,
  decodeEstimate,
  decodeQuery,
  encodeAck,
  encodeCfp,
  encodeEstimate,
  encodeQuery,
  ORIGIN_DOMAIN,
  ROUTE_PROTOCOL,
  ROUTE_TYPES,
  signOrigin,
  verifyOrigin,
} from './messages.ts'
export type { RouteMetrics } from './metrics.ts'
export type { ProbeResult } from './probe.ts'
export type { RoutingServiceInit, TableRow } from './service.ts'
export { FAILURE_Q_MS, floodTopic, INITIAL_Q_MS, ROUTING_SERVICE, RoutingService } from './service.ts'
export type { CfpTrace, Decision } from './trace.ts'
export { TraceStore } from './trace.ts'
export type { CfpCheck, DropReason, Invalid } from './validate.ts'
export { checkCfp, DROP_PENALTY, DROP_REASONS, MAX_TTL } from './validate.ts'
