/**
 * A market node for in-process e2e tests: a real SwarmNode on loopback with
 * the default services (e2e, agents, routing, reputation, market), its
 * repository initialised with `market.tickMs` 50 plus the given overrides.
 */
import { type Io, runCommand } from '../../src/cli/command.ts'
import { commands as marketCommands } from '../../src/cli/market.ts'
import type { AgentService } from '../../src/node/agents/index.ts'
import type { ConfigOverrides } from '../../src/node/config.ts'
import type { MarketService } from '../../src/node/market/index.ts'
import { SwarmNode } from '../../src/node/node.ts'
import type { ReputationService } from '../../src/node/reputation/index.ts'
import { initRepo, openRepo } from '../../src/node/repo.ts'
import { defaultServices } from '../../src/node/services.ts'
import { type Cleanup, LOOPBACK, waitFor } from './node_helpers.ts'

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

/**
 * An AVM provider that bonds `bond` (STAKE_LOCK) and bids `price` for one
 * unit of `capability`; it answers its tasks with `result` (an AVM
 * expression) only when `honest`. `bond`, `price` and `honest` are the
 * deployment's arguments.
 */
export const stakedProvider = (capability: string, result: string): string => `
.capability ${capability}
STAKE_LOCK bond -> bonded
:loop
  RECV_SWARM_MSG 600000 -> m
  JUMP_IF_FALSE m, loop
  IF m.topic == "cfp" THEN
    AUCTION_BID m.data.cfp_id, [{units: 1, price: price}] -> ok
  ENDIF
  IF m.topic == "task" THEN
    IF honest THEN
      TASK_RESULT m.data.escrow_id, ${result} -> sent
    ENDIF
  ENDIF
  JUMP loop
`

/** Run a `swarmd` market/ledger command in-process against repository `root`; its output and exit code. */
export async function marketCli(root: string, ...argv: string[]): Promise<{ code: number; out: string }> {
  let out = ''
  const io: Io = { out: (t) => void (out += t), err: (t) => void (out += t), isTty: false }
  const code = await runCommand(
    { name: 'swarmd', summary: '', subcommands: marketCommands },
    [...argv, '--repo', root],
    io,
  )
  return { code, out }
}

/**
 * Connect requester `a` to each provider node (and, with `mesh`, the
 * providers to each other), then wait until `a` sees them all on the
 * capability's CFP topic.
 */
export async function connectMarket(
  a: MarketNode,
  providers: MarketNode[],
  capability: string,
  mesh = true,
): Promise<void> {
  for (const n of providers) await a.node.connect(n.node.addresses()[0]!)
  if (mesh)
    for (const [i, x] of providers.entries())
      for (const y of providers.slice(i + 1)) await x.node.connect(y.node.addresses()[0]!)
  await waitFor(
    () => a.node.pubsub.getSubscribers(`swarmd/cfp/${capability}/1`).length >= providers.length,
    60_000,
  )
}
