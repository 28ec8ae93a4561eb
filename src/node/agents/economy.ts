/**
 * The AVM's economic opcodes in the daemon (`Economy` of src/vm/host.ts):
 * CFP / AUCTION_* / TASK_RESULT / ESCROW_* go to the node's MarketService,
 * REPUTATION_* / STAKE_* to its ReputationService. Both are looked up when a
 * call is made (they start after the agent host).
 *
 * It also makes AVM agents bidders: every live agent is registered as the
 * bid handler of each capability its program declares (`.capability`). A
 * CFP of that capability reaches the agent's inbox as a message of topic
 * `cfp`; the program answers with AUCTION_BID (or lets it pass). An award
 * reaches it as a message of topic `task`; the program answers with
 * TASK_RESULT. Messages come from the requester agent on channel `market`.
 * When the CFP allows negotiation, each message of the requester's
 * negotiator reaches a provisional winner as a message of topic `negotiate`;
 * the program answers with NEGOTIATE (docs/market.md, "Negotiation in the daemon").
 */
import type { Logger } from '../../common/index.ts'
import { SwarmdError, UserError } from '../../common/index.ts'
import type { AgentKeys } from '../../e2e/index.ts'
import {
  type Award,
  type Cfp,
  cfpCloseAt,
  MECHANISM_NAMES,
  type MechanismName,
  type NegotiationAct,
  type Terms,
} from '../../market/index.ts'
import { makeReport, type Outcome } from '../../reputation/index.ts'
import type { CfpSpec, Economy, LocalBus, OfferSpec, TermsSpec, Value } from '../../vm/index.ts'
import { toValue } from '../../vm/values.ts'
import type { MarketService } from '../market/index.ts'
import type { NegotiationNotice } from '../market/provider.ts'
import type { SwarmNode } from '../node.ts'
import type { ReputationService } from '../reputation/index.ts'

/** Terms as AVM programs see them. */
const termsValue = (t: Terms | undefined) =>
  t ? { price: t.price, deadline_ms: t.deadlineMs, quality: t.quality, upfront_pct: t.upfrontPct } : null
let msgSeq = 0

export class AgentEconomy implements Economy {
  private readonly node: SwarmNode
  private readonly bus: () => LocalBus
  private readonly log: Logger
  private readonly agentKeys: (id: string) => AgentKeys | undefined
  /** `agent|capability` → unregister function of its bid handler. */
  private readonly handlers = new Map<string, () => void>()
  private registeredWith: MarketService | undefined

  constructor(
    node: SwarmNode,
    bus: () => LocalBus,
    agentKeys: (id: string) => AgentKeys | undefined,
    log: Logger,
  ) {
    this.node = node
    this.agentKeys = agentKeys
    this.bus = bus
    this.log = log
  }

  private get market(): MarketService {
    const m = this.node.service<MarketService>('market')
    if (!m) throw new SwarmdError('UNAVAILABLE', 'this node runs no market service')
    return m
  }
  private get rep(): ReputationService {
    const r = this.node.service<ReputationService>('reputation')
    if (!r) throw new SwarmdError('UNAVAILABLE', 'this node runs no reputation service')
    return r
  }

  // ------------------------------------------------------------ bid handlers

  /** Make `live` (agent id → capabilities) the AVM bidders of this node; drop the others. */
  syncBidders(live: Map<string, string[]>): void {
    const market = this.node.service<MarketService>('market')
    if (!market?.isRunning) return
    if (this.registeredWith !== market) {
      // a restarted market service forgot our handlers
      this.handlers.clear()
      this.registeredWith = market
    }
    const want = new Set<string>()
    for (const [agent, caps] of live) for (const c of caps) want.add(`${agent}|${c}`)
    for (const [key, off] of this.handlers)
      if (!want.has(key)) {
        off()
        this.handlers.delete(key)
      }
    for (const key of want) {
      if (this.handlers.has(key)) continue
      const [agent, capability] = key.split('|') as [string, string]
      this.handlers.set(
        key,
        market.registerBidHandler(
          capability,
          agent,
          async (cfp) => {
            this.offerCfp(agent, cfp)
            return undefined // the program bids with AUCTION_BID
          },
          async (award, payload) => {
            this.offerTask(agent, award, payload)
            return undefined // the program answers with TASK_RESULT
          },
          { kind: 'inbox', notify: (n) => this.offerNegotiation(agent, n) }, // it answers with NEGOTIATE
        ),
      )
    }
  }

  private deliver(agent: string, from: string, topic: string, data: Record<string, unknown>): void {
    this.bus().deliverLocal(agent, {
      id: `mkt${++msgSeq}`,
      from,
      channel: 'market',
      topic,
      data: toValue(data),
    })
  }

  private offerCfp(agent: string, cfp: Cfp): void {
    this.deliver(agent, cfp.requester, 'cfp', {
      cfp_id: cfp.id,
      capability: cfp.capability,
      units: cfp.units,
      reserve: cfp.reserve,
      deadline_ms: cfp.deadlineMs,
      closes_at: cfpCloseAt(cfp),
      payload: cfp.payload ?? null,
      requester: cfp.requester,
      mechanism: cfp.mechanism,
      negotiation: cfp.negotiation === true,
    })
  }

  private offerTask(agent: string, award: Award, payload: unknown): void {
    this.deliver(agent, award.requester, 'task', {
      cfp_id: award.cfpId,
      escrow_id: award.escrowId,
      units: award.units,
      price: award.price,
      payment: award.payment,
      result_deadline: award.resultDeadline,
      payload: payload ?? null,
      requester: award.requester,
      terms: termsValue(award.terms),
    })
  }

  private offerNegotiation(agent: string, n: NegotiationNotice): void {
    this.deliver(agent, n.from, 'negotiate', {
      cfp_id: n.cfpId,
      negotiation_id: n.negotiationId,
      round: n.round,
      act: n.act,
      terms: termsValue(n.terms),
      state: n.state,
      from: n.from,
      units: n.units,
      ask: n.ask,
      budget: n.budget,
      max_rounds: n.maxRounds,
      deadline: n.deadline,
    })
  }

  // ------------------------------------------------------------ market

  private cfpRequest(agent: string, spec: CfpSpec) {
    if (!(MECHANISM_NAMES as readonly string[]).includes(spec.mechanism))
      throw new UserError(`mechanism must be one of ${MECHANISM_NAMES.join(', ')}, got ${spec.mechanism}`)
    return { ...spec, requester: agent, mechanism: spec.mechanism as MechanismName }
  }

  async cfp(agent: string, spec: CfpSpec): Promise<string> {
    return (await this.market.issueCfp(this.cfpRequest(agent, spec))).cfpId
  }

  async auctionCreate(agent: string, spec: CfpSpec): Promise<string> {
    return (await this.market.issueCfp({ ...this.cfpRequest(agent, spec), route: false })).cfpId
  }

  auctionBid(agent: string, auctionId: string, offers: OfferSpec[]): Promise<boolean> {
    return this.market.bidAs(agent, auctionId, offers)
  }

  async auctionSettle(agent: string, auctionId: string, waitMs: number, close: boolean): Promise<Value> {
    return toValue(await this.market.settleOutcome(agent, auctionId, waitMs, close))
  }

  negotiate(agent: string, negotiationId: string, act: string, terms: TermsSpec): Promise<boolean> {
    // NEGOTIATE checked the act; the negotiator refuses any other
    return this.market.negotiateAs(agent, negotiationId, act as NegotiationAct, terms as Partial<Terms>)
  }

  taskResult(agent: string, escrowId: string, ok: boolean, output: Value): Promise<boolean> {
    return this.market.completeJob(agent, escrowId, { ok, output })
  }

  escrowCreate(agent: string, id: string, payee: string, amount: number, timeoutMs: number): Promise<string> {
    return this.market.escrowCreate(agent, id, payee, amount, timeoutMs)
  }

  escrowRelease(agent: string, escrowId: string): Promise<boolean> {
    return this.market.escrowRelease(agent, escrowId)
  }

  escrowRefund(agent: string, escrowId: string): Promise<boolean> {
    return this.market.escrowRefund(agent, escrowId)
  }

  // ------------------------------------------------------------ reputation and stake

  async reputationQuery(_agent: string, subject: string): Promise<Value> {
    if (!/^[0-9a-f]{64}$/.test(subject)) throw new UserError('agent must be an agent id (64 hex characters)')
    const r = await this.rep.show(subject)
    return toValue({
      agent: subject,
      trust: r.trust,
      relative_trust: r.relativeTrust,
      distrust: r.distrust,
      pre_trusted: r.preTrusted,
      reports_as_provider: r.reports.asProvider,
      reports_as_requester: r.reports.asRequester,
      bonded: r.stake.bonded,
      blacklisted: r.stake.blacklisted,
      slashes: r.slashes.length,
    })
  }

  /**
   * Sign and publish the requester's report on a task `agent` requested (an
   * AVM escrow it created, or an award it made). The market reports its own
   * auctions when they settle, so a second report on those is refused (REPLAY).
   */
  async reputationUpdate(agent: string, taskId: string, outcome: string, rating: number): Promise<boolean> {
    const rep = this.rep
    const task = await rep.tasks.get(taskId)
    if (!task) throw new UserError(`no task ${taskId} known to this node`)
    if (task.requester !== agent)
      throw new UserError('only the requester of a task (who paid) reports on it; providers co-sign')
    const keys = this.keysOf(agent)
    const now = this.node.clock.now()
    const escrow = await this.market.ledger.escrow(taskId)
    const report = makeReport(
      {
        taskId,
        requester: agent,
        provider: task.provider,
        outcome: outcome as Outcome,
        latencyMs: Math.max(0, now - task.registeredAt),
        rating,
        price: escrow?.paid ?? escrow?.amount ?? 0,
        issuedAt: now,
      },
      keys,
    )
    const r = await rep.publishReport(report)
    if (r.result.status === 'rejected') throw new UserError(`report refused: ${r.result.reason}`)
    return true
  }

  private keysOf(agent: string): Uint8Array {
    const k = this.agentKeys(agent)
    if (!k) throw new UserError(`no keys for agent ${agent.slice(0, 12)}…`)
    return k.signing.secretKey
  }

  async stakeLock(agent: string, id: string, amount: number): Promise<number> {
    return (await this.rep.bond(agent, amount, id)).bonded
  }

  async stakeRelease(agent: string, amount: number | null): Promise<Value> {
    // No amount: unbond everything still bonded (with nothing bonded, only pay out what is due).
    const all = amount ?? (await this.rep.stake.state(agent)).bonded
    const { state: s } = await this.rep.release(agent, all > 0 ? all : undefined)
    return toValue({ bonded: s.bonded, unbonding: s.unbonding.reduce((n, u) => n + u.amount, 0) })
  }
}
