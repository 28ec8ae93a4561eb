/**
 * The agent host: AVM agents run inside the daemon (`AgentService`, name
 * `'agents'`), with identities, ledger payments, DHT capabilities, crash
 * recovery, traces, and control routes under `/v1/agents` and `/v1/ledger`.
 * `AgentClient` is the CLI's typed client of those routes.
 *
 * @example
 * ```ts
 * import { AgentService } from '../node/agents/index.ts'
 * const node = new SwarmNode({ repo, services: [new AgentService()] })
 * await node.start()
 * const agents = node.service<AgentService>('agents')!
 * const a = await agents.deploy({ source: 'HALT 1', name: 'one', balance: 10 })
 * ```
 */
export { AgentClient } from './client.ts'
export type { E2EService, InboundMessage, LocalAgentEndpoint } from './remote.ts'
export { deliverInbound, E2EMessenger, isE2EService } from './remote.ts'
export type { AgentServiceInit, AgentSummary, DeployRequest } from './service.ts'
export { AgentService } from './service.ts'
export type { AgentTrace } from './trace.ts'
export { VmStore } from './vm-store.ts'
