/**
 * The node's own Prometheus metrics, in the same registry as libp2p's.
 * Names follow `swarmd_<subsystem>_<thing>_{total,seconds}`. Later
 * subsystems add theirs with `metrics.counter(...)` / `metrics.histogram(...)`
 * on `node.metrics` (same registry, served on `/metrics`).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface NodeMetrics {
  readonly registry: Registry
  wireMessagesTotal: Counter<'protocol' | 'direction'>
  wireRejectedTotal: Counter<'protocol' | 'reason'>
  wireRequestSeconds: Histogram<'protocol'>
  peerPenaltiesTotal: Counter<'reason'>
  peerBansTotal: Counter
  discoveryProvideTotal: Counter
  discoveryFindSeconds: Histogram
  discoveryCardOpsTotal: Counter<'op' | 'result'>
  controlRequestsTotal: Counter<'route' | 'status'>
  nodeUptimeSeconds: Gauge
  /** Register a counter in the node's registry (for later subsystems). */
  counter<L extends string = string>(name: string, help: string, labelNames?: L[]): Counter<L>
  /** Register a histogram in the node's registry (buckets in seconds). */
  histogram<L extends string = string>(
    name: string,
    help: string,
    labelNames?: L[],
    buckets?: number[],
  ): Histogram<L>
  gauge<L extends string = string>(name: string, help: string, labelNames?: L[]): Gauge<L>
  /** Prometheus text exposition of every metric. */
  text(): Promise<string>
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]

export function createNodeMetrics(registry: Registry = new Registry()): NodeMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] })
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: L[] = [],
    buckets = LATENCY_BUCKETS,
  ) => new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] })
  const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] })
  const started = process.hrtime.bigint()
  const uptime = gauge('swarmd_node_uptime_seconds', 'Seconds since the node started')
  return {
    registry,
    wireMessagesTotal: counter('swarmd_wire_messages_total', 'Wire envelopes sent and received', [
      'protocol',
      'direction',
    ]),
    wireRejectedTotal: counter('swarmd_wire_rejected_total', 'Inbound wire messages rejected', [
      'protocol',
      'reason',
    ]),
    wireRequestSeconds: histogram('swarmd_wire_request_seconds', 'Outbound request/response latency', [
      'protocol',
    ]),
    peerPenaltiesTotal: counter('swarmd_peer_penalties_total', 'Peer score penalties', ['reason']),
    peerBansTotal: counter('swarmd_peer_bans_total', 'Peers disconnected and refused for a low score'),
    discoveryProvideTotal: counter('swarmd_discovery_provide_total', 'Capability provide operations'),
    discoveryFindSeconds: histogram('swarmd_discovery_find_seconds', 'Capability lookup latency'),
    discoveryCardOpsTotal: counter('swarmd_discovery_card_ops_total', 'Agent card DHT operations', [
      'op',
      'result',
    ]),
    controlRequestsTotal: counter('swarmd_control_requests_total', 'Control API requests', [
      'route',
      'status',
    ]),
    nodeUptimeSeconds: uptime,
    counter,
    histogram,
    gauge,
    async text() {
      uptime.set(Number(process.hrtime.bigint() - started) / 1e9)
      return registry.metrics()
    },
  }
}
