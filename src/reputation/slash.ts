/**
 * Third-party verification of a slash: anyone holding a `SlashRecord` can
 * re-check its evidence from signatures alone, without trusting the node
 * that carried it out.
 */
import { verdictProblem } from './dispute.ts'
import { hashOf, type ResultBody, resultProblem, type SignedEnvelope } from './evidence.ts'
import { missedDeadlineProblem, type SlashRecord } from './stake.ts'

export type SlashCheck = { ok: true } | { ok: false; problem: string }

/**
 * `result`: a signed result the slashed provider presents in its defence; a
 * valid one dated no later than the deadline refutes a missed-deadline slash.
 */
export function verifySlash(
  record: SlashRecord,
  opts: { result?: SignedEnvelope<ResultBody> } = {},
): SlashCheck {
  const fail = (problem: string): SlashCheck => ({ ok: false, problem })
  if (record.id !== hashOf(record.evidence)) return fail('record id does not match its evidence')
  if (record.toVictim + record.burned !== record.amount) return fail('amounts do not add up')
  if (record.toVictim > record.claim) return fail('victim received more than the claim')
  const ev = record.evidence
  if (ev.kind === 'missed-deadline') {
    const p = missedDeadlineProblem(ev, record.slashedAt)
    if (p) return fail(p)
    if (record.agent !== ev.award.body.provider) return fail('slashed agent is not the awarded provider')
    if (record.victim !== ev.award.body.requester) return fail('victim is not the requester')
    if (record.claim !== ev.award.body.price) return fail('claim is not the award price')
    if (
      opts.result &&
      !resultProblem(opts.result, ev.award) &&
      opts.result.body.issuedAt <= ev.award.body.deadline
    )
      return fail('the provider holds a signed result dated before the deadline')
    return { ok: true }
  }
  const p = verdictProblem(ev.verdict)
  if (p) return fail(p)
  if (ev.verdict.winner !== 'complainant') return fail('the defendant won')
  const d = ev.verdict.dispute.evidence
  if (record.agent !== d.defendant || record.victim !== d.complainant)
    return fail('parties do not match the dispute')
  if (record.claim !== d.refund) return fail('claim is not the granted refund')
  return { ok: true }
}
