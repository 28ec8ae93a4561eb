import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv } from '../../../src/common/index.ts'
import {
  decodeEnvelope,
  E2E_ERRORS,
  ENVELOPE_KIND,
  encodeEnvelope,
  forwardEnvelope,
  Mailbox,
  newEnvelope,
  SessionManager,
} from '../../../src/e2e/index.ts'
import { agent, contains } from './helpers.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

describe('envelope', () => {
  it('carries only recipient, id, hops and reply-to in clear; forwarding decrements TTL and stops loops', () => {
    const e = newEnvelope({
      id: new Uint8Array(16).fill(1),
      to: 'ab'.repeat(32),
      kind: ENVELOPE_KIND.SEALED,
      body: enc.encode('ciphertext'),
    })
    const back = decodeEnvelope(encodeEnvelope(forwardEnvelope(e, 'peerA')))
    expect(back).toMatchObject({ to: e.to, ttl: e.ttl - 1, path: ['peerA'], kind: 'sealed' })
    expect(Object.keys(back).sort()).toEqual(['body', 'id', 'kind', 'path', 'to', 'ttl', 'v'])
    expect(() => forwardEnvelope(back, 'peerA')).toThrow(/loop/)
    expect(() => decodeEnvelope(enc.encode('\u0000\u0005{bad'))).toThrow(/truncated|JSON/)
  })
})

describe('mailbox', () => {
  it('refuses a flood from one sender with a reason but still takes mail from others', async () => {
    const clock = new ManualClock(0)
    const mb = new Mailbox({ kv: new MemoryKv(), clock, maxMessagesPerSender: 3 })
    for (let i = 0; i < 3; i++)
      await mb.deposit({ recipient: 'r', sender: 'spammer', id: `s${i}`, blob: enc.encode('x') })
    await expect(
      mb.deposit({ recipient: 'r', sender: 'spammer', id: 's3', blob: enc.encode('x') }),
    ).rejects.toMatchObject({
      code: E2E_ERRORS.MAILBOX_FULL,
      message: expect.stringContaining('spammer'),
    })
    await mb.deposit({ recipient: 'r', sender: 'friend', id: 'f0', blob: enc.encode('hi') })
    await mb.deposit({ recipient: 'r', sender: 'friend', id: 'f0', blob: enc.encode('hi') }) // idempotent
    expect(await mb.pending('r')).toBe(4)
    const big = new Mailbox({ kv: new MemoryKv(), clock, maxBytesPerSender: 10 })
    await expect(
      big.deposit({ recipient: 'r', sender: 'x', id: 'a', blob: new Uint8Array(11) }),
    ).rejects.toMatchObject({
      code: E2E_ERRORS.MAILBOX_FULL,
    })
  })

  it('expires messages and drains the rest oldest first, exactly once', async () => {
    const clock = new ManualClock(0)
    const mb = new Mailbox({ kv: new MemoryKv(), clock })
    await mb.deposit({ recipient: 'r', sender: 'a', id: 'old', blob: enc.encode('1'), ttlMs: 100 })
    clock.advance(10)
    await mb.deposit({ recipient: 'r', sender: 'a', id: 'new', blob: enc.encode('2'), ttlMs: 10_000 })
    clock.advance(200)
    const got = await mb.drain('r')
    expect(got.map((m) => m.id)).toEqual(['new'])
    expect(await mb.drain('r')).toEqual([])
  })

  it('an offline agent gets its message after its node restarts; the mailbox holder never sees plaintext', async () => {
    const A = agent(21)
    const B = agent(22)
    const clock = new ManualClock(1000)
    const holderKv = new MemoryKv() // the relay/mailbox peer's store, survives B's node restart
    const mailbox = new Mailbox({ kv: holderKv, clock })
    const toB: Uint8Array[] = []
    const ma = new SessionManager({
      keys: A.keys,
      card: A.card,
      clock,
      lookupCard: (id) => (id === B.keys.agentId ? B.card : undefined),
      send: (_to, bytes) => {
        toB.push(bytes)
      },
    })
    await ma.encrypt(B.keys.agentId, enc.encode('while you were away: swordfish'))
    // B is offline: the relay stores the envelope.
    for (const body of toB) {
      const env = newEnvelope({
        id: crypto.getRandomValues(new Uint8Array(16)),
        to: B.keys.agentId,
        replyTo: A.keys.agentId,
        kind: 'session',
        body,
      })
      await mailbox.deposit({ recipient: env.to, sender: 'peer-of-A', id: env.id, blob: encodeEnvelope(env) })
    }
    for await (const [, v] of holderKv.entries('')) expect(contains(v, enc.encode('swordfish'))).toBe(false)
    // B's node restarts: a brand-new SessionManager, the mailbox reopened over the same store.
    clock.advance(10_000) // within A's handshake timeout, so A can still finish the session
    const replies: Uint8Array[] = []
    const mb = new SessionManager({
      keys: B.keys,
      card: B.card,
      clock,
      send: (_to, bytes) => {
        replies.push(bytes)
      },
    })
    const drained = await new Mailbox({ kv: holderKv, clock }).drain(B.keys.agentId)
    const texts: string[] = []
    for (const item of drained) {
      const env = decodeEnvelope(item.blob)
      for (const r of await mb.onMessage(env.replyTo ?? '', env.body)) texts.push(dec.decode(r.plaintext))
    }
    expect(texts).toEqual(['while you were away: swordfish'])
    // and A completes the session from B's reply
    for (const r of replies) await ma.onMessage(B.keys.agentId, r)
    expect(ma.sessionInfo(B.keys.agentId)?.open).toBe(true)
  })
})
