/**
 * The market in the daemon (the network half of src/market): `MarketService`
 * (a `NodeService` named `'market'`), its wire protocol
 * `/swarmd/market/1.0.0`, control routes and CLI client. See docs/market.md,
 * "In the daemon".
 *
 * @example
 * ```ts
 * const market = node.service<MarketService>('market')!
 * // provider side: bid for CFPs of a capability as a local agent
 * market.registerBidHandler('uppercase', agentId,
 *   async (cfp) => ({ offers: [{ units: 1, price: 30 }] }),         // or undefined to decline
 *   async (award, payload) => ({ ok: true, output: String(payload).toUpperCase() }))
 * // requester side (the node-owned agent by default)
 * const { cfpId } = await market.issueCfp({ capability: 'uppercase', units: 1, reserve: 100, payload: 'hi' })
 * const record = await market.waitSettled(cfpId, 30_000)
 * ```
 */
export { MarketClient } from './client.ts'
export type { MarketAck, MarketMsgType, RoutedCfp } from './messages.ts'
export { MARKET_MSG, MARKET_PROTOCOL } from './messages.ts'
export type { NegotiateBody, ProviderNegotiation, RequesterNegotiations } from './negotiate.ts'
export type {
  BidHandler,
  BidHandlerEntry,
  NegotiationNotice,
  NegotiationPolicy,
  TaskRunner,
} from './provider.ts'
export { jsProvider, jsProviderOffers, runBuiltinTask } from './provider.ts'
export type { AuctionDetail, AuctionSummary } from './routes.ts'
export type { CfpRequest, IssuedCfp, Job, MarketStats } from './service.ts'
export { AUCTION_PREFIX, MARKET_SERVICE, MarketService } from './service.ts'
