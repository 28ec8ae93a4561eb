import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex } from '../../src/common/index.ts'
import {
  agentCardBody,
  decodeEnvelope,
  encodeEnvelope,
  generateAgentKeys,
  newEnvelope,
  SessionManager,
  signAgentCard,
} from '../../src/e2e/index.ts'
import { decodeAck, E2E_PROTOCOL, encodeDeliver, encodeDeposit, MSG } from '../../src/node/e2e/codec.ts'
import { bytes, type MsgNode, startMsgNode, text, waitForCard } from './msg_helpers.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'

const SECRET = 'the eagle lands at midnight, bring the blue folder'

/** Send raw bytes as an `e2e.deliver` / `e2e.deposit` from `from` to `to` and return the ack. */
async function raw(from: MsgNode, to: MsgNode, type: string, payload: Uint8Array) {
  const reply = await from.node.wire.request(to.node.peerId, E2E_PROTOCOL, { type, payload })
  return decodeAck(reply.payload)
}
const deliver = (from: MsgNode, to: MsgNode, env: Uint8Array) =>
  raw(from, to, MSG.DELIVER, encodeDeliver(env))

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0
}

describe('three nodes: A and C not connected, B relays ciphertext it cannot read', () => {
  const cleanup = new Cleanup()
  let a: MsgNode
  let b: MsgNode
  let c: MsgNode
  const relayed: { bytes: Uint8Array; to: string }[] = []

  beforeAll(async () => {
    const dir = tempDir(cleanup, 'swarmd-msg-relay-')
    // A generous ban threshold: the bad-input cases below must not get B banned by C.
    const o = { 'peerScore.disconnectThreshold': -100_000 }
    b = await startMsgNode(
      cleanup,
      dir,
      'b',
      { ...o, 'e2e.mailboxMaxPerSender': 3 },
      {
        onRelay: (env, info) => relayed.push({ bytes: Uint8Array.from(env), to: info.to }),
      },
    )
    const boot = { ...o, bootstrap: [b.node.addresses()[0]!] }
    a = await startMsgNode(cleanup, dir, 'a', boot)
    c = await startMsgNode(cleanup, dir, 'c', boot)
    await waitForCard(a, c.agent)
    await waitForCard(c, a.agent)
    // A and C refuse each other (the connection gater), so only B can carry their messages.
    a.node.peerScore.penalise(c.node.peerId, 1_000_000, 'test: not reachable')
    c.node.peerScore.penalise(a.node.peerId, 1_000_000, 'test: not reachable')
    await waitFor(() => !a.node.libp2p.getPeers().some((p) => p.toString() === c.node.peerId))
  })
  afterAll(() => cleanup.run())

  it('A -> C and C -> A go through B, which sees only ciphertext', async () => {
    const sent = await a.e2e.send(a.agent, c.agent, bytes(SECRET))
    expect(sent.via).toBe('relay')
    await waitFor(() => c.e2e.inbox(c.agent).length >= 1)
    expect(c.e2e.inbox(c.agent)[0]).toMatchObject({ from: a.agent, messageId: sent.messageId, via: 'relay' })
    expect(text(c.e2e.inbox(c.agent)[0]!.payload)).toBe(SECRET)

    const answer = await c.e2e.send(c.agent, a.agent, bytes(`re: ${SECRET}`))
    expect(answer.via).toBe('relay')
    await waitFor(() => a.e2e.inbox(a.agent).length >= 1)
    expect(text(a.e2e.inbox(a.agent)[0]!.payload)).toBe(`re: ${SECRET}`)

    const second = await a.e2e.send(a.agent, c.agent, bytes(`${SECRET} (2)`))
    expect(second.via).toBe('relay')
    await waitFor(() => c.e2e.inbox(c.agent).length >= 2)

    // What B relayed: the handshake, its reply, and the data frames; never the plaintext.
    expect(relayed.length).toBeGreaterThanOrEqual(3)
    const plain = bytes('eagle lands')
    for (const r of relayed) {
      expect(contains(r.bytes, plain)).toBe(false)
      const env = decodeEnvelope(r.bytes)
      expect([a.agent, c.agent]).toContain(env.to)
      expect(env.path).toEqual([])
    }
    // Nor the agents' capabilities or cards exchanged in the handshakes.
    for (const r of relayed) expect(contains(r.bytes, bytes(a.node.peerId))).toBe(false)
  })

  it('rejects bad input with a reason, lowers the sender score, and keeps working', async () => {
    const score0 = c.node.peerScore.get(b.node.peerId)
    // A data frame B relayed to C, to replay and tamper with.
    const dataFrames = relayed.filter((r) => r.to === c.agent && decodeEnvelope(r.bytes).body[0] === 4)
    const captured = dataFrames[dataFrames.length - 1]!.bytes

    // Replay.
    expect((await deliver(b, c, captured)).reason).toMatch(/E2E_REPLAY/)

    // Tampered ciphertext (a fresh nonce so that it is not a replay).
    const env = decodeEnvelope(captured)
    const body = Uint8Array.from(env.body)
    body[16] = (body[16]! + 7) & 0xff
    body[body.length - 1] = body[body.length - 1]! ^ 0x01
    const tampered = await deliver(b, c, encodeEnvelope({ ...env, body }))
    expect(tampered).toMatchObject({ status: 'rejected' })
    expect(tampered.reason).toMatch(/E2E_DECRYPT_FAILED/)

    // Sealed to another agent's key but addressed to C's agent.
    const wrong = b.e2e.seal(b.agent, a.e2e.localCard(a.agent)!, bytes('not for you'))
    const idOf = (n: number) => Uint8Array.from({ length: 16 }, (_, i) => i + n)
    const wrongEnv = newEnvelope({ id: idOf(1), to: c.agent, kind: 'sealed', body: wrong })
    expect((await deliver(b, c, encodeEnvelope(wrongEnv))).reason).toMatch(/E2E_WRONG_RECIPIENT/)

    // A truncated handshake.
    const trunc = newEnvelope({
      id: idOf(2),
      to: c.agent,
      kind: 'session',
      replyTo: b.agent,
      body: Uint8Array.from([1, 1, 2, 3, 4, 5, 6, 7, 8, 1, 9, 9, 9]),
    })
    expect((await deliver(b, c, encodeEnvelope(trunc))).reason).toMatch(/E2E_TRUNCATED/)

    // A handshake whose card names another Noise key than the one that ran it.
    const mallory = generateAgentKeys()
    const card = signAgentCard(mallory, agentCardBody(mallory, [], { issuedAt: Date.now() }))
    const frames: Uint8Array[] = []
    const liar = new SessionManager({
      keys: { ...mallory, noise: generateAgentKeys().noise },
      card,
      clock: { now: () => Date.now() },
      send: (_to, f) => {
        frames.push(f)
      },
      lookupCard: (id) => (id === c.agent ? c.e2e.localCard(c.agent) : undefined),
    })
    await liar.encrypt(c.agent, bytes('hi'))
    const liarEnv = newEnvelope({
      id: idOf(3),
      to: c.agent,
      kind: 'session',
      replyTo: mallory.agentId,
      body: frames[0]!,
    })
    expect((await deliver(b, c, encodeEnvelope(liarEnv))).reason).toMatch(/E2E_CARD_MISMATCH/)

    // Garbage.
    expect((await deliver(b, c, Uint8Array.from([0, 200, 1, 2]))).status).toBe('rejected')

    expect(c.node.peerScore.get(b.node.peerId)).toBeLessThan(score0 - 50)
    expect(c.e2e.inbox(c.agent).map((m) => text(m.payload))).not.toContain('hi')

    // C is still up and still answers.
    const after = await a.e2e.send(a.agent, c.agent, bytes('still there?'))
    expect(after.via).toBe('relay')
    await waitFor(() => c.e2e.inbox(c.agent).some((m) => text(m.payload) === 'still there?'))

    // Counted in the metrics.
    expect(await c.node.metrics.text()).toMatch(/swarmd_e2e_rejected_total\{reason="E2E_CARD_MISMATCH"\} 1/)
    expect(await b.node.metrics.text()).toMatch(/swarmd_e2e_relayed_total\{result="delivered"\} [1-9]/)
    expect(await a.node.metrics.text()).toMatch(
      /swarmd_e2e_messages_total\{direction="out",via="relay"\} [1-9]/,
    )
  })

  it('refuses a mailbox flood from one sender with the reason', async () => {
    const target = toHex(generateAgentKeys().signing.publicKey)
    const acks = []
    for (let i = 0; i < 4; i++) {
      const env = newEnvelope({
        id: Uint8Array.from({ length: 16 }, (_, j) => j * i + 100),
        to: target,
        kind: 'sealed',
        body: bytes(`opaque ${i}`),
      })
      acks.push(await raw(a, b, MSG.DEPOSIT, encodeDeposit({ envelope: encodeEnvelope(env), ttlMs: 60_000 })))
    }
    expect(acks.slice(0, 3).map((x) => x.status)).toEqual(['stored', 'stored', 'stored'])
    expect(acks[3]).toMatchObject({ status: 'rejected' })
    expect(acks[3]!.reason).toMatch(/E2E_MAILBOX_FULL: sender .* already has 3 messages waiting/)
    expect(b.node.peerScore.get(a.node.peerId)).toBeLessThan(0)
  })
})
