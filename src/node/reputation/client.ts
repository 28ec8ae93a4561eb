/** Control API calls of the reputation service, for the CLI (`swarmd rep ...`, `swarmd stake ...`). */
import type { SignedReport } from '../../reputation/index.ts'
import type { NodeClient } from '../client.ts'
import type { AgentReputation, AgentTrust, PublishResult, ReputationStats } from './service.ts'
import type { StakeState } from './stake.ts'

export interface ReleaseResult {
  state: StakeState
  unbonded: number
  releaseAt?: number
  released: number
}

export class ReputationClient {
  private readonly client: NodeClient
  constructor(client: NodeClient) {
    this.client = client
  }
  show(agent: string): Promise<AgentReputation> {
    return this.client.request('GET', `/v1/rep/show?${new URLSearchParams({ agent })}`)
  }
  top(limit: number): Promise<{ agents: AgentTrust[]; computedAt?: number }> {
    return this.client.request('GET', `/v1/rep/top?limit=${limit}`)
  }
  stats(): Promise<ReputationStats> {
    return this.client.request('GET', '/v1/rep/stats')
  }
  /** Publish one report; the daemon sends the batch carrying it at once (`recipients` peers). */
  publish(report: SignedReport): Promise<PublishResult> {
    return this.client.request('POST', '/v1/rep/publish', { report })
  }
  stake(agent: string): Promise<StakeState> {
    return this.client.request('GET', `/v1/stake/show?${new URLSearchParams({ agent })}`)
  }
  bond(agent: string, amount: number): Promise<StakeState> {
    return this.client.request('POST', '/v1/stake/bond', { agent, amount })
  }
  release(agent: string, amount?: number): Promise<ReleaseResult> {
    return this.client.request(
      'POST',
      '/v1/stake/release',
      amount === undefined ? { agent } : { agent, amount },
    )
  }
}
