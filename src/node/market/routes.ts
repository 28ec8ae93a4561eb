/**
 * Control API routes of the market service (JSON, bearer token):
 *
 *   POST /v1/market/cfp {capability, units, reserve, deadlineMs?, payload, mechanism?, negotiation?,
 *                        resultTimeoutMs?, routeMode?, wait?, waitMs?}
 *                                        → IssuedCfp (+ `auction` when `wait`: the settled record)
 *   GET  /v1/market/list?active=1        → { auctions: AuctionSummary[] }
 *   GET  /v1/market/show?id=CFP_ID       → AuctionDetail (requester side) or { job } (provider side)
 *   POST /v1/market/close {id}           → { events } (clear an open auction before its deadline)
 *   POST /v1/market/mint {account, amount, reason} → { account, balance } (node-owned agent only; logged)
 *   GET  /v1/market/stats                → MarketStats
 */
import { UserError } from '../../common/index.ts'
import {
  type AuctionRecord,
  type Bid,
  type EscrowRecord,
  MECHANISM_NAMES,
  type MechanismName,
} from '../../market/index.ts'
import type { ControlServer } from '../control.ts'
import type { RequesterNegotiations } from './negotiate.ts'
import type { CfpRequest, MarketService } from './service.ts'

export interface AuctionSummary {
  cfpId: string
  capability: string
  phase: AuctionRecord['phase']
  units: number
  reserve: number
  mechanism: MechanismName
  bids: number
  winners: number
  totalPayment?: number
  openedAt: number
  closesAt: number
}

export interface AuctionDetail {
  auction: AuctionRecord
  bids: Bid[]
  escrows: EscrowRecord[]
  /** The requester's negotiations (CFPs with `negotiation: true`, once cleared). */
  negotiations?: RequesterNegotiations
}

export const summarise = (r: AuctionRecord): AuctionSummary => ({
  cfpId: r.cfp.id,
  capability: r.cfp.capability,
  phase: r.phase,
  units: r.cfp.units,
  reserve: r.cfp.reserve,
  mechanism: r.cfp.mechanism,
  bids: r.bidCount,
  winners: r.awards.length,
  totalPayment: r.totalPayment,
  openedAt: r.openedAt,
  closesAt: r.cfp.issuedAt + r.cfp.deadlineMs,
})

const wholeNumber = (v: unknown, name: string, min: number): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new UserError(`${name} must be a whole number >= ${min}, got ${JSON.stringify(v)}`)
  return v
}

function parseCfpRequest(b: Record<string, unknown>): CfpRequest {
  if (typeof b.capability !== 'string' || b.capability.length === 0)
    throw new UserError('capability must be a non-empty string')
  if (b.mechanism !== undefined && !(MECHANISM_NAMES as readonly unknown[]).includes(b.mechanism))
    throw new UserError(`mechanism must be one of ${MECHANISM_NAMES.join(', ')}`)
  if (b.routeMode !== undefined && b.routeMode !== 'flood' && b.routeMode !== 'cq')
    throw new UserError('routeMode must be flood or cq')
  return {
    requester: typeof b.requester === 'string' ? b.requester : undefined,
    capability: b.capability,
    units: wholeNumber(b.units, 'units', 1),
    reserve: wholeNumber(b.reserve, 'reserve', 0),
    deadlineMs: b.deadlineMs === undefined ? undefined : wholeNumber(b.deadlineMs, 'deadlineMs', 1),
    payload: b.payload ?? null,
    mechanism: b.mechanism as MechanismName | undefined,
    negotiation: b.negotiation === true,
    resultTimeoutMs:
      b.resultTimeoutMs === undefined ? undefined : wholeNumber(b.resultTimeoutMs, 'resultTimeoutMs', 1),
    routeMode: b.routeMode as 'flood' | 'cq' | undefined,
  }
}

export function registerMarketRoutes(control: ControlServer, market: MarketService): void {
  control.route('POST', '/v1/market/cfp', async (req) => {
    const b = (req.body ?? {}) as Record<string, unknown>
    const issued = await market.issueCfp(parseCfpRequest(b))
    if (b.wait !== true) return issued
    const waitMs = b.waitMs === undefined ? 120_000 : wholeNumber(b.waitMs, 'waitMs', 1)
    const auction = await market.waitSettled(issued.cfpId, waitMs)
    return { ...issued, auction }
  })
  control.route('GET', '/v1/market/list', async (req) => {
    const active = req.query.get('active') === '1' || req.query.get('active') === 'true'
    const list = await market.house.list({ active })
    return { auctions: list.map(summarise).sort((a, b) => a.openedAt - b.openedAt) }
  })
  control.route('GET', '/v1/market/show', async (req) => {
    const id = req.query.get('id')
    if (!id) throw new UserError('missing id (a CFP id)')
    const auction = await market.house.get(id)
    if (!auction) {
      const jobs = await market.jobsFor(id)
      if (jobs.length === 0) throw new UserError(`no auction or job for CFP ${id} on this node`)
      return { jobs }
    }
    const escrows: EscrowRecord[] = []
    for (const a of auction.awards) {
      const e = await market.ledger.escrow(a.award.escrowId)
      if (e) escrows.push(e)
    }
    const negotiations = await market.negotiationsOf(id)
    return { auction, bids: await market.house.bids(id), escrows, negotiations } satisfies AuctionDetail
  })
  control.route('POST', '/v1/market/close', async (req) => {
    const id = (req.body as { id?: unknown } | undefined)?.id
    if (typeof id !== 'string' || id.length === 0) throw new UserError('body must be {"id": "<CFP id>"}')
    if (!(await market.house.get(id))) throw new UserError(`no auction for CFP ${id} on this node`)
    return { events: await market.close(id) }
  })
  control.route('POST', '/v1/market/mint', async (req) => {
    const b = (req.body ?? {}) as { account?: unknown; amount?: unknown; reason?: unknown }
    if (typeof b.account !== 'string')
      throw new UserError('account must be an agent id ("" for the node-owned agent)')
    const amount = wholeNumber(b.amount, 'amount', 1)
    const balance = await market.mint(b.account, amount, String(b.reason ?? ''))
    return { account: b.account || market.nodeAgent, balance }
  })
  control.route('GET', '/v1/market/stats', () => market.stats)
}
