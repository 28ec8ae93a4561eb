/**
 * The services the daemon runs, in start order. Each subsystem integration
 * adds one line here; a service can find the ones started before it with
 * `node.service(name)`.
 */
import { AgentService } from './agents/index.ts'
import type { NodeService } from './node.ts'

export function defaultServices(): NodeService[] {
  // after 'e2e' (when present): agents register as E2E endpoints
  return [new AgentService()]
}
