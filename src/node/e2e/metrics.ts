/**
 * Metrics of the E2E service, in the node's registry (served on `/metrics`):
 *
 * - `swarmd_e2e_messages_total{direction="in"|"out", via}`: messages delivered to / sent by local agents
 * - `swarmd_e2e_send_seconds{via}`: `send()` latency until the recipient's node acknowledged (or a mailbox took it)
 * - `swarmd_e2e_rejected_total{reason}`: inbound input rejected, by error code
 * - `swarmd_e2e_relayed_total{result}`: envelopes this node relayed, by the target's answer
 */
import type { Counter, Histogram } from 'prom-client'
import type { NodeMetrics } from '../metrics.ts'

export interface E2EMetrics {
  messages: Counter<'direction' | 'via'>
  sendSeconds: Histogram<'via'>
  rejected: Counter<'reason'>
  relayed: Counter<'result'>
}

const byNode = new WeakMap<NodeMetrics, E2EMetrics>()

/** The E2E metrics of a node (registered once per registry, so a restarted service re-uses them). */
export function e2eMetrics(m: NodeMetrics): E2EMetrics {
  let e = byNode.get(m)
  if (!e) {
    e = {
      messages: m.counter('swarmd_e2e_messages_total', 'E2E messages delivered to or sent by local agents', [
        'direction',
        'via',
      ]),
      sendSeconds: m.histogram('swarmd_e2e_send_seconds', 'E2E send latency until acknowledged', ['via']),
      rejected: m.counter('swarmd_e2e_rejected_total', 'Inbound E2E input rejected, by reason', ['reason']),
      relayed: m.counter('swarmd_e2e_relayed_total', 'Envelopes relayed by this node, by result', ['result']),
    }
    byNode.set(m, e)
  }
  return e
}
