import { describe, expect, it } from 'vitest'
import {
  type BidContext,
  type BidderStanding,
  bidScorer,
  routingReward,
  trustWeight,
  weightedSecondPrice,
} from '../../../src/reputation/index.ts'

const standings: Record<string, BidderStanding> = {
  good: { relativeTrust: 3, bonded: 500, blacklisted: false },
  fresh: { relativeTrust: 0, bonded: 200, blacklisted: false },
  poor: { relativeTrust: 0, bonded: 10, blacklisted: false },
  banned: { relativeTrust: 5, bonded: 900, blacklisted: true },
}
const ctx: BidContext = { cfpValue: 1000, requiredStake: 100, standing: (b) => standings[b]! }

describe('bid scoring', () => {
  it('filters blacklisted and under-staked bidders, admits newcomers at the floor weight', () => {
    const score = bidScorer()
    expect(score({ bidder: 'banned', price: 1 }, ctx)).toMatchObject({ admit: false, reason: 'blacklisted' })
    expect(score({ bidder: 'poor', price: 1 }, ctx)).toMatchObject({ admit: false })
    expect(score({ bidder: 'fresh', price: 20 }, ctx)).toMatchObject({
      admit: true,
      weight: 0.1,
      adjustedPrice: 200,
    })
    // w(3) = 1 (at or above fullTrust = 1) → 80 / 1 = 80
    expect(score({ bidder: 'good', price: 80 }, ctx)).toMatchObject({
      admit: true,
      weight: 1,
      adjustedPrice: 80,
    })
    // w(0.01) = 0.1 + 0.9·log(10)/log(1000) = 0.4; w(0.1) = 0.7
    expect(trustWeight(0.01)).toBeCloseTo(0.4, 12)
    expect(trustWeight(0.1)).toBeCloseTo(0.7, 12)
    // trusted raters reported net failures: refused even with stake
    const distrusted = {
      ...ctx,
      standing: () => ({ relativeTrust: 0.2, relativeDistrust: 0.5, bonded: 500, blacklisted: false }),
    }
    expect(score({ bidder: 'x', price: 1 }, distrusted)).toMatchObject({
      admit: false,
      reason: 'more distrust than trust',
    })
    expect(bidScorer({ newcomers: false })({ bidder: 'fresh', price: 20 }, ctx).admit).toBe(false)
  })

  it('weighted second price pays the threshold in raw credits, so shading the bid never helps', () => {
    const bids = [
      { bidder: 'a', price: 80, weight: 0.8 }, // adjusted 100
      { bidder: 'b', price: 30, weight: 0.2 }, // adjusted 150
    ]
    const res = weightedSecondPrice(bids, 200)!
    expect(res.winner).toBe('a')
    expect(res.payment).toBe(120) // 0.8 × 150
    // any bid of a's below its threshold wins and pays the same; above it a loses
    for (const p of [10, 50, 119]) {
      expect(weightedSecondPrice([{ ...bids[0]!, price: p }, bids[1]!], 200)).toMatchObject({
        winner: 'a',
        payment: 120,
      })
    }
    expect(weightedSecondPrice([{ ...bids[0]!, price: 121 }, bids[1]!], 200)!.winner).toBe('b')
    expect(weightedSecondPrice([bids[0]!], 200)!.payment).toBe(200) // alone: paid the reserve
    expect(weightedSecondPrice(bids, 20)).toBeUndefined()
  })

  it('router reward ranks success > failure > timeout and prefers fast, well-rated outcomes', () => {
    expect(routingReward('success', 0, 1)).toBe(1)
    expect(routingReward('success', 5000, 1)).toBe(0.75)
    expect(routingReward('success', 20_000, 0.5)).toBe(0.25)
    expect(routingReward('failure', 10, 1)).toBe(-0.5)
    expect(routingReward('timeout', 10, 1)).toBe(-1)
  })
})
