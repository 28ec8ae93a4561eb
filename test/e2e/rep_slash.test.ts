/**
 * Stake in the live market, on three real libp2p nodes on loopback (one
 * process, the default services). Two AVM providers bond stake with
 * STAKE_LOCK; CFPs are worth more than `reputation.stake.freeValue`, so the
 * auction needs their bond, which their nodes attest with every bid. The
 * cheap one wins and never returns a result: the requester refunds at the
 * result deadline, reports the timeout, and after the grace period sends its
 * signed award to the provider's node, which slashes the bond below the
 * minimum (blacklisted). The next CFP refuses the slashed bidder: the honest
 * one wins. The slash record verifies from its own evidence.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditAcross } from '../../src/market/index.ts'
import { verifySlash } from '../../src/reputation/index.ts'
import { connectMarket, type MarketNode as N, stakedProvider, startMarketNode } from './market_helpers.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'

const PROVIDER = stakedProvider('staked-job', '"done"')

const STAKE = {
  'reputation.stake.freeValue': 10,
  'reputation.stake.minimum': 100,
  'reputation.stake.deadlineGraceMs': 300,
}

const start = (cleanup: Cleanup, root: string) => startMarketNode(cleanup, root, STAKE)

describe('stake and slashing in the live market', () => {
  const cleanup = new Cleanup()
  let A: N
  let B: N
  let C: N
  let bad: string
  let good: string

  beforeAll(async () => {
    const dir = tempDir(cleanup, 'swarmd-slash-')
    A = await start(cleanup, join(dir, 'a'))
    B = await start(cleanup, join(dir, 'b'))
    C = await start(cleanup, join(dir, 'c'))
    bad = (
      await B.agents.deploy({
        name: 'bad',
        source: PROVIDER,
        balance: 200,
        inputs: { bond: 110, price: 5, honest: false },
      })
    ).id
    good = (
      await C.agents.deploy({
        name: 'good',
        source: PROVIDER,
        balance: 200,
        inputs: { bond: 150, price: 20, honest: true },
      })
    ).id
    await connectMarket(A, [B, C], 'staked-job', false)
    await waitFor(async () => (await B.rep.stake.state(bad)).bonded === 110, 30_000)
    await waitFor(async () => (await C.rep.stake.state(good)).bonded === 150, 30_000)
    await A.market.mint(A.market.nodeAgent!, 1000, 'test faucet')
  }, 180_000)
  afterAll(() => cleanup.run())

  const auction = async () => {
    const { cfpId } = await A.market.issueCfp({
      capability: 'staked-job',
      units: 1,
      reserve: 60,
      deadlineMs: 60_000,
      resultTimeoutMs: 1500,
      payload: 'x',
    })
    await waitFor(async () => (await A.market.house.get(cfpId))?.bidCount === 2, 30_000)
    await A.market.close(cfpId)
    return (await A.market.waitSettled(cfpId, 30_000))!
  }

  it('a provider that misses its deadline is refunded against, slashed at its node, and stops winning', async () => {
    const r1 = await auction()
    expect(r1.awards).toHaveLength(1)
    expect(r1.awards[0]!.award.winner).toBe(bad) // cheapest, and bonded above the CFP's requirement
    expect(r1.awards[0]!.status).toBe('refunded')
    // the claim reaches B after the grace period; B slashes below the minimum
    await waitFor(async () => (await B.rep.stake.state(bad)).blacklisted, 30_000)
    const slashes = await B.rep.stake.slashes(bad)
    expect(slashes).toHaveLength(1)
    const s = slashes[0]!
    expect(s.victim).toBe(A.market.nodeAgent)
    expect(s.claim).toBe(20) // the VCG payment the award promised
    expect(verifySlash(s)).toEqual({ ok: true })
    expect((await B.rep.stake.state(bad)).bonded).toBeLessThan(100)

    // Next CFP: the slashed bidder's node attests its blacklisting with the bid; the rule refuses it.
    const r2 = await auction()
    expect(r2.dropped?.map((d) => d.bidder)).toContain(bad)
    expect(r2.awards[0]!.award.winner).toBe(good)
    expect(r2.awards[0]!.status).toBe('paid')

    // Reputation: A's timeout report counts against the bad provider.
    A.rep.recompute()
    expect(A.rep.trustOf(bad).distrust).toBeGreaterThan(A.rep.trustOf(good).distrust)
    const reports = await Promise.all([A, B, C].map((n) => n.market.ledger.audit()))
    for (const r of reports) expect(r.problems).toEqual([])
    expect(auditAcross(reports).ok).toBe(true)
  }, 120_000)
})
