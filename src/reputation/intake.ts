/**
 * Report intake: the validator behind the reputation gossip topic. Every
 * incoming report goes through the same checks, in order of cost:
 * rate limit → shape → self-report → freshness → duplicate/replay →
 * signatures → known task. Each rejection is data: a typed reason and the
 * peer action gossipsub scoring should take (`penalise` lowers the sender's
 * score, `reject` drops without propagating, `ignore` drops silently).
 * Accepted reports are persisted in the KvStore and handed to listeners
 * (the trust engine).
 */
import type { Clock, KvStore, PeerAction } from '../common/index.ts'
import { getJson, KvTransaction } from '../common/index.ts'
import { checkReportSignatures, reportId, reportShapeProblem, type SignedReport } from './report.ts'

/**
 * Does the market know this award? The market answers from its awarded task
 * ids; `undefined` means "not (yet) known", and the report is held briefly.
 */
export type TaskKnown = (
  taskId: string,
  requester: string,
  provider: string,
) => boolean | undefined | Promise<boolean | undefined>

export const RejectReason = {
  RATE_LIMITED: 'RATE_LIMITED',
  MALFORMED: 'MALFORMED',
  SELF_REPORT: 'SELF_REPORT',
  STALE: 'STALE',
  FROM_FUTURE: 'FROM_FUTURE',
  DUPLICATE: 'DUPLICATE',
  REPLAY: 'REPLAY',
  MISSING_REQUESTER_SIGNATURE: 'MISSING_REQUESTER_SIGNATURE',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  UNKNOWN_TASK: 'UNKNOWN_TASK',
  TASK_MISMATCH: 'TASK_MISMATCH',
  HOLD_FULL: 'HOLD_FULL',
} as const
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason]

/** The peer action for each reason (what gossipsub's validator should return). */
export const REJECT_ACTION: Record<RejectReason, PeerAction> = {
  RATE_LIMITED: 'penalise', // flooding
  MALFORMED: 'penalise',
  SELF_REPORT: 'penalise',
  STALE: 'reject', // honest peers may forward late
  FROM_FUTURE: 'reject',
  DUPLICATE: 'ignore', // normal in gossip
  REPLAY: 'penalise', // a second, different report for an already reported task
  MISSING_REQUESTER_SIGNATURE: 'reject',
  BAD_SIGNATURE: 'penalise', // forged
  UNKNOWN_TASK: 'reject',
  TASK_MISMATCH: 'penalise', // names a known task with wrong parties
  HOLD_FULL: 'ignore',
}

/** The gossipsub topic reports travel on. */
export const REPORT_TOPIC = 'swarmd/rep-report/1'

/**
 * Map an intake result onto gossipsub's validator outcome: `reject` is
 * gossipsub's "invalid" (lowers the sender's peer score), `ignore` drops the
 * message without penalty, `accept` forwards it.
 */
export function gossipVerdict(result: IntakeResult): 'accept' | 'ignore' | 'reject' {
  if (result.status === 'accepted') return 'accept'
  if (result.status === 'held') return 'ignore'
  return result.action === 'penalise' ? 'reject' : 'ignore'
}

export type IntakeResult =
  | { status: 'accepted'; id: string; coSigned: boolean; report: SignedReport }
  | { status: 'held'; id: string; action: PeerAction }
  | { status: 'rejected'; reason: RejectReason; action: PeerAction; detail?: string }

export interface ReportIntakeInit {
  clock: Clock
  /** Where accepted reports live (a reputation sublevel). */
  store: KvStore
  isTaskKnown: TaskKnown
  /** Token-bucket refill per sending peer. @default 5 reports/s */
  ratePerSecond?: number
  /** Bucket size. @default 50 */
  burst?: number
  /** Reports older than this are refused. @default 7 days */
  maxAgeMs?: number
  /** Reports dated further in the future are refused. @default 60 s */
  maxClockSkewMs?: number
  /** How long a report for an unknown task is held before it is dropped. @default 30 s */
  holdMs?: number
  /** Held reports at most. @default 1000 */
  maxHeld?: number
}

export const DEFAULT_RATE_PER_SECOND = 5
export const DEFAULT_BURST = 50
export const DEFAULT_MAX_AGE_MS = 7 * 24 * 3600_000
export const DEFAULT_MAX_CLOCK_SKEW_MS = 60_000
export const DEFAULT_HOLD_MS = 30_000
export const DEFAULT_MAX_HELD = 1000

/** `upgrade` is true when a one-sided report already accepted is now co-signed. */
export type IntakeListener = (report: SignedReport, coSigned: boolean, upgrade: boolean) => void

interface Bucket {
  tokens: number
  at: number
}

export class ReportIntake {
  private readonly clock: Clock
  private readonly store: KvStore
  private readonly isTaskKnown: TaskKnown
  private readonly rate: number
  private readonly burst: number
  private readonly maxAgeMs: number
  private readonly skewMs: number
  private readonly holdMs: number
  private readonly maxHeld: number
  private readonly buckets = new Map<string, Bucket>()
  private readonly held = new Map<string, { report: SignedReport; from: string; until: number }>()
  private readonly listeners: IntakeListener[] = []

  constructor(init: ReportIntakeInit) {
    this.clock = init.clock
    this.store = init.store
    this.isTaskKnown = init.isTaskKnown
    this.rate = init.ratePerSecond ?? DEFAULT_RATE_PER_SECOND
    this.burst = init.burst ?? DEFAULT_BURST
    this.maxAgeMs = init.maxAgeMs ?? DEFAULT_MAX_AGE_MS
    this.skewMs = init.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS
    this.holdMs = init.holdMs ?? DEFAULT_HOLD_MS
    this.maxHeld = init.maxHeld ?? DEFAULT_MAX_HELD
  }

  /** Called for every accepted report (also for held reports accepted later). */
  onAccepted(listener: IntakeListener): void {
    this.listeners.push(listener)
  }

  /**
   * Validate a report received from gossip peer `fromPeer` (use the local id
   * for own reports, with `rateLimited: false`: a node does not throttle its
   * own reports).
   */
  async receive(
    value: unknown,
    fromPeer: string,
    opts: { rateLimited?: boolean } = {},
  ): Promise<IntakeResult> {
    if (opts.rateLimited !== false && !this.take(fromPeer)) return reject('RATE_LIMITED')
    const problem = reportShapeProblem(value)
    if (problem) return reject('MALFORMED', problem)
    const report = value as SignedReport
    return this.check(report, fromPeer, true)
  }

  /**
   * Re-check held reports (call when the market learns new awards, or on a
   * timer). Returns the results for reports that left the hold.
   */
  async retryHeld(): Promise<IntakeResult[]> {
    const now = this.clock.now()
    const out: IntakeResult[] = []
    for (const [id, h] of [...this.held]) {
      this.held.delete(id)
      const r = await this.check(h.report, h.from, now < h.until)
      if (r.status === 'held') continue
      out.push(r)
    }
    return out
  }

  get heldCount(): number {
    return this.held.size
  }

  /** Every persisted report, in key order (for rebuilding trust at start). */
  async *accepted(): AsyncIterable<{ report: SignedReport; coSigned: boolean }> {
    for await (const [, v] of this.store.entries('r/')) {
      const rec = JSON.parse(new TextDecoder().decode(v)) as { report: SignedReport; coSigned: boolean }
      yield rec
    }
  }

  async get(id: string): Promise<SignedReport | undefined> {
    return (await getJson<{ report: SignedReport }>(this.store, `r/${id}`))?.report
  }

  private async check(report: SignedReport, from: string, mayHold: boolean): Promise<IntakeResult> {
    const { body } = report
    const now = this.clock.now()
    if (body.requester === body.provider) return reject('SELF_REPORT')
    if (body.issuedAt > now + this.skewMs) return reject('FROM_FUTURE')
    if (now - body.issuedAt > this.maxAgeMs) return reject('STALE')
    const id = reportId(body)
    const existing = await getJson<{ report: SignedReport; coSigned: boolean }>(this.store, `r/${id}`)
    const sigs = checkReportSignatures(report)
    if (existing) {
      // Same body again: a duplicate, unless it now carries the missing counter-signature.
      if (!(sigs.ok && sigs.coSigned && !existing.coSigned)) return reject('DUPLICATE')
    } else {
      const prior = await this.store.get(`t/${body.taskId}/${body.requester}`)
      if (prior !== undefined) return reject('REPLAY', 'task already reported with different content')
    }
    if (!sigs.ok) {
      return sigs.problem === 'missing-requester-signature'
        ? reject('MISSING_REQUESTER_SIGNATURE')
        : reject('BAD_SIGNATURE', sigs.problem)
    }
    const known = await this.isTaskKnown(body.taskId, body.requester, body.provider)
    if (known === false) return reject('TASK_MISMATCH')
    if (known === undefined) {
      if (!mayHold) return reject('UNKNOWN_TASK')
      if (this.held.size >= this.maxHeld && !this.held.has(id)) return reject('HOLD_FULL')
      this.held.set(id, { report, from, until: now + this.holdMs })
      return { status: 'held', id, action: 'ignore' }
    }
    const tx = new KvTransaction(this.store)
    tx.put(`r/${id}`, enc(report, sigs.coSigned))
    tx.put(`t/${body.taskId}/${body.requester}`, new TextEncoder().encode(id))
    await tx.commit()
    for (const l of this.listeners) l(report, sigs.coSigned, existing !== undefined)
    return { status: 'accepted', id, coSigned: sigs.coSigned, report }
  }

  private take(peer: string): boolean {
    const now = this.clock.now()
    let b = this.buckets.get(peer)
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.pruneBuckets(now)
      b = { tokens: this.burst, at: now }
      this.buckets.set(peer, b)
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate)
    b.at = now
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  private pruneBuckets(now: number): void {
    for (const [peer, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(peer)
    }
  }
}

/** Buckets kept at most; full buckets are forgotten first (a new peer starts full anyway). */
const MAX_BUCKETS = 10_000

function enc(report: SignedReport, coSigned: boolean): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ report, coSigned }))
}

function reject(reason: RejectReason, detail?: string): IntakeResult {
  return detail === undefined
    ? { status: 'rejected', reason, action: REJECT_ACTION[reason] }
    : { status: 'rejected', reason, action: REJECT_ACTION[reason], detail }
}
