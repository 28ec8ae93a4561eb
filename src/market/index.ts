/**
 * The swarmd market: pure logic for calls for proposals, auctions (VCG and
 * baselines), negotiation, the credit ledger with escrow, and cross-node
 * settlement receipts. Nothing here touches the network, the wall clock or
 * randomness: time (`Clock`), storage (`KvStore`) and keys are injected; the
 * node layer carries the messages.
 *
 *  - mechanisms: `vcg`, `firstPrice`, `secondPrice`, `postedPrice`, `getMechanism(name)`
 *  - ledger: `Ledger` (mint, transfer/pay, lock/release/refund, atomic, audit), `Wallet`
 *  - receipts: `issueReceipt`, `releaseByReceipt`, `acceptReceipt`, `auditAcross`
 *  - protocol: `signCfp`/`verifyCfp`, `signBid`/`verifyBid`, `signAward`/`verifyAward`,
 *    `signResult`/`verifyResult`
 *  - auctions: `AuctionHouse` (open, bid, close, tick, result, cancel, recover)
 *  - negotiation: `Negotiator`, `boulware`/`linear`/`conceder`/`titForTat`, `utility`
 *  - participants: `createCfp`, `answerCfp` (bid handler), `resultFor`
 *  - reputation hook: `BidScorer`, `identityScorer`
 *
 * @example
 * ```ts
 * import { vcg, Ledger } from '../market/index.ts'
 * import { ManualClock, MemoryKv } from '../common/index.ts'
 *
 * const res = vcg.clear({
 *   units: 1,
 *   reserve: 100,
 *   bids: [
 *     { bidder: 'a', offers: [{ units: 1, price: 40 }] },
 *     { bidder: 'b', offers: [{ units: 1, price: 60 }] },
 *   ],
 * })
 * // res.winners = [{ bidder: 'a', units: 1, price: 40, payment: 60, offer: 0 }]
 *
 * const ledger = new Ledger({ store: new MemoryKv(), clock: new ManualClock(0) })
 * await ledger.mint('requester', 100, 'faucet')
 * await ledger.lock('cfp-1/a', 'requester', 100, { cfp: 'cfp-1' }) // on award
 * await ledger.release('cfp-1/a', 'a', res.winners[0]!.payment)   // on an accepted result
 * ```
 */
export * from './auction.ts'
export * from './auction-types.ts'
export * from './audit.ts'
export * from './errors.ts'
export * from './ledger.ts'
export * from './ledger-types.ts'
export * from './mechanisms/index.ts'
export * from './negotiation.ts'
export * from './participants.ts'
export * from './protocol.ts'
export * from './receipts.ts'
export * from './scoring.ts'
export * from './terms.ts'
