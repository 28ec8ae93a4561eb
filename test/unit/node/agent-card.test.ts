import { describe, expect, it } from 'vitest'
import { generateSigningKey, ManualClock, toHex } from '../../../src/common/index.ts'
import {
  type AgentCardBody,
  cardKey,
  cardSelector,
  cardValidator,
  decodeCard,
  encodeCard,
  signCard,
} from '../../../src/node/agent-card.ts'

const NOW = 1_800_000_000_000
const agent = generateSigningKey()
const agentId = toHex(agent.publicKey)
const body: AgentCardBody = {
  agentId,
  signingKey: agentId,
  noiseKey: toHex(generateSigningKey().publicKey),
  capabilities: ['image-ocr'],
  priceHints: { 'image-ocr': 3 },
  node: '12D3KooWJTHLFUi73ZQYvSav8EDWX6XsA39aWgCrFjJgSncbZsiM',
  addresses: ['/ip4/127.0.0.1/tcp/4101'],
  seq: 1,
  issuedAt: NOW,
  expiresAt: NOW + 3600_000,
}
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))

describe('agent cards', () => {
  const validate = cardValidator(new ManualClock(NOW + 1000))

  it('accepts a signed card under its own key', () => {
    const card = signCard(body, agent.secretKey)
    expect(() => validate(cardKey(agentId), encodeCard(card))).not.toThrow()
    expect(decodeCard(encodeCard(card), NOW, agentId)).toEqual(card)
  })

  it('rejects unsigned, forged, mis-keyed, expired, future, long-lived and padded cards', () => {
    const card = signCard(body, agent.secretKey)
    const reject =
      (bytes: Uint8Array, key = cardKey(agentId)) =>
      () =>
        validate(key, bytes)
    const { signature: _sig, ...unsigned } = card
    expect(reject(enc(unsigned))).toThrow('unsigned')
    const mallory = generateSigningKey()
    expect(reject(encodeCard(signCard({ ...body, seq: 9 }, mallory.secretKey)))).toThrow(
      'signature does not verify',
    )
    expect(reject(enc({ ...card, priceHints: { 'image-ocr': 1 } }))).toThrow('signature does not verify')
    const otherId = toHex(mallory.publicKey)
    expect(reject(encodeCard(card), cardKey(otherId))).toThrow('stored under another agent id')
    expect(reject(encodeCard(card), new TextEncoder().encode('/other/x'))).toThrow('wrong key')
    expect(reject(encodeCard(signCard({ ...body, expiresAt: NOW + 500 }, agent.secretKey)))).toThrow(
      'expired',
    )
    expect(
      reject(
        encodeCard(
          signCard({ ...body, issuedAt: NOW + 3600_000, expiresAt: NOW + 7200_000 }, agent.secretKey),
        ),
      ),
    ).toThrow('issued in the future')
    expect(
      reject(encodeCard(signCard({ ...body, expiresAt: NOW + 30 * 24 * 3600_000 }, agent.secretKey))),
    ).toThrow('lifetime too long')
    expect(reject(enc({ ...card, extra: 1 }))).toThrow('unknown field extra')
    expect(reject(enc({ ...card, signingKey: otherId }))).toThrow('signingKey must equal agentId')
    expect(reject(new TextEncoder().encode('not json'))).toThrow('not JSON')
    expect(reject(new Uint8Array(20_000))).toThrow('bytes >')
  })

  it('selects the valid card with the highest seq', () => {
    const select = cardSelector(new ManualClock(NOW + 1000))
    const c1 = encodeCard(signCard(body, agent.secretKey))
    const c3 = encodeCard(signCard({ ...body, seq: 3 }, agent.secretKey))
    const c2 = encodeCard(signCard({ ...body, seq: 2 }, agent.secretKey))
    const forged = encodeCard(signCard({ ...body, seq: 99 }, generateSigningKey().secretKey))
    expect(select(cardKey(agentId), [c1, c3, forged, c2])).toBe(1)
  })
})
