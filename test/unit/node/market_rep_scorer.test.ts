import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv } from '../../../src/common/index.ts'
import { AuctionHouse, type BidScorer, Ledger } from '../../../src/market/index.ts'
import { reputationScorer } from '../../../src/node/market/reputation-scorer.ts'
import { outcomeRouteCost } from '../../../src/node/market/route-reward.ts'
import { type BidderStanding, StrangerPolicy } from '../../../src/reputation/index.ts'
import { makeBid, makeCfp, providers, requester } from '../market/fixtures.ts'

const [a, b, c] = providers as [(typeof providers)[0], (typeof providers)[0], (typeof providers)[0]]
const TRUSTED: BidderStanding = { relativeTrust: 1, relativeDistrust: 0, bonded: 0, blacklisted: false }

function fakeReputation(table: Record<string, Partial<BidderStanding>>) {
  const calls: string[] = []
  const scorer = reputationScorer({
    standing: async (id) => {
      calls.push(id)
      return { ...TRUSTED, relativeTrust: 0, ...table[id] }
    },
    // The default stake rule's shape: free up to 100 credits, then 50.
    requiredStake: (value) => (value <= 100 ? 0 : 50),
  })
  return { scorer, calls }
}

async function setup(scorer: BidScorer) {
  const clock = new ManualClock(10_000)
  const store = new MemoryKv()
  const ledger = new Ledger({ store, clock, node: 'A' })
  await ledger.mint(requester.id, 1_000, 'genesis', { opId: 'genesis' })
  const house = new AuctionHouse({
    ledger,
    clock,
    keyFor: (id) => (id === requester.id ? requester.sk : undefined),
    isLocal: () => true,
    scorer,
    node: 'A',
  })
  return { clock, house }
}

describe('reputationScorer (the market BidScorer from the reputation rule)', () => {
  it('refuses blacklisted and distrusted bidders; a trusted one wins and is paid in raw credits', async () => {
    const { scorer, calls } = fakeReputation({
      [a.id]: { relativeTrust: 1 },
      [b.id]: { relativeTrust: 0.5, relativeDistrust: 2 }, // net failures reported by trusted raters
      [c.id]: { relativeTrust: 1, blacklisted: true },
    })
    const { clock, house } = await setup(scorer)
    await house.open(makeCfp())
    await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
    await house.bid(makeBid(b, [{ units: 1, price: 10 }]))
    await house.bid(makeBid(c, [{ units: 1, price: 5 }]))
    clock.set(11_000)
    const [ev] = await house.tick()
    // a is the only admitted bid: VCG pays the reserve, in raw credits.
    expect(ev).toMatchObject({ type: 'awarded', awards: [{ winner: a.id, price: 40, payment: 100 }] })
    const dropped = (await house.get('cfp-1'))!.dropped
    expect(dropped).toEqual([
      { bidder: b.id, reason: 'reputation: more distrust than trust' },
      { bidder: c.id, reason: 'reputation: blacklisted' },
    ])
    expect(calls.sort()).toEqual([a.id, b.id, c.id].sort()) // one standing per bidder per auction
  })

  it('ranks by price / weight: a trusted dearer bidder beats a cheaper low-trust one; payments stay raw', async () => {
    // b: relative trust 0.1 -> weight 0.1 + 0.9 × 2/3 = 0.7; a: weight 1 (keeps its price).
    const { scorer } = fakeReputation({ [a.id]: { relativeTrust: 1 }, [b.id]: { relativeTrust: 0.1 } })
    const { clock, house } = await setup(scorer)
    await house.open(makeCfp())
    await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
    await house.bid(makeBid(b, [{ units: 1, price: 35 }])) // adjusted ceil(35 / 0.7) = 50
    clock.set(11_000)
    const [ev] = await house.tick()
    expect(ev).toMatchObject({ type: 'awarded', awards: [{ winner: a.id, price: 40, payment: 50 }] })

    // Cheap enough, the low-trust bidder wins: adjusted ceil(25 / 0.7) = 36 < 40; paid 40 − (36 − 25) = 29.
    await house.open(makeCfp({ id: 'cfp-2', issuedAt: 11_000 }))
    await house.bid(makeBid(a, [{ units: 1, price: 40 }], 'cfp-2'))
    await house.bid(makeBid(b, [{ units: 1, price: 25 }], 'cfp-2'))
    clock.set(12_000)
    const [ev2] = await house.tick()
    expect(ev2).toMatchObject({ type: 'awarded', awards: [{ winner: b.id, price: 25, payment: 29 }] })
  })

  it('newcomers compete among themselves at their asking prices; stake is needed only above the free value', async () => {
    const { scorer } = fakeReputation({}) // everyone unknown, unstaked
    const { clock, house } = await setup(scorer)
    await house.open(makeCfp()) // worth 1 × 100: stake-free
    await house.bid(makeBid(a, [{ units: 1, price: 30 }]))
    await house.bid(makeBid(b, [{ units: 1, price: 20 }]))
    clock.set(11_000)
    const [ev] = await house.tick()
    expect(ev).toMatchObject({ type: 'awarded', awards: [{ winner: b.id, price: 20, payment: 30 }] })

    await house.open(makeCfp({ id: 'cfp-2', issuedAt: 11_000, reserve: 200 })) // worth 200: stake 50
    await house.bid(makeBid(a, [{ units: 1, price: 30 }], 'cfp-2'))
    clock.set(12_000)
    const [ev2] = await house.tick()
    expect(ev2).toMatchObject({ type: 'no-winner' })
    expect((await house.get('cfp-2'))!.dropped).toEqual([
      { bidder: a.id, reason: 'reputation: stake 0 < 50' },
    ])
  })
})

describe('outcomeRouteCost (router reward with outcome quality)', () => {
  it('keeps the time for a fast, well-rated success and inflates failures and timeouts', () => {
    expect(outcomeRouteCost(100)).toEqual({ totalMs: 100, success: true })
    expect(outcomeRouteCost(100, { outcome: 'success', latencyMs: 0, rating: 1 })).toEqual({
      totalMs: 100,
      success: true,
    })
    // rating 0 after the whole latency budget: r = 0 -> twice the time, not a success.
    expect(outcomeRouteCost(100, { outcome: 'success', latencyMs: 10_000, rating: 0 })).toEqual({
      totalMs: 200,
      success: false,
    })
    expect(outcomeRouteCost(100, { outcome: 'failure', latencyMs: 50, rating: 0 })).toEqual({
      totalMs: 250,
      success: false,
    })
    expect(outcomeRouteCost(100, { outcome: 'timeout', latencyMs: 50, rating: 0 })).toEqual({
      totalMs: 300,
      success: false,
    })
  })
})

describe('reputationScorer with the adaptive stranger policy', () => {
  const standing = (table: Record<string, Partial<BidderStanding>>) => async (id: string) => ({
    ...TRUSTED,
    relativeTrust: 0,
    ...table[id],
  })

  it('admits newcomers beside a trusted bidder only at the newcomer success rate', async () => {
    const policy = new StrangerPolicy({ minRate: 0 })
    for (let i = 0; i < 30; i++) policy.record(false) // whitewashers spoiled the rate
    const scorer = reputationScorer({
      standing: standing({ [a.id]: { relativeTrust: 1 }, [b.id]: { relativeTrust: 0 } }),
      requiredStake: () => 0,
      strangers: { policy, coin: () => 0.5, minTrust: 0.001 },
    })
    const { clock, house } = await setup(scorer)
    await house.open(makeCfp())
    await house.bid(makeBid(a, [{ units: 1, price: 40 }]))
    await house.bid(makeBid(b, [{ units: 1, price: 10 }])) // the newcomer is cheaper
    clock.set(11_000)
    const [ev] = await house.tick()
    expect(ev).toMatchObject({ type: 'awarded', awards: [{ winner: a.id }] })
    expect((await house.get('cfp-1'))!.dropped?.[0]?.reason).toMatch(/newcomer/)
  })

  it('admits newcomers when no trusted bidder is present, whatever the rate', async () => {
    const policy = new StrangerPolicy({ minRate: 0 })
    for (let i = 0; i < 30; i++) policy.record(false)
    const scorer = reputationScorer({
      standing: standing({}),
      requiredStake: () => 0,
      strangers: { policy, coin: () => 0.99, minTrust: 0.001 },
    })
    const { clock, house } = await setup(scorer)
    await house.open(makeCfp())
    await house.bid(makeBid(b, [{ units: 1, price: 10 }]))
    clock.set(11_000)
    const [ev] = await house.tick()
    expect(ev).toMatchObject({ type: 'awarded', awards: [{ winner: b.id }] })
  })
})
