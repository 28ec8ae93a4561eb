/**
 * The cross-node seam: agents on other nodes are reached through the node's
 * E2E service (`node.service('e2e')`, src/node/e2e); `E2EService` below is
 * the narrow part of its API the agent host uses. Local agent-to-agent messages never come here: they
 * stay on the runtime's `LocalBus`. A VM `SwarmMessage` travels as the JSON
 * payload of one E2E message; the sender is authenticated by the E2E layer,
 * so the `from` of a delivered message is the E2E sender, never the payload's.
 */
import type { Logger } from '../../common/index.ts'
import type { LocalBus, RemoteMessenger, SwarmMessage, Value } from '../../vm/index.ts'
import type { InboundMessage, LocalAgentEndpoint } from '../e2e/service.ts'
import type { NodeService } from '../node.ts'

export type { InboundMessage, LocalAgentEndpoint } from '../e2e/service.ts'

/** What the agent host needs from the E2E service (name `'e2e'`, src/node/e2e). */
export interface E2EService extends NodeService {
  registerAgent(ep: LocalAgentEndpoint): Promise<void>
  unregisterAgent(agentId: string): Promise<void>
  send(
    from: string,
    to: string,
    payload: Uint8Array,
    opts?: { signal?: AbortSignal },
  ): Promise<{ messageId: string; via: string }>
}

export function isE2EService(s: NodeService | undefined): s is E2EService {
  const x = s as Partial<E2EService> | undefined
  return (
    typeof x?.registerAgent === 'function' &&
    typeof x.unregisterAgent === 'function' &&
    typeof x.send === 'function'
  )
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const MAX_PAYLOAD_BYTES = 256 * 1024

/** `RemoteMessenger` over the E2E service. */
export class E2EMessenger implements RemoteMessenger {
  private readonly e2e: E2EService
  private readonly log: Logger

  constructor(e2e: E2EService, log: Logger) {
    this.e2e = e2e
    this.log = log
  }

  async deliver(to: string, msg: SwarmMessage): Promise<boolean> {
    try {
      await this.e2e.send(msg.from, to, enc.encode(JSON.stringify(msg)))
      return true
    } catch (err) {
      this.log.debug('remote delivery failed', { to, error: err })
      return false
    }
  }
}

/**
 * Turn an inbound E2E message into a VM message for `bus`; a payload that is
 * not a VM message is dropped (logged), never delivered half-parsed.
 */
export function deliverInbound(bus: LocalBus, msg: InboundMessage, log: Logger): boolean {
  if (msg.payload.length > MAX_PAYLOAD_BYTES) {
    log.warn('dropped oversized agent message', { from: msg.from, to: msg.to, bytes: msg.payload.length })
    return false
  }
  let m: Partial<SwarmMessage>
  try {
    m = JSON.parse(dec.decode(msg.payload)) as Partial<SwarmMessage>
  } catch {
    log.warn('dropped agent message that is not JSON', { from: msg.from, to: msg.to })
    return false
  }
  if (typeof m !== 'object' || m === null || typeof m.topic !== 'string') {
    log.warn('dropped agent message without a topic', { from: msg.from, to: msg.to })
    return false
  }
  const out: SwarmMessage = {
    id: msg.messageId,
    from: msg.from,
    channel: typeof m.channel === 'string' ? m.channel : '',
    topic: m.topic,
    data: (m.data ?? null) as Value,
    reward: typeof m.reward === 'number' && Number.isSafeInteger(m.reward) && m.reward >= 0 ? m.reward : 0,
    ...(typeof m.re === 'string' ? { re: m.re } : {}),
  }
  bus.deliverLocal(msg.to, out)
  return true
}
