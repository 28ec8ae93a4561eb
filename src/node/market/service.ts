/**
 * `MarketService`: the market in the daemon. One `Ledger` per node (the
 * agent host's when it runs, else the reputation service's, so agent
 * wallets, stake and payments share one ledger), an `AuctionHouse` over it (records under `market/auction/`),
 * advanced by a timer, and the two sides of a CFP:
 *
 *  - requester: `issueCfp` signs a CFP with a local agent's key, opens the
 *    auction and sends it on the router; sealed bids arrive over
 *    `/swarmd/market/1.0.0`; at the deadline the house clears (VCG by
 *    default) and locks escrow; awards go sealed to the winners; a result
 *    pays (locally, or by a signed receipt sent to the winner's node) or
 *    refunds; the reputation service learns each task and gets a report.
 *  - provider: CFPs delivered by the router go to the bid handlers
 *    registered for their capability (`registerBidHandler`, and the JS
 *    providers of `market.providers`); bids are signed by the bidding agent
 *    and sealed to the requester; an award runs the task and returns a
 *    signed result; a receipt credits the winner once.
 *
 * Wire format and size limits: messages.ts. Every inbound message is
 * validated; a bad one is answered `{ ok: false, code, reason }` and its
 * sender penalised; nothing thrown by a peer's input escapes.
 */
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  cryptoRandom,
  getJson,
  type Logger,
  putJson,
  type Random,
  SwarmdError,
  UserError,
} from '../../common/index.ts'
import type { AgentCard, AgentKeys } from '../../e2e/index.ts'
import {
  acceptReceipt,
  type AuctionEvent,
  AuctionHouse,
  type AuctionRecord,
  type Award,
  answerCfp,
  type BidScorer,
  type Cfp,
  cfpCloseAt,
  createCfp,
  Ledger,
  MarketError,
  MarketErrorCode,
  type MechanismName,
  type NegotiationAct,
  type Offer,
  type Receipt,
  releaseByReceipt,
  type Terms,
  signReceipt,
  resultFor,
  verifyAward,
  verifyCfp,
} from '../../market/index.ts'
import {
  awardProblem,
  type AwardBody as EvidenceAwardBody,
  checkReportSignatures,
  type SignedEnvelope,
  StrangerPolicy,
  bidScorer,
  makeReport,
  type Outcome,
  type SignedReport,
  signReportAs,
} from '../../reputation/index.ts'
import type { E2EService } from '../e2e/index.ts'
import type { NodeService, SwarmNode } from '../node.ts'
import { PENALTY } from '../peer-score.ts'
import type { ReputationService } from '../reputation/index.ts'
import type { RouteOutcome, RoutingService } from '../routing/index.ts'
import {
  checkCard,
  decodeAck,
  decodeBody,
  decodeRoutedCfp,
  decodeSealed,
  encodeAck,
  encodeJson,
  encodeRoutedCfp,
  encodeSealed,
  MARKET_MSG,
  MARKET_MSG_TYPES,
  MARKET_PROTOCOL,
  type MarketAck,
  type MarketMsgType,
} from './messages.ts'
import { Negotiations, type OurBid, ourBidKey, type RequesterNegotiations } from './negotiate.ts'
import {
  type BidHandler,
  type BidHandlerEntry,
  jsProvider,
  type NegotiationPolicy,
  type TaskRunner,
} from './provider.ts'
import { reputationScorer } from './reputation-scorer.ts'
import { outcomeRouteCost } from './route-reward.ts'
import {
  awardEvidence,
  type PendingSlash,
  SLASH_MAX_TRIES,
  signAttestation,
  type StakeAttestation,
  verifyAttestation,
} from './slashing.ts'
import { registerMarketRoutes } from './routes.ts'

export const MARKET_SERVICE = 'market'
/** Key prefix of the auction records in the node's root store (inside KV_PREFIXES.market). */
export const AUCTION_PREFIX = 'market/auction/'
const SEND_TIMEOUT_MS = 5_000
const SEND_ATTEMPTS = 3
/** CFPs remembered for `bidAs` (older closed ones are dropped first). */
const MAX_OFFERED = 10_000
/** How often expired AVM escrows and due slash claims are looked for (a scan of their small indexes). */
const SWEEP_MS = 1_000
/** `waitSettled`'s fallback poll; auction events wake it at once. */
const SETTLE_POLL_MS = 1000
/** Escrow ids of the AVM's ESCROW_CREATE (auction escrows are `cfpId/…`). */
const AVM_ESCROW_RE = /^esc-[0-9a-f]{24}$/

/** The `terms` stored with an AVM escrow (ESCROW_CREATE). */
export interface AvmEscrowTerms {
  kind: 'avm-escrow'
  payee: string
  expiresAt: number
}

export interface CfpRequest {
  /** Local agent that signs and pays. @default the node-owned agent */
  requester?: string
  capability: string
  units: number
  reserve: number
  /** Bid window. @default 2000 */
  deadlineMs?: number
  payload: unknown
  /** @default 'vcg' */
  mechanism?: MechanismName
  /** @default false */
  negotiation?: boolean
  resultTimeoutMs?: number
  /** @default config market.routeMode */
  routeMode?: 'flood' | 'cq'
  /**
   * CFP id (default: random). Issuing the same id again for the same
   * requester returns the open auction instead of a second one (the AVM's
   * CFP opcode re-executed after a crash).
   */
  id?: string
  /** `false`: a local auction, offered only to this node's bid handlers, not routed. @default true */
  route?: boolean
}

export interface IssuedCfp {
  cfpId: string
  requester: string
  closesAt: number
  /** How the CFP went out: `local` for a local auction, `repeat` for an id already issued (nothing sent). */
  route: Pick<RouteOutcome, 'delivered' | 'latencyMs' | 'hops' | 'error' | 'deliveredBy'> & {
    mode: RouteOutcome['mode'] | 'local' | 'repeat'
  }
}

/** An award this node's agent won (provider side). */
export interface Job {
  award: Award
  cfp: Cfp
  card: AgentCard
  status: 'running' | 'done'
  result?: unknown
  paid?: boolean
}

export interface MarketStats {
  issued: number
  bidsSent: number
  bidsReceived: number
  awardsWon: number
  resultsSent: number
  receiptsAccepted: number
  rejected: Record<string, number>
}

const enc = new TextEncoder()
const dec = new TextDecoder()

export interface MarketServiceInit {
  /** Draws of the adaptive stranger policy. @default cryptoRandom */
  random?: Random
}

export class MarketService implements NodeService {
  readonly name = MARKET_SERVICE
  private readonly random: Random
  private node: SwarmNode | undefined
  private log: Logger | undefined
  private e2eRef: E2EService | undefined
  private routingRef: RoutingService | undefined
  private rep: ReputationService | undefined
  private ledgerRef: Ledger | undefined
  private houseRef: AuctionHouse | undefined
  private negotiations: Negotiations | undefined
  private readonly handlers = new Map<string, BidHandlerEntry[]>()
  /** CFPs offered to local bid handlers, until they close (the AVM bids on them later: `bidAs`). */
  private readonly offered = new Map<string, OurBid & { closesAt: number }>()
  private lastSweep = 0
  /** The adaptive stranger policy (config `reputation.newcomers.adaptive`), fed with newcomer outcomes. */
  private strangers: StrangerPolicy | undefined
  private readonly keys = new Map<string, AgentKeys>()
  /** Requester side: CFPs waiting for their first bid (router reward). */
  private readonly firstBid = new Map<string, { t0: number; outcome?: RouteOutcome; capability: string }>()
  /** Requester side: router rewards held until the auction's outcome is known (see `rewardRoute`). */
  private readonly routeRewards = new Map<string, { capability: string; via: string; firstBidMs: number }>()
  private timer: NodeJS.Timeout | undefined
  private ticking: Promise<void> | undefined
  private tickAgain = false
  /** One-shot timers of `wakeAt`. */
  private readonly wakes = new Set<NodeJS.Timeout>()
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly listeners = new Set<(ev: AuctionEvent) => void>()
  private offDeliver: (() => void) | undefined
  private running = false
  private readonly routesOn = new WeakSet<SwarmNode>()
  private maxBytes = 256 * 1024
  readonly stats: MarketStats = {
    issued: 0,
    bidsSent: 0,
    bidsReceived: 0,
    awardsWon: 0,
    resultsSent: 0,
    receiptsAccepted: 0,
    rejected: {},
  }

  constructor(init: MarketServiceInit = {}) {
    this.random = init.random ?? cryptoRandom
  }

  // ------------------------------------------------------------ accessors

  get ledger(): Ledger {
    return this.need(this.ledgerRef)
  }
  get isRunning(): boolean {
    return this.running
  }
  get house(): AuctionHouse {
    return this.need(this.houseRef)
  }
  private get e2e(): E2EService {
    return this.need(this.e2eRef)
  }
  private get kv() {
    return this.need(this.node).kv.sublevel('market/')
  }
  private need<T>(v: T | undefined): T {
    if (v === undefined) throw new SwarmdError('UNAVAILABLE', 'the market service is not started')
    return v
  }

  // ------------------------------------------------------------ lifecycle

  async start(node: SwarmNode): Promise<void> {
    if (this.running) return
    const e2e = node.service<E2EService>('e2e')
    const routing = node.service<RoutingService>('routing')
    if (!e2e || !routing)
      throw new SwarmdError('MARKET_DEPENDENCY', 'the market service needs the e2e and routing services')
    this.node = node
    this.e2eRef = e2e
    this.routingRef = routing
    this.rep = node.service<ReputationService>('reputation')
    const cfg = node.config.market
    this.maxBytes = cfg.maxMessageBytes
    const log = node.logger.forComponent('swarmd:market')
    this.log = log
    // One ledger per node: the agent host's (which reputation also uses), else reputation's, else our own.
    const agents = node.service<NodeService & { ledger?: Ledger }>('agents')
    const ledger =
      agents?.ledger ??
      this.rep?.ledger ??
      new Ledger({ store: node.kv, clock: node.clock, node: node.peerId })
    this.ledgerRef = ledger
    this.houseRef = new AuctionHouse({
      ledger,
      clock: node.clock,
      keyFor: (id) => this.keys.get(id)?.signing.secretKey,
      isLocal: (id) => this.e2e.localCard(id) !== undefined,
      prefix: AUCTION_PREFIX,
      node: node.peerId,
      scorer: this.scorer(cfg.reputation),
      negotiationWindowMs: cfg.negotiation.windowMs,
    })
    this.negotiations = new Negotiations({
      kv: this.kv,
      house: this.houseRef,
      clock: node.clock,
      config: cfg.negotiation,
      keysOf: (id) => this.keysOf(id),
      cardOf: (id) => this.cardOf(id),
      send: (from, to, body) => this.deliver(MARKET_MSG.NEGOTIATE, from, to, body),
      handlerFor: (cap, agent) => this.handlers.get(cap)?.find((h) => h.agentId === agent),
      emit: (events) => this.onEvents(events),
      track: (p) => this.track(p),
      log,
    })
    if (e2e.nodeAgent) await this.keysOf(e2e.nodeAgent)
    // Requesters of auctions still running (their awards and receipts are signed with these keys).
    for (const r of await this.house.list({ active: true }))
      await this.keysOf(r.cfp.requester).catch(() => undefined)
    await node.wire.handle(
      MARKET_PROTOCOL,
      async (env, ctx) => ({
        type: MARKET_MSG.ACK,
        payload: encodeAck(await this.handle(env.type as MarketMsgType, env.payload, ctx.peerId)),
      }),
      { types: MARKET_MSG_TYPES, maxMessageBytes: this.maxBytes + 4096, maxInboundStreams: 256 },
    )
    this.offDeliver = routing.onDeliver((d) => {
      // Routed CFPs of capabilities nobody here bids on (route probes, other consumers) are not ours.
      if ((this.handlers.get(d.capability)?.length ?? 0) > 0)
        this.track(this.onCfp(d.payload, d.origin, d.capability))
    })
    this.running = true
    if (e2e.nodeAgent)
      for (const p of cfg.providers) {
        const h = jsProvider(p, e2e.nodeAgent)
        this.registerBidHandler(h.capability, h.agentId, h.bid, h.run, h.negotiate)
      }
    if (!this.routesOn.has(node)) {
      this.routesOn.add(node)
      registerMarketRoutes(node.control, this)
    }
    if (cfg.recovery === 'resume') await this.negotiations.recover()
    const events = await this.house.recover(cfg.recovery)
    log.info('market started', { recovery: cfg.recovery, recovered: events.length })
    this.onEvents(events)
    this.track(this.resend())
    this.timer = setInterval(() => this.tick(), cfg.tickMs)
    this.timer.unref()
  }

  /** The auction's bid scorer: the reputation rule when `market.reputation` and the service are on. */
  private scorer(enabled: boolean): BidScorer | undefined {
    const rep = this.rep
    if (!enabled || !rep) return undefined
    const n = this.need(this.node).config.reputation.newcomers
    this.strangers = n.adaptive ? new StrangerPolicy() : undefined
    return reputationScorer({
      standing: (id) => rep.standing(id),
      requiredStake: (value) => rep.stake.stake.requiredStake(value),
      rule: bidScorer({ newcomers: n.admit, minTrust: n.minTrust, newcomerBondAgeMs: n.bondAgeMs }),
      ...(this.strangers
        ? { strangers: { policy: this.strangers, coin: () => this.random.next(), minTrust: n.minTrust } }
        : {}),
    })
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    clearInterval(this.timer)
    for (const t of this.wakes) clearTimeout(t)
    this.wakes.clear()
    this.offDeliver?.()
    this.negotiations?.stop()
    await this.node?.wire.unhandle(MARKET_PROTOCOL).catch(() => {})
    await this.ticking
    await Promise.race([
      Promise.allSettled([...this.inflight]),
      new Promise((r) => setTimeout(r, 2000).unref()),
    ])
  }

  private track(p: Promise<unknown>): void {
    const q = p
      .catch((err: unknown) => this.log?.warn('market task failed', { error: err }))
      .finally(() => this.inflight.delete(q))
    this.inflight.add(q)
  }

  /**
   * Tick when the bid window of `cfp` closes, not at the next `tickMs`
   * interval after it: the award then follows the window by the clearing
   * time alone. A wake that finds a tick running makes it run once more.
   */
  private wakeAt(at: number): void {
    const delay = Math.max(0, at - this.need(this.node).clock.now()) + 1
    const t = setTimeout(() => {
      this.wakes.delete(t)
      if (this.ticking) this.tickAgain = true
      else this.tick()
    }, delay)
    t.unref()
    this.wakes.add(t)
  }

  private tick(): void {
    if (this.ticking || !this.running) return
    this.ticking = this.house
      .tick()
      .then(async (ev) => {
        this.onEvents(ev)
        this.negotiations?.tick()
        const now = this.need(this.node).clock.now()
        if (now - this.lastSweep >= SWEEP_MS) {
          this.lastSweep = now
          await this.sweepEscrows(now)
          await this.sweepSlashes(now)
        }
      })
      .catch((err: unknown) => this.log?.warn('auction tick failed', { error: err }))
      .finally(() => {
        this.ticking = undefined
        if (this.tickAgain) {
          this.tickAgain = false
          this.tick()
        }
      })
  }

  // ------------------------------------------------------------ bid handlers

  /**
   * Bid for CFPs of `capability` as local agent `agentId` (it must be
   * registered with the E2E service: bids are sealed from its card). `bid`
   * returns XOR offers or `undefined` to decline; `run` does the work when
   * the bid wins; `negotiate` says how it answers a negotiation (default:
   * accept at or above its asking price). The node provides the capability
   * (DHT + flood topic). Returns an unregister function.
   */
  registerBidHandler(
    capability: string,
    agentId: string,
    bid: BidHandler,
    run: TaskRunner,
    negotiate?: NegotiationPolicy,
  ): () => void {
    const node = this.need(this.node)
    const list = this.handlers.get(capability) ?? []
    const entry: BidHandlerEntry = { capability, agentId, bid, run, negotiate }
    list.push(entry)
    this.handlers.set(capability, list)
    if (!node.discovery.list().includes(capability))
      node.discovery
        .provide(capability)
        .catch((err: unknown) => this.log?.debug('capability not announced yet', { capability, error: err }))
    return () => {
      const l = this.handlers.get(capability) ?? []
      this.handlers.set(
        capability,
        l.filter((x) => x !== entry),
      )
    }
  }

  // ------------------------------------------------------------ requester

  /** Sign a CFP as a local requester agent, open its auction and send it on the router. */
  async issueCfp(req: CfpRequest): Promise<IssuedCfp> {
    const node = this.need(this.node)
    const requester = req.requester ?? this.e2e.nodeAgent
    if (!requester) throw new UserError('no requester agent: the node-owned agent is disabled')
    const card = this.e2e.localCard(requester)
    if (!card) throw new UserError(`requester ${requester.slice(0, 12)}… is not an agent of this node`)
    const keys = await this.keysOf(requester)
    const now = node.clock.now()
    if (req.id !== undefined) {
      const prev = await this.house.get(req.id)
      if (prev) {
        if (prev.cfp.requester !== requester) throw new UserError(`CFP id ${req.id} is already used`)
        return notRouted(prev.cfp, 'repeat')
      }
    }
    let cfp: Cfp
    try {
      cfp = createCfp(
        { id: requester, secretKey: keys.signing.secretKey },
        {
          id: req.id ?? `cfp-${randomBytes(10).toString('hex')}`,
          capability: req.capability,
          payload: req.payload,
          units: req.units,
          reserve: req.reserve,
          deadlineMs: req.deadlineMs,
          mechanism: req.mechanism,
          negotiation: req.negotiation,
          resultTimeoutMs: req.resultTimeoutMs,
        },
        now,
      )
    } catch (err) {
      if (err instanceof MarketError) throw new UserError(err.message)
      throw err
    }
    const bytes = encodeRoutedCfp(cfp, card)
    if (bytes.length > this.maxBytes)
      throw new UserError(`the CFP is ${bytes.length} bytes, more than market.maxMessageBytes`)
    await this.house.open(cfp)
    this.wakeAt(cfpCloseAt(cfp))
    this.stats.issued++
    if (req.route === false) {
      // A local auction: offered to this node's bid handlers only.
      this.track(this.offer(cfp, card))
      return notRouted(cfp, 'local')
    }
    const pending = { t0: performance.now(), capability: cfp.capability } as {
      t0: number
      outcome?: RouteOutcome
      capability: string
    }
    this.firstBid.set(cfp.id, pending)
    const outcome = await this.routingRef!.engine.send(cfp.capability, bytes, {
      mode: req.routeMode ?? node.config.market.routeMode,
    })
    pending.outcome = outcome
    const { delivered, latencyMs, hops, mode, error, deliveredBy } = outcome
    return {
      cfpId: cfp.id,
      requester,
      closesAt: cfpCloseAt(cfp),
      route: { delivered, latencyMs, hops, mode, error, deliveredBy },
    }
  }

  /** Clear an open auction now instead of at its deadline (e.g. once the expected bids are in). */
  async close(cfpId: string): Promise<AuctionEvent[]> {
    const events = await this.house.close(cfpId)
    this.onEvents(events)
    return events
  }

  /** Wait until an auction is done or cancelled (or `timeoutMs` passed); returns its record. */
  async waitSettled(cfpId: string, timeoutMs: number): Promise<AuctionRecord | undefined> {
    const end = Date.now() + timeoutMs
    // Re-read the record when one of its auction events fires (every phase change emits one), with
    // a slow poll as a safety net: callers waiting on many CFPs at once do not poll LevelDB each.
    let wake: (() => void) | undefined
    const off = this.onAuctionEvent((ev) => {
      if (ev.cfpId === cfpId) wake?.()
    })
    try {
      for (;;) {
        const r = await this.house.get(cfpId)
        if (!r || r.phase === 'done' || r.phase === 'cancelled' || Date.now() >= end || !this.running)
          return r
        await new Promise<void>((res) => {
          const t = setTimeout(res, Math.min(SETTLE_POLL_MS, Math.max(0, end - Date.now())))
          wake = () => {
            clearTimeout(t)
            res()
          }
        })
        wake = undefined
      }
    } finally {
      off()
    }
  }

  /**
   * The outcome of an auction local agent `agent` opened, once settled (done
   * or cancelled) or after `waitMs`; cleared at once when `close` (the AVM's AUCTION_SETTLE).
   */
  async settleOutcome(
    agent: string,
    cfpId: string,
    waitMs: number,
    close: boolean,
  ): Promise<Record<string, unknown>> {
    const rec = await this.house.get(cfpId)
    if (!rec || rec.cfp.requester !== agent) throw new UserError(`no auction ${cfpId} opened by this agent`)
    if (close && rec.phase === 'open') await this.close(cfpId)
    const r = (await this.waitSettled(cfpId, waitMs)) ?? rec
    return {
      auction_id: r.cfp.id,
      phase: r.phase,
      bids: r.bidCount,
      welfare: r.welfare ?? null,
      total_payment: r.totalPayment ?? null,
      reason: r.reason ?? null,
      winners: r.awards.map((a) => ({
        bidder: a.award.winner,
        units: a.award.units,
        price: a.award.price,
        payment: a.award.payment,
        escrow_id: a.award.escrowId,
        status: a.status,
        output: a.output ?? null,
      })),
    }
  }

  /** Mint credits to the node-owned agent (devnets and tests; logged as explicit minting). */
  async mint(account: string, amount: number, reason: string): Promise<number> {
    if (account === '' && this.e2e.nodeAgent) account = this.e2e.nodeAgent
    if (account !== this.e2e.nodeAgent)
      throw new UserError('only the node-owned agent can be credited by minting on this node')
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new UserError('amount must be a positive integer')
    if (typeof reason !== 'string' || reason.length === 0 || reason.length > 200)
      throw new UserError('reason must be a non-empty string (at most 200 characters)')
    await this.ledger.mint(account, amount, reason)
    this.log?.info('minted credits', { account, amount, reason })
    return this.ledger.balance(account)
  }

  /** The node-owned agent (the default requester and JS provider). */
  get nodeAgent(): string | undefined {
    return this.e2eRef?.nodeAgent
  }

  /** Observe the auction events of this node's auctions (as a requester); returns an unsubscribe function. */
  onAuctionEvent(fn: (ev: AuctionEvent) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private onEvents(events: AuctionEvent[]): void {
    for (const ev of events) {
      for (const fn of this.listeners)
        try {
          fn(ev)
        } catch (err) {
          this.log?.warn('auction event listener failed', { error: err })
        }
      this.track(this.onEvent(ev))
    }
  }

  private async onEvent(ev: AuctionEvent): Promise<void> {
    const log = this.log
    log?.debug('auction event', { type: ev.type, cfpId: ev.cfpId })
    if (ev.type === 'awarded') {
      this.firstBid.delete(ev.cfpId)
      for (const a of ev.awards) {
        await this.rep?.registerTask(a.escrowId, a.requester, a.winner).catch(() => {})
        this.track(this.sendAward(a))
      }
    } else if (ev.type === 'paid') {
      const rec = await this.house.get(ev.cfpId)
      const st = rec?.awards.find((x) => x.award.escrowId === ev.escrowId)
      if (st) {
        this.rewardRoute(ev.cfpId, 'success', st.award)
        await this.recordStranger(st.award.winner, true)
      }
      const report = st ? await this.report(st.award, 'success') : undefined
      if (ev.receipt) await this.sendReceipt(ev.receipt, ev.winner, report)
    } else if (ev.type === 'refunded') {
      const rec = await this.house.get(ev.cfpId)
      const st = rec?.awards.find((x) => x.award.escrowId === ev.escrowId)
      const outcome = ev.reason.startsWith('timeout') ? 'timeout' : 'failure'
      if (st) {
        this.rewardRoute(ev.cfpId, outcome, st.award)
        await this.report(st.award, outcome)
        if (outcome === 'timeout') await this.claimSlash(st.award)
        await this.recordStranger(st.award.winner, false)
      }
    } else if (ev.type === 'cleared') await this.negotiations?.onCleared(ev.cfpId, ev.negotiateUntil)
    else if (ev.type === 'no-winner' || ev.type === 'cancelled') {
      this.firstBid.delete(ev.cfpId)
      this.rewardRoute(ev.cfpId)
    } else if (ev.type === 'error') log?.warn('auction step failed', { cfpId: ev.cfpId, error: ev.message })
  }

  /**
   * Report a routed CFP to the router once its outcome is known (the first
   * paid or refunded award; without an award, the plain time to first bid),
   * scaled by the outcome's quality (`outcomeRouteCost`).
   */
  private rewardRoute(cfpId: string, outcome?: Outcome, award?: Award): void {
    const p = this.routeRewards.get(cfpId)
    if (!p) return
    this.routeRewards.delete(cfpId)
    const now = this.need(this.node).clock.now()
    const { totalMs, success } = outcomeRouteCost(
      p.firstBidMs,
      outcome && award
        ? { outcome, latencyMs: Math.max(0, now - award.issuedAt), rating: outcome === 'success' ? 1 : 0 }
        : undefined,
    )
    this.routingRef?.engine.reward(cfpId, p.capability, p.via, totalMs, success)
  }

  private async sendAward(award: Award): Promise<void> {
    const card = await this.cardOf(award.winner)
    const own = this.e2e.localCard(award.requester)
    if (!card || !own) {
      this.log?.warn('award not sent: no card for the winner', { escrowId: award.escrowId })
      return
    }
    const ack = await this.deliver(MARKET_MSG.AWARD, award.requester, card, { award, card: own })
    if (ack.ok) await this.kv.put(`sent/award/${award.escrowId}`, enc.encode('1'))
    else this.log?.warn('award refused', { escrowId: award.escrowId, reason: ack.reason })
  }

  private async sendReceipt(receipt: Receipt, winner: string, report?: SignedReport): Promise<void> {
    const card = await this.cardOf(winner)
    if (!card) return
    const ack = await this.deliver(
      MARKET_MSG.RECEIPT,
      receipt.from,
      card,
      report ? { receipt, report } : { receipt },
    )
    // A replay answer means the payee already has it (we resent after a restart).
    if (ack.ok || ack.code === MarketErrorCode.RECEIPT_REPLAY)
      await this.kv.put(`sent/receipt/${receipt.id}`, enc.encode('1'))
    else this.log?.warn('receipt refused', { receipt: receipt.id, reason: ack.reason })
  }

  /** After a restart: re-send awards and receipts that were never acknowledged. */
  private async resend(): Promise<void> {
    for (const r of await this.house.list({ active: true }))
      for (const a of r.awards) {
        if (a.status === 'locked' && !(await this.kv.get(`sent/award/${a.award.escrowId}`)))
          await this.sendAward(a.award)
      }
    for (const r of await this.house.list())
      for (const a of r.awards)
        if (a.receipt && !(await this.kv.get(`sent/receipt/${a.receipt.id}`)))
          await this.sendReceipt(a.receipt, a.award.winner)
    for await (const [k, v] of this.kv.entries('escrow-receipt/')) {
      const receipt = JSON.parse(dec.decode(v)) as Receipt
      if (await this.kv.get(`sent/receipt/${receipt.id}`)) continue
      const e = await this.ledger.escrow(k.slice('escrow-receipt/'.length))
      if (e?.status === 'released' && e.payee === `receipt:${receipt.id}`)
        await this.sendReceipt(receipt, receipt.to)
    }
  }

  /**
   * Record the requester's report on an award, and gossip it unless it is a
   * one-sided success report. A local winner co-signs at once (gossiped); a
   * remote winner gets the report with its receipt and gossips the co-signed
   * version (this node's reputation service upgrades its one-sided copy when
   * that arrives).
   */
  private async report(award: Award, outcome: Outcome): Promise<SignedReport | undefined> {
    if (!this.rep) return undefined
    const keys = await this.keysOf(award.requester)
    const now = this.need(this.node).clock.now()
    const local = outcome === 'success' && this.e2e.localCard(award.winner) !== undefined
    const report = makeReport(
      {
        taskId: award.escrowId,
        requester: award.requester,
        provider: award.winner,
        outcome,
        latencyMs: Math.max(0, now - award.issuedAt),
        rating: outcome === 'success' ? 1 : 0,
        price: award.payment,
        issuedAt: now,
      },
      keys.signing.secretKey,
      local ? (await this.keysOf(award.winner)).signing.secretKey : undefined,
    )
    if (outcome !== 'success') {
      // The winner will not co-sign a failure: attach the proof that the task existed for third parties.
      const bid = (await this.house.bids(award.cfpId)).find((b) => b.bidder === award.winner)
      if (bid) report.taskEvidence = { award: awardEvidence(award, keys.signing.secretKey), bid }
    }
    // A one-sided success report is only held by third parties until the winner's co-signed copy
    // (which the winner gossips) arrives: keep it to this node's own view instead of gossiping it.
    const gossip = outcome !== 'success' || local
    await this.rep
      .publishReport(report, { gossip })
      .catch((err: unknown) => this.log?.debug('report not published', { error: err }))
    return report
  }

  /** Provider side: co-sign the requester's success report about our paid job, and publish it. */
  private async coSign(raw: unknown, job: Job): Promise<void> {
    if (!this.rep || typeof raw !== 'object' || raw === null) return
    const r = raw as SignedReport
    const b = r.body
    const a = job.award
    if (
      typeof b !== 'object' ||
      b === null ||
      b.taskId !== a.escrowId ||
      b.requester !== a.requester ||
      b.provider !== a.winner ||
      b.outcome !== 'success' ||
      b.price !== a.payment ||
      r.providerSig !== undefined ||
      !checkReportSignatures(r).ok
    )
      return
    const keys = await this.keysOf(a.winner)
    await this.rep
      .publishReport(signReportAs(r, 'provider', keys.signing.secretKey))
      .catch((err: unknown) => this.log?.debug('co-signed report not published', { error: err }))
  }

  // ------------------------------------------------------------ inbound

  /** One inbound market message: validated, dispatched, answered. Never throws. */
  async handle(type: MarketMsgType, payload: Uint8Array, fromPeer: string): Promise<MarketAck> {
    const node = this.need(this.node)
    try {
      if (!this.running) return { ok: false, code: 'MARKET_STOPPING', reason: 'the market is stopping' }
      const { to, sealed } = decodeSealed(payload, this.maxBytes)
      if (!this.e2e.localCard(to))
        throw new MarketError(MarketErrorCode.BAD_MESSAGE, `no local agent ${to.slice(0, 12)}…`, {
          action: 'ignore',
        })
      let opened: { from: string; payload: Uint8Array }
      try {
        opened = this.e2e.open(to, sealed)
      } catch (err) {
        throw new MarketError(MarketErrorCode.BAD_MESSAGE, `sealed body does not open: ${String(err)}`, {
          action: 'penalise',
        })
      }
      const body = decodeBody(opened.payload, this.maxBytes, type)
      if (type === MARKET_MSG.BID) await this.onBid(to, opened.from, body)
      else if (type === MARKET_MSG.AWARD) await this.onAward(to, opened.from, body)
      else if (type === MARKET_MSG.RESULT) await this.onResult(to, opened.from, body)
      else if (type === MARKET_MSG.NEGOTIATE) await this.negotiations!.onMessage(to, opened.from, body)
      else if (type === MARKET_MSG.SLASH) return await this.slashHere(body.evidence, to, opened.from)
      else await this.onReceipt(to, opened.from, body)
      return { ok: true }
    } catch (err) {
      if (!(err instanceof SwarmdError)) {
        this.log?.warn('market message failed', { type, peer: fromPeer, error: err })
        return { ok: false, code: 'MARKET_INTERNAL', reason: 'internal error' }
      }
      this.stats.rejected[err.code] = (this.stats.rejected[err.code] ?? 0) + 1
      const action = err.action ?? 'reject'
      if (fromPeer !== node.peerId && (action === 'penalise' || action === 'reject')) {
        node.peerScore.penalise(
          fromPeer,
          action === 'penalise' ? PENALTY.BAD_SIGNATURE : PENALTY.MALFORMED,
          `market_${err.code}`,
        )
        node.metrics.peerPenaltiesTotal.inc({ reason: `market_${err.code}` })
      }
      this.log?.debug('market message rejected', {
        type,
        peer: fromPeer,
        code: err.code,
        reason: err.message,
      })
      return { ok: false, code: err.code, reason: err.message }
    }
  }

  private async onBid(to: string, from: string, body: Record<string, unknown>): Promise<void> {
    const bid = body.bid as { bidder?: unknown; cfpId?: unknown } | undefined
    if (typeof bid !== 'object' || bid === null) throw badMsg('bid message has no bid')
    if (bid.bidder !== from) throw badMsg('bid is signed for another agent than its sender', 'penalise')
    const card = checkCard(body.card, from, 'bid')
    const rec = typeof bid.cfpId === 'string' ? await this.house.get(bid.cfpId) : undefined
    if (!rec || rec.cfp.requester !== to)
      throw new MarketError(MarketErrorCode.UNKNOWN_AUCTION, 'no auction of this agent for the bid', {
        action: 'ignore',
      })
    if (body.stake !== undefined && this.rep) {
      const att = verifyAttestation(body.stake, {
        agent: from,
        node: card.body.node!,
        now: this.need(this.node).clock.now(),
      })
      this.rep.noteRemoteStake(from, att)
    }
    await this.house.bid(bid)
    this.stats.bidsReceived++
    await putJson(this.kv, `card/${from}`, card)
    const fb = this.firstBid.get(rec.cfp.id)
    if (fb) {
      this.firstBid.delete(rec.cfp.id)
      const out = fb.outcome
      if (out?.firstHop)
        this.routeRewards.set(rec.cfp.id, {
          capability: fb.capability,
          via: out.firstHop,
          firstBidMs: performance.now() - fb.t0,
        })
    }
  }

  private async onResult(_to: string, from: string, body: Record<string, unknown>): Promise<void> {
    const result = body.result as { worker?: unknown } | undefined
    if (typeof result !== 'object' || result === null) throw badMsg('result message has no result')
    if (result.worker !== from) throw badMsg('result is signed for another agent than its sender', 'penalise')
    this.onEvents(await this.house.result(result))
    // Tell the worker whether it was paid: a late result, a failure or a refused one is acknowledged as such.
    const r = result as { cfpId?: unknown; escrowId?: unknown }
    const rec = typeof r.cfpId === 'string' ? await this.house.get(r.cfpId) : undefined
    const st = rec?.awards.find((a) => a.award.escrowId === r.escrowId)
    if (st && st.status !== 'paid')
      throw new MarketError(MarketErrorCode.EXPIRED, `the award is ${st.status}: ${st.reason ?? ''}`, {
        action: 'ignore',
      })
  }

  // ------------------------------------------------------------ provider

  private async onCfp(bytes: Uint8Array, origin: string, capability: string): Promise<void> {
    const node = this.need(this.node)
    let cfp: Cfp
    let card: AgentCard
    try {
      const routed = decodeRoutedCfp(bytes, this.maxBytes)
      cfp = verifyCfp(routed.cfp, node.clock.now())
      card = checkCard(routed.card, cfp.requester, 'CFP')
      if (card.body.node !== origin) throw badMsg('the requester card names another node than the origin')
      if (cfp.capability !== capability) throw badMsg('the CFP was routed under another capability')
    } catch (err) {
      const code = err instanceof SwarmdError ? err.code : 'MARKET_BAD_MESSAGE'
      this.stats.rejected[code] = (this.stats.rejected[code] ?? 0) + 1
      if (origin !== node.peerId && !(err instanceof SwarmdError && err.action === 'ignore'))
        node.peerScore.penalise(origin, PENALTY.MALFORMED, `market_${code}`)
      this.log?.debug('CFP refused', { origin, error: err })
      return
    }
    await this.offer(cfp, card)
  }

  /** Offer a verified CFP to the local bid handlers of its capability; bid with the answers. */
  private async offer(cfp: Cfp, card: AgentCard): Promise<void> {
    const node = this.need(this.node)
    const closesAt = cfpCloseAt(cfp)
    this.offered.set(cfp.id, { cfp, card, closesAt })
    if (this.offered.size > MAX_OFFERED) {
      const now = node.clock.now()
      for (const [id, o] of this.offered)
        if (o.closesAt < now || this.offered.size > MAX_OFFERED) this.offered.delete(id)
    }
    for (const h of this.handlers.get(cfp.capability) ?? []) {
      if (h.agentId === cfp.requester) continue
      const own = this.e2e.localCard(h.agentId)
      if (!own) continue
      try {
        const answer = await h.bid(cfp)
        if (!answer || answer.offers.length === 0) continue
        await this.sendBid(h.agentId, cfp, card, answer.offers)
      } catch (err) {
        this.log?.warn('bid failed', { cfpId: cfp.id, agent: h.agentId, error: err })
      }
    }
  }

  /** Sign `offers` as local agent `agentId`, seal them to the requester and deliver; the requester's answer. */
  private async sendBid(agentId: string, cfp: Cfp, card: AgentCard, offers: Offer[]): Promise<MarketAck> {
    const node = this.need(this.node)
    const own = this.e2e.localCard(agentId)
    if (!own) throw new UserError(`${agentId.slice(0, 12)}… is not an agent of this node`)
    const keys = await this.keysOf(agentId)
    const bid = await answerCfp(
      cfp,
      { id: agentId, secretKey: keys.signing.secretKey },
      () => offers,
      node.clock.now(),
    )
    if (!bid) return { ok: false, code: 'MARKET_NO_BID', reason: 'no valid offer' }
    await putJson(this.kv, ourBidKey(cfp.id, agentId), { cfp, card, offers: bid.offers } satisfies OurBid)
    const stake = await this.attest(agentId)
    const ack = await this.deliver(
      MARKET_MSG.BID,
      agentId,
      card,
      stake ? { bid, card: own, stake } : { bid, card: own },
    )
    if (ack.ok) this.stats.bidsSent++
    else this.log?.debug('bid refused', { cfpId: cfp.id, reason: ack.reason })
    return ack
  }

  /**
   * Bid as local agent `agentId` on a CFP this node offered to it (a routed
   * CFP of one of its capabilities, or a local auction). The AVM's AUCTION_BID.
   * Throws a UserError when the CFP is unknown or closed, or the requester refused the bid.
   */
  async bidAs(agentId: string, cfpId: string, offers: Offer[]): Promise<boolean> {
    const o = this.offered.get(cfpId)
    if (!o) throw new UserError(`no open CFP ${cfpId} offered to this node`)
    if (o.closesAt <= this.need(this.node).clock.now())
      throw new UserError(`the bid window of ${cfpId} is closed`)
    if (o.cfp.requester === agentId) throw new UserError('an agent cannot bid on its own CFP')
    if (!(this.handlers.get(o.cfp.capability) ?? []).some((h) => h.agentId === agentId))
      throw new UserError(`this agent does not provide ${o.cfp.capability} (declare it with .capability)`)
    if (offers.length === 0) return false
    const ack = await this.sendBid(agentId, o.cfp, o.card, offers)
    if (!ack.ok) throw new UserError(`bid refused: ${ack.reason}`)
    return true
  }

  /**
   * Answer a negotiation local agent `agentId` takes part in as a winning
   * bidder (the AVM's NEGOTIATE): see `Negotiations.answerAs`.
   */
  negotiateAs(
    agentId: string,
    negotiationId: string,
    act: NegotiationAct,
    terms?: Partial<Terms>,
  ): Promise<boolean> {
    return this.need(this.negotiations).answerAs(agentId, negotiationId, act, terms)
  }

  /** The requester's negotiations of a CFP (`market show`). */
  negotiationsOf(cfpId: string): Promise<RequesterNegotiations | undefined> {
    return this.need(this.negotiations).requesterSide(cfpId)
  }

  private async onAward(to: string, from: string, body: Record<string, unknown>): Promise<void> {
    const award = verifyAward(body.award, { winner: to })
    if (award.requester !== from) throw badMsg('award is signed by another agent than its sender', 'penalise')
    const ours = await getJson<OurBid>(this.kv, ourBidKey(award.cfpId, to))
    if (!ours || ours.cfp.requester !== award.requester)
      throw new MarketError(MarketErrorCode.NOT_AWARDED, `${to.slice(0, 12)}… did not bid on ${award.cfpId}`)
    const card = checkCard(body.card, from, 'award')
    const key = `job/${award.escrowId}`
    const prev = await getJson<Job>(this.kv, key)
    if (prev) {
      // A re-sent award (requester restarted): re-send the result if we have one.
      if (prev.status === 'done' && prev.result !== undefined)
        this.track(this.deliver(MARKET_MSG.RESULT, to, card, { result: prev.result }))
      return
    }
    const job: Job = { award, cfp: ours.cfp, card, status: 'running' }
    await putJson(this.kv, key, job)
    this.stats.awardsWon++
    await this.rep?.registerTask(award.escrowId, award.requester, award.winner).catch(() => {})
    this.track(this.runJob(job))
  }

  private async runJob(job: Job): Promise<void> {
    const { award } = job
    const h = (this.handlers.get(job.cfp.capability) ?? []).find((x) => x.agentId === award.winner)
    let outcome: { ok: boolean; output: unknown } | undefined
    try {
      outcome = h
        ? await h.run(award, job.cfp.payload)
        : { ok: false, output: 'no handler for the capability' }
    } catch (err) {
      outcome = { ok: false, output: `task failed: ${(err as Error).message}` }
    }
    // undefined: the agent returns the result itself later (completeJob, the AVM's TASK_RESULT)
    if (!this.running || outcome === undefined) return
    await this.finishJob(job, outcome)
  }

  /**
   * Return the result of a job local agent `agentId` won (the AVM's
   * TASK_RESULT): signed, stored, sealed to the requester. Returns whether
   * the requester accepted it.
   */
  async completeJob(
    agentId: string,
    escrowId: string,
    outcome: { ok: boolean; output: unknown },
  ): Promise<boolean> {
    const job = await this.jobByEscrow(escrowId)
    if (!job || job.award.winner !== agentId) throw new UserError(`no task ${escrowId} won by this agent`)
    if (job.status === 'done') throw new UserError(`task ${escrowId} already has a result`)
    return this.finishJob(job, outcome)
  }

  private async finishJob(job: Job, outcome: { ok: boolean; output: unknown }): Promise<boolean> {
    const node = this.need(this.node)
    const { award } = job
    const keys = await this.keysOf(award.winner)
    const result = resultFor(
      award,
      { id: award.winner, secretKey: keys.signing.secretKey },
      outcome,
      node.clock.now(),
    )
    const key = `job/${award.escrowId}`
    const cur = (await getJson<Job>(this.kv, key)) ?? job
    await putJson(this.kv, key, { ...cur, status: 'done', result })
    const ack = await this.deliver(MARKET_MSG.RESULT, award.winner, job.card, { result })
    if (ack.ok) this.stats.resultsSent++
    else this.log?.warn('result refused', { escrowId: award.escrowId, reason: ack.reason })
    return ack.ok
  }

  private async onReceipt(to: string, from: string, body: Record<string, unknown>): Promise<void> {
    const receipt = body.receipt as { ref?: unknown; from?: unknown } | undefined
    if (typeof receipt !== 'object' || receipt === null) throw badMsg('receipt message has no receipt')
    if (receipt.from !== from) throw badMsg('receipt is from another agent than its sender', 'penalise')
    const job =
      typeof receipt.ref === 'string' ? await getJson<Job>(this.kv, `job/${receipt.ref}`) : undefined
    if (!job && typeof receipt.ref === 'string' && AVM_ESCROW_RE.test(receipt.ref)) {
      // An AVM escrow (ESCROW_RELEASE) paid to a local agent: the payer's signature is the evidence.
      await acceptReceipt(this.ledger, receipt, { from, to, ref: receipt.ref })
      this.stats.receiptsAccepted++
      await this.rep?.registerTask(receipt.ref, from, to).catch(() => {})
      return
    }
    if (!job || job.award.winner !== to)
      throw new MarketError(MarketErrorCode.BAD_RECEIPT, 'receipt for no award of this agent', {
        action: 'penalise',
      })
    const a = job.award
    await acceptReceipt(this.ledger, receipt, {
      from: a.requester,
      to: a.winner,
      amount: a.payment,
      ref: a.escrowId,
    })
    this.stats.receiptsAccepted++
    await putJson(this.kv, `job/${a.escrowId}`, { ...job, paid: true })
    if (body.report !== undefined) this.track(this.coSign(body.report, job))
  }

  private jobByEscrow(escrowId: string): Promise<Job | undefined> {
    return getJson<Job>(this.kv, `job/${escrowId}`)
  }

  /** Feed the stranger policy with the outcome of an award to a newcomer. */
  private async recordStranger(winner: string, success: boolean): Promise<void> {
    if (!this.strangers || !this.rep) return
    const s = await this.rep.standing(winner)
    if (s.relativeTrust < this.need(this.node).config.reputation.newcomers.minTrust)
      this.strangers.record(success)
  }

  // ------------------------------------------------------------ stake across nodes (slashing.ts)

  /** This node's signed statement of a local agent's stake (sent with its bids). */
  private async attest(agentId: string): Promise<StakeAttestation | undefined> {
    if (!this.rep) return undefined
    const node = this.need(this.node)
    const a = await this.rep.stake.stake.account(agentId)
    return signAttestation(
      {
        agent: agentId,
        node: node.peerId,
        bonded: a.bonded,
        ...(a.bondedSince !== undefined && a.bonded > 0 ? { bondedSince: a.bondedSince } : {}),
        blacklisted: a.blacklisted,
        at: node.clock.now(),
      },
      node.repo.privateKey.raw.subarray(0, 32),
    )
  }

  /**
   * Requester side: a winner missed its result deadline; claim its stake once
   * the grace period passed (on this ledger for a local winner, else at its node).
   */
  private async claimSlash(award: Award): Promise<void> {
    if (!this.rep) return
    const keys = await this.keysOf(award.requester)
    const grace = this.need(this.node).config.reputation.stake.deadlineGraceMs
    await putJson(this.kv, `slash/${award.escrowId}`, {
      evidence: awardEvidence(award, keys.signing.secretKey),
      winner: award.winner,
      dueAt: award.resultDeadline + grace + 1000,
      tries: 0,
    } satisfies PendingSlash)
  }

  /** Deliver the slash claims that are due (the provider's node slashes; see `onSlash`). */
  private async sweepSlashes(now: number): Promise<void> {
    for await (const [k, v] of this.kv.entries('slash/')) {
      const p = JSON.parse(dec.decode(v)) as PendingSlash
      if (p.dueAt > now) continue
      const escrowId = k.slice('slash/'.length)
      const card = await this.cardOf(p.winner)
      let ack: MarketAck
      if (!card) ack = { ok: false, code: 'MARKET_NO_CARD', reason: 'no card for the winner' }
      else if (this.e2e.localCard(p.winner))
        ack = await this.slashHere(p.evidence, p.winner, p.evidence.body.requester)
      else
        ack = await this.deliver(MARKET_MSG.SLASH, p.evidence.body.requester, card, { evidence: p.evidence })
      const final =
        ack.ok ||
        ack.code === 'SLASH_DUPLICATE' ||
        ack.code === 'SLASH_REBUTTED' ||
        p.tries + 1 >= SLASH_MAX_TRIES
      if (final) {
        await this.kv.del(k)
        this.log?.info(ack.ok ? 'stake slashed for a missed deadline' : 'slash claim ended', {
          escrowId,
          winner: p.winner,
          code: ack.code,
          reason: ack.reason,
        })
      } else await putJson(this.kv, k, { ...p, tries: p.tries + 1, dueAt: now + 5_000 * (p.tries + 1) })
    }
  }

  /**
   * Slash local agent `agent` on the evidence of `raw` (the requester's signed
   * award), unless this node holds a signed result of it dated before the deadline.
   */
  private async slashHere(raw: unknown, agent: string, requester: string): Promise<MarketAck> {
    if (!this.rep) return { ok: false, code: 'SLASH_UNAVAILABLE', reason: 'no reputation service' }
    const ev = raw as SignedEnvelope<EvidenceAwardBody>
    const problem = typeof raw === 'object' && raw !== null ? awardProblem(ev) : 'no evidence'
    if (problem)
      throw new MarketError(MarketErrorCode.BAD_MESSAGE, `slash evidence: ${problem}`, { action: 'penalise' })
    if (ev.body.provider !== agent || ev.body.requester !== requester)
      throw new MarketError(MarketErrorCode.BAD_MESSAGE, 'slash evidence names other parties', {
        action: 'penalise',
      })
    const job = await this.jobByEscrow(ev.body.taskId)
    if (
      job &&
      (job.award.requester !== requester || job.award.winner !== agent || job.award.payment !== ev.body.price)
    )
      throw new MarketError(MarketErrorCode.BAD_MESSAGE, 'slash evidence does not match the award', {
        action: 'penalise',
      })
    const result = job?.result as { issuedAt?: number } | undefined
    if (job?.status === 'done' && typeof result?.issuedAt === 'number' && result.issuedAt <= ev.body.deadline)
      return { ok: false, code: 'SLASH_REBUTTED', reason: 'a signed result dated before the deadline exists' }
    try {
      const rec = await this.rep.stake.slashMissedDeadline(ev)
      this.log?.warn('agent slashed for a missed deadline', {
        agent,
        task: ev.body.taskId,
        amount: rec.amount,
        record: rec.id,
      })
      return { ok: true }
    } catch (err) {
      if (err instanceof SwarmdError) return { ok: false, code: err.code, reason: err.message }
      throw err
    }
  }

  // ------------------------------------------------------------ AVM escrow (ESCROW_CREATE/RELEASE/REFUND)

  /** Lock `amount` of local agent `payer`'s credits for `payee` until released or refunded after `timeoutMs`. Idempotent by id. */
  async escrowCreate(
    payer: string,
    id: string,
    payee: string,
    amount: number,
    timeoutMs: number,
  ): Promise<string> {
    if (!AVM_ESCROW_RE.test(id)) throw new UserError(`bad escrow id ${id}`)
    if (!/^[0-9a-f]{64}$/.test(payee)) throw new UserError('payee must be an agent id (64 hex characters)')
    if (payee === payer) throw new UserError('an agent cannot escrow for itself')
    if (!this.e2e.localCard(payer)) throw new UserError('the payer is not an agent of this node')
    const terms: AvmEscrowTerms = {
      kind: 'avm-escrow',
      payee,
      expiresAt: this.need(this.node).clock.now() + timeoutMs,
    }
    const r = await this.ledger.lock(id, payer, amount, terms)
    if (r.status === 'applied') {
      // Index of open AVM escrows by id, for the expiry sweep (the ledger keeps every escrow ever made).
      await this.kv.put(`avm-escrow/${id}`, enc.encode(String(terms.expiresAt)))
      await this.rep?.registerTask(id, payer, payee).catch(() => {})
    }
    return id
  }

  /** Pay an AVM escrow to its payee: on this ledger, or by a signed receipt sent to the payee's node. Only the payer may. */
  async escrowRelease(agent: string, id: string): Promise<boolean> {
    const e = await this.ledger.escrow(id)
    const t = e?.terms as AvmEscrowTerms | undefined
    if (!e || t?.kind !== 'avm-escrow') throw new UserError(`no escrow ${id}`)
    if (e.payer !== agent) throw new UserError('only the agent that created the escrow can release it')
    if (e.status !== 'open') return false
    if (this.e2e.localCard(t.payee)) {
      const r = await this.ledger.release(id, t.payee, e.amount)
      return r.status === 'applied'
    }
    const card = await this.cardOf(t.payee)
    if (!card)
      throw new UserError(
        `the payee ${t.payee.slice(0, 12)}… is unknown here (no card): it must have messaged this node`,
      )
    const node = this.need(this.node)
    const keys = await this.keysOf(agent)
    const body = {
      id: `rcpt-${id}`,
      from: agent,
      to: t.payee,
      amount: e.amount,
      issuedAt: node.clock.now(),
      fromNode: node.peerId,
      toNode: card.body.node,
      ref: id,
    }
    // Intent first (Ed25519 is deterministic: the receipt signed below is this one), so a crash after the
    // release still re-sends the receipt on restart (`resend`).
    await putJson(this.kv, `escrow-receipt/${id}`, signReceipt(body, keys.signing.secretKey))
    const { status, receipt } = await releaseByReceipt(this.ledger, id, body, keys.signing.secretKey)
    if (status !== 'applied') return false
    this.track(this.sendReceipt(receipt, t.payee))
    return true
  }

  /** Refund an AVM escrow: the payee (when local) at any time, the payer once it expired. */
  async escrowRefund(agent: string, id: string): Promise<boolean> {
    const e = await this.ledger.escrow(id)
    const t = e?.terms as AvmEscrowTerms | undefined
    if (!e || t?.kind !== 'avm-escrow') throw new UserError(`no escrow ${id}`)
    const now = this.need(this.node).clock.now()
    if (agent !== t.payee) {
      if (agent !== e.payer) throw new UserError('only the payer or the payee can refund an escrow')
      if (now < t.expiresAt)
        throw new UserError(
          `escrow ${id} runs until ${new Date(t.expiresAt).toISOString()}; only the payee can refund it earlier`,
        )
    }
    if (e.status !== 'open') return false
    const r = await this.ledger.refund(
      id,
      agent === t.payee ? 'refunded by the payee' : 'refunded by the payer after its timeout',
    )
    return r.status === 'applied'
  }

  /**
   * Refund AVM escrows whose timeout passed, and drop closed ones from the
   * index (an escrow released or refunded otherwise leaves its entry behind).
   */
  private async sweepEscrows(now: number): Promise<void> {
    for await (const [k, v] of this.kv.entries('avm-escrow/')) {
      if (Number(dec.decode(v)) > now) continue
      const id = k.slice('avm-escrow/'.length)
      const e = await this.ledger.escrow(id)
      if (e?.status === 'open') {
        const r = await this.ledger.refund(id, 'timeout').catch((err: unknown) => {
          this.log?.warn('escrow refund failed', { escrowId: id, error: err })
          return undefined
        })
        if (!r) continue
        this.log?.info('escrow expired and refunded', { escrowId: id, payer: e.payer, amount: e.amount })
      }
      await this.kv.del(k)
    }
  }

  /** Jobs (awards won by local agents) of one CFP, for `market show` on the provider's node. */
  async jobsFor(cfpId: string): Promise<Job[]> {
    const out: Job[] = []
    for await (const [, v] of this.kv.entries(`job/${cfpId}/`)) out.push(JSON.parse(dec.decode(v)) as Job)
    return out
  }

  // ------------------------------------------------------------ transport

  /** Seal `body` from local agent `from` to `toCard`'s agent and send it to its node (or handle it here). */
  private async deliver(
    type: MarketMsgType,
    from: string,
    toCard: AgentCard,
    body: unknown,
  ): Promise<MarketAck> {
    const node = this.need(this.node)
    const sealed = this.e2e.seal(from, toCard, encodeJson(body))
    const payload = encodeSealed(toCard.body.agentId, sealed)
    const peer = toCard.body.node!
    if (peer === node.peerId) return this.handle(type, payload, node.peerId)
    let last = 'not sent'
    for (let i = 0; i < SEND_ATTEMPTS && this.running; i++) {
      try {
        await this.ensureConnected(peer, toCard.body.addresses ?? [])
        const reply = await node.wire.request(
          peer,
          MARKET_PROTOCOL,
          { type, payload },
          { timeoutMs: SEND_TIMEOUT_MS },
        )
        return decodeAck(reply.payload)
      } catch (err) {
        last = (err as Error).message
        await new Promise((r) => setTimeout(r, 200 * (i + 1)))
      }
    }
    return { ok: false, code: 'MARKET_UNREACHABLE', reason: last }
  }

  private async ensureConnected(peer: string, addrs: string[]): Promise<void> {
    const node = this.need(this.node)
    if (node.libp2p.getConnections(peerIdFromString(peer)).length > 0) return
    for (const a of addrs) {
      try {
        await node.connect(a.includes('/p2p/') ? a : `${a}/p2p/${peer}`)
        return
      } catch {
        // next address
      }
    }
  }

  // ------------------------------------------------------------ storage

  private async keysOf(agentId: string): Promise<AgentKeys> {
    const k = this.keys.get(agentId)
    if (k) return k
    // Agents of the AVM host keep their keys there.
    const hosted = this.need(this.node)
      .service<NodeService & { agentKeys?: (id: string) => AgentKeys | undefined }>('agents')
      ?.agentKeys?.(agentId)
    if (hosted) {
      this.keys.set(agentId, hosted)
      return hosted
    }
    const keys = await this.e2e.loadOrCreateKeys(agentId)
    if (keys.agentId !== agentId)
      throw new SwarmdError('MARKET_NO_KEYS', `no keys for agent ${agentId.slice(0, 12)}… on this node`)
    this.keys.set(agentId, keys)
    return keys
  }

  private async cardOf(agentId: string): Promise<AgentCard | undefined> {
    return this.e2e.localCard(agentId) ?? (await getJson<AgentCard>(this.kv, `card/${agentId}`))
  }
}

/** An issued CFP that did not go on the router: a local auction, or one issued before. */
function notRouted(cfp: Cfp, mode: 'local' | 'repeat'): IssuedCfp {
  return {
    cfpId: cfp.id,
    requester: cfp.requester,
    closesAt: cfpCloseAt(cfp),
    route: { delivered: true, latencyMs: 0, hops: 0, mode, error: undefined, deliveredBy: undefined },
  }
}

function badMsg(msg: string, action: 'reject' | 'penalise' = 'reject'): MarketError {
  return new MarketError(MarketErrorCode.BAD_MESSAGE, msg, { action })
}
