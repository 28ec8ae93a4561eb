/**
 * Control API routes of the agent host and the ledger (`/v1/agents/*`,
 * `/v1/ledger/*`). Agents are named by id, unique id prefix or name.
 */
import { UserError } from '../../common/index.ts'
import type { Value } from '../../vm/index.ts'
import type { ControlServer } from '../control.ts'
import type { AgentService, DeployRequest } from './service.ts'

type Body = Record<string, unknown>

function body(b: unknown): Body {
  if (typeof b !== 'object' || b === null || Array.isArray(b))
    throw new UserError('body must be a JSON object')
  return b as Body
}
function str(b: Body, k: string): string {
  const v = b[k]
  if (typeof v !== 'string' || v.length === 0) throw new UserError(`missing "${k}"`)
  return v
}
function optInt(b: Body, k: string): number | undefined {
  const v = b[k]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new UserError(`"${k}" must be an integer >= 0`)
  return v
}
function optList(b: Body, k: string): string[] | undefined {
  const v = b[k]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw new UserError(`"${k}" must be a list of strings`)
  return v as string[]
}
function query(q: URLSearchParams, k: string): string {
  const v = q.get(k)
  if (!v) throw new UserError(`missing ?${k}=`)
  return v
}

export function parseDeploy(raw: unknown): DeployRequest {
  const b = body(raw)
  const inputs = b.inputs
  if (inputs !== undefined && (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)))
    throw new UserError('"inputs" must be a JSON object')
  const req: DeployRequest = { source: str(b, 'source') }
  if (typeof b.file === 'string') req.file = b.file
  if (typeof b.name === 'string') req.name = b.name
  const set = <K extends keyof DeployRequest>(k: K, v: DeployRequest[K] | undefined) => {
    if (v !== undefined) req[k] = v
  }
  set('gasLimit', optInt(b, 'gasLimit'))
  set('balance', optInt(b, 'balance'))
  set('spendPerDay', optInt(b, 'spendPerDay'))
  set('gasPerDay', optInt(b, 'gasPerDay'))
  set('maxGasPerMinute', optInt(b, 'maxGasPerMinute'))
  set('approvalRequired', optList(b, 'approvalRequired'))
  set('deniedOpcodes', optList(b, 'deniedOpcodes'))
  if (inputs !== undefined) req.inputs = inputs as Record<string, Value>
  return req
}

export function registerAgentRoutes(c: ControlServer, s: AgentService): void {
  c.route('POST', '/v1/agents/deploy', (req) => s.deploy(parseDeploy(req.body)))
  c.route('GET', '/v1/agents', async () => ({ agents: await s.list(), resumeMs: Math.round(s.resumeMs) }))
  c.route('GET', '/v1/agents/inspect', (req) => s.inspect(query(req.query, 'id')))
  c.route('POST', '/v1/agents/stop', (req) => s.stopAgent(str(body(req.body), 'id')))
  c.route('POST', '/v1/agents/resume', (req) => s.resumeAgent(str(body(req.body), 'id')))
  c.route('POST', '/v1/agents/approve', (req) => {
    const b = body(req.body)
    return s.approve(str(b, 'id'), str(b, 'actionId'))
  })
  c.route('GET', '/v1/agents/trace', (req) => s.trace(query(req.query, 'id')))
  c.route('GET', '/v1/ledger/balance', async (req) => {
    const ref = req.query.get('account')
    if (ref) {
      const account = accountOf(s, ref)
      return { accounts: [{ account, balance: await s.ledger.balance(account) }] }
    }
    return { accounts: await s.ledger.accounts() }
  })
  c.route('GET', '/v1/ledger/history', async (req) => {
    const account = accountOf(s, query(req.query, 'account'))
    return { account, history: await s.ledger.history(account) }
  })
  c.route('GET', '/v1/ledger/audit', () => s.ledger.audit())
}

/** A ledger account from an agent reference (id, prefix, name) or a raw account name. */
function accountOf(s: AgentService, ref: string): string {
  try {
    return s.resolve(ref)
  } catch {
    return ref
  }
}
