import { describe, expect, it } from 'vitest'
import { KvTransaction, ManualClock, MemoryKv } from '../../../src/common/index.ts'
import {
  AWARD_DOMAIN,
  bidScorer,
  KvFunds,
  makeReport,
  ReportIntake,
  StakeLedger,
  signEnvelope,
  TrustEngine,
  verifySlash,
  weightedSecondPrice,
} from '../../../src/reputation/index.ts'
import { agentKey } from './helpers.ts'

// One node's whole loop, in process: auction → award → outcome → signed report through the
// gossip intake → trust; missed deadline → slash. An agent that fails loses stake and trust and
// stops winning; the agent that delivers takes over.
describe('reputation pipeline', () => {
  it('a failing agent loses trust and stake and stops winning', async () => {
    const requester = agentKey(1)
    const good = agentKey(2)
    const bad = agentKey(3)
    const clock = new ManualClock(1_000_000)
    const root = new MemoryKv()
    const funds = new KvFunds(root)
    const tx = new KvTransaction(root)
    for (const a of [good, bad]) await funds.credit(a.id, 1000, tx)
    await tx.commit()
    const stake = new StakeLedger({ store: root, funds, clock, deadlineGraceMs: 0 })
    await stake.bond(good.id, 200)
    await stake.bond(bad.id, 200)
    const awarded = new Map<string, [string, string]>()
    const intake = new ReportIntake({
      clock,
      store: root.sublevel('rep/'),
      isTaskKnown: (t, r, p) => {
        const a = awarded.get(t)
        return a === undefined ? undefined : a[0] === r && a[1] === p
      },
    })
    const trust = new TrustEngine({ preTrusted: [requester.id] })
    intake.onAccepted((r, co, up) => trust.addReport(r, co, up))
    const score = bidScorer()
    const keys = new Map([good, bad].map((k) => [k.id, k]))
    const winners: string[] = []

    for (let round = 0; round < 4; round++) {
      clock.advance(60_000)
      const bids = []
      for (const [bidder, price] of [
        [good.id, 80],
        [bad.id, 30],
      ] as const) {
        const acc = await stake.account(bidder)
        const s = score(
          { bidder, price },
          {
            cfpValue: 200,
            requiredStake: stake.requiredStake(200),
            standing: () => ({
              relativeTrust: trust.relativeTrust(bidder),
              relativeDistrust: trust.relativeDistrust(bidder),
              bonded: acc.bonded,
              bondAgeMs: clock.now() - (acc.bondedSince ?? clock.now()),
              blacklisted: acc.blacklisted,
            }),
          },
        )
        if (s.admit) bids.push({ bidder, price, weight: s.weight })
      }
      const award = weightedSecondPrice(bids, 200)!
      winners.push(award.winner === good.id ? 'good' : 'bad')
      const taskId = `task-${round}`
      awarded.set(taskId, [requester.id, award.winner])
      const delivered = award.winner === good.id
      const body = {
        taskId,
        requester: requester.id,
        provider: award.winner,
        outcome: delivered ? ('success' as const) : ('timeout' as const),
        latencyMs: 100,
        rating: delivered ? 1 : 0,
        price: award.payment,
        issuedAt: clock.now(),
      }
      // the provider co-signs a success; it refuses to co-sign its own timeout
      const report = makeReport(body, requester.sk, delivered ? keys.get(award.winner)!.sk : undefined)
      expect((await intake.receive(JSON.parse(JSON.stringify(report)), 'peer-x')).status).toBe('accepted')
      if (!delivered) {
        const signed = signEnvelope(
          AWARD_DOMAIN,
          {
            taskId,
            requester: requester.id,
            provider: award.winner,
            price: award.payment,
            deadline: clock.now() - 1,
          },
          requester.sk,
        )
        expect(verifySlash(await stake.slashMissedDeadline(signed))).toEqual({ ok: true })
      }
      trust.compute(clock.now())
    }

    expect(winners).toEqual(['bad', 'good', 'good', 'good'])
    expect(await stake.bonded(bad.id)).toBeLessThan(200)
    expect(trust.trust(bad.id)).toBe(0)
    expect(trust.distrust(bad.id)).toBeGreaterThan(0)
    expect(trust.trust(good.id)).toBeGreaterThan(0)
    expect(await stake.bonded(good.id)).toBe(200)
  })
})
