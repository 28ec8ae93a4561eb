/** Control API calls of the market service, for the CLI (`swarmd cfp`, `swarmd market list|show`). */
import type { AuctionRecord } from '../../market/index.ts'
import type { NodeClient } from '../client.ts'
import type { AuctionDetail, AuctionSummary } from './routes.ts'
import type { CfpRequest, IssuedCfp, Job, MarketStats } from './service.ts'

export class MarketClient {
  private readonly client: NodeClient
  constructor(client: NodeClient) {
    this.client = client
  }
  cfp(
    req: CfpRequest & { wait?: boolean; waitMs?: number },
    timeoutMs = 30_000,
  ): Promise<IssuedCfp & { auction?: AuctionRecord }> {
    return this.client.request('POST', '/v1/market/cfp', req, timeoutMs)
  }
  list(active: boolean): Promise<{ auctions: AuctionSummary[] }> {
    return this.client.request('GET', `/v1/market/list${active ? '?active=1' : ''}`)
  }
  show(id: string): Promise<AuctionDetail | { jobs: Job[] }> {
    return this.client.request('GET', `/v1/market/show?${new URLSearchParams({ id })}`)
  }
  mint(account: string, amount: number, reason: string): Promise<{ account: string; balance: number }> {
    return this.client.request('POST', '/v1/market/mint', { account, amount, reason })
  }
  stats(): Promise<MarketStats> {
    return this.client.request('GET', '/v1/market/stats')
  }
}
