/**
 * Disputes (AACL-Dispute-v1). The requester (complainant) opens a dispute
 * against the provider (defendant) with evidence: the signed award, the
 * provider's signed result, the expected and actual output hashes and the
 * hash (optionally the text) of the VM trace. Forged evidence is refused at
 * opening and again by every verifier. Arbitrators are drawn from a pool of
 * high-trust agents excluding the parties, by a generator seeded from the
 * dispute id, so every node that knows the pool draws the same panel. Each
 * arbitrator re-runs the task (injected `Replayer`) and signs a vote; a
 * strict majority of the panel decides. A won dispute slashes the defendant's
 * stake and pays the refund out of it (`resolveDispute`).
 */
import type { KvTransaction, Random } from '../common/index.ts'
import { fromHex, SwarmdError, seededRandom, sign, toHex, verify } from '../common/index.ts'
import {
  type AwardBody,
  awardProblem,
  hashOf,
  type ResultBody,
  resultProblem,
  type SignedEnvelope,
  sha256Hex,
  signEnvelope,
} from './evidence.ts'
import type { SlashRecord, StakeLedger } from './stake.ts'

export const DISPUTE_DOMAIN = 'swarmd/dispute/v1'
export const VOTE_DOMAIN = 'swarmd/dispute-vote/v1'
export const DEFAULT_PANEL_SIZE = 3
export const DEFAULT_POOL_SIZE = 10

export type DisputeClaim = 'wrong-result' | 'timeout' | 'quality-issue'

export interface DisputeEvidence {
  taskId: string
  complainant: string
  defendant: string
  claim: DisputeClaim
  award: SignedEnvelope<AwardBody>
  /** The provider's signed result (absent only for `timeout`). */
  result?: SignedEnvelope<ResultBody>
  /** Output hash a correct run produces, according to the complainant. */
  expectedOutputHash: string
  /** Output hash the provider delivered; must equal `result.body.outputHash`. */
  actualOutputHash?: string
  /** sha256 of the VM trace of the complainant's re-run. */
  traceHash: string
  /** The trace itself, if small enough to ship. */
  trace?: string
  /** Refund requested, at most the award price. */
  refund: number
  openedAt: number
}

export interface Dispute {
  id: string
  evidence: DisputeEvidence
  /** Complainant's hex signature over the evidence under `DISPUTE_DOMAIN`. */
  signature: string
}

export type Decision = 'complainant' | 'defendant'

export interface VoteBody {
  disputeId: string
  arbitrator: string
  decision: Decision
  /** Output hash the arbitrator's own re-run produced. */
  replayOutputHash?: string
}

export interface DisputeVerdict {
  dispute: Dispute
  /** The eligible pool the panel was drawn from (sorted agent ids), as the opener saw it. */
  pool: string[]
  panel: string[]
  votes: SignedEnvelope<VoteBody>[]
  winner: Decision
}

/** Re-runs the awarded task (the VM, deterministic replay) and returns the output hash. */
export type Replayer = (evidence: DisputeEvidence) => Promise<string>

/** Why the evidence is forged or inconsistent, or undefined if it holds together. */
export function evidenceProblem(ev: DisputeEvidence): string | undefined {
  const ap = awardProblem(ev.award)
  if (ap) return ap
  const a = ev.award.body
  if (a.taskId !== ev.taskId) return 'award is for another task'
  if (a.requester !== ev.complainant) return 'complainant is not the requester of the award'
  if (a.provider !== ev.defendant) return 'defendant is not the provider of the award'
  if (!Number.isSafeInteger(ev.refund) || ev.refund < 0 || ev.refund > a.price)
    return 'refund must be between 0 and the award price'
  if (ev.trace !== undefined && sha256Hex(new TextEncoder().encode(ev.trace)) !== ev.traceHash)
    return 'trace does not match its hash'
  if (ev.result) {
    const rp = resultProblem(ev.result, ev.award)
    if (rp) return rp
    if (ev.actualOutputHash !== ev.result.body.outputHash)
      return 'actual output differs from the signed result'
  } else if (ev.claim !== 'timeout') return `a ${ev.claim} claim needs the provider's signed result`
  if (ev.claim !== 'timeout' && ev.expectedOutputHash === ev.actualOutputHash)
    return 'expected and actual output are the same'
  return undefined
}

/** Open a dispute; throws `DISPUTE_FORGED` (peer action reject) if the evidence does not hold. */
export function openDispute(evidence: DisputeEvidence, complainantSk: Uint8Array): Dispute {
  const p = evidenceProblem(evidence)
  if (p) throw new SwarmdError('DISPUTE_FORGED', p, { action: 'reject' })
  return { id: hashOf(evidence), evidence, signature: toHex(sign(DISPUTE_DOMAIN, evidence, complainantSk)) }
}

export function disputeProblem(d: Dispute): string | undefined {
  if (d.id !== hashOf(d.evidence)) return 'dispute id does not match its evidence'
  if (!/^[0-9a-f]{128}$/.test(d.signature)) return 'bad complainant signature'
  if (!verify(DISPUTE_DOMAIN, d.evidence, fromHex(d.signature), fromHex(d.evidence.complainant)))
    return 'bad complainant signature'
  return evidenceProblem(d.evidence)
}

/**
 * The eligible pool: the `poolSize` most trusted agents other than the
 * parties (trust ≥ minTrust), returned sorted by id so the draw depends only
 * on membership.
 */
export function arbitratorPool(
  dispute: Dispute,
  candidates: readonly { agent: string; trust: number }[],
  opts: { poolSize?: number; minTrust?: number } = {},
): string[] {
  const { complainant, defendant } = dispute.evidence
  return candidates
    .filter((c) => c.agent !== complainant && c.agent !== defendant && c.trust >= (opts.minTrust ?? 0))
    .sort((x, y) => y.trust - x.trust || (x.agent < y.agent ? -1 : 1))
    .slice(0, opts.poolSize ?? DEFAULT_POOL_SIZE)
    .map((c) => c.agent)
    .sort()
}

/** Draw `size` arbitrators from `pool` with a generator seeded from the dispute id. */
export function drawPanel(
  disputeId: string,
  pool: readonly string[],
  size = DEFAULT_PANEL_SIZE,
  rngFor: (seed: number) => Random = seededRandom,
): string[] {
  if (pool.length < size)
    throw new SwarmdError('DISPUTE_POOL_TOO_SMALL', `need ${size} arbitrators, pool has ${pool.length}`)
  const rng = rngFor(Number.parseInt(disputeId.slice(0, 8), 16))
  const a = [...pool].sort()
  for (let k = 0; k < size; k++) {
    const j = k + rng.int(a.length - k)
    const tmp = a[k]!
    a[k] = a[j]!
    a[j] = tmp
  }
  return a.slice(0, size)
}

/** An arbitrator's decision: re-run the task and compare with what was delivered. */
export async function arbitrate(
  dispute: Dispute,
  replay: Replayer,
): Promise<{ decision: Decision; replayOutputHash?: string }> {
  if (disputeProblem(dispute)) return { decision: 'defendant' }
  const ev = dispute.evidence
  if (ev.claim === 'timeout') {
    const late = ev.result === undefined || ev.result.body.issuedAt > ev.award.body.deadline
    return { decision: late ? 'complainant' : 'defendant' }
  }
  const replayOutputHash = await replay(ev)
  return {
    decision: replayOutputHash !== ev.actualOutputHash ? 'complainant' : 'defendant',
    replayOutputHash,
  }
}

export function castVote(
  disputeId: string,
  arbitrator: string,
  arbitratorSk: Uint8Array,
  decision: Decision,
  replayOutputHash?: string,
): SignedEnvelope<VoteBody> {
  const body: VoteBody = { disputeId, arbitrator, decision }
  if (replayOutputHash !== undefined) body.replayOutputHash = replayOutputHash
  return signEnvelope(VOTE_DOMAIN, body, arbitratorSk)
}

function validVotes(disputeId: string, panel: readonly string[], votes: readonly SignedEnvelope<VoteBody>[]) {
  const seen = new Map<string, Decision>()
  for (const v of votes) {
    const b = v.body
    if (v.domain !== VOTE_DOMAIN || b.disputeId !== disputeId || !panel.includes(b.arbitrator)) continue
    if (seen.has(b.arbitrator)) continue
    if (!/^[0-9a-f]{128}$/.test(v.signature)) continue
    if (!verify(VOTE_DOMAIN, b, fromHex(v.signature), fromHex(b.arbitrator))) continue
    seen.set(b.arbitrator, b.decision)
  }
  return seen
}

/** The verdict once a strict majority of the panel has voted the same way, else undefined. */
export function tally(
  dispute: Dispute,
  pool: string[],
  panel: string[],
  votes: SignedEnvelope<VoteBody>[],
): DisputeVerdict | undefined {
  const seen = validVotes(dispute.id, panel, votes)
  const forC = [...seen.values()].filter((d) => d === 'complainant').length
  const forD = seen.size - forC
  const need = Math.floor(panel.length / 2) + 1
  const winner: Decision | undefined = forC >= need ? 'complainant' : forD >= need ? 'defendant' : undefined
  if (!winner) return undefined
  const used = votes.filter((v) => seen.has(v.body.arbitrator) && v.body.disputeId === dispute.id)
  return { dispute, pool, panel, votes: used, winner }
}

/** Why a verdict does not stand (for third parties and for slashing), or undefined. */
export function verdictProblem(v: DisputeVerdict, rngFor?: (seed: number) => Random): string | undefined {
  const dp = disputeProblem(v.dispute)
  if (dp) return `dispute: ${dp}`
  const { complainant, defendant } = v.dispute.evidence
  if (v.pool.includes(complainant) || v.pool.includes(defendant)) return 'a party is in the arbitrator pool'
  let panel: string[]
  try {
    panel = drawPanel(v.dispute.id, v.pool, v.panel.length, rngFor)
  } catch {
    return 'pool too small for the panel'
  }
  if (panel.join() !== v.panel.join()) return 'panel was not drawn from the pool by the dispute seed'
  const seen = validVotes(v.dispute.id, v.panel, v.votes)
  const count = [...seen.values()].filter((d) => d === v.winner).length
  if (count < Math.floor(v.panel.length / 2) + 1) return 'winner has no strict majority of valid votes'
  return undefined
}

/**
 * Carry out a verdict: if the complainant won, slash the defendant and pay
 * the refund from the slashed stake (one atomic write). Returns the slash, or
 * undefined when the defendant won.
 */
export async function resolveDispute(
  verdict: DisputeVerdict,
  stake: StakeLedger,
  tx?: KvTransaction,
): Promise<SlashRecord | undefined> {
  const p = verdictProblem(verdict)
  if (p) throw new SwarmdError('DISPUTE_VERDICT_INVALID', p, { action: 'reject' })
  if (verdict.winner === 'defendant') return undefined
  return stake.slashLostDispute(verdict, tx)
}
