/**
 * The market's `BidScorer` built from the reputation rule (`bidScorer` of
 * src/reputation/scoring.ts). Per auction (one `scoreBids` round: same CFP,
 * same `now`) the standing of every bidder is fetched once; the rule admits or
 * refuses the bidder (blacklist, stake for a CFP worth `units × reserve`,
 * distrust, newcomer policy) and gives it a trust weight w in [floor, 1].
 *
 * The adjusted price of an admitted offer is `ceil(price × wMax / w)`, where
 * wMax is the largest weight among the admitted bidders of this auction: the
 * ranking is the rule's `price / w` (a constant factor does not change it), the
 * most trusted bidder keeps its asking price, and the reserve check applies to
 * it unchanged (a bidder-specific reserve `reserve × w / wMax` for the others).
 * Weights depend on identities only, never on prices. Winners are paid in raw
 * credits: the AuctionHouse shifts the payment back by the winner's own
 * adjustment (see src/market/scoring.ts).
 */
import type { BidScorer as MarketBidScorer } from '../../market/index.ts'
import {
  type BidderStanding,
  type BidScore as RepBidScore,
  type BidScorer as RepBidScorer,
  bidScorer,
  type StrangerPolicy,
} from '../../reputation/index.ts'

export interface ReputationScorerInit {
  /** The bidder's standing in this node's view (ReputationService.standing). */
  standing: (agentId: string) => Promise<BidderStanding>
  /** The bond a CFP worth `cfpValue` credits requires (StakeLedger.requiredStake). */
  requiredStake: (cfpValue: number) => number
  /** @default bidScorer() */
  rule?: RepBidScorer
  /**
   * The adaptive stranger policy: per auction, newcomers (relative trust below
   * `minTrust`) are admitted when no trusted bidder is present, else with the
   * probability of the newcomer success rate seen so far (`coin`: an injected
   * uniform draw). Absent: newcomers are always admitted (by the rule's own settings).
   */
  strangers?: { policy: StrangerPolicy; coin: () => number; minTrust: number }
}

interface Round {
  key: string
  verdicts: Promise<Map<string, RepBidScore>>
  wMax: Promise<number>
}

export function reputationScorer(init: ReputationScorerInit): MarketBidScorer {
  const rule = init.rule ?? bidScorer()
  let round: Round | undefined

  const judge = async (bidders: readonly string[], cfpValue: number): Promise<Map<string, RepBidScore>> => {
    const standings = new Map<string, BidderStanding>()
    for (const b of bidders) standings.set(b, await init.standing(b))
    const requiredStake = init.requiredStake(cfpValue)
    const st = init.strangers
    const anyTrusted = [...standings.values()].some(
      (x) => x.relativeTrust >= (st?.minTrust ?? 0) && !x.blacklisted && x.bonded >= requiredStake,
    )
    const ctx = {
      cfpValue,
      requiredStake,
      ...(st ? { strangersAllowed: st.policy.allow(anyTrusted, st.coin()) } : {}),
      standing: (id: string): BidderStanding => {
        const s = standings.get(id)
        if (!s) throw new Error(`no standing prefetched for ${id}`)
        return s
      },
    }
    // The rule's admission and weight do not depend on the price.
    return new Map(bidders.map((b) => [b, rule({ bidder: b, price: 0 }, ctx)]))
  }

  return async (bid, context) => {
    const { cfp, now } = context
    const key = `${cfp.id}@${now}`
    const bidders = context.bidders ?? [bid.bidder]
    if (round?.key !== key) {
      const verdicts = judge(bidders, cfp.units * cfp.reserve)
      const wMax = verdicts.then((v) => {
        let m = 0
        for (const s of v.values()) if (s.admit) m = Math.max(m, s.weight)
        return m
      })
      round = { key, verdicts, wMax }
    }
    const verdicts = await round.verdicts
    // A bidder missing from `context.bidders` (a caller that does not pass them) is judged on its own.
    const v =
      verdicts.get(bid.bidder) ?? (await judge([bid.bidder], cfp.units * cfp.reserve)).get(bid.bidder)!
    verdicts.set(bid.bidder, v)
    if (!v.admit) return { admit: false, reason: `reputation: ${v.reason}` }
    const wMax = Math.max(await round.wMax, v.weight)
    const price = context.offer.price
    const adjustedPrice = v.weight >= wMax ? price : Math.ceil((price * wMax) / v.weight - 1e-9)
    return { admit: true, adjustedPrice, reason: `reputation: ${v.reason} (weight ${v.weight.toFixed(3)})` }
  }
}
