import { describe, expect, it } from 'vitest'
import {
  type AwardBody,
  signAward,
  signBid,
  signResult,
  verifyAward,
  verifyBid,
  verifyCfp,
  verifyResult,
} from '../../../src/market/index.ts'
import { type agent, cfpBody, makeBid, makeCfp, providers, requester } from './fixtures.ts'

const [p1, p2] = providers as [ReturnType<typeof agent>, ReturnType<typeof agent>]

describe('CFP', () => {
  it('round-trips through JSON and verifies', () => {
    const cfp = makeCfp()
    expect(verifyCfp(JSON.parse(JSON.stringify(cfp)), 10_500)).toEqual(cfp)
  })
  it.each([
    ['tampered reserve', { ...makeCfp(), reserve: 1000 }, 'MARKET_BAD_SIGNATURE'],
    ['signed by someone else', { ...makeCfp(), requester: p1.id }, 'MARKET_BAD_SIGNATURE'],
    ['bad mechanism', { ...makeCfp(), mechanism: 'dutch' }, 'MARKET_BAD_MESSAGE'],
    ['fractional units', { ...makeCfp(), units: 1.5 }, 'MARKET_BAD_MESSAGE'],
    ['long id', makeCfp({ id: 'x'.repeat(65) }), 'MARKET_BAD_MESSAGE'],
  ])('rejects %s', (_n, raw, code) => {
    expect(() => verifyCfp(raw, 10_500)).toThrow(expect.objectContaining({ code }))
  })
  it('rejects a CFP whose bid window has closed', () => {
    expect(() => verifyCfp(makeCfp(), 11_000)).toThrow(
      expect.objectContaining({ code: 'MARKET_EXPIRED', action: 'ignore' }),
    )
  })
})

describe('Bid', () => {
  const cfp = cfpBody({ units: 2 })
  it('verifies a valid bid', () => {
    const bid = makeBid(p1, [{ units: 2, price: 50 }])
    expect(verifyBid(JSON.parse(JSON.stringify(bid)), cfp, 10_100)).toEqual(bid)
  })
  it.each([
    [
      'bad signature',
      { ...makeBid(p1, [{ units: 1, price: 5 }]), offers: [{ units: 1, price: 4 }] },
      10_100,
      'MARKET_BAD_SIGNATURE',
    ],
    ['mismatched cfp', makeBid(p1, [{ units: 1, price: 5 }], 'cfp-2'), 10_100, 'MARKET_CFP_MISMATCH'],
    ['over units', makeBid(p1, [{ units: 3, price: 5 }]), 10_100, 'MARKET_OVER_UNITS'],
    ['late', makeBid(p1, [{ units: 1, price: 5 }]), 11_000, 'MARKET_EXPIRED'],
    ['expired', makeBid(p1, [{ units: 1, price: 5 }], 'cfp-1', 10_050), 10_100, 'MARKET_EXPIRED'],
    ['negative price', makeBid(p1, [{ units: 1, price: -5 }]), 10_100, 'MARKET_BAD_MESSAGE'],
    ['no offers', makeBid(p1, []), 10_100, 'MARKET_BAD_MESSAGE'],
    [
      'from the requester',
      signBid(
        { cfpId: 'cfp-1', bidder: requester.id, offers: [{ units: 1, price: 1 }], expiresAt: 1e12 },
        requester.sk,
      ),
      10_100,
      'MARKET_BAD_MESSAGE',
    ],
  ])('rejects %s', (_n, raw, now, code) => {
    expect(() => verifyBid(raw, cfp, now)).toThrow(expect.objectContaining({ code }))
  })
})

describe('Award and Result', () => {
  const body: AwardBody = {
    cfpId: 'cfp-1',
    requester: requester.id,
    winner: p1.id,
    units: 1,
    price: 40,
    payment: 60,
    escrowId: `cfp-1/${p1.id}`,
    resultDeadline: 20_000,
    issuedAt: 11_000,
  }
  const award = signAward(body, requester.sk)
  it('verifies an award for the right winner and CFP', () => {
    expect(verifyAward(award, { cfp: cfpBody(), winner: p1.id })).toEqual(award)
    expect(() => verifyAward(award, { winner: p2.id })).toThrow(
      expect.objectContaining({ code: 'MARKET_NOT_AWARDED' }),
    )
    expect(() => verifyAward({ ...award, payment: 600 })).toThrow(
      expect.objectContaining({ code: 'MARKET_BAD_SIGNATURE' }),
    )
    expect(() => verifyAward(award, { cfp: cfpBody({ id: 'other' }) })).toThrow(
      expect.objectContaining({ code: 'MARKET_CFP_MISMATCH' }),
    )
  })
  it('verifies a result from the winner only', () => {
    const rb = {
      cfpId: 'cfp-1',
      worker: p1.id,
      requester: requester.id,
      escrowId: body.escrowId,
      ok: true,
      output: { text: 'hi' },
      issuedAt: 12_000,
    }
    const res = signResult(rb, p1.sk)
    expect(verifyResult(JSON.parse(JSON.stringify(res)), body)).toEqual(res)
    expect(() => verifyResult(signResult({ ...rb, worker: p2.id }, p2.sk), body)).toThrow(
      expect.objectContaining({ code: 'MARKET_NOT_AWARDED' }),
    )
    expect(() => verifyResult({ ...res, output: { text: 'forged' } }, body)).toThrow(
      expect.objectContaining({ code: 'MARKET_BAD_SIGNATURE', action: 'penalise' }),
    )
    expect(() => verifyResult(signResult({ ...rb, escrowId: 'x' }, p1.sk), body)).toThrow(
      expect.objectContaining({ code: 'MARKET_CFP_MISMATCH' }),
    )
  })
})
