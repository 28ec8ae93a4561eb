/** Helpers for the E2E delivery suites: in-process nodes running the E2E service. */
import { join } from 'node:path'
import type { ConfigOverrides } from '../../src/node/config.ts'
import { E2EService, type E2EServiceInit } from '../../src/node/e2e/index.ts'
import { SwarmNode } from '../../src/node/node.ts'
import { initRepo, openRepo, repoExists } from '../../src/node/repo.ts'
import { type Cleanup, LOOPBACK, waitFor } from './node_helpers.ts'

export interface MsgNode {
  node: SwarmNode
  e2e: E2EService
  root: string
  /** The node-owned agent id. */
  agent: string
}

/** Start (or restart, when the repository exists) a node with an E2E service. */
export async function startMsgNode(
  cleanup: Cleanup,
  dir: string,
  name: string,
  overrides: ConfigOverrides = {},
  init: E2EServiceInit = {},
): Promise<MsgNode> {
  const root = join(dir, name)
  // A generous delivery timeout: the machine running the tests may be heavily loaded, and a delivery
  // that times out takes another path (relay, mailbox), which the tests would report as a failure.
  const base = { ...LOOPBACK, 'e2e.deliveryTimeoutMs': 15_000 }
  if (!repoExists(root)) await initRepo(root, { overrides: { ...base, ...overrides } })
  const e2e = new E2EService(init)
  const node = new SwarmNode({
    repo: openRepo(root),
    processMetrics: false,
    writeDaemonInfo: false,
    services: [e2e],
  })
  await node.start()
  cleanup.push(() => node.stop())
  return { node, e2e, root, agent: e2e.nodeAgent! }
}

/** Wait until `from` can read `agentId`'s card from the DHT. */
export async function waitForCard(from: MsgNode, agentId: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => (await from.node.discovery.getCard(agentId, { timeoutMs: 2000 })) !== undefined,
    timeoutMs,
    200,
  )
}

export const text = (b: Uint8Array): string => new TextDecoder().decode(b)
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
