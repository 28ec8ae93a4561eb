import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv } from '../../../src/common/index.ts'
import {
  AuctionHouse,
  acceptReceipt,
  auditAcross,
  type BidScorer,
  Ledger,
  MarketError,
  type Receipt,
  signResult,
} from '../../../src/market/index.ts'
import { FailingKv } from './failing-kv.ts'
import { makeBid, makeCfp, providers, requester } from './fixtures.ts'

const [a, b, c] = providers as [(typeof providers)[0], (typeof providers)[0], (typeof providers)[0]]

async function setup(
  opts: { local?: boolean; store?: MemoryKv | FailingKv; scorer?: BidScorer; mint?: number } = {},
) {
  const clock = new ManualClock(10_000)
  const store = opts.store ?? new MemoryKv()
  const ledger = new Ledger({ store: store as MemoryKv, clock, node: 'A' })
  if (opts.mint !== 0) await ledger.mint(requester.id, opts.mint ?? 1_000, 'genesis', { opId: 'genesis' })
  const mk = () =>
    new AuctionHouse({
      ledger: new Ledger({ store: store as MemoryKv, clock, node: 'A' }),
      clock,
      keyFor: (id) => (id === requester.id ? requester.sk : undefined),
      isLocal: () => opts.local ?? true,
      scorer: opts.scorer,
      node: 'A',
    })
  return { clock, store, ledger, house: mk(), restart: mk }
}
const result = (p: typeof a, escrowId: string, ok = true, cfpId = 'cfp-1') =>
  signResult(
    {
      cfpId,
      worker: p.id,
      requester: requester.id,
      escrowId,
      ok,
      output: { text: 'done' },
      issuedAt: 12_000,
    },
    p.sk,
  )

describe('auction state machine', () => {
  it('open → bids → cleared at the deadline (escrow locked) → result accepted → paid once', async () => {
    const { clock, ledger, house } = await setup()
    await house.open(makeCfp())
    await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
    await house.bid(makeBid(b, [{ units: 1, price: 60 }]))
    await house.bid(makeBid(c, [{ units: 1, price: 80 }]))
    await expect(house.bid(makeBid(c, [{ units: 1, price: 70 }]))).rejects.toThrow(/already bid/)
    clock.set(10_999)
    expect(await house.tick()).toEqual([]) // still collecting
    clock.set(11_000)
    const [ev] = await house.tick()
    expect(ev).toMatchObject({ type: 'awarded', cfpId: 'cfp-1' })
    const award = ev!.type === 'awarded' ? ev!.awards[0]! : undefined
    expect(award).toMatchObject({ winner: a.id, price: 40, payment: 60, resultDeadline: 16_000 })
    // The whole budget (reserve × units) is locked; the payment is released, the rest refunded.
    expect(await ledger.balance(requester.id)).toBe(900)
    await expect(house.bid(makeBid(providers[3]!, [{ units: 1, price: 1 }]))).rejects.toMatchObject({
      code: 'MARKET_EXPIRED',
    })
    clock.set(12_000)
    const paid = await house.result(result(a, award!.escrowId))
    expect(paid).toEqual([
      {
        type: 'paid',
        cfpId: 'cfp-1',
        escrowId: award!.escrowId,
        winner: a.id,
        amount: 60,
        receipt: undefined,
      },
    ])
    expect(await house.result(result(a, award!.escrowId))).toEqual([]) // repeated result: no second payment
    expect(await ledger.balance(a.id)).toBe(60)
    expect(await ledger.balance(requester.id)).toBe(940)
    expect((await house.get('cfp-1'))!.phase).toBe('done')
    expect(await house.list({ active: true })).toEqual([])
    expect((await ledger.audit()).ok).toBe(true)
  })

  it('refunds on a failure report, on timeout and on a late result', async () => {
    const { clock, ledger, house } = await setup()
    await house.open(makeCfp({ units: 3 }))
    await house.bid(makeBid(a, [{ units: 1, price: 10 }]))
    await house.bid(makeBid(b, [{ units: 1, price: 20 }]))
    await house.bid(makeBid(c, [{ units: 1, price: 30 }]))
    clock.set(11_000)
    await house.tick()
    const rec = (await house.get('cfp-1'))!
    expect(rec.awards.map((x) => x.award.payment)).toEqual([100, 100, 100]) // no 4th seller: each is paid the reserve
    expect(await ledger.balance(requester.id)).toBe(700)
    const esc = (p: typeof a) => rec.awards.find((x) => x.award.winner === p.id)!.award.escrowId
    const [ea, eb] = [esc(a), esc(b)]
    clock.set(12_000)
    expect(await house.result(result(a, ea, false))).toMatchObject([
      { type: 'refunded', reason: 'worker reported failure' },
    ])
    expect(await house.result(result(b, eb), () => false)).toMatchObject([
      { type: 'refunded', reason: 'result rejected by the requester' },
    ])
    clock.set(16_000)
    expect(await house.tick()).toMatchObject([
      { type: 'refunded', winner: c.id, reason: 'timeout: no result by the deadline' },
    ])
    expect(await ledger.balance(requester.id)).toBe(1_000)
    expect((await house.get('cfp-1'))!.phase).toBe('done')
    expect((await ledger.audit()).ok).toBe(true)
  })

  it('pays a winner on another node by a signed receipt; the two-node audit balances', async () => {
    const { clock, ledger, house } = await setup({ local: false })
    const nodeB = new Ledger({ store: new MemoryKv(), clock, node: 'B' })
    await house.open(makeCfp())
    await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
    clock.set(11_000)
    const [ev] = await house.tick()
    const escrowId = ev!.type === 'awarded' ? ev!.awards[0]!.escrowId : ''
    const [paid] = await house.result(result(a, escrowId))
    const receipt = (paid as { receipt: Receipt }).receipt
    expect(receipt).toMatchObject({ from: requester.id, to: a.id, amount: 100 })
    expect(auditAcross([await ledger.audit(), await nodeB.audit()])).toMatchObject({
      ok: true,
      inFlight: 100,
    })
    await acceptReceipt(nodeB, receipt, { to: a.id, amount: 100 })
    await expect(acceptReceipt(nodeB, receipt)).rejects.toMatchObject({ code: 'LEDGER_RECEIPT_REPLAY' })
    expect(await nodeB.balance(a.id)).toBe(100)
    expect(auditAcross([await ledger.audit(), await nodeB.audit()])).toMatchObject({
      ok: true,
      inFlight: 0,
      minted: 1_000,
    })
  })

  it('applies the reputation hook before clearing', async () => {
    // c is refused; b gets a 15-credit surcharge. Adjusted prices: a 40, b 35 + 15 = 50.
    const scorer: BidScorer = (bid, ctx) =>
      bid.bidder === c.id
        ? { admit: false, reason: 'blacklisted' }
        : bid.bidder === b.id
          ? { admit: true, adjustedPrice: ctx.offer.price + 15, reason: 'low trust' }
          : { admit: true, reason: 'ok' }
    const { clock, house } = await setup({ scorer })
    await house.open(makeCfp())
    await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
    await house.bid(makeBid(b, [{ units: 1, price: 35 }]))
    await house.bid(makeBid(c, [{ units: 1, price: 1 }]))
    clock.set(11_000)
    const [ev] = await house.tick()
    // a wins against b's adjusted 50 and is paid 50.
    expect(ev).toMatchObject({ type: 'awarded', awards: [{ winner: a.id, price: 40, payment: 50 }] })
    expect((await house.get('cfp-1'))!.dropped).toEqual([{ bidder: c.id, reason: 'blacklisted' }])
  })

  it('ends with no winner when nothing is below the reserve, and cancels when the budget is gone', async () => {
    const { clock, ledger, house } = await setup()
    await house.open(makeCfp())
    await house.bid(makeBid(a, [{ units: 1, price: 150 }]))
    clock.set(11_000)
    expect(await house.tick()).toEqual([
      { type: 'no-winner', cfpId: 'cfp-1', reason: 'no offer below the reserve' },
    ])
    await house.open(makeCfp({ id: 'cfp-2', issuedAt: 11_000 }))
    await house.bid(makeBid(a, [{ units: 1, price: 50 }], 'cfp-2'))
    await ledger.transfer(requester.id, b.id, 950) // spent elsewhere meanwhile
    clock.set(12_000)
    expect(await house.tick()).toMatchObject([{ type: 'cancelled', cfpId: 'cfp-2' }])
    expect((await ledger.audit()).ok).toBe(true)
  })
})

describe('tick isolation', () => {
  it('a failing auction is reported and does not hold up the others', async () => {
    const scorer: BidScorer = (bid) => {
      if (bid.cfpId === 'bad') throw new MarketError('MARKET_BAD_STATE', 'reputation service unavailable')
      return { admit: true, reason: 'ok' }
    }
    const { clock, house } = await setup({ scorer })
    await house.open(makeCfp({ id: 'bad' }))
    await house.open(makeCfp({ id: 'good' }))
    await house.bid(makeBid(a, [{ units: 1, price: 40 }], 'bad'))
    await house.bid(makeBid(a, [{ units: 1, price: 40 }], 'good'))
    clock.set(11_000)
    const events = await house.tick()
    expect(events).toContainEqual({
      type: 'error',
      cfpId: 'bad',
      code: 'MARKET_BAD_STATE',
      message: 'reputation service unavailable',
    })
    expect(events).toContainEqual(expect.objectContaining({ type: 'awarded', cfpId: 'good' }))
    expect((await house.get('bad'))!.phase).toBe('open') // retried on the next tick
  })
})

describe('requester restarts', () => {
  it('resume: a restarted requester clears the auction it had open, with the stored bids', async () => {
    const { clock, house, restart, ledger } = await setup()
    await house.open(makeCfp())
    await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
    await house.bid(makeBid(b, [{ units: 1, price: 70 }]))
    clock.set(30_000) // down past the deadline
    const again = restart()
    const ev = await again.recover('resume')
    expect(ev).toMatchObject([
      { type: 'awarded', awards: [{ winner: a.id, payment: 70, resultDeadline: 35_000 }] },
    ])
    expect(await again.recover('resume')).toEqual([]) // nothing twice
    expect(await ledger.balance(requester.id)).toBe(900)
  })

  it('cancel: a restarted requester cancels open auctions, moving no credits', async () => {
    const { house, restart, ledger } = await setup()
    await house.open(makeCfp())
    await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
    expect(await restart().recover('cancel')).toEqual([
      { type: 'cancelled', cfpId: 'cfp-1', reason: 'requester restarted' },
    ])
    expect(await ledger.balance(requester.id)).toBe(1_000)
  })

  it('after an award, the restarted requester pays once or refunds at the deadline', async () => {
    const { clock, house, restart, ledger } = await setup()
    await house.open(makeCfp({ units: 2 }))
    await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
    await house.bid(makeBid(b, [{ units: 1, price: 45 }]))
    clock.set(11_000)
    await house.tick()
    const ea = (await house.get('cfp-1'))!.awards.find((x) => x.award.winner === a.id)!.award.escrowId
    const h2 = restart()
    expect(await h2.recover('cancel')).toEqual([]) // awarded auctions continue
    await h2.result(result(a, ea))
    clock.set(16_000)
    const h3 = restart()
    expect(await h3.recover('resume')).toMatchObject([{ type: 'refunded', winner: b.id }])
    expect(await h3.tick()).toEqual([])
    expect(await ledger.balance(a.id)).toBe(100)
    expect(await ledger.balance(requester.id)).toBe(900)
    expect((await ledger.audit()).ok).toBe(true)
  })

  it('a crash during clearing leaves the auction open with no escrow; the retry awards exactly once', async () => {
    const store = new FailingKv()
    const { clock, house, restart, ledger } = await setup({ store })
    await house.open(makeCfp())
    await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
    clock.set(11_000)
    store.failAt = store.batches + 1
    await expect(house.tick()).rejects.toThrow(/injected crash/)
    expect((await house.get('cfp-1'))!.phase).toBe('open')
    expect(await ledger.escrows()).toEqual([])
    expect(await ledger.balance(requester.id)).toBe(1_000)
    const h2 = restart()
    expect(await h2.recover('resume')).toMatchObject([{ type: 'awarded' }])
    expect(await ledger.balance(requester.id)).toBe(900)
    expect((await ledger.escrows('open')).length).toBe(1)
  })

  it('a crash while paying leaves the escrow locked; the retried result pays exactly once', async () => {
    for (const mode of ['before', 'after'] as const) {
      const store = new FailingKv(Number.POSITIVE_INFINITY, mode)
      const { clock, house, restart, ledger } = await setup({ store })
      await house.open(makeCfp())
      await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
      clock.set(11_000)
      await house.tick()
      const [esc] = (await house.get('cfp-1'))!.awards.map((x) => x.award.escrowId) as [string]
      store.failAt = store.batches + 1
      await expect(house.result(result(a, esc))).rejects.toThrow(/injected crash/)
      const h2 = restart()
      const again = await h2.result(result(a, esc))
      expect(again.length).toBe(mode === 'before' ? 1 : 0) // 'after': it had already landed
      expect(await ledger.balance(a.id)).toBe(100)
      expect(await ledger.balance(requester.id)).toBe(900)
      expect((await ledger.audit()).ok).toBe(true)
    }
  })
})
