/** Typed client of the agent host's and the ledger's control routes (used by the CLI). */
import type { HistoryEntry, LedgerReport } from '../../market/index.ts'
import type { NodeClient } from '../client.ts'
import type { AgentSummary, DeployRequest } from './service.ts'
import type { AgentTrace } from './trace.ts'

export class AgentClient {
  private readonly c: NodeClient
  constructor(c: NodeClient) {
    this.c = c
  }
  deploy(req: DeployRequest): Promise<AgentSummary> {
    return this.c.request('POST', '/v1/agents/deploy', req, 60_000)
  }
  list(): Promise<{ agents: AgentSummary[]; resumeMs: number }> {
    return this.c.request('GET', '/v1/agents')
  }
  inspect(id: string): Promise<AgentSummary & Record<string, unknown>> {
    return this.c.request('GET', `/v1/agents/inspect?${new URLSearchParams({ id })}`)
  }
  stop(id: string): Promise<AgentSummary> {
    return this.c.request('POST', '/v1/agents/stop', { id })
  }
  resume(id: string): Promise<AgentSummary> {
    return this.c.request('POST', '/v1/agents/resume', { id })
  }
  approve(id: string, actionId: string): Promise<AgentSummary> {
    return this.c.request('POST', '/v1/agents/approve', { id, actionId })
  }
  trace(id: string): Promise<AgentTrace> {
    return this.c.request('GET', `/v1/agents/trace?${new URLSearchParams({ id })}`, undefined, 120_000)
  }
  balances(account?: string): Promise<{ accounts: { account: string; balance: number }[] }> {
    const q = account ? `?${new URLSearchParams({ account })}` : ''
    return this.c.request('GET', `/v1/ledger/balance${q}`)
  }
  history(account: string): Promise<{ account: string; history: HistoryEntry[] }> {
    return this.c.request('GET', `/v1/ledger/history?${new URLSearchParams({ account })}`)
  }
  audit(): Promise<LedgerReport> {
    return this.c.request('GET', '/v1/ledger/audit')
  }
}
