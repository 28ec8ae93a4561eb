/**
 * Agents on two nodes talk through the real E2E service: a request from an
 * agent on node A reaches an agent on node B (sealed end to end), B's reply
 * comes back to A's agent, which collects it with WAIT_FOR_RESPONSE.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AgentService } from '../../src/node/agents/index.ts'
import { E2EService } from '../../src/node/e2e/index.ts'
import { SwarmNode } from '../../src/node/node.ts'
import { initRepo, openRepo } from '../../src/node/repo.ts'
import { Cleanup, LOOPBACK, tempDir, waitFor } from './node_helpers.ts'

async function start(cleanup: Cleanup, root: string, bootstrap: string[] = []) {
  await initRepo(root, { overrides: { ...LOOPBACK, 'e2e.deliveryTimeoutMs': 15_000, bootstrap } })
  const agents = new AgentService()
  const node = new SwarmNode({
    repo: openRepo(root),
    processMetrics: false,
    writeDaemonInfo: false,
    services: [new E2EService(), agents],
  })
  await node.start()
  cleanup.push(() => node.stop())
  return { node, agents }
}

describe('agents across two nodes', () => {
  const cleanup = new Cleanup()
  afterAll(() => cleanup.run())

  it('an agent on A asks an agent on B and gets its answer', async () => {
    const dir = tempDir(cleanup, 'swarmd-agremote-')
    const a = await start(cleanup, join(dir, 'a'))
    const b = await start(cleanup, join(dir, 'b'), [a.node.addresses()[0] as string])
    const echo = await b.agents.deploy({
      name: 'echo',
      source:
        '.capability echo\n:l\nRECV_SWARM_MSG 600000 -> m\nJUMP_IF_FALSE m, l\nUPPER m.data -> up\nREPLY_SWARM_MSG m, up -> s\nJUMP l',
    })
    // A can read the card of B's agent from the DHT
    await waitFor(
      async () => (await a.node.discovery.getCard(echo.id, { timeoutMs: 2000 })) !== undefined,
      60_000,
      200,
    )
    const asker = await a.agents.deploy({
      name: 'asker',
      source:
        'SEND_SWARM_MSG peer, {topic: "ping", data: "hello"} -> sent\nWAIT_FOR_RESPONSE "ping", 60000 -> r\nHALT r',
      inputs: { peer: echo.id },
    })
    await waitFor(() => a.agents.runtime.inspect(asker.id)?.status === 'done', 90_000)
    expect(a.agents.runtime.inspect(asker.id)?.result?.output).toEqual(['HELLO'])
    expect(b.agents.runtime.inspect(echo.id)?.status).toBe('running')
  }, 180_000)
})
