import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv } from '../../../src/common/index.ts'
import {
  type AgentSigner,
  AuctionHouse,
  type Award,
  answerCfp,
  createCfp,
  Ledger,
  linear,
  Negotiator,
  type Preferences,
  resultFor,
  runNegotiation,
  verifyAward,
} from '../../../src/market/index.ts'
import { providers, requester as req } from './fixtures.ts'

const requester: AgentSigner = { id: req.id, secretKey: req.sk }
const [pa, pb] = providers.map((p) => ({ id: p.id, secretKey: p.sk })) as [AgentSigner, AgentSigner]

async function world() {
  const clock = new ManualClock(50_000)
  const ledger = new Ledger({ store: new MemoryKv(), clock, node: 'A' })
  await ledger.mint(requester.id, 500, 'genesis')
  const house = new AuctionHouse({
    ledger,
    clock,
    keyFor: (id) => (id === requester.id ? requester.secretKey : undefined),
    isLocal: () => true,
    negotiationWindowMs: 2_000,
  })
  return { clock, ledger, house }
}

// Provider cost functions: a charges 30/unit, b 45/unit; both decline other capabilities.
const handler = (perUnit: number) => (cfp: { capability: string; units: number }) =>
  cfp.capability === 'image-ocr' ? [{ units: 1, price: perUnit }] : undefined

describe('a CFP from issue to payment', () => {
  it('requester issues, providers bid through their handlers, the winner delivers and is paid', async () => {
    const { clock, ledger, house } = await world()
    const cfp = createCfp(
      requester,
      { id: 'job-1', capability: 'image-ocr', payload: { page: 1 }, units: 1, reserve: 100 },
      clock.now(),
    )
    await house.open(cfp)
    const wire = JSON.parse(JSON.stringify(cfp))
    for (const [p, cost] of [
      [pa, 30],
      [pb, 45],
    ] as const) {
      const bid = await answerCfp(wire, p, handler(cost), clock.now())
      await house.bid(JSON.parse(JSON.stringify(bid)))
    }
    expect(await answerCfp(wire, pa, () => undefined, clock.now())).toBeUndefined() // declines
    expect(await answerCfp(wire, requester, handler(1), clock.now())).toBeUndefined() // its own CFP
    await expect(answerCfp(wire, pa, () => [{ units: 2, price: 5 }], clock.now())).rejects.toMatchObject({
      code: 'MARKET_BAD_BID',
    })
    clock.advance(2_000)
    const [ev] = await house.tick()
    const award = (ev as { awards: Award[] }).awards[0]!
    expect(award).toMatchObject({ winner: pa.id, price: 30, payment: 45 })
    expect(() => resultFor(award, pb, { ok: true, output: 'x' }, clock.now())).toThrow(/award is for/)
    const result = resultFor(
      JSON.parse(JSON.stringify(award)),
      pa,
      { ok: true, output: { text: 'hello' } },
      clock.now(),
    )
    expect(await house.result(result)).toMatchObject([{ type: 'paid', amount: 45 }])
    expect(await ledger.balance(pa.id)).toBe(45)
    expect(await ledger.balance(requester.id)).toBe(455)
    expect((await ledger.audit()).ok).toBe(true)
  })
})

describe('negotiated awards', () => {
  const buyer: Preferences = {
    price: { best: 20, worst: 100 },
    deadlineMs: { best: 1_000, worst: 20_000 },
    upfrontPct: { best: 0, worst: 50 },
    quality: { standard: 0, premium: 0.6, enterprise: 1 },
    weights: { price: 0.7, deadlineMs: 0.1, quality: 0.1, upfrontPct: 0.1 },
    reservation: 0.2,
  }
  const seller: Preferences = {
    price: { best: 90, worst: 30 },
    deadlineMs: { best: 20_000, worst: 2_000 },
    upfrontPct: { best: 50, worst: 0 },
    quality: { standard: 1, premium: 0.5, enterprise: 0 },
    weights: { price: 0.7, deadlineMs: 0.1, quality: 0.1, upfrontPct: 0.1 },
    reservation: 0.2,
  }

  async function cleared() {
    const w = await world()
    const cfp = createCfp(
      requester,
      { id: 'job-2', capability: 'image-ocr', payload: null, units: 1, reserve: 100, negotiation: true },
      w.clock.now(),
    )
    await w.house.open(cfp)
    await w.house.bid(await answerCfp(cfp, pa, handler(30), w.clock.now()))
    await w.house.bid(await answerCfp(cfp, pb, handler(45), w.clock.now()))
    w.clock.advance(2_000)
    return w
  }

  it('clears, negotiates with the winner, then awards and pays the agreed terms', async () => {
    const { clock, ledger, house } = await cleared()
    const [ev] = await house.tick()
    expect(ev).toMatchObject({ type: 'cleared', winners: [{ winner: pa.id, price: 30, payment: 45 }] })
    expect(await ledger.escrows()).toEqual([]) // nothing locked while negotiating
    const common = {
      negotiationId: 'job-2/neg',
      maxRounds: 10,
      deadline: clock.now() + 1_500,
      clock,
      cfpId: 'job-2',
    }
    const me = new Negotiator({
      ...common,
      self: requester,
      peer: pa.id,
      preferences: buyer,
      strategy: linear(),
    })
    const them = new Negotiator({
      ...common,
      self: pa,
      peer: requester.id,
      preferences: seller,
      strategy: linear(),
    })
    const r = runNegotiation(me, them, clock, 50)
    expect(r.opener).toBe('agreed')
    const terms = r.agreement!
    await expect(house.award('job-2', { [pa.id]: { ...terms, price: 101 } })).rejects.toMatchObject({
      code: 'LEDGER_BAD_AMOUNT',
    })
    const [aw] = await house.award('job-2', { [pa.id]: terms })
    const award = (aw as { awards: Award[] }).awards[0]!
    expect(verifyAward(award, { winner: pa.id })).toMatchObject({ payment: terms.price, terms })
    expect(award.resultDeadline).toBe(clock.now() + terms.deadlineMs)
    expect(await house.award('job-2')).toEqual([]) // already awarded
    await house.result(resultFor(award, pa, { ok: true, output: 1 }, clock.now()))
    expect(await ledger.balance(pa.id)).toBe(terms.price)
    expect(await ledger.balance(requester.id)).toBe(500 - terms.price)
    expect((await ledger.audit()).ok).toBe(true)
  })

  it('awards the mechanism terms when the negotiation window passes', async () => {
    const { clock, house } = await cleared()
    await house.tick()
    clock.advance(1_999)
    expect(await house.tick()).toEqual([])
    clock.advance(1)
    expect(await house.tick()).toMatchObject([{ type: 'awarded', awards: [{ winner: pa.id, payment: 45 }] }])
  })

  it('a requester restarted while negotiating can cancel without moving credits', async () => {
    const { ledger, house } = await cleared()
    await house.tick()
    expect(await house.recover('cancel')).toMatchObject([{ type: 'cancelled', cfpId: 'job-2' }])
    expect(await ledger.balance(requester.id)).toBe(500)
  })
})
