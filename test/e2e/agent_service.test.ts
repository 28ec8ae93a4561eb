/**
 * `AgentService` in an in-process node: deploy validation, names and id
 * prefixes, approvals held until approved, operator stop kept across a
 * restart, DHT capabilities withdrawn when an agent ends, and the E2E seam
 * (agents registered as endpoints of the node's `e2e` service, remote sends
 * going through it). The E2E service here is a recording test double of the
 * interface in src/node/agents/remote.ts: the real one lives on another branch.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { E2EService, LocalAgentEndpoint } from '../../src/node/agents/index.ts'
import { AgentService } from '../../src/node/agents/index.ts'
import { SwarmNode } from '../../src/node/node.ts'
import { initRepo, openRepo } from '../../src/node/repo.ts'
import { Cleanup, LOOPBACK, tempDir, waitFor } from './node_helpers.ts'

class RecordingE2E implements E2EService {
  readonly name = 'e2e'
  readonly endpoints = new Map<string, LocalAgentEndpoint>()
  readonly sent: { from: string; to: string; payload: string }[] = []
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async registerAgent(ep: LocalAgentEndpoint): Promise<void> {
    this.endpoints.set(ep.agentId, ep)
  }
  async unregisterAgent(id: string): Promise<void> {
    this.endpoints.delete(id)
  }
  async send(from: string, to: string, payload: Uint8Array): Promise<{ messageId: string; via: string }> {
    this.sent.push({ from, to, payload: new TextDecoder().decode(payload) })
    return { messageId: `m${this.sent.length}`, via: 'direct' }
  }
}

describe('AgentService in a node', () => {
  const cleanup = new Cleanup()
  afterAll(() => cleanup.run())

  it('validates deploys, holds approvals, keeps operator stops, wires agents to E2E', async () => {
    const dir = tempDir(cleanup, 'swarmd-agentsvc-')
    const root = join(dir, 'n')
    await initRepo(root, { overrides: LOOPBACK })
    const boot = async () => {
      const e2e = new RecordingE2E()
      const agents = new AgentService()
      const node = new SwarmNode({
        repo: openRepo(root),
        processMetrics: false,
        writeDaemonInfo: false,
        services: [e2e, agents],
      })
      await node.start()
      cleanup.push(() => node.stop())
      return { node, agents, e2e }
    }
    let { node, agents, e2e } = await boot()

    // verifier errors carry file:line:col; bad names and balances are refused
    await expect(agents.deploy({ source: 'FROB 1', file: 'x.avm' })).rejects.toMatchObject({
      code: 'VERIFY_FAILED',
      message: expect.stringMatching(/^x\.avm:1:1 /),
    })
    await expect(agents.deploy({ source: 'HALT 1', name: 'bad name' })).rejects.toThrow(/agent name/)
    await expect(agents.deploy({ source: 'HALT 1', balance: 10_000_000 })).rejects.toThrow(/maxDeployBalance/)

    // a payment held for approval
    const payee = await agents.deploy({
      source:
        '.capability echo\n:l\nRECV_SWARM_MSG 600000 -> m\nJUMP_IF_FALSE m, l\nSEND_SWARM_MSG m.from, "pong" -> s\nJUMP l',
      name: 'echo',
    })
    const payer = await agents.deploy({
      source: `PAY_AGENT "${payee.id}", 7 -> ok\nHALT ok`,
      name: 'payer',
      balance: 20,
      approvalRequired: ['pay'],
    })
    await waitFor(() => agents.runtime.inspect(payer.id)?.status === 'held')
    const insp = (await agents.inspect('payer')) as { pendingApprovals: { actionId: string }[] }
    const actionId = insp.pendingApprovals[0]?.actionId as string
    expect(actionId).toBeTruthy()
    await expect(agents.approve('payer', 'nope')).rejects.toThrow(/holds action/)
    await agents.approve(payer.id.slice(0, 10), actionId)
    await waitFor(() => agents.runtime.inspect(payer.id)?.status === 'done')
    expect(await agents.ledger.balance(payee.id)).toBe(7)
    expect((await agents.trace('payer')).verified).toBe(true)

    // live agents are E2E endpoints; the payer (done) is not; capabilities follow
    await waitFor(() => e2e.endpoints.has(payee.id))
    await waitFor(() => !e2e.endpoints.has(payer.id)) // ended agents are unregistered by the next sync
    expect(e2e.endpoints.get(payee.id)?.keys.agentId).toBe(payee.id)
    expect(node.discovery.list()).toContain('echo')

    // an inbound E2E message reaches the agent; its answer to a remote agent goes out through E2E
    const remote = 'ab'.repeat(32)
    await e2e.endpoints.get(payee.id)?.onMessage({
      from: remote,
      to: payee.id,
      messageId: 'x1',
      payload: new TextEncoder().encode(JSON.stringify({ topic: 'ping', data: 1 })),
      receivedAt: 0,
      via: 'direct',
    })
    await waitFor(() => e2e.sent.length === 1)
    expect(e2e.sent[0]).toMatchObject({ from: payee.id, to: remote })
    expect(JSON.parse(e2e.sent[0]?.payload ?? '{}')).toMatchObject({ data: 'pong' })

    // FORK_AGENT (held for approval by default): the child is a full agent with its own trace
    const parent = await agents.deploy({
      source:
        'FORK_AGENT "CHILD", "jobs" -> kid\nHALT kid\n.region CHILD locked\nKV_STORE "hello", "child"\nHALT 42\n.end',
      name: 'parent',
    })
    await waitFor(() => agents.runtime.inspect(parent.id)?.status === 'held')
    const held = agents.runtime.inspect(parent.id)?.held?.actionId as string
    await agents.approve('parent', held)
    await waitFor(() => agents.runtime.inspect(parent.id)?.status === 'done')
    const kid = agents.runtime.inspect(parent.id)?.result?.output as string
    await waitFor(() => agents.runtime.inspect(kid)?.status === 'done')
    expect(agents.runtime.inspect(kid)?.result?.output).toBe(42)
    expect((await agents.trace(kid)).verified).toBe(true)
    expect((await agents.trace('parent')).verified).toBe(true)

    // operator stop: withdrawn, unregistered, and still stopped after a restart
    await agents.stopAgent('echo')
    await waitFor(() => !e2e.endpoints.has(payee.id))
    expect(node.discovery.list()).not.toContain('echo')
    await node.stop()
    ;({ node, agents, e2e } = await boot())
    expect(agents.runtime.inspect(payee.id)?.status).toBe('stopped')
    expect(await agents.ledger.balance(payee.id)).toBe(7)
    await agents.resumeAgent('echo')
    await waitFor(() => e2e.endpoints.has(payee.id))
    expect(node.discovery.list()).toContain('echo')
    await node.stop()
  })
})
