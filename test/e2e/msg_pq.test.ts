import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'
import { bytes, type MsgNode, startMsgNode, text, waitForCard } from './msg_helpers.ts'

describe('post-quantum option in the daemon', () => {
  const cleanup = new Cleanup()
  let a: MsgNode
  let b: MsgNode

  beforeAll(async () => {
    const dir = tempDir(cleanup, 'swarmd-msg-pq-')
    // Node b turns the hybrid mode on for its agents by config; node a leaves the default (off).
    a = await startMsgNode(cleanup, dir, 'a')
    b = await startMsgNode(cleanup, dir, 'b', {
      bootstrap: [a.node.addresses()[0]!],
      'e2e.postQuantum': true,
    })
    await waitForCard(a, b.agent)
    await waitForCard(b, a.agent)
  })
  afterAll(() => cleanup.run())

  it('an agent that asks for it opens hybrid (ML-KEM-768) sessions and says so in its card', async () => {
    expect(b.e2e.localCard(b.agent)!.body.pq).toBe(true)
    expect(a.e2e.localCard(a.agent)!.body.pq).toBeUndefined()

    await b.e2e.send(b.agent, a.agent, bytes('quantum-safe hello'))
    await waitFor(() => a.e2e.inbox(a.agent).length >= 1)
    expect(text(a.e2e.inbox(a.agent)[0]!.payload)).toBe('quantum-safe hello')
    // Both ends agree on the mode the initiator chose (the initiator's side opens with the IK reply).
    await waitFor(() => b.e2e.session(b.agent, a.agent)?.open === true)
    expect(b.e2e.session(b.agent, a.agent)).toMatchObject({ hybrid: true, open: true })
    expect(a.e2e.session(a.agent, b.agent)).toMatchObject({ hybrid: true })

    // An agent of node a can ask for it per agent, while the node default stays off.
    const keys = await a.e2e.loadOrCreateKeys()
    await a.e2e.registerAgent({ agentId: keys.agentId, keys, postQuantum: true, onMessage: () => {} })
    expect(a.e2e.localCard(keys.agentId)!.body.pq).toBe(true)
  })

  it('classical sessions stay the default', async () => {
    const keys = await b.e2e.loadOrCreateKeys()
    await b.e2e.registerAgent({ agentId: keys.agentId, keys, postQuantum: false, onMessage: () => {} })
    await waitForCard(a, keys.agentId)
    await a.e2e.send(a.agent, keys.agentId, bytes('plain'))
    expect(a.e2e.session(a.agent, keys.agentId)).toMatchObject({ hybrid: false })
  })
})
