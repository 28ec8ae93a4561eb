import { describe, expect, it } from 'vitest'
import { ManualClock, sign, toHex } from '../../../src/common/index.ts'
import {
  type AgentCard,
  agentCardBody,
  agentKeysFromSeed,
  checkHandshakeCard,
  signAgentCard,
  verifyAgentCard,
} from '../../../src/e2e/index.ts'
import {
  CARD_DOMAIN,
  cardKey,
  cardSelector,
  cardValidator,
  checkDhtCard,
  decodeCard,
  encodeCard,
} from '../../../src/node/agent-card.ts'

const NOW = 1_700_000_000_000
const keys = agentKeysFromSeed(new Uint8Array(32).fill(7))
const other = agentKeysFromSeed(new Uint8Array(32).fill(8))

function dhtCard(over: Record<string, unknown> = {}, k = keys): AgentCard {
  const body = {
    ...agentCardBody(k, ['image-ocr'], {
      issuedAt: NOW,
      expiresAt: NOW + 3600_000,
      node: '12D3KooWExample',
      addresses: ['/ip4/127.0.0.1/tcp/4101'],
      seq: 1,
      priceHints: { 'image-ocr': 5 },
    }),
    ...over,
  }
  return { body, sig: toHex(sign(CARD_DOMAIN, body, k.signing.secretKey)) } as AgentCard
}

describe('one agent card format for the DHT and the handshakes', () => {
  it('the card the DHT accepts is the card a handshake checks against its Noise key', () => {
    const card = dhtCard()
    expect(decodeCard(encodeCard(card), NOW, keys.agentId)).toEqual(card)
    expect(verifyAgentCard(card)).toBe(true)
    expect(checkHandshakeCard(card, keys.noise.publicKey, keys.agentId)).toEqual(card)
    expect(() => checkHandshakeCard(card, other.noise.publicKey)).toThrow(/does not match the handshake/)
  })

  it('refuses cards the DHT must not hold, with the reason', () => {
    const bad = (c: unknown, why: RegExp, id = keys.agentId) =>
      expect(() => checkDhtCard(c, NOW, id)).toThrow(why)
    bad(dhtCard({ node: undefined }), /node must be a peer id/)
    bad(dhtCard({ seq: undefined }), /seq missing/)
    bad(dhtCard({ expiresAt: undefined }), /expiresAt missing/)
    bad(dhtCard({ addresses: undefined }), /addresses missing/)
    bad(dhtCard({ expiresAt: NOW - 1 }), /expired/)
    bad(dhtCard({ issuedAt: NOW + 3600_000, expiresAt: NOW + 7200_000 }), /issued in the future/)
    bad(dhtCard({ expiresAt: NOW + 8 * 24 * 3600_000 }), /lifetime too long/)
    bad(dhtCard({ extra: 1 }), /unknown field body.extra/)
    bad({ ...dhtCard(), more: 1 }, /unknown field more/)
    bad(dhtCard({ signingKey: other.agentId }), /malformed or signature/)
    bad(dhtCard({ priceHints: { x: 1.5 } }), /malformed or signature/)
    bad(dhtCard(), /another agent id/, other.agentId)
    // Signed by someone else than the agent it names.
    const forged = dhtCard()
    bad(
      { body: forged.body, sig: toHex(sign(CARD_DOMAIN, forged.body, other.signing.secretKey)) },
      /signature/,
    )
    expect(() => decodeCard(new TextEncoder().encode('{nope'), NOW)).toThrow(/not JSON/)
    expect(() => decodeCard(new Uint8Array(20_000), NOW)).toThrow(/bytes >/)
  })

  it('DHT validator and selector: valid only under its own key, the newest wins', () => {
    const clock = new ManualClock(NOW)
    const v1 = encodeCard(dhtCard())
    const v3 = encodeCard(dhtCard({ seq: 3 }))
    const v2later = encodeCard(dhtCard({ seq: 2, issuedAt: NOW + 10 }))
    expect(() => cardValidator(clock)(cardKey(keys.agentId), v1)).not.toThrow()
    expect(() => cardValidator(clock)(cardKey(other.agentId), v1)).toThrow(/another agent id/)
    expect(cardSelector(clock)(cardKey(keys.agentId), [v1, v3, v2later, new Uint8Array([1])])).toBe(1)
  })

  it('signAgentCard produces DHT-ready cards from agentCardBody', () => {
    const card = signAgentCard(keys, dhtCard().body)
    expect(card.body.signingKey).toBe(keys.agentId)
    expect(checkDhtCard(card, NOW).body.priceHints).toEqual({ 'image-ocr': 5 })
  })
})
