/**
 * How the market and the router use reputation.
 *
 * Bid scoring (`bidScorer`): a bid is admitted only if its bidder is not
 * blacklisted, has bonded the stake the CFP requires, and has relative trust
 * of at least `minTrust` — or, if it is below, `newcomers` are allowed and it
 * has the stake (a newcomer competes at the floor weight). An admitted bid
 * gets a weight w = floor + (1 − floor)·r/(r + halfTrust) from its relative
 * trust r (1 = average agent) and an adjusted price price / w.
 *
 * Incentive properties (single-unit procurement; the same holds for the VCG
 * affine maximiser in general):
 * - Admission depends only on attributes fixed before the auction (trust
 *   vector, bond, blacklist), never on the bids, so among admitted bidders
 *   the auction is the ordinary one: truth-telling stays dominant.
 * - Ranking by price / w with a per-bidder weight w fixed before the auction
 *   is a weighted VCG (affine maximiser): the winner minimises price_i / w_i
 *   and must be PAID ITS THRESHOLD w_win × (second-lowest adjusted price),
 *   in raw credits, which is what `weightedSecondPrice` returns. Bidding
 *   the true cost stays a dominant strategy.
 * Where it breaks: paying the adjusted (scaled) price instead of the
 *   threshold breaks truthfulness; the allocation is no longer efficient in
 *   true costs (a more trusted, dearer bidder can win), which is the point;
 *   the weights are not bid-independent across rounds (an agent's behaviour
 *   now changes its weight later, a dynamic incentive VCG does not cover);
 *   VCG is not collusion-proof (bidders in a ring can raise the second price),
 *   and the requester's personal trust view is private, so bidders cannot
 *   verify their own weight.
 */
import type { Outcome } from './report.ts'

export interface BidView {
  bidder: string
  /** Asked price in credits. */
  price: number
}

/** What the scorer needs to know about a bidder, fixed before the auction. */
export interface BidderStanding {
  /** Trust relative to the average agent (TrustEngine.relativeTrust). */
  relativeTrust: number
  bonded: number
  blacklisted: boolean
}

export interface BidContext {
  cfpValue: number
  /** StakeLedger.requiredStake(cfpValue). */
  requiredStake: number
  standing(bidder: string): BidderStanding
}

export type BidScore =
  | { admit: true; adjustedPrice: number; weight: number; reason: string }
  | { admit: false; reason: string }

export type BidScorer = (bid: BidView, ctx: BidContext) => BidScore

export interface BidScorerInit {
  /** Relative trust below which a bidder counts as a newcomer. @default 0.1 */
  minTrust?: number
  /** Admit newcomers (with the required stake) at the floor weight. @default true */
  newcomers?: boolean
  /** Weight of an agent with no trust. @default 0.2 */
  floorWeight?: number
  /** Relative trust at which the weight is halfway between floor and 1. @default 1 */
  halfTrust?: number
}

export function trustWeight(relativeTrust: number, floor = 0.2, halfTrust = 1): number {
  const r = Math.max(0, relativeTrust)
  return floor + ((1 - floor) * r) / (r + halfTrust)
}

export function bidScorer(init: BidScorerInit = {}): BidScorer {
  const minTrust = init.minTrust ?? 0.1
  const newcomers = init.newcomers ?? true
  const floor = init.floorWeight ?? 0.2
  const half = init.halfTrust ?? 1
  return (bid, ctx) => {
    const s = ctx.standing(bid.bidder)
    if (s.blacklisted) return { admit: false, reason: 'blacklisted' }
    if (s.bonded < ctx.requiredStake)
      return { admit: false, reason: `stake ${s.bonded} < ${ctx.requiredStake}` }
    const isNew = s.relativeTrust < minTrust
    if (isNew && !newcomers)
      return { admit: false, reason: `trust ${s.relativeTrust.toFixed(3)} < ${minTrust}` }
    const weight = isNew ? floor : trustWeight(s.relativeTrust, floor, half)
    return {
      admit: true,
      weight,
      adjustedPrice: bid.price / weight,
      reason: isNew ? 'newcomer at floor weight' : 'trusted',
    }
  }
}

export interface WeightedAward {
  winner: string
  /** Raw credits paid: the winner's threshold price, capped by the reserve. */
  payment: number
  adjustedPrice: number
}

/**
 * Single-unit weighted second-price (VCG affine maximiser) procurement:
 * lowest adjusted price wins; payment = min(reserve, w_win × second-lowest
 * adjusted price), or the reserve if there is no second bid. Ties break by
 * bidder id. Returns undefined if no admitted bid is within the reserve.
 */
export function weightedSecondPrice(
  bids: readonly (BidView & { weight: number })[],
  reserve: number,
): WeightedAward | undefined {
  const ok = bids
    .filter((b) => b.price <= reserve)
    .map((b) => ({ ...b, adj: b.price / b.weight }))
    .sort((x, y) => x.adj - y.adj || (x.bidder < y.bidder ? -1 : 1))
  const win = ok[0]
  if (!win) return undefined
  const second = ok[1]
  const threshold = second ? Math.min(reserve, Math.floor(second.adj * win.weight)) : reserve
  return { winner: win.bidder, payment: Math.max(win.price, threshold), adjustedPrice: win.adj }
}

export interface RoutingRewardInit {
  /** Latency at which the speed part of the reward reaches 0. @default 10 000 ms */
  latencyBudgetMs?: number
}

/**
 * Reward for the router after a routed CFP finished, in [−1, 1]:
 * success → 0.5·rating + 0.5·max(0, 1 − latency/budget) (0..1);
 * failure → −0.5; timeout → −1 (the worst: the requester waited for nothing).
 */
export function routingReward(
  outcome: Outcome,
  latencyMs: number,
  rating: number,
  init: RoutingRewardInit = {},
): number {
  if (outcome === 'timeout') return -1
  if (outcome === 'failure') return -0.5
  const budget = init.latencyBudgetMs ?? 10_000
  const r = Math.min(1, Math.max(0, rating))
  return 0.5 * r + 0.5 * Math.max(0, 1 - Math.max(0, latencyMs) / budget)
}
