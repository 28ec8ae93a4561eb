/** The data every clearing mechanism consumes and produces. */

/** One XOR offer of a seller: deliver `units` units for `price` credits in total. */
export interface Offer {
  units: number
  price: number
}

/** A seller's sealed bid as the mechanism sees it: at most one of `offers` is accepted. */
export interface BidInput {
  bidder: string
  offers: Offer[]
}

/**
 * A procurement instance: the buyer wants up to `units` units, each worth
 * `reserve` credits to it.
 */
export interface ClearInput {
  units: number
  reserve: number
  bids: BidInput[]
}

export interface Winner {
  bidder: string
  /** Units bought from this seller (the accepted offer's units). */
  units: number
  /** The accepted offer's asking price. */
  price: number
  /** What the buyer pays this seller. */
  payment: number
  /** Index of the accepted offer in the bidder's `offers`. */
  offer: number
}

export interface ClearResult {
  /** `reserve × units bought − Σ accepted prices` of the chosen allocation. */
  welfare: number
  /** Sorted by bidder id. */
  winners: Winner[]
  totalPayment: number
}

export const MECHANISM_NAMES = ['vcg', 'first-price', 'second-price', 'posted-price'] as const
export type MechanismName = (typeof MECHANISM_NAMES)[number]

export interface Mechanism {
  readonly name: MechanismName
  /** Validates `input` (throws `MarketError` MARKET_BAD_BID / MARKET_BAD_INPUT) and clears it. */
  clear(input: ClearInput): ClearResult
}
