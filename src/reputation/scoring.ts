/**
 * How the market and the router use reputation.
 *
 * Bid scoring (`bidScorer`): a bid is admitted only if its bidder is not
 * blacklisted, has bonded the stake the CFP requires, has no more distrust
 * than trust (trusted raters reported net failures), and has relative trust
 * of at least `minTrust` — or, if it is below, `newcomers` are allowed and it
 * has the stake (a newcomer competes at the floor weight). An admitted bid
 * gets a weight w in [floor, 1] from its relative trust r (1 = average agent;
 * log scale, see `trustWeight`) and an adjusted price price / w.
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
  /** Distrust relative to the average agent (TrustEngine.relativeDistrust); 0 if unknown. */
  relativeDistrust?: number
  bonded: number
  /** Age of the current bond (now − StakeAccount.bondedSince); 0 if none. */
  bondAgeMs?: number
  blacklisted: boolean
}

export interface BidContext {
  cfpValue: number
  /** StakeLedger.requiredStake(cfpValue). */
  requiredStake: number
  standing(bidder: string): BidderStanding
  /**
   * Whether newcomers may take part in this auction (the requester's stranger
   * policy, decided per auction from the set of bidders and its own history,
   * never from prices — see `strangerPolicy`). @default true
   */
  strangersAllowed?: boolean
}

export type BidScore =
  { admit: true; adjustedPrice: number; weight: number; reason: string } | { admit: false; reason: string }

export type BidScorer = (bid: BidView, ctx: BidContext) => BidScore

export interface BidScorerInit {
  /** Relative trust below which a bidder counts as a newcomer. @default 0.001 */
  minTrust?: number
  /** Relative trust at which the weight reaches 1. @default 1 */
  fullTrust?: number
  /** Admit newcomers (with the required stake) at the floor weight. @default true */
  newcomers?: boolean
  /** Weight of a newcomer. @default 0.1 */
  floorWeight?: number
  /**
   * A newcomer's bond must be at least this old ("seasoned"): a whitewasher's
   * fresh identity must wait, with its bond locked, before it may bid.
   * @default 0
   */
  newcomerBondAgeMs?: number
}

/**
 * Weight from relative trust on a log scale (EigenTrust vectors are heavy
 * tailed: agents a few hops from the pre-trusted set hold 10^-2..10^-1 of the
 * average): floor at `minTrust` and below, 1 at `fullTrust` and above,
 * linear in log(r) between.
 */
export function trustWeight(relativeTrust: number, floor = 0.1, minTrust = 0.001, fullTrust = 1): number {
  if (!(relativeTrust > minTrust)) return floor
  const x = Math.log(relativeTrust / minTrust) / Math.log(fullTrust / minTrust)
  return floor + (1 - floor) * Math.min(1, x)
}

export function bidScorer(init: BidScorerInit = {}): BidScorer {
  const minTrust = init.minTrust ?? 0.001
  const fullTrust = init.fullTrust ?? 1
  const newcomers = init.newcomers ?? true
  const floor = init.floorWeight ?? 0.1
  const season = init.newcomerBondAgeMs ?? 0
  return (bid, ctx) => {
    const s = ctx.standing(bid.bidder)
    if (s.blacklisted) return { admit: false, reason: 'blacklisted' }
    if (s.bonded < ctx.requiredStake)
      return { admit: false, reason: `stake ${s.bonded} < ${ctx.requiredStake}` }
    if ((s.relativeDistrust ?? 0) > s.relativeTrust)
      return { admit: false, reason: 'more distrust than trust' }
    const isNew = !(s.relativeTrust >= minTrust)
    if (isNew && (!newcomers || ctx.strangersAllowed === false))
      return { admit: false, reason: `newcomer (trust ${s.relativeTrust} < ${minTrust}) not admitted` }
    if (isNew && (s.bondAgeMs ?? 0) < season)
      return { admit: false, reason: `newcomer bond younger than ${season} ms` }
    const weight = trustWeight(s.relativeTrust, floor, minTrust, fullTrust)
    return {
      admit: true,
      weight,
      adjustedPrice: bid.price / weight,
      reason: isNew ? 'newcomer at floor weight' : 'trusted',
    }
  }
}

/**
 * An adaptive stranger policy (Feldman et al., "Free-riding and
 * whitewashing in peer-to-peer systems"): a requester admits newcomers when
 * no trusted bidder is present, and otherwise with probability equal to the
 * (decayed) success rate it has seen from newcomers so far. Whitewashers
 * spoil the newcomer success rate and so close the door on themselves; the
 * cost is paid by honest newcomers, who get in more slowly. The decision
 * uses only identities and history, never bids, so truthfulness among the
 * admitted bidders is kept.
 */
export class StrangerPolicy {
  private successes = 0
  private trials = 0
  private readonly decay: number
  private readonly floor: number

  constructor(init: { decay?: number; minRate?: number } = {}) {
    this.decay = init.decay ?? 0.95
    this.floor = init.minRate ?? 0.02
  }

  /** Laplace-smoothed, decayed success rate of newcomers hired so far. */
  get rate(): number {
    return Math.max(this.floor, (this.successes + 1) / (this.trials + 2))
  }

  /** `coin` is a uniform [0,1) draw from the injected Random. */
  allow(anyTrustedBidder: boolean, coin: number): boolean {
    return !anyTrustedBidder || coin < this.rate
  }

  record(success: boolean): void {
    this.successes = this.successes * this.decay + (success ? 1 : 0)
    this.trials = this.trials * this.decay + 1
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
