/**
 * The services the daemon runs, in start order. Each subsystem integration
 * adds one line here; a service can find the ones started before it with
 * `node.service(name)`.
 */
import { E2EService } from './e2e/service.ts'
import { MarketService } from './market/index.ts'
import type { NodeService } from './node.ts'
import { ReputationService } from './reputation/index.ts'
import { RoutingService } from './routing/index.ts'

export function defaultServices(): NodeService[] {
  return [new E2EService(), new RoutingService(), new ReputationService(), new MarketService()]
}
