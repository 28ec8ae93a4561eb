/**
 * Task evidence carried by a one-sided report (`SignedReport.taskEvidence`):
 * the requester's signed award (reputation evidence format, as for a slash
 * claim) and the provider's own signed bid on the same CFP. Together they show
 * that the provider took part in an auction of this requester and won the
 * task the report is about, so a node that was not a party can accept a
 * failure report the provider will never co-sign. What it cannot show is
 * whether the provider really failed: that is the requester's word, weighed
 * by the requester's trust like any rating.
 */
import { bidSignatureProblem } from '../../market/index.ts'
import {
  awardProblem,
  type AwardBody as EvidenceAwardBody,
  type SignedEnvelope,
  type SignedReport,
} from '../../reputation/index.ts'

/** Why the report's task evidence does not prove its task, or undefined when it does. */
export function taskEvidenceProblem(report: SignedReport): string | undefined {
  const e = report.taskEvidence
  if (!e) return 'no task evidence'
  const award = e.award as SignedEnvelope<EvidenceAwardBody>
  if (typeof award !== 'object' || award === null) return 'award missing'
  const p = awardProblem(award)
  if (p) return p
  const b = report.body
  const a = award.body
  if (a.taskId !== b.taskId || a.requester !== b.requester || a.provider !== b.provider)
    return 'the award is for another task or other parties'
  const bp = bidSignatureProblem(e.bid)
  if (bp) return bp
  const bid = e.bid as { bidder: string; cfpId: string }
  if (bid.bidder !== b.provider) return 'the bid is not the provider’s'
  if (typeof a.cfpId !== 'string' || bid.cfpId !== a.cfpId) return 'the bid is for another CFP than the award'
  return undefined
}
