import { describe, expect, it } from 'vitest'
import { ManualClock, sign, toB64 } from '../../../src/common/index.ts'
import {
  boulware,
  conceder,
  linear,
  NEGOTIATE_DOMAIN,
  type NegotiationMessage,
  Negotiator,
  type Preferences,
  progress,
  runNegotiation,
  type Strategy,
  type Terms,
  termsAt,
  titForTat,
  utility,
} from '../../../src/market/index.ts'
import { agent } from './fixtures.ts'

const buyerKey = agent(21)
const sellerKey = agent(22)
const mallory = agent(23)

// The buyer wants a low price, a short deadline, high quality and nothing up front.
const buyerPrefs = (reservation = 0.3): Preferences => ({
  price: { best: 50, worst: 150 },
  deadlineMs: { best: 1_000, worst: 10_000 },
  upfrontPct: { best: 0, worst: 50 },
  quality: { standard: 0, premium: 0.6, enterprise: 1 },
  weights: { price: 0.5, deadlineMs: 0.2, quality: 0.2, upfrontPct: 0.1 },
  reservation,
})
// The seller wants the opposite, over overlapping ranges.
const sellerPrefs = (reservation = 0.3): Preferences => ({
  price: { best: 160, worst: 60 },
  deadlineMs: { best: 12_000, worst: 2_000 },
  upfrontPct: { best: 60, worst: 0 },
  quality: { standard: 1, premium: 0.5, enterprise: 0 },
  weights: { price: 0.6, deadlineMs: 0.2, quality: 0.1, upfrontPct: 0.1 },
  reservation,
})

function pair(
  opts: {
    buyer?: Strategy
    seller?: Strategy
    maxRounds?: number
    bRes?: number
    sRes?: number
    deadline?: number
    buyerAcceptable?: (t: Terms) => boolean
  } = {},
) {
  const clock = new ManualClock(0)
  const common = {
    negotiationId: 'neg-1',
    maxRounds: opts.maxRounds ?? 20,
    deadline: opts.deadline ?? 10_000,
    clock,
    cfpId: 'cfp-1',
  }
  const buyer = new Negotiator({
    ...common,
    self: { id: buyerKey.id, secretKey: buyerKey.sk },
    peer: sellerKey.id,
    preferences: buyerPrefs(opts.bRes),
    strategy: opts.buyer ?? linear(),
    acceptable: opts.buyerAcceptable,
  })
  const seller = new Negotiator({
    ...common,
    self: { id: sellerKey.id, secretKey: sellerKey.sk },
    peer: buyerKey.id,
    preferences: sellerPrefs(opts.sRes),
    strategy: opts.seller ?? linear(),
  })
  return { clock, buyer, seller }
}

describe('utility and strategies', () => {
  it('scores terms by weighted attributes', () => {
    const p = buyerPrefs()
    expect(utility({ price: 50, deadlineMs: 1_000, quality: 'enterprise', upfrontPct: 0 }, p)).toBe(1)
    expect(utility({ price: 150, deadlineMs: 10_000, quality: 'standard', upfrontPct: 50 }, p)).toBe(0)
    // price halfway (0.5 × 0.5) + best deadline 0.2 + premium 0.6 × 0.2 + best upfront 0.1
    expect(utility({ price: 100, deadlineMs: 1_000, quality: 'premium', upfrontPct: 0 }, p)).toBeCloseTo(0.67)
    expect(termsAt(p, 0)).toEqual({ price: 50, deadlineMs: 1_000, quality: 'enterprise', upfrontPct: 0 })
    expect(termsAt(p, 0.5)).toEqual({ price: 100, deadlineMs: 5_500, quality: 'premium', upfrontPct: 25 })
  })

  it('Boulware holds firm, the conceder gives ground early, linear in between', () => {
    const ctx = {
      round: 6,
      maxRounds: 11,
      now: 0,
      startedAt: 0,
      deadline: 1_000,
      reservation: 0.2,
      mine: [],
      theirs: [],
    }
    expect(progress(ctx)).toBe(0.5)
    const [b, l, c] = [boulware(), linear(), conceder()].map((s) => s.concession(ctx)) as [
      number,
      number,
      number,
    ]
    expect(b).toBeLessThan(l)
    expect(l).toBeCloseTo(0.4)
    expect(c).toBeGreaterThan(l)
    // All reach the reservation at the end, never beyond.
    const end = { ...ctx, round: 11 }
    for (const s of [boulware(), linear(), conceder()]) expect(s.concession(end)).toBeCloseTo(0.8)
  })

  it('tit-for-tat mirrors the opponent’s last concession', () => {
    const t = titForTat(0.05)
    const base = { round: 3, maxRounds: 10, now: 0, startedAt: 0, deadline: 1e9, reservation: 0.2 }
    expect(t.concession({ ...base, mine: [], theirs: [] })).toBe(0)
    expect(t.concession({ ...base, mine: [0], theirs: [0.1] })).toBeCloseTo(0.05)
    expect(t.concession({ ...base, mine: [0, 0.05], theirs: [0.1, 0.25] })).toBeCloseTo(0.2)
    expect(t.concession({ ...base, mine: [0.7], theirs: [0.1, 0.6] })).toBeCloseTo(0.8) // capped at 1 − reservation
  })
})

describe('negotiation state machine', () => {
  it('reaches an agreement both sides can accept, with a threaded signed conversation', () => {
    const { clock, buyer, seller } = pair()
    const r = runNegotiation(buyer, seller, clock)
    expect(r.opener).toBe('agreed')
    expect(r.responder).toBe('agreed')
    expect(buyer.agreement).toEqual(seller.agreement)
    expect(buyer.utilityOf(buyer.agreement!)).toBeGreaterThanOrEqual(0.3)
    expect(seller.utilityOf(seller.agreement!)).toBeGreaterThanOrEqual(0.3)
    const thread = buyer.thread
    expect(thread.length).toBe(r.messages)
    thread.forEach((m, i) => {
      expect(m.round).toBe(i + 1)
      expect(m.messageId).toBe(`neg-1#${i + 1}`)
      expect(m.inReplyTo).toBe(i === 0 ? undefined : `neg-1#${i}`)
    })
    expect(thread[thread.length - 1]!.act).toBe('accept')
  })

  it('a conceder facing Boulware agrees sooner and on terms better for the Boulware side', () => {
    const a = pair({ buyer: boulware(), seller: conceder() })
    const ra = runNegotiation(a.buyer, a.seller, a.clock)
    const b = pair({ buyer: linear(), seller: linear() })
    const rb = runNegotiation(b.buyer, b.seller, b.clock)
    expect(ra.opener).toBe('agreed')
    expect(a.buyer.utilityOf(ra.agreement!)).toBeGreaterThan(b.buyer.utilityOf(rb.agreement!))
  })

  it('tit-for-tat agrees with a linear conceder', () => {
    const { clock, buyer, seller } = pair({ buyer: titForTat(0.05), seller: linear() })
    expect(runNegotiation(buyer, seller, clock).opener).toBe('agreed')
  })

  it('ends at the round limit when the zones of agreement do not overlap', () => {
    const { clock, buyer, seller } = pair({ bRes: 0.9, sRes: 0.9, maxRounds: 6 })
    const r = runNegotiation(buyer, seller, clock)
    expect(r.messages).toBe(7) // 6 proposals, then the reply to the last can only accept or reject
    // Buyer proposes in rounds 1, 3, 5, the seller in 2, 4, 6; the buyer's 7th message must end it.
    expect(buyer.state).toBe('round-limit')
    expect(seller.state).toBe('rejected')
    expect(buyer.thread[6]!.reason).toBe('round limit reached')
  })

  it('times out at the deadline', () => {
    const { clock, buyer, seller } = pair({ bRes: 0.9, sRes: 0.9, deadline: 100 })
    const r = runNegotiation(buyer, seller, clock, 30)
    expect([r.opener, r.responder]).toContain('timeout')
    const { buyer: b2, clock: c2 } = pair()
    b2.open()
    c2.set(20_000)
    expect(b2.expire()).toMatchObject({ act: 'reject', reason: 'deadline passed' })
    expect(b2.state).toBe('timeout')
  })

  it('handles an explicit reject and refuses anything after it', () => {
    const { clock, buyer, seller } = pair({ bRes: 0.95, maxRounds: 2 })
    const m2 = seller.receive(buyer.open())!
    const m3 = buyer.receive(m2)! // round limit: the buyer (reservation 0.95) rejects
    expect(m3).toMatchObject({ act: 'reject', round: 3, inReplyTo: 'neg-1#2' })
    expect(seller.receive(m3)).toBeUndefined()
    expect(seller.state).toBe('rejected')
    expect(seller.reason).toBe('round limit reached')
    clock.advance(1)
    expect(() => seller.receive(m3)).toThrow(expect.objectContaining({ code: 'MARKET_NEGOTIATION_CLOSED' }))
  })

  it('refuses forged, misaddressed, out-of-order and replayed messages without changing state', () => {
    const { buyer, seller } = pair()
    const m1 = buyer.open()
    const before = seller.snapshot()
    expect(() => seller.receive({ ...m1, terms: { ...m1.terms!, price: 1 } })).toThrow(
      expect.objectContaining({ code: 'MARKET_BAD_SIGNATURE', action: 'penalise' }),
    )
    expect(() => seller.receive({ ...m1, from: mallory.id })).toThrow(
      expect.objectContaining({ code: 'MARKET_BAD_MESSAGE' }),
    )
    expect(() => seller.receive({ ...m1, round: 2 })).toThrow(
      expect.objectContaining({ code: 'MARKET_BAD_SIGNATURE' }),
    )
    expect(seller.snapshot()).toEqual(before)
    const m2 = seller.receive(m1)!
    expect(() => seller.receive(m1)).toThrow(expect.objectContaining({ code: 'MARKET_OUT_OF_ORDER' })) // replay
    const m3 = buyer.receive(m2)!
    expect(m3.inReplyTo).toBe(m2.messageId)
  })

  it('refuses a correctly signed accept that does not repeat my last proposal', () => {
    const { buyer } = pair()
    const m1 = buyer.open()
    const body = {
      negotiationId: 'neg-1',
      messageId: 'neg-1#2',
      inReplyTo: m1.messageId,
      round: 2,
      act: 'accept' as const,
      from: sellerKey.id,
      to: buyerKey.id,
      terms: { ...m1.terms!, price: m1.terms!.price + 50 },
      sentAt: 1,
    }
    const accept = { ...body, signature: toB64(sign(NEGOTIATE_DOMAIN, body, sellerKey.sk)) }
    expect(() => buyer.receive(accept)).toThrow(/does not repeat the terms/)
    expect(buyer.state).toBe('open')
    const honest = { ...body, terms: m1.terms }
    expect(
      buyer.receive({ ...honest, signature: toB64(sign(NEGOTIATE_DOMAIN, honest, sellerKey.sk)) }),
    ).toBeUndefined()
    expect(buyer.state).toBe('agreed')
    expect(buyer.agreement).toEqual(m1.terms)
  })

  it('restores from a snapshot and continues', () => {
    const { clock, buyer, seller } = pair()
    const m1 = buyer.open()
    const snap = JSON.parse(JSON.stringify(seller.snapshot()))
    const m2 = seller.receive(m1) as NegotiationMessage
    const restored = new Negotiator(
      {
        negotiationId: 'neg-1',
        maxRounds: 20,
        deadline: 10_000,
        clock,
        cfpId: 'cfp-1',
        self: { id: sellerKey.id, secretKey: sellerKey.sk },
        peer: buyerKey.id,
        preferences: sellerPrefs(),
        strategy: linear(),
      },
      snap,
    )
    expect(restored.receive(m1)).toEqual(m2)
  })
})

describe('hard limits and caller-chosen answers', () => {
  it('never accepts terms that fail `acceptable`, whatever their utility', () => {
    // A seller offer the buyer loves (utility 0.98), but with 10 % up front.
    const sweet: Terms = { price: 50, deadlineMs: 1_000, quality: 'enterprise', upfrontPct: 10 }
    const offer = (limit: boolean, maxRounds = 20) => {
      const { buyer, seller } = pair({
        maxRounds,
        buyerAcceptable: limit ? (t) => t.upfrontPct === 0 : undefined,
      })
      seller.take(buyer.open())
      return { buyer, reply: buyer.receive(seller.answer('propose', sweet))! }
    }
    expect(offer(false).reply).toMatchObject({ act: 'accept', terms: sweet })
    const limited = offer(true)
    expect(limited.reply.act).toBe('propose')
    expect(limited.buyer.state).toBe('open')
    // At the round limit the buyer may only accept or reject: it rejects.
    expect(offer(true, 2).reply).toMatchObject({ act: 'reject', reason: 'round limit reached' })
  })

  it('take + answer: the caller counter-proposes, accepts or rejects with the same threading', () => {
    const { buyer, seller } = pair()
    const m1 = buyer.open()
    expect(seller.take(m1)).toBeUndefined()
    expect(seller.state).toBe('open')
    expect(() => seller.answer('propose', { ...m1.terms!, price: -1 })).toThrow(/valid terms/)
    expect(() => seller.answer('accept', { ...m1.terms!, price: 1 })).toThrow(/repeat/)
    const m2 = seller.answer('propose', { ...m1.terms!, price: 140 })
    expect(m2).toMatchObject({ round: 2, inReplyTo: m1.messageId, act: 'propose' })
    expect(() => seller.answer('propose', m1.terms)).toThrow(/not my turn/) // waiting for the buyer
    const m3 = buyer.receive(m2)!
    expect(m3.act).toBe('propose') // 140 is too dear for the linear buyer this early
    seller.take(m3)
    const m4 = seller.answer('accept')
    expect(m4).toMatchObject({ act: 'accept', terms: m3.terms, round: 4 })
    expect(seller.state).toBe('agreed')
    expect(buyer.receive(m4)).toBeUndefined()
    expect(buyer.agreement).toEqual(m3.terms)
    expect(() => seller.answer('reject')).toThrow(
      expect.objectContaining({ code: 'MARKET_NEGOTIATION_CLOSED' }),
    )
  })

  it('answer refuses a proposal past the round limit and returns the timeout reject past the deadline', () => {
    const a = pair({ maxRounds: 1 })
    a.seller.take(a.buyer.open())
    expect(() =>
      a.seller.answer('propose', { price: 100, deadlineMs: 5_000, quality: 'standard', upfrontPct: 0 }),
    ).toThrow(/round limit/)
    expect(a.seller.answer('reject', undefined, 'no')).toMatchObject({ act: 'reject', reason: 'no' })
    expect(a.seller.state).toBe('rejected')
    const b = pair({ deadline: 100 })
    b.seller.take(b.buyer.open())
    b.clock.set(200)
    expect(b.seller.answer('accept')).toMatchObject({ act: 'reject', reason: 'deadline passed' })
    expect(b.seller.state).toBe('timeout')
  })
})
