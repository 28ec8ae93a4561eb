import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytes, type MsgNode, startMsgNode, text, waitForCard } from './msg_helpers.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'

describe('store-and-forward: a message to an offline agent arrives when its node restarts', () => {
  const cleanup = new Cleanup()
  let dir: string
  let a: MsgNode
  let b: MsgNode
  let c: MsgNode

  beforeAll(async () => {
    dir = tempDir(cleanup, 'swarmd-msg-mailbox-')
    b = await startMsgNode(cleanup, dir, 'b')
    const boot = { bootstrap: [b.node.addresses()[0]!] }
    a = await startMsgNode(cleanup, dir, 'a', boot)
    c = await startMsgNode(cleanup, dir, 'c', boot)
    await waitForCard(a, c.agent)
    await waitForCard(c, a.agent)
  })
  afterAll(() => cleanup.run())

  it('holds the sealed message at peers and delivers it once after the restart', async () => {
    const first = await a.e2e.send(a.agent, c.agent, bytes('before the restart'))
    expect(['direct', 'relay']).toContain(first.via)
    const agentC = c.agent
    await c.node.stop()

    const away = await a.e2e.send(a.agent, agentC, bytes('while you were away'))
    expect(away.via).toBe('mailbox')
    // Held by A's node and by B (a connected peer), as ciphertext.
    expect(await a.e2e.mailbox.pending(agentC)).toBe(1)
    expect(await b.e2e.mailbox.pending(agentC)).toBe(1)

    // Restart C from the same repository: same agent, it drains its mailboxes.
    c = await startMsgNode(cleanup, dir, 'c')
    expect(c.agent).toBe(agentC)
    await waitFor(() => c.e2e.inbox(agentC).length >= 1, 30_000)
    const got = c.e2e.inbox(agentC)
    expect(got.map((m) => text(m.payload))).toEqual(['while you were away'])
    expect(got[0]).toMatchObject({ from: a.agent, messageId: away.messageId, via: 'mailbox' })
    await waitFor(
      async () => (await b.e2e.mailbox.pending(agentC)) === 0 && (await a.e2e.mailbox.pending(agentC)) === 0,
    )

    // Both holders handed it over, but it was delivered once. The old session is gone on C's side:
    // the next message negotiates a new one.
    const later = await a.e2e.send(a.agent, agentC, bytes('welcome back'))
    expect(['direct', 'relay']).toContain(later.via)
    await waitFor(() => c.e2e.inbox(agentC).length >= 2)
    expect(c.e2e.inbox(agentC).map((m) => text(m.payload))).toEqual(['while you were away', 'welcome back'])
  })
})
