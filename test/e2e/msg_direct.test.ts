import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromHex } from '../../src/common/index.ts'
import { encodeEnvelope, newEnvelope } from '../../src/e2e/index.ts'
import { decodeAck, E2E_PROTOCOL, encodeDeliver, MSG } from '../../src/node/e2e/codec.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'
import { bytes, type MsgNode, startMsgNode, text, waitForCard } from './msg_helpers.ts'

describe('two nodes: direct end-to-end messages between node agents', () => {
  const cleanup = new Cleanup()
  let a: MsgNode
  let b: MsgNode

  beforeAll(async () => {
    const dir = tempDir(cleanup, 'swarmd-msg-')
    a = await startMsgNode(cleanup, dir, 'a')
    b = await startMsgNode(cleanup, dir, 'b', { bootstrap: [a.node.addresses()[0]!] })
    await waitForCard(a, b.agent)
    await waitForCard(b, a.agent)
  })
  afterAll(() => cleanup.run())

  it('delivers A -> B directly, B answers, and a second message reuses the session', async () => {
    const sent = await a.e2e.send(a.agent, b.agent, bytes('hello from A'))
    expect(sent.via).toBe('direct')
    await waitFor(() => b.e2e.inbox(b.agent).length >= 1)
    const got = b.e2e.inbox(b.agent)[0]!
    expect(text(got.payload)).toBe('hello from A')
    expect(got).toMatchObject({ from: a.agent, to: b.agent, messageId: sent.messageId, via: 'direct' })

    const back = await b.e2e.send(b.agent, a.agent, bytes('hello from B'))
    expect(back.via).toBe('direct')
    await waitFor(() => a.e2e.inbox(a.agent).length >= 1)
    expect(text(a.e2e.inbox(a.agent)[0]!.payload)).toBe('hello from B')

    // Another copy of a delivered message (same message id: the mailbox copy of a delivery that timed
    // out but did arrive) is acknowledged and dropped.
    const copy = newEnvelope({
      id: fromHex(sent.messageId),
      to: b.agent,
      kind: 'sealed',
      body: a.e2e.seal(a.agent, b.e2e.localCard(b.agent)!, bytes('hello from A')),
    })
    const dup = await a.node.wire.request(b.node.peerId, E2E_PROTOCOL, {
      type: MSG.DELIVER,
      payload: encodeDeliver(encodeEnvelope(copy)),
    })
    expect(decodeAck(dup.payload).status).toBe('delivered')
    expect(b.e2e.inbox(b.agent)).toHaveLength(1)

    const again = await a.e2e.send(a.agent, b.agent, bytes('second'))
    expect(again.via).toBe('direct')
    await waitFor(() => b.e2e.inbox(b.agent).length >= 2)
    expect(b.e2e.inbox(b.agent).map((m) => text(m.payload))).toEqual(['hello from A', 'second'])
  })

  it('hosts extra agents: local delivery, sealed one-way messages, unknown agents refused', async () => {
    const keys = await a.e2e.loadOrCreateKeys()
    const seen: string[] = []
    await a.e2e.registerAgent({
      agentId: keys.agentId,
      keys,
      capabilities: ['chat'],
      onMessage: (m) => {
        seen.push(text(m.payload))
      },
    })
    expect(await a.e2e.send(a.agent, keys.agentId, bytes('next door'))).toMatchObject({ via: 'local' })
    expect(seen).toEqual(['next door'])

    const card = a.e2e.localCard(keys.agentId)!
    expect(card.body.caps).toEqual(['chat'])
    expect(card.body.node).toBe(a.node.peerId)
    const sealed = b.e2e.seal(b.agent, card, bytes('a sealed bid'))
    expect(a.e2e.open(keys.agentId, sealed)).toEqual({ from: b.agent, payload: bytes('a sealed bid') })
    expect(() => a.e2e.open(a.agent, sealed)).toThrow(/another recipient/)

    await expect(a.e2e.send(a.agent, 'ab'.repeat(32), bytes('x'))).rejects.toThrow(/no card/)
    await a.e2e.unregisterAgent(keys.agentId)
  })

  it('an agent that left its node gets its mail when it registers again', async () => {
    const keys = await b.e2e.loadOrCreateKeys()
    const got: string[] = []
    const ep = {
      agentId: keys.agentId,
      keys,
      onMessage: (m: { payload: Uint8Array }) => void got.push(text(m.payload)),
    }
    await b.e2e.registerAgent(ep)
    await waitForCard(a, keys.agentId)
    await b.e2e.unregisterAgent(keys.agentId)

    // B is up but no longer hosts the agent: the message is sealed and left in mailboxes (B's included).
    const sent = await a.e2e.send(a.agent, keys.agentId, bytes('for when you are back'))
    expect(sent.via).toBe('mailbox')
    expect(await b.e2e.mailbox.pending(keys.agentId)).toBe(1)

    await b.e2e.registerAgent(ep)
    await waitFor(() => got.length >= 1)
    expect(got).toEqual(['for when you are back'])
    expect(b.e2e.inbox(keys.agentId)[0]).toMatchObject({
      from: a.agent,
      via: 'mailbox',
      messageId: sent.messageId,
    })
    // A's copy is handed over too, but delivered only once.
    await waitFor(async () => (await a.e2e.mailbox.pending(keys.agentId)) === 0)
    expect(got).toHaveLength(1)
  })
})
