/**
 * End-to-end agent messaging in the daemon (the network half of src/e2e):
 * `E2EService` (a `NodeService` named `'e2e'`), its wire protocol
 * `/swarmd/e2e/1.0.0` and control routes. See docs/e2e.md, "Delivery in the daemon".
 *
 * @example
 * ```ts
 * const e2e = node.service<E2EService>('e2e')!
 * const keys = await e2e.loadOrCreateKeys()
 * await e2e.registerAgent({ agentId: keys.agentId, keys, onMessage: (m) => console.log(m.from, m.payload) })
 * await e2e.send(keys.agentId, recipientAgentId, new TextEncoder().encode('hi'))
 * ```
 */
export { ACK, E2E_PROTOCOL, MSG } from './codec.ts'
export { DRAIN_DOMAIN } from './inbound.ts'
export type { E2EServiceInit, InboundMessage, LocalAgentEndpoint, SendResult } from './service.ts'
export { E2EService } from './service.ts'
