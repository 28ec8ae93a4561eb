/** Stake attestations and slash evidence that travel between nodes (src/node/market/slashing.ts). */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { generateSigningKey, toHex } from '../../../src/common/index.ts'
import { type Award, signBid } from '../../../src/market/index.ts'
import { awardEvidence, signAttestation, verifyAttestation } from '../../../src/node/market/slashing.ts'
import { awardProblem, makeReport } from '../../../src/reputation/index.ts'
import { taskEvidenceProblem } from '../../../src/node/reputation/evidence.ts'

async function nodeKey() {
  const k = await generateKeyPair('Ed25519')
  return { id: peerIdFromPrivateKey(k).toString(), seed: k.raw.subarray(0, 32) }
}

describe('stake attestations', () => {
  const agent = 'ab'.repeat(32)
  const now = 1_000_000

  it('verifies an attestation signed by the node named in the card', async () => {
    const n = await nodeKey()
    const att = signAttestation(
      { agent, node: n.id, bonded: 150, bondedSince: 5, blacklisted: false, at: now },
      n.seed,
    )
    expect(verifyAttestation(att, { agent, node: n.id, now })).toMatchObject({
      bonded: 150,
      blacklisted: false,
    })
  })

  it('refuses forged, altered, misattributed and stale attestations', async () => {
    const n = await nodeKey()
    const other = await nodeKey()
    const att = signAttestation({ agent, node: n.id, bonded: 150, blacklisted: false, at: now }, n.seed)
    // another node's key signing for n
    const forged = signAttestation(
      { agent, node: n.id, bonded: 150, blacklisted: false, at: now },
      other.seed,
    )
    expect(() => verifyAttestation(forged, { agent, node: n.id, now })).toThrow(/does not verify/)
    // a blacklisted agent claiming to be clean
    expect(() => verifyAttestation({ ...att, bonded: 9999 }, { agent, node: n.id, now })).toThrow(
      /does not verify/,
    )
    // the bidder's card names another node
    expect(() => verifyAttestation(att, { agent, node: other.id, now })).toThrow(/node of the bidder/)
    expect(() => verifyAttestation(att, { agent: 'cd'.repeat(32), node: n.id, now })).toThrow(/another agent/)
    expect(() => verifyAttestation(att, { agent, node: n.id, now: now + 10 * 60_000 })).toThrow(/stale/)
    expect(() => verifyAttestation('x', { agent, node: n.id, now })).toThrow(/not an object/)
  })
})

describe('slash evidence', () => {
  it("is the requester's signed award in the reputation format, and checks as such", () => {
    const req = generateSigningKey()
    const award = {
      cfpId: 'cfp-1',
      requester: toHex(req.publicKey),
      winner: 'ef'.repeat(32),
      units: 1,
      price: 5,
      payment: 20,
      escrowId: 'cfp-1/x',
      resultDeadline: 2000,
      issuedAt: 1000,
      signature: '',
    } satisfies Award
    const ev = awardEvidence(award, req.secretKey)
    expect(ev.body).toMatchObject({ taskId: 'cfp-1/x', provider: award.winner, price: 20, deadline: 2000 })
    expect(awardProblem(ev)).toBeUndefined()
    expect(awardProblem({ ...ev, body: { ...ev.body, price: 1 } })).toMatch(/signature/)
    const other = generateSigningKey()
    expect(awardProblem(awardEvidence(award, other.secretKey))).toMatch(/signature/)
  })
})

describe('task evidence on one-sided reports', () => {
  const req = generateSigningKey()
  const prov = generateSigningKey()
  const other = generateSigningKey()
  const award = {
    cfpId: 'cfp-9',
    requester: toHex(req.publicKey),
    winner: toHex(prov.publicKey),
    units: 1,
    price: 5,
    payment: 20,
    escrowId: 'cfp-9/p',
    resultDeadline: 2000,
    issuedAt: 1000,
    signature: '',
  } satisfies Award
  const body = {
    taskId: 'cfp-9/p',
    requester: award.requester,
    provider: award.winner,
    outcome: 'timeout' as const,
    latencyMs: 0,
    rating: 0,
    price: 20,
    issuedAt: 3000,
  }
  const bid = (sk = prov.secretKey, bidder = award.winner, cfpId = 'cfp-9') =>
    signBid({ cfpId, bidder, offers: [{ units: 1, price: 5 }], expiresAt: 9999 }, sk)
  const report = (b: unknown, a = awardEvidence(award, req.secretKey), over: Partial<typeof body> = {}) => ({
    ...makeReport({ ...body, ...over }, req.secretKey),
    taskEvidence: { award: a, bid: b },
  })

  it("accepts the requester's award with the provider's own bid on the same CFP", () => {
    expect(taskEvidenceProblem(report(bid()))).toBeUndefined()
  })

  it('refuses evidence that does not prove this task', () => {
    expect(taskEvidenceProblem(report(bid(other.secretKey)))).toMatch(/signature/)
    expect(taskEvidenceProblem(report(bid(other.secretKey, toHex(other.publicKey))))).toMatch(/provider/)
    expect(taskEvidenceProblem(report(bid(prov.secretKey, award.winner, 'cfp-1')))).toMatch(/another CFP/)
    expect(taskEvidenceProblem(report(bid(), awardEvidence(award, other.secretKey)))).toMatch(/signature/)
    expect(taskEvidenceProblem(report(bid(), undefined, { taskId: 'cfp-9/q' }))).toMatch(/another task/)
    expect(taskEvidenceProblem(report('x'))).toMatch(/not an object/)
  })
})
