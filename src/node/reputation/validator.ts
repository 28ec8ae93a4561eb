/**
 * The gossip validator of the report topic, without libp2p: bytes from a
 * peer in, a gossipsub verdict out. Decoding, then `ReportIntake.receive`
 * (rate limit, shape, self-report, freshness, duplicate/replay, signatures,
 * known task), then `gossipVerdict`. A rejection whose action is `penalise`
 * (forged signature, replay, flood, garbage, wrong parties) also lowers the
 * sending peer's swarmd score by the points below; gossipsub's own score
 * drops too because the verdict is `reject`. `createReportBatchValidator`
 * does the same for the batch topic, report by report.
 */
import { isSwarmdError, type Logger } from '../../common/index.ts'
import {
  batchVerdict,
  decodeReport,
  decodeReportBatch,
  gossipVerdict,
  type IntakeResult,
  type RejectReason,
  type SignedReport,
} from '../../reputation/index.ts'
import { PENALTY, type PeerScore } from '../peer-score.ts'

export type GossipVerdict = 'accept' | 'ignore' | 'reject'

/** Peer-score points for each penalising rejection (and for undecodable bytes). */
export const REPORT_PENALTY: Partial<Record<RejectReason, number>> & { UNDECODABLE: number } = {
  UNDECODABLE: PENALTY.MALFORMED,
  MALFORMED: PENALTY.MALFORMED,
  BAD_SIGNATURE: PENALTY.BAD_SIGNATURE,
  REPLAY: PENALTY.STALE,
  SELF_REPORT: PENALTY.MALFORMED,
  TASK_MISMATCH: PENALTY.MALFORMED,
  /** Per report over the rate limit: a sustained flood ends in a ban. */
  RATE_LIMITED: 5,
}

export interface ReportValidatorDeps {
  /** `ReportIntake.receive` (or the service's serialised wrapper around it). */
  receive: (report: SignedReport, fromPeer: string) => Promise<IntakeResult>
  peerScore: Pick<PeerScore, 'penalise'>
  logger: Logger
  /** Observer of every outcome (counters, tests). */
  onResult?: (from: string, result: IntakeResult | { status: 'undecodable' }) => void
}

export type ReportValidator = (fromPeer: string, data: Uint8Array) => Promise<GossipVerdict>

export function createReportValidator(deps: ReportValidatorDeps): ReportValidator {
  const log = deps.logger
  const judge = intakeJudge(deps)
  return async (fromPeer, data) => {
    let value: SignedReport
    try {
      value = decodeReport(data)
    } catch (err) {
      deps.peerScore.penalise(fromPeer, REPORT_PENALTY.UNDECODABLE, 'undecodable reputation report')
      deps.onResult?.(fromPeer, { status: 'undecodable' })
      log.debug('undecodable report', { peer: fromPeer, error: isSwarmdError(err) ? err.message : err })
      return 'reject'
    }
    const result = await judge(fromPeer, value)
    return result === undefined ? 'ignore' : gossipVerdict(result)
  }
}

/** What a batch held and the verdict it got, for counters and tests. */
export interface BatchOutcome {
  /** Reports in the batch (0 when it was undecodable). */
  reports: number
  /** Reports that went through the intake (fewer than `reports` when a penalising one stopped it). */
  checked: number
  verdict: GossipVerdict
}

export interface ReportBatchValidatorDeps extends ReportValidatorDeps {
  /** Observer of every batch (after its reports' `onResult` calls). */
  onBatch?: (from: string, outcome: BatchOutcome) => void
}

/**
 * The validator of the batch topic (`REPORT_BATCH_TOPIC`): decode the batch
 * defensively (`decodeReportBatch`: too large, not JSON, too many reports or
 * a malformed one → `reject`, penalised like an undecodable report), then run
 * its reports through the intake one by one, in order, as if each had arrived
 * alone from the same peer (so the per-peer rate limit counts reports, not
 * messages). The first penalising rejection stops the batch: that peer is
 * penalised for it and the batch is rejected (not relayed); reports checked
 * before it stay stored. Otherwise `batchVerdict`: `accept` when at least one
 * report was accepted, `ignore` when all were held or harmless drops
 * (duplicates, stale). A report of an accepted batch rejected for a harmless
 * reason is simply not stored.
 */
export function createReportBatchValidator(deps: ReportBatchValidatorDeps): ReportValidator {
  const log = deps.logger
  const judge = intakeJudge(deps)
  return async (fromPeer, data) => {
    let reports: SignedReport[]
    try {
      reports = decodeReportBatch(data)
    } catch (err) {
      deps.peerScore.penalise(fromPeer, REPORT_PENALTY.UNDECODABLE, 'undecodable reputation report batch')
      deps.onResult?.(fromPeer, { status: 'undecodable' })
      deps.onBatch?.(fromPeer, { reports: 0, checked: 0, verdict: 'reject' })
      log.debug('undecodable report batch', {
        peer: fromPeer,
        bytes: data.length,
        error: isSwarmdError(err) ? err.message : err,
      })
      return 'reject'
    }
    const results: IntakeResult[] = []
    for (const report of reports) {
      const r = await judge(fromPeer, report)
      if (r === undefined) continue // our own failure: that report is dropped unjudged
      results.push(r)
      if (r.status === 'rejected' && r.action === 'penalise') break
    }
    const verdict = batchVerdict(results)
    deps.onBatch?.(fromPeer, { reports: reports.length, checked: results.length, verdict })
    return verdict
  }
}

/**
 * One decoded report through the intake: penalise the peer for a penalising
 * rejection, tell the observer. `undefined` when the intake itself failed
 * (storage: our problem, not the peer's).
 */
function intakeJudge(
  deps: ReportValidatorDeps,
): (fromPeer: string, report: SignedReport) => Promise<IntakeResult | undefined> {
  const log = deps.logger
  return async (fromPeer, report) => {
    let result: IntakeResult
    try {
      result = await deps.receive(report, fromPeer)
    } catch (err) {
      // our own failure (storage), not the peer's: drop without judging it
      log.warn('report intake failed', { peer: fromPeer, error: err })
      return undefined
    }
    if (result.status === 'rejected') {
      if (result.action === 'penalise')
        deps.peerScore.penalise(
          fromPeer,
          REPORT_PENALTY[result.reason] ?? PENALTY.MALFORMED,
          `reputation report ${result.reason}`,
        )
      log.debug('report rejected', { peer: fromPeer, reason: result.reason, detail: result.detail })
    }
    deps.onResult?.(fromPeer, result)
    return result
  }
}
