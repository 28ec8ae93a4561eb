/**
 * Negotiated awards on three real libp2p nodes on loopback (one process, the
 * default services): the node-owned agent of A issues a CFP for 2 units with
 * `negotiation: true`; a JS provider on B (ask 10, linear strategy, floor 20)
 * and an AVM agent on C (ask 15; counter-proposes once, then accepts) both
 * win provisionally (VCG would pay each the reserve, 50). A negotiates with
 * each over sealed `market.negotiate` messages, awards the agreed prices, the
 * winners run the task and are paid by receipt exactly the agreed price; the
 * ledgers audit on every node and across nodes. Then the same through the
 * CLI (`swarmd cfp --negotiate --wait`, `market show`).
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AuctionRecord, auditAcross } from '../../src/market/index.ts'
import {
  connectMarket,
  marketCli as cli,
  type MarketNode as N,
  startMarketNode as start,
} from './market_helpers.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'

/** Bids 15 for one unit; counter-proposes the requester's opening + 20, accepts whatever comes next. */
const PROVIDER = `
.capability upper
:loop
  RECV_SWARM_MSG 600000 -> m
  JUMP_IF_FALSE m, loop
  IF m.topic == "cfp" THEN
    AUCTION_BID m.data.cfp_id, [{units: 1, price: 15}] -> ok
  ENDIF
  IF m.topic == "negotiate" AND m.data.act == "propose" THEN
    IF m.data.round == 1 THEN
      SET counter = m.data.terms.price + 20
      NEGOTIATE m.data.negotiation_id, "propose", {price: counter} -> ok
      LOG "countered", counter, ok
    ELSE
      NEGOTIATE m.data.negotiation_id, "accept" -> ok
      LOG "accepted", m.data.terms.price, ok
    ENDIF
  ENDIF
  IF m.topic == "task" THEN
    UPPER m.data.payload -> up
    TASK_RESULT m.data.escrow_id, up -> sent
  ENDIF
  JUMP loop
`

describe('negotiated awards on three nodes', () => {
  const cleanup = new Cleanup()
  let A: N
  let B: N
  let C: N
  let avm: string

  const audits = () => Promise.all([A, B, C].map((n) => n.market.ledger.audit()))
  /** Clear as soon as both bids are in (a slow machine cannot make a bid miss the window). */
  const closeWhenBid = async (cfpId: string) => {
    await waitFor(async () => ((await A.market.house.get(cfpId))?.bidCount ?? 0) >= 2, 60_000)
    await A.market.close(cfpId)
  }

  beforeAll(async () => {
    const dir = tempDir(cleanup, 'swarmd-mneg-')
    A = await start(
      cleanup,
      join(dir, 'a'),
      { 'market.negotiation.strategy': 'linear', 'market.negotiation.windowMs': 60_000 },
      { daemonInfo: true },
    )
    B = await start(cleanup, join(dir, 'b'), {
      'market.providers': [
        {
          capability: 'upper',
          cost: 10,
          units: 1,
          markup: 0,
          task: 'uppercase',
          negotiation: { strategy: 'linear', minPrice: 20 },
        },
      ],
    })
    C = await start(cleanup, join(dir, 'c'), {})
    avm = (await C.agents.deploy({ name: 'haggler', source: PROVIDER })).id
    await connectMarket(A, [B, C], 'upper')
    await A.market.mint(A.agent, 1_000, 'test')
  }, 180_000)
  afterAll(() => cleanup.run())

  it('negotiates with a JS provider and an AVM agent, awards and pays the agreed prices', async () => {
    const aBefore = await A.market.ledger.balance(A.agent)
    const bBefore = await B.market.ledger.balance(B.agent)
    const { cfpId } = await A.market.issueCfp({
      capability: 'upper',
      units: 2,
      reserve: 50,
      deadlineMs: 60_000,
      payload: 'haggle',
      negotiation: true,
    })
    await closeWhenBid(cfpId)
    const rec = (await A.market.waitSettled(cfpId, 90_000)) as AuctionRecord
    expect(rec.phase).toBe('done')
    expect(rec.awards).toHaveLength(2)
    const byWinner = new Map(rec.awards.map((a) => [a.award.winner, a]))
    const b = byWinner.get(B.agent)!
    const c = byWinner.get(avm)!
    for (const a of [b, c]) {
      expect(a.status).toBe('paid')
      expect(a.output).toBe('HAGGLE')
      expect(a.award.terms).toBeDefined()
      expect(a.award.payment).toBe(a.award.terms!.price) // paid the agreed price, not VCG's 50
    }
    expect(b.award.price).toBe(10)
    expect(c.award.price).toBe(15)
    // B (linear, floor 20) and A (linear, up to 50) meet in between.
    expect(b.award.payment).toBeGreaterThanOrEqual(20)
    expect(b.award.payment).toBeLessThan(50)
    // C countered 15 + 20 = 35 and then took A's next offer, which lies between its ask and that counter.
    const neg = (await A.market.negotiationsOf(cfpId))!
    const withC = neg.parties.find((p) => p.winner === avm)!
    expect(withC.snapshot.thread.map((m) => [m.from === avm ? 'C' : 'A', m.act, m.terms?.price])).toEqual([
      ['A', 'propose', 15],
      ['C', 'propose', 35],
      ['A', 'propose', c.award.payment],
      ['C', 'accept', c.award.payment],
    ])
    expect(c.award.payment).toBeGreaterThan(15)
    expect(c.award.payment).toBeLessThan(35)
    expect(neg.awarded?.agreed.sort()).toEqual([B.agent, avm].sort())
    // Settled by receipt on the winners' nodes, exactly once.
    const paid = b.award.payment + c.award.payment
    await waitFor(async () => (await B.market.ledger.balance(B.agent)) === bBefore + b.award.payment, 30_000)
    await waitFor(async () => (await C.market.ledger.balance(avm)) === c.award.payment, 30_000)
    expect(await A.market.ledger.balance(A.agent)).toBe(aBefore - paid)
    const jobs = await C.market.jobsFor(cfpId)
    expect(jobs[0]).toMatchObject({ status: 'done', paid: true, award: { payment: c.award.payment } })
    const reports = await audits()
    for (const r of reports) expect(r.problems).toEqual([])
    expect(auditAcross(reports).ok).toBe(true)
  }, 150_000)

  it('from the CLI: cfp --negotiate --wait, then market show', async () => {
    const run = cli(
      A.root,
      'cfp',
      'upper',
      '--units',
      '2',
      '--reserve',
      '50',
      '--deadline',
      '60000',
      '--payload',
      '"via the cli"',
      '--negotiate',
      '--wait',
      '--json',
    )
    // The CLI waits for the whole auction; close it as soon as both bids are in.
    let cfpId: string | undefined
    await waitFor(async () => {
      const open = (await A.market.house.list({ active: true })).find(
        (r) => r.phase === 'open' && r.cfp.payload === 'via the cli',
      )
      cfpId = open?.cfp.id
      return cfpId !== undefined
    }, 60_000)
    await closeWhenBid(cfpId!)
    const r = await run
    expect(r.code).toBe(0)
    const res = JSON.parse(r.out) as { cfpId: string; auction: AuctionRecord }
    expect(res.cfpId).toBe(cfpId)
    expect(res.auction.cfp.negotiation).toBe(true)
    expect(res.auction.awards).toHaveLength(2)
    for (const a of res.auction.awards) {
      expect(a.status).toBe('paid')
      expect(a.award.payment).toBe(a.award.terms!.price)
    }
    const show = await cli(A.root, 'market', 'show', res.cfpId)
    expect(show.code).toBe(0)
    expect(show.out).toContain(`negotiated ${avm.slice(0, 12)}…: price`)
    expect(show.out).toMatch(
      /negotiation with \S+: agreed\n {2}1 requester propose 15\n {2}2 winner propose 35/,
    )
    const reports = await audits()
    for (const rep of reports) expect(rep.problems).toEqual([])
    expect(auditAcross(reports).ok).toBe(true)
  }, 150_000)
})
