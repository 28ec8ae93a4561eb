/**
 * Interaction reports: after every award the requester rates the provider in a
 * report that both sides sign. The requester is the rater (its signature is
 * required); the provider's counter-signature says "I agree this is what
 * happened" and makes the report weigh more.
 *
 * Weights (used by the trust computation, see docs/reputation.md):
 * - co-signed (requester + provider): `CO_SIGNED_WEIGHT` = 1
 * - requester only:                   `ONE_SIDED_WEIGHT` = 0.5
 * - provider only: not a rating at all (a provider cannot rate itself); refused at intake.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalJson, fromHex, SwarmdError, sign, toHex, verify } from '../common/index.ts'

export const REPORT_DOMAIN = 'swarmd/rep-report/v1'
export const CO_SIGNED_WEIGHT = 1
export const ONE_SIDED_WEIGHT = 0.5

export const Outcome = { success: 'success', failure: 'failure', timeout: 'timeout' } as const
export type Outcome = (typeof Outcome)[keyof typeof Outcome]

/** What both parties sign. Agent ids are lowercase hex Ed25519 public keys. */
export interface ReportBody {
  taskId: string
  requester: string
  provider: string
  outcome: Outcome
  latencyMs: number
  /** The requester's rating of the provider's work, 0 (worst) .. 1 (best). */
  rating: number
  /** Credits paid (or due) for the task. */
  price: number
  /** Milliseconds on the injected clock when the report was written. */
  issuedAt: number
}

/** A report with hex Ed25519 signatures over `REPORT_DOMAIN` + canonical JSON of `body`. */
export interface SignedReport {
  body: ReportBody
  requesterSig?: string
  providerSig?: string
  /**
   * Optional, unsigned, self-verifying proof that the task existed, for nodes
   * that did not take part (a one-sided failure report about an unknown task
   * is otherwise only held): the requester's signed award and the provider's
   * signed bid. Checked by the node (src/node/reputation/evidence.ts); not part
   * of the report's identity.
   */
  taskEvidence?: { award: unknown; bid: unknown }
}

/** Largest accepted `taskEvidence` (JSON characters). */
export const MAX_TASK_EVIDENCE_CHARS = 8192

const AGENT_ID = /^[0-9a-f]{64}$/

/** Structural check of an untrusted value; returns the problem or undefined. */
export function reportShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object'
  const r = value as Record<string, unknown>
  const b = r.body as Record<string, unknown> | undefined
  if (typeof b !== 'object' || b === null) return 'missing body'
  if (typeof b.taskId !== 'string' || b.taskId.length === 0 || b.taskId.length > 128) return 'bad taskId'
  if (typeof b.requester !== 'string' || !AGENT_ID.test(b.requester)) return 'bad requester id'
  if (typeof b.provider !== 'string' || !AGENT_ID.test(b.provider)) return 'bad provider id'
  if (b.outcome !== 'success' && b.outcome !== 'failure' && b.outcome !== 'timeout') return 'bad outcome'
  if (!isNonNegFinite(b.latencyMs)) return 'bad latencyMs'
  if (typeof b.rating !== 'number' || !(b.rating >= 0 && b.rating <= 1)) return 'rating outside 0..1'
  if (!Number.isSafeInteger(b.price) || (b.price as number) < 0) return 'price must be a non-negative integer'
  if (!isNonNegFinite(b.issuedAt)) return 'bad issuedAt'
  for (const k of ['requesterSig', 'providerSig'] as const) {
    const s = r[k]
    if (s !== undefined && (typeof s !== 'string' || !/^[0-9a-f]{128}$/.test(s))) return `bad ${k}`
  }
  if (r.taskEvidence !== undefined) {
    const e = r.taskEvidence as Record<string, unknown> | null
    if (typeof e !== 'object' || e === null || e.award === undefined || e.bid === undefined)
      return 'bad taskEvidence'
    if (JSON.stringify(e).length > MAX_TASK_EVIDENCE_CHARS) return 'taskEvidence too large'
  }
  const extra = Object.keys(b).filter(
    (k) =>
      !['taskId', 'requester', 'provider', 'outcome', 'latencyMs', 'rating', 'price', 'issuedAt'].includes(k),
  )
  if (extra.length > 0) return `unknown body field ${extra[0]}`
  return undefined
}

function isNonNegFinite(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0
}

/** Sign `body` as one party. `secretKey` must belong to `body.requester` or `body.provider`. */
export function signReportAs(
  report: SignedReport,
  role: 'requester' | 'provider',
  secretKey: Uint8Array,
): SignedReport {
  const sig = toHex(sign(REPORT_DOMAIN, report.body, secretKey))
  return role === 'requester' ? { ...report, requesterSig: sig } : { ...report, providerSig: sig }
}

/** Convenience: a report signed by the requester and, if given, by the provider. */
export function makeReport(body: ReportBody, requesterSk: Uint8Array, providerSk?: Uint8Array): SignedReport {
  let r = signReportAs({ body }, 'requester', requesterSk)
  if (providerSk) r = signReportAs(r, 'provider', providerSk)
  return r
}

export type SignatureCheck =
  | { ok: true; coSigned: boolean }
  | {
      ok: false
      problem: 'missing-requester-signature' | 'bad-requester-signature' | 'bad-provider-signature'
    }

/** Verify the signatures of a structurally valid report from the agent ids alone. */
export function checkReportSignatures(report: SignedReport): SignatureCheck {
  const { body } = report
  if (report.requesterSig === undefined) return { ok: false, problem: 'missing-requester-signature' }
  if (!verify(REPORT_DOMAIN, body, fromHex(report.requesterSig), fromHex(body.requester))) {
    return { ok: false, problem: 'bad-requester-signature' }
  }
  if (report.providerSig === undefined) return { ok: true, coSigned: false }
  if (!verify(REPORT_DOMAIN, body, fromHex(report.providerSig), fromHex(body.provider))) {
    return { ok: false, problem: 'bad-provider-signature' }
  }
  return { ok: true, coSigned: true }
}

/** Content address of a report: sha256 of its canonical body (signatures excluded). */
export function reportId(body: ReportBody): string {
  return toHex(sha256(new TextEncoder().encode(canonicalJson(body))))
}

export function signatureWeight(coSigned: boolean): number {
  return coSigned ? CO_SIGNED_WEIGHT : ONE_SIDED_WEIGHT
}

/** Parse gossip bytes into a report or throw a typed, penalising error. */
export function decodeReport(bytes: Uint8Array): SignedReport {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder().decode(bytes))
  } catch (err) {
    throw new SwarmdError('REPORT_MALFORMED', 'report is not JSON', { action: 'penalise', cause: err })
  }
  const problem = reportShapeProblem(value)
  if (problem) throw new SwarmdError('REPORT_MALFORMED', problem, { action: 'penalise' })
  return value as SignedReport
}

export function encodeReport(report: SignedReport): Uint8Array {
  return new TextEncoder().encode(canonicalJson(report))
}
