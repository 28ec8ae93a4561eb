/**
 * The services the daemon runs, in start order. Each subsystem integration
 * adds one line here; a service can find the ones started before it with
 * `node.service(name)`.
 */
import { AgentService } from './agents/index.ts'
import { E2EService } from './e2e/service.ts'
import { MarketService } from './market/index.ts'
import type { NodeService } from './node.ts'
import { ReputationService } from './reputation/index.ts'
import { RoutingService } from './routing/index.ts'

export function defaultServices(): NodeService[] {
  // agents after 'e2e': each agent is registered as an E2E endpoint; the market last (it uses them all)
  return [
    new E2EService(),
    new AgentService(),
    new RoutingService(),
    new ReputationService(),
    new MarketService(),
  ]
}
