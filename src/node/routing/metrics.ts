/** Prometheus metrics of CFP routing, registered once per node registry. */
import type { Counter, Histogram } from 'prom-client'
import type { NodeMetrics } from '../metrics.ts'

export interface RouteMetrics {
  forwarded: Counter
  delivered: Counter<'mode'>
  dropped: Counter<'reason'>
  dhtFallback: Counter
  /** Origin-side time from creating a CFP to its delivery acknowledgement. */
  latency: Histogram<'mode'>
}

const byRegistry = new WeakMap<object, RouteMetrics>()

export function routeMetrics(m: NodeMetrics): RouteMetrics {
  const known = byRegistry.get(m.registry)
  if (known) return known
  const r: RouteMetrics = {
    forwarded: m.counter('swarmd_route_forwarded_total', 'CFPs forwarded to a next hop that accepted them'),
    delivered: m.counter(
      'swarmd_route_delivered_total',
      'CFPs delivered at this node (it provides the capability)',
      ['mode'],
    ),
    dropped: m.counter('swarmd_route_dropped_total', 'Inbound route messages dropped as invalid', ['reason']),
    dhtFallback: m.counter(
      'swarmd_route_dht_fallback_total',
      'DHT provider lookups done because of low confidence or no route',
    ),
    latency: m.histogram(
      'swarmd_route_delivery_seconds',
      'Time from originating a CFP to its delivery acknowledgement',
      ['mode'],
      [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
  }
  byRegistry.set(m.registry, r)
  return r
}
