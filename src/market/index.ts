/**
 * The swarmd market: pure logic for calls for proposals, auctions (VCG and
 * baselines), negotiation, the credit ledger with escrow, and cross-node
 * settlement receipts. Nothing here touches the network, the wall clock or
 * randomness: time, storage and keys are injected.
 *
 * @example
 * ```ts
 * import { vcg } from '../market/index.ts'
 * const res = vcg.clear({
 *   units: 1,
 *   reserve: 100,
 *   bids: [
 *     { bidder: 'a', offers: [{ units: 1, price: 40 }] },
 *     { bidder: 'b', offers: [{ units: 1, price: 60 }] },
 *   ],
 * })
 * // res.winners = [{ bidder: 'a', units: 1, price: 40, payment: 60, offer: 0 }]
 * ```
 */

export * from './auction.ts'
export * from './audit.ts'
export * from './errors.ts'
export * from './ledger.ts'
export * from './ledger-types.ts'
export * from './mechanisms/index.ts'
export * from './negotiation.ts'
export * from './protocol.ts'
export * from './receipts.ts'
export * from './scoring.ts'
export * from './terms.ts'
