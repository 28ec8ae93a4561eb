/**
 * The gossip validator of the report topic, without libp2p: bytes from a
 * peer in, a gossipsub verdict out. Decoding, then `ReportIntake.receive`
 * (rate limit, shape, self-report, freshness, duplicate/replay, signatures,
 * known task), then `gossipVerdict`. A rejection whose action is `penalise`
 * (forged signature, replay, flood, garbage, wrong parties) also lowers the
 * sending peer's swarmd score by the points below; gossipsub's own score
 * drops too because the verdict is `reject`.
 */
import { isSwarmdError, type Logger } from '../../common/index.ts'
import {
  decodeReport,
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
    let result: IntakeResult
    try {
      result = await deps.receive(value, fromPeer)
    } catch (err) {
      // our own failure (storage), not the peer's: drop without judging it
      log.warn('report intake failed', { peer: fromPeer, error: err })
      return 'ignore'
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
    return gossipVerdict(result)
  }
}
