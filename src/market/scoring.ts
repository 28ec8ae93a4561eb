/**
 * The reputation hook. Before an auction clears, every offer of every bid is
 * shown to a `BidScorer`, which may drop it (`admit: false`) or change the
 * price the mechanism sees for it (`adjustedPrice`, e.g. a surcharge for an
 * agent with a poor record). The reputation subsystem supplies the scorer;
 * by default every offer is admitted unchanged.
 *
 * Payments with adjusted prices: the mechanism clears on adjusted prices and
 * the winner's payment is shifted back by its own adjustment,
 * `payment = max(price, adjustedPayment − (adjustedPrice − price))`, so a
 * surcharge lowers the chance of winning but never the margin of a win.
 */
import type { Offer } from './mechanisms/index.ts'
import type { Bid, CfpBody } from './protocol.ts'

export interface BidScoreContext {
  cfp: CfpBody
  now: number
  /** The offer being scored and its index in `bid.offers`. */
  offer: Offer
  offerIndex: number
  /**
   * Every bidder in this auction's scoring round (identities only, never prices), so a scorer can
   * prefetch their standing once and normalise per-bidder weights across the auction.
   */
  bidders?: readonly string[]
}

export interface BidScore {
  admit: boolean
  /** Price the mechanism uses for this offer (whole credits >= 0); absent: the asking price. */
  adjustedPrice?: number
  reason: string
}

export type BidScorer = (bid: Bid, context: BidScoreContext) => BidScore | Promise<BidScore>

/** Admits every offer unchanged. */
export const identityScorer: BidScorer = () => ({ admit: true, reason: 'identity' })

export interface ScoredOffer {
  /** Index in the original bid. */
  index: number
  price: number
  adjustedPrice: number
  units: number
}
export interface ScoredBid {
  bid: Bid
  offers: ScoredOffer[]
}

/** Apply `scorer` to every offer; bids left with no admitted offer are returned in `dropped`. */
export async function scoreBids(
  bids: Bid[],
  scorer: BidScorer,
  cfp: CfpBody,
  now: number,
): Promise<{ scored: ScoredBid[]; dropped: { bidder: string; reason: string }[] }> {
  const scored: ScoredBid[] = []
  const dropped: { bidder: string; reason: string }[] = []
  const bidders = [...new Set(bids.map((b) => b.bidder))]
  for (const bid of bids) {
    const offers: ScoredOffer[] = []
    const reasons: string[] = []
    for (const [i, offer] of bid.offers.entries()) {
      const s = await scorer(bid, { cfp, now, offer, offerIndex: i, bidders })
      if (!s.admit) {
        reasons.push(s.reason)
        continue
      }
      const adj = s.adjustedPrice ?? offer.price
      if (!Number.isSafeInteger(adj) || adj < 0) {
        reasons.push(`scorer gave an invalid adjusted price ${adj}`)
        continue
      }
      offers.push({ index: i, price: offer.price, adjustedPrice: adj, units: offer.units })
    }
    if (offers.length > 0) scored.push({ bid, offers })
    else dropped.push({ bidder: bid.bidder, reason: reasons.join('; ') || 'no admitted offer' })
  }
  return { scored, dropped }
}
