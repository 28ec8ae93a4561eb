/**
 * `ReputationService`: the daemon half of reputation. It joins the report
 * gossip topics (`REPORT_BATCH_TOPIC`, and `REPORT_TOPIC` for single reports
 * from older nodes) with topic validators that run every incoming report
 * through `ReportIntake` (see `validator.ts`), persists
 * accepted reports under `rep/`, feeds them to this node's `TrustEngine`
 * (its personal EigenTrust view, pre-trusted agents from
 * `config.reputation.preTrusted`), recomputes trust on a timer and at start
 * from the persisted reports, and keeps stake on the node's credit ledger
 * (`NodeStake`). The market integration calls `registerTask` on every award
 * and `publishReport` after it; published reports leave in batches
 * (`batcher.ts`, `reputation.gossip`).
 */
import { type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Counter, Gauge, Histogram } from 'prom-client'
import { type Logger, SwarmdError, UserError } from '../../common/index.ts'
import { Ledger } from '../../market/index.ts'
import {
  type BidderStanding,
  encodeReport,
  type IntakeResult,
  REPORT_BATCH_TOPIC,
  REPORT_TOPIC,
  ReportIntake,
  type SignedReport,
  type SlashRecord,
  TrustEngine,
} from '../../reputation/index.ts'
import type { NodeService, SwarmNode } from '../node.ts'
import { registerReputationRoutes } from './routes.ts'
import { NodeStake, type StakeState } from './stake.ts'
import { TaskRegistry } from './tasks.ts'
import { taskEvidenceProblem } from './evidence.ts'
import { type BatchTimers, ReportBatcher } from './batcher.ts'
import {
  type BatchOutcome,
  createReportBatchValidator,
  createReportValidator,
  type GossipVerdict,
  type ReportValidator,
} from './validator.ts'

/** Key prefix of the service's records in the node's root store (KV_PREFIXES.reputation). */
export const REPUTATION_PREFIX = 'rep/'

export interface AgentTrust {
  agentId: string
  /** Global trust in this node's view (sums to 1 over all known agents). */
  trust: number
  /** Trust relative to the average agent (1 = average). */
  relativeTrust: number
  /** One-hop distrust from trusted raters' net failure reports. */
  distrust: number
  relativeDistrust: number
  preTrusted: boolean
  reports: { asProvider: number; asRequester: number }
}

/** What `swarmd rep show AGENT` prints. */
export interface AgentReputation extends AgentTrust {
  stake: { bonded: number; unbonding: { amount: number; releaseAt: number }[]; blacklisted: boolean }
  slashes: SlashRecord[]
}

export interface PublishResult {
  result: IntakeResult
  /** True when the report went into the outgoing batch (not when rejected or a duplicate). */
  queued: boolean
  /**
   * Peers the batch carrying the report was sent to, with `{ flush: true }`;
   * otherwise 0 (the batch leaves later, see `reputation.gossip`).
   */
  recipients: number
}

export interface PublishOptions {
  /** Send the outgoing batch (with this report) now and wait for it. @default false */
  flush?: boolean
  /**
   * Gossip the report. `false`: this node's own intake only (stored, fed to
   * its trust view). The market uses it for the requester's one-sided success
   * report on a remote winner: other nodes could only hold that report until
   * the winner's co-signed copy arrives, which the winner gossips. @default true
   */
  gossip?: boolean
}

export interface ReputationStats {
  /** Connected peers subscribed to the report batch topic (who a published batch reaches first). */
  topicPeers: number
  accepted: number
  held: number
  rejected: Record<string, number>
  /** Reports this node sent (in batches). */
  published: number
  /** Reports waiting in the outgoing batch. */
  queued: number
  /** Report batches: sent by this node, and received from peers (with the reports they carried). */
  batches: { published: number; received: number; receivedReports: number; rejected: number }
  agents: number
  edges: number
  lastComputedAt: number | undefined
  iterations: number
}

export interface ReputationServiceInit {
  /** Use this ledger (the market's) instead of finding or creating one. */
  ledger?: Ledger
  /** Timers of the outgoing report batch (tests). @default real timers */
  batchTimers?: BatchTimers
}

const TOPIC_VERDICT: Record<GossipVerdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
}

export class ReputationService implements NodeService {
  readonly name = 'reputation'
  private readonly init: ReputationServiceInit
  private node: SwarmNode | undefined
  private log: Logger | undefined
  private intakeRef: ReportIntake | undefined
  private trustRef: TrustEngine | undefined
  private stakeRef: NodeStake | undefined
  private tasksRef: TaskRegistry | undefined
  private validatorRef: ReportValidator | undefined
  private batchValidatorRef: ReportValidator | undefined
  /** True when this service created the node's ledger (no `agents` service offered one). */
  ownsLedger = false
  private readonly counts = new Map<string, { asProvider: number; asRequester: number }>()
  private readonly stats = { accepted: 0, held: 0, published: 0, rejected: {} as Record<string, number> }
  private readonly batchStats = { published: 0, received: 0, receivedReports: 0, rejected: 0 }
  private batcherRef: ReportBatcher | undefined
  private lastComputedAt: number | undefined
  private dirty = false
  private timers: ReturnType<typeof setInterval>[] = []
  /** Intake calls run one at a time: exact duplicate detection and `intakeReport` rely on it. */
  private chain: Promise<unknown> = Promise.resolve()
  /** The report the intake is checking (set around `intake.receive`): its known-task question needs it. */
  private intakeReport: SignedReport | undefined
  private routesRegistered = false
  private running = false
  private metrics: ReputationMetrics | undefined
  private metricsNode: SwarmNode | undefined
  /** Stake of agents hosted elsewhere, as their nodes attest with their bids (newest per agent). */
  private readonly remoteStake = new Map<
    string,
    { bonded: number; bondedSince?: number; blacklisted: boolean; at: number }
  >()

  constructor(init: ReputationServiceInit = {}) {
    this.init = init
  }

  // ------------------------------------------------------------ lifecycle

  async start(node: SwarmNode): Promise<void> {
    if (this.running) return
    const cfg = node.config.reputation
    this.node = node
    const log = node.logger.forComponent('swarmd:reputation')
    this.log = log
    const store = node.kv.sublevel(REPUTATION_PREFIX)
    const tasks = new TaskRegistry(store)
    this.tasksRef = tasks
    const intake = new ReportIntake({
      clock: node.clock,
      store,
      isTaskKnown: async (taskId, requester, provider) => {
        const r = this.intakeReport
        // A one-sided report about a task we did not see: its evidence can make the task known. Asked
        // here, after the intake's rate limit and signature checks, not for every report that arrives.
        if (r?.taskEvidence && r.providerSig === undefined && (await tasks.get(taskId)) === undefined) {
          const problem = taskEvidenceProblem(r)
          if (problem === undefined) await tasks.register(taskId, requester, provider, node.clock.now())
          else log.debug('report task evidence refused', { taskId, problem })
        }
        return tasks.known(taskId, requester, provider, r?.providerSig !== undefined, cfg.unknownTasks)
      },
      ratePerSecond: cfg.ratePerSecond,
      burst: cfg.burst,
      holdMs: cfg.holdMs,
    })
    this.intakeRef = intake
    if (this.metricsNode !== node) {
      this.metrics = createReputationMetrics(node)
      this.metricsNode = node
    }
    const metrics = this.metrics
    const trust = new TrustEngine({ preTrusted: cfg.preTrusted })
    this.trustRef = trust
    this.counts.clear()
    let loaded = 0
    for await (const { report, coSigned } of intake.accepted()) {
      this.add(report, coSigned, false)
      loaded++
    }
    intake.onAccepted((report, coSigned, upgrade) => {
      this.stats.accepted++
      this.add(report, coSigned, upgrade)
    })
    this.recompute()
    log.info('reputation loaded', { reports: loaded, agents: trust.agentCount })

    const agents = node.service<NodeService & { ledger?: Ledger }>('agents')
    const ledger = this.init.ledger ?? agents?.ledger
    this.ownsLedger = ledger === undefined
    this.stakeRef = new NodeStake({
      ledger: ledger ?? new Ledger({ store: node.kv, clock: node.clock, node: node.peerId }),
      store: node.kv,
      clock: node.clock,
      params: {
        minimumStake: cfg.stake.minimum,
        stakeFreeValue: cfg.stake.freeValue,
        stakePerValueBps: cfg.stake.perValueBps,
        unbondingDelayMs: cfg.stake.unbondingDelayMs,
        deadlineGraceMs: cfg.stake.deadlineGraceMs,
      },
    })

    const validatorDeps = {
      receive: (report: SignedReport, from: string) => this.receive(report, from),
      peerScore: node.peerScore,
      logger: log,
      onResult: (_from: string, r: IntakeResult | { status: 'undecodable' }) => {
        if (r.status === 'held') this.stats.held++
        else if (r.status === 'rejected') this.count(r.reason)
        else if (r.status === 'undecodable') this.count('UNDECODABLE')
        const result = r.status === 'rejected' ? r.reason : r.status
        metrics?.reportsTotal.inc({ result })
        if (r.status === 'undecodable' || (r.status === 'rejected' && r.action === 'penalise'))
          node.metrics.peerPenaltiesTotal.inc({ reason: `rep_${result}` })
      },
    }
    const validate = createReportValidator(validatorDeps)
    const validateBatch = createReportBatchValidator({
      ...validatorDeps,
      onBatch: (_from: string, b: BatchOutcome) => {
        this.batchStats.received++
        this.batchStats.receivedReports += b.reports
        if (b.verdict === 'reject') this.batchStats.rejected++
        metrics?.batchesReceivedTotal.inc({ verdict: b.verdict })
        if (b.reports > 0) metrics?.batchReports.observe({ direction: 'in' }, b.reports)
      },
    })
    this.validatorRef = validate
    this.batchValidatorRef = validateBatch
    this.batcherRef = new ReportBatcher({
      maxBatch: cfg.gossip.maxBatch,
      batchMs: cfg.gossip.batchMs,
      timers: this.init.batchTimers,
      publish: async (batch, reports) => {
        try {
          const sent = await node.pubsub.publish(REPORT_BATCH_TOPIC, batch)
          this.stats.published += reports
          this.batchStats.published++
          metrics?.publishedTotal.inc(reports)
          metrics?.batchesPublishedTotal.inc()
          metrics?.batchReports.observe({ direction: 'out' }, reports)
          return sent.recipients.length
        } catch (err) {
          log.warn('report batch not published', { reports, error: err })
          throw err
        }
      },
    })
    const pubsub = node.pubsub
    // Reports are rate-limited and answered for per publishing node (the gossip message's signed
    // author), not per relay: a peer relaying the reports of many nodes is not flooding. After
    // stop() began nothing more reaches the store.
    const author = (peer: PeerId, msg: Message): string =>
      msg.type === 'signed' ? msg.from.toString() : peer.toString()
    pubsub.topicValidators.set(REPORT_TOPIC, async (peer, msg) =>
      this.running ? TOPIC_VERDICT[await validate(author(peer, msg), msg.data)] : TopicValidatorResult.Ignore,
    )
    pubsub.topicValidators.set(REPORT_BATCH_TOPIC, async (peer, msg) =>
      this.running
        ? TOPIC_VERDICT[await validateBatch(author(peer, msg), msg.data)]
        : TopicValidatorResult.Ignore,
    )
    pubsub.subscribe(REPORT_TOPIC)
    pubsub.subscribe(REPORT_BATCH_TOPIC)
    this.running = true
    this.timers.push(
      setInterval(() => this.recompute(), cfg.trustIntervalMs),
      setInterval(() => void this.retryHeld(), Math.max(100, Math.min(cfg.holdMs, 5_000))),
    )
    for (const t of this.timers) t.unref()
    if (!this.routesRegistered) {
      registerReputationRoutes(node.control, this)
      this.routesRegistered = true
    }
  }

  /** Idempotent; also undoes a half-finished start. */
  async stop(): Promise<void> {
    this.running = false
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    // best effort: the reports still queued leave before we unsubscribe (a failure is logged)
    const batcher = this.batcherRef
    this.batcherRef = undefined
    await batcher?.close()
    const node = this.node
    if (node && this.validatorRef) {
      for (const topic of [REPORT_BATCH_TOPIC, REPORT_TOPIC]) {
        try {
          node.pubsub.unsubscribe(topic)
          node.pubsub.topicValidators.delete(topic)
        } catch {
          // libp2p already stopping
        }
      }
    }
    this.validatorRef = undefined
    this.batchValidatorRef = undefined
    await this.chain.catch(() => {}) // drain in-flight intake writes before the database closes
  }

  // ------------------------------------------------------------ the market integration

  /**
   * Record an award this node made or took part in, so that reports about it
   * pass the "known task" check (and reports naming other parties are
   * rejected). Held reports are re-checked at once.
   */
  async registerTask(taskId: string, requester: string, provider: string): Promise<void> {
    await this.tasks.register(taskId, requester, provider, this.need(this.node).clock.now())
    await this.retryHeld()
  }

  /**
   * Validate a report (ours) through the same intake as gossip, store it and
   * feed it to trust at once, then queue it for the next batch on
   * `REPORT_BATCH_TOPIC` (sent after `reputation.gossip.batchMs` or when
   * `maxBatch` reports are queued; at once with `{ flush: true }`). Rejected
   * reports and duplicates are not published; a held one (unknown task) is.
   */
  async publishReport(report: SignedReport, opts: PublishOptions = {}): Promise<PublishResult> {
    const node = this.need(this.node)
    this.need(this.batcherRef)
    const result = await this.receive(report, node.peerId, true)
    if (result.status === 'rejected') {
      this.count(result.reason)
      return { result, queued: false, recipients: 0 }
    }
    if (opts.gossip === false) return { result, queued: false, recipients: 0 }
    const batcher = this.need(this.batcherRef) // still running after the intake
    const sent = batcher.add(encodeReport(report))
    if (!opts.flush) return { result, queued: true, recipients: 0 }
    void batcher.flush()
    return { result, queued: true, recipients: await sent }
  }

  /** Send the outgoing report batch now; resolves to its recipients (0 when nothing was queued). */
  flushReports(): Promise<number> {
    return this.batcherRef?.flush() ?? Promise.resolve(0)
  }

  // ------------------------------------------------------------ queries

  /** This node's trust view of one agent (as of the last recompute). */
  trustOf(agentId: string): AgentTrust {
    const t = this.trust
    return {
      agentId,
      trust: t.trust(agentId),
      relativeTrust: t.relativeTrust(agentId),
      distrust: t.distrust(agentId),
      relativeDistrust: t.relativeDistrust(agentId),
      preTrusted: t.isPreTrusted(agentId),
      reports: { ...(this.counts.get(agentId) ?? { asProvider: 0, asRequester: 0 }) },
    }
  }

  /** Trust, stake and slashes of one agent. */
  async show(agentId: string): Promise<AgentReputation> {
    const s = await this.stake.state(agentId)
    return {
      ...this.trustOf(agentId),
      stake: { bonded: s.bonded, unbonding: s.unbonding, blacklisted: s.blacklisted },
      slashes: await this.stake.slashes(agentId),
    }
  }

  /** The `limit` most trusted agents, best first. */
  top(limit: number): AgentTrust[] {
    return this.trust.top(limit).map((x) => this.trustOf(x.agent))
  }

  /**
   * Record the stake another node attests for one of its agents (checked by
   * the caller: signed by that node, fresh). Only the newest attestation counts.
   */
  noteRemoteStake(
    agentId: string,
    s: { bonded: number; bondedSince?: number; blacklisted: boolean; at: number },
  ): void {
    const prev = this.remoteStake.get(agentId)
    if (prev && prev.at > s.at) return
    this.remoteStake.delete(agentId)
    this.remoteStake.set(agentId, s)
    if (this.remoteStake.size > 100_000)
      this.remoteStake.delete(this.remoteStake.keys().next().value as string)
  }

  /**
   * What the auction's `bidScorer` needs about a bidder (`BidContext.standing`); prefetch per auction.
   * Stake: this node's ledger for its own agents, else the bidder's node's latest attestation.
   */
  async standing(agentId: string): Promise<BidderStanding> {
    const local = await this.stake.stake.account(agentId)
    const remote = this.remoteStake.get(agentId)
    const hasLocal =
      local.bonded > 0 || local.blacklisted || local.unbonding.length > 0 || local.slashedTotal > 0
    const a =
      !hasLocal && remote
        ? { bonded: remote.bonded, bondedSince: remote.bondedSince, blacklisted: remote.blacklisted }
        : local
    const now = this.need(this.node).clock.now()
    return {
      relativeTrust: this.trust.relativeTrust(agentId),
      relativeDistrust: this.trust.relativeDistrust(agentId),
      bonded: a.bonded,
      bondAgeMs: a.bondedSince === undefined || a.bonded === 0 ? 0 : now - a.bondedSince,
      blacklisted: a.blacklisted,
    }
  }

  /** Recompute global trust now (the timer does this every `trustIntervalMs`). */
  recompute(): void {
    const node = this.node
    if (!node || !this.trustRef) return
    const t0 = performance.now()
    const stats = this.trustRef.compute(node.clock.now())
    this.lastComputedAt = node.clock.now()
    this.metrics?.computeSeconds.observe((performance.now() - t0) / 1000)
    this.metrics?.agents.set(stats.agents)
    if (this.dirty)
      this.log?.debug('trust recomputed', {
        agents: stats.agents,
        edges: stats.edges,
        iterations: stats.iterations,
        ms: Math.round(performance.now() - t0),
      })
    this.dirty = false
  }

  statistics(): ReputationStats {
    let topicPeers = 0
    try {
      topicPeers = this.node?.pubsub.getSubscribers(REPORT_BATCH_TOPIC).length ?? 0
    } catch {
      // not started
    }
    return {
      topicPeers,
      accepted: this.stats.accepted,
      held: this.intakeRef?.heldCount ?? 0,
      rejected: { ...this.stats.rejected },
      published: this.stats.published,
      queued: this.batcherRef?.queued ?? 0,
      batches: { ...this.batchStats },
      agents: this.trust.agentCount,
      edges: this.trust.edges,
      lastComputedAt: this.lastComputedAt,
      iterations: this.trust.lastStats.iterations,
    }
  }

  get trust(): TrustEngine {
    return this.need(this.trustRef)
  }
  get intake(): ReportIntake {
    return this.need(this.intakeRef)
  }
  /** Stake over the node's ledger (bond, release, slash). */
  get stake(): NodeStake {
    return this.need(this.stakeRef)
  }
  /** The node's credit ledger this service moves stake on. */
  get ledger(): Ledger {
    return this.stake.ledger
  }
  get tasks(): TaskRegistry {
    return this.need(this.tasksRef)
  }
  /** The gossip validator (bytes from a peer → verdict), for tests and tools. */
  get validator(): ReportValidator {
    return this.need(this.validatorRef)
  }
  /** The batch topic's validator (batch bytes from a peer → verdict), for tests and tools. */
  get batchValidator(): ReportValidator {
    return this.need(this.batchValidatorRef)
  }

  // ------------------------------------------------------------ stake (control API)

  /** Bond stake; with `opId`, at most once for that id. */
  async bond(agentId: string, amount: number, opId?: string): Promise<StakeState> {
    return this.stake.bond(agentId, amount, opId)
  }

  async release(agentId: string, amount?: number) {
    return this.stake.release(agentId, amount)
  }

  // ------------------------------------------------------------ internals

  /** The intake, one call at a time (see `chain`). `own`: a report this node publishes (not rate-limited). */
  private receive(report: SignedReport, from: string, own = false): Promise<IntakeResult> {
    const run = async () => {
      this.intakeReport = report
      try {
        return await this.intake.receive(report, from, { rateLimited: !own })
      } finally {
        this.intakeReport = undefined
      }
    }
    const p = this.chain.then(run, run)
    this.chain = p.catch(() => undefined)
    return p
  }

  private retryHeld(): Promise<void> {
    if (!this.intakeRef || this.intakeRef.heldCount === 0) return Promise.resolve()
    const run = async () => {
      this.intakeReport = undefined
      const results = await this.intake.retryHeld()
      for (const r of results) if (r.status === 'rejected') this.count(r.reason)
    }
    const p = this.chain.then(run, run)
    this.chain = p.catch(() => undefined)
    return p.catch((err: unknown) => this.log?.warn('retrying held reports failed', { error: err }))
  }

  private add(report: SignedReport, coSigned: boolean, upgrade: boolean): void {
    this.trust.addReport(report, coSigned, upgrade)
    this.dirty = true
    if (upgrade) return
    const b = report.body
    const p = this.counts.get(b.provider) ?? { asProvider: 0, asRequester: 0 }
    p.asProvider++
    this.counts.set(b.provider, p)
    const r = this.counts.get(b.requester) ?? { asProvider: 0, asRequester: 0 }
    r.asRequester++
    this.counts.set(b.requester, r)
  }

  private count(reason: string): void {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1
  }

  private need<T>(v: T | undefined): T {
    if (v === undefined) throw new SwarmdError('UNAVAILABLE', 'the reputation service is not started')
    return v
  }
}

interface ReputationMetrics {
  reportsTotal: Counter<'result'>
  publishedTotal: Counter
  batchesPublishedTotal: Counter
  batchesReceivedTotal: Counter<'verdict'>
  batchReports: Histogram<'direction'>
  computeSeconds: Histogram
  agents: Gauge
}

function createReputationMetrics(node: SwarmNode): ReputationMetrics {
  const m = node.metrics
  return {
    reportsTotal: m.counter(
      'swarmd_reputation_reports_total',
      'Reports received over gossip, by result (accepted, held, undecodable or the rejection reason)',
      ['result'],
    ),
    publishedTotal: m.counter('swarmd_reputation_published_total', 'Reports this node published'),
    batchesPublishedTotal: m.counter(
      'swarmd_reputation_batches_published_total',
      'Report batches (gossip messages) this node published',
    ),
    batchesReceivedTotal: m.counter(
      'swarmd_reputation_batches_received_total',
      'Report batches received over gossip, by verdict (accept, ignore, reject)',
      ['verdict'],
    ),
    batchReports: m.histogram(
      'swarmd_reputation_batch_reports',
      'Reports per batch, sent (out) and received (in)',
      ['direction'],
      [1, 2, 4, 8, 16, 32, 64, 128, 256],
    ),
    computeSeconds: m.histogram('swarmd_reputation_trust_compute_seconds', 'Time of one trust recompute'),
    agents: m.gauge('swarmd_reputation_agents', 'Agents in the trust graph'),
  }
}

/** Check an agent id from user input (64 lowercase hex characters). */
export function checkAgentId(id: unknown): string {
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id))
    throw new UserError(`agent id must be 64 lowercase hex characters, got ${JSON.stringify(id)}`)
  return id
}
