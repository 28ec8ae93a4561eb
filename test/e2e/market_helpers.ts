/**
 * A market node for in-process e2e tests: a real SwarmNode on loopback with
 * the default services (e2e, agents, routing, reputation, market), its
 * repository initialised with `market.tickMs` 50 plus the given overrides.
 */
import type { AgentService } from '../../src/node/agents/index.ts'
import type { ConfigOverrides } from '../../src/node/config.ts'
import type { MarketService } from '../../src/node/market/index.ts'
import { SwarmNode } from '../../src/node/node.ts'
import type { ReputationService } from '../../src/node/reputation/index.ts'
import { initRepo, openRepo } from '../../src/node/repo.ts'
import { defaultServices } from '../../src/node/services.ts'
import { type Cleanup, LOOPBACK } from './node_helpers.ts'

export interface MarketNode {
  node: SwarmNode
  agents: AgentService
  market: MarketService
  rep: ReputationService
  /** The node-owned agent (default requester). */
  agent: string
  root: string
}

export async function startMarketNode(
  cleanup: Cleanup,
  root: string,
  overrides: ConfigOverrides = {},
  opts: { daemonInfo?: boolean } = {},
): Promise<MarketNode> {
  await initRepo(root, { overrides: { ...LOOPBACK, 'market.tickMs': 50, ...overrides } })
  const node = new SwarmNode({
    repo: openRepo(root),
    processMetrics: false,
    writeDaemonInfo: opts.daemonInfo ?? false,
    services: defaultServices(),
  })
  await node.start()
  cleanup.push(() => node.stop())
  const market = node.service<MarketService>('market')!
  return {
    node,
    agents: node.service<AgentService>('agents')!,
    market,
    rep: node.service<ReputationService>('reputation')!,
    agent: market.nodeAgent!,
    root,
  }
}
