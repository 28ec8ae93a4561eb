import { describe, expect, it } from 'vitest'
import { MemoryKv, toHex } from '../../../src/common/index.ts'
import {
  AgentKeyStore,
  agentCardBody,
  cardMatchesKey,
  E2E_ERRORS,
  generateAgentKeys,
  open,
  seal,
  signAgentCard,
  verifyAgentCard,
} from '../../../src/e2e/index.ts'
import { agent, contains } from './helpers.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

describe('agent keys at rest', () => {
  it('round-trips under the repository secret, never stores secrets in clear, refuses a wrong secret', async () => {
    const kv = new MemoryKv()
    const secret = new Uint8Array(32).fill(5)
    const store = new AgentKeyStore(kv, secret)
    const keys = await store.loadOrCreate()
    const again = await new AgentKeyStore(kv, secret).load(keys.agentId)
    expect(again?.noise.publicKey).toEqual(keys.noise.publicKey)
    expect(again?.signing.publicKey).toEqual(keys.signing.publicKey)
    const raw = (await kv.get(keys.agentId)) as Uint8Array
    expect(contains(raw, keys.noise.secretKey)).toBe(false)
    expect(dec.decode(raw)).not.toContain(toHex(keys.signing.secretKey))
    await expect(new AgentKeyStore(kv, new Uint8Array(32).fill(6)).load(keys.agentId)).rejects.toMatchObject({
      code: E2E_ERRORS.KEYS_LOCKED,
    })
    expect(await store.list()).toEqual([keys.agentId])
  })

  it('a record moved onto another agent id does not unseal', async () => {
    const kv = new MemoryKv()
    const store = new AgentKeyStore(kv, new Uint8Array(32).fill(1))
    const k1 = await store.loadOrCreate()
    const other = generateAgentKeys()
    await kv.put(other.agentId, (await kv.get(k1.agentId)) as Uint8Array)
    await expect(store.load(other.agentId)).rejects.toMatchObject({ code: E2E_ERRORS.KEYS_LOCKED })
  })
})

describe('agent cards', () => {
  it('verify from the agent id alone and bind the Noise key', () => {
    const { keys, card } = agent(4, ['image-ocr'])
    expect(verifyAgentCard(card)).toBe(true)
    expect(cardMatchesKey(card, keys.noise.publicKey)).toBe(true)
    expect(cardMatchesKey(card, agent(5).keys.noise.publicKey)).toBe(false)
    expect(verifyAgentCard({ ...card, body: { ...card.body, caps: ['evil'] } })).toBe(false)
    const other = agent(6)
    expect(() => signAgentCard(other.keys, agentCardBody(keys, [], { issuedAt: 0 }))).toThrow()
  })
})

describe('sealed one-way messages (Noise X)', () => {
  const requester = agent(10)
  const bidder = agent(11)

  it('only the recipient opens a sealed bid, and learns the authenticated bidder', () => {
    const bid = enc.encode('{"price":42,"secret":"lowball"}')
    const sealed = seal(requester.keys.noise.publicKey, bidder.keys, bidder.card, bid)
    expect(contains(sealed, enc.encode('lowball'))).toBe(false)
    const o = open(requester.keys, sealed, bidder.keys.agentId)
    expect(dec.decode(o.plaintext)).toBe(dec.decode(bid))
    expect(o.sender.body.agentId).toBe(bidder.keys.agentId)
    expect(o.id).toMatch(/^[0-9a-f]{64}$/)
    // two seals of the same bid are different messages with different ids
    expect(
      open(requester.keys, seal(requester.keys.noise.publicKey, bidder.keys, bidder.card, bid)).id,
    ).not.toBe(o.id)
  })

  it('rejects: wrong recipient key, tampering, truncation, a card for another key, another sender', () => {
    const sealed = seal(requester.keys.noise.publicKey, bidder.keys, bidder.card, enc.encode('x'))
    const codeOf = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return (e as { code?: string }).code
      }
      return 'accepted'
    }
    expect(codeOf(() => open(bidder.keys, sealed))).toBe(E2E_ERRORS.WRONG_RECIPIENT)
    const t = Uint8Array.from(sealed)
    t[t.length - 1] = (t[t.length - 1] ?? 0) ^ 1
    expect(codeOf(() => open(requester.keys, t))).toBe(E2E_ERRORS.DECRYPT_FAILED)
    expect(codeOf(() => open(requester.keys, sealed.subarray(0, 30)))).toBe(E2E_ERRORS.TRUNCATED)
    const thief = agent(12)
    const forged = seal(requester.keys.noise.publicKey, thief.keys, bidder.card, enc.encode('x'))
    expect(codeOf(() => open(requester.keys, forged))).toBe(E2E_ERRORS.CARD_MISMATCH)
    expect(codeOf(() => open(requester.keys, sealed, thief.keys.agentId))).toBe(E2E_ERRORS.CARD_MISMATCH)
  })
})
