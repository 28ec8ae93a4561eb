/**
 * Control API routes of the reputation service (all JSON, bearer token):
 *
 *   GET  /v1/rep/show?agent=ID         → AgentReputation
 *   GET  /v1/rep/top?limit=N           → { agents: AgentTrust[], computedAt }
 *   GET  /v1/rep/stats                 → ReputationStats
 *   POST /v1/rep/publish {report}      → PublishResult (the batch carrying it is sent at once)
 *   GET  /v1/stake/show?agent=ID       → StakeState
 *   POST /v1/stake/bond {agent,amount} → StakeState
 *   POST /v1/stake/release {agent,amount?} → { state, unbonded, releaseAt?, released }
 */
import { UserError } from '../../common/index.ts'
import type { SignedReport } from '../../reputation/index.ts'
import type { ControlServer } from '../control.ts'
import { checkAgentId, type ReputationService } from './service.ts'

function positiveInt(v: unknown, name: string): number {
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0)
    throw new UserError(`${name} must be a positive integer, got ${JSON.stringify(v)}`)
  return n
}

export function registerReputationRoutes(control: ControlServer, rep: ReputationService): void {
  control.route('GET', '/v1/rep/show', (req) => rep.show(checkAgentId(req.query.get('agent'))))
  control.route('GET', '/v1/rep/top', (req) => {
    const l = req.query.get('limit')
    const limit = l === null ? 10 : positiveInt(l, 'limit')
    return { agents: rep.top(limit), computedAt: rep.statistics().lastComputedAt }
  })
  control.route('GET', '/v1/rep/stats', () => rep.statistics())
  control.route('POST', '/v1/rep/publish', (req) => {
    const report = (req.body as { report?: unknown } | undefined)?.report
    if (typeof report !== 'object' || report === null)
      throw new UserError('body must be {"report": {"body": {...}, "requesterSig": "...", ...}}')
    return rep.publishReport(report as SignedReport, { flush: true })
  })
  control.route('GET', '/v1/stake/show', (req) => rep.stake.state(checkAgentId(req.query.get('agent'))))
  control.route('POST', '/v1/stake/bond', (req) => {
    const b = (req.body ?? {}) as { agent?: unknown; amount?: unknown }
    return rep.bond(checkAgentId(b.agent), positiveInt(b.amount, 'amount'))
  })
  control.route('POST', '/v1/stake/release', (req) => {
    const b = (req.body ?? {}) as { agent?: unknown; amount?: unknown }
    return rep.release(
      checkAgentId(b.agent),
      b.amount === undefined ? undefined : positiveInt(b.amount, 'amount'),
    )
  })
}
