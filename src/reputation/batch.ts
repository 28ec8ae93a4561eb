/**
 * Report batches: many signed reports in one gossip message. Every gossip
 * message costs a gossipsub signature and its check, a message id, IHAVE /
 * IWANT bookkeeping, one validator run and its framing, whatever it carries,
 * so a node queues the reports it publishes and sends them together.
 *
 * Wire format (same style as a single report, `encodeReport`): UTF-8 JSON
 * `{"v":1,"reports":[<report>,...]}` where each `<report>` is exactly the
 * canonical JSON a single report is sent as. Batches travel on their own
 * topic, `REPORT_BATCH_TOPIC`, so a node never mistakes one for a report.
 *
 * Hard caps, checked before and while parsing: at most
 * `MAX_REPORT_BATCH_BYTES` bytes and `MAX_REPORT_BATCH_REPORTS` reports, at
 * least one. One malformed entry makes the whole batch undecodable (an
 * honest publisher validates its reports before queuing them).
 */
import { SwarmdError } from '../common/index.ts'
import { type IntakeResult, REPORT_TOPIC } from './intake.ts'
import { reportShapeProblem, type SignedReport } from './report.ts'

/** The gossipsub topic report batches travel on (single reports keep `REPORT_TOPIC`). */
export const REPORT_BATCH_TOPIC = `${REPORT_TOPIC}/batch`

/** Version tag inside every batch. */
export const REPORT_BATCH_VERSION = 1

/** Most reports one batch may carry (a decoder refuses more). */
export const MAX_REPORT_BATCH_REPORTS = 256

/** Largest batch in bytes (a decoder refuses more; a publisher flushes before it would exceed it). */
export const MAX_REPORT_BATCH_BYTES = 256 * 1024

const HEAD = new TextEncoder().encode(`{"reports":[`)
const TAIL = new TextEncoder().encode(`],"v":${REPORT_BATCH_VERSION}}`)

/** Bytes of a batch holding reports whose encodings (`encodeReport`) total `reportBytes`, `count` of them. */
export function reportBatchSize(count: number, reportBytes: number): number {
  return HEAD.length + TAIL.length + reportBytes + Math.max(0, count - 1)
}

/**
 * Build a batch from already encoded reports (`encodeReport` output). Throws
 * a `SwarmdError` (`REPORT_BATCH_TOO_LARGE`) when it would break a cap, and
 * `REPORT_BATCH_EMPTY` for no reports.
 */
export function encodeReportBatch(encodedReports: readonly Uint8Array[]): Uint8Array {
  const n = encodedReports.length
  if (n === 0) throw new SwarmdError('REPORT_BATCH_EMPTY', 'a report batch needs at least one report')
  if (n > MAX_REPORT_BATCH_REPORTS)
    throw new SwarmdError('REPORT_BATCH_TOO_LARGE', `${n} reports > ${MAX_REPORT_BATCH_REPORTS}`)
  const size = reportBatchSize(
    n,
    encodedReports.reduce((s, r) => s + r.length, 0),
  )
  if (size > MAX_REPORT_BATCH_BYTES)
    throw new SwarmdError('REPORT_BATCH_TOO_LARGE', `${size} bytes > ${MAX_REPORT_BATCH_BYTES}`)
  const out = new Uint8Array(size)
  out.set(HEAD, 0)
  let at = HEAD.length
  encodedReports.forEach((r, i) => {
    if (i > 0) out[at++] = 0x2c // ','
    out.set(r, at)
    at += r.length
  })
  out.set(TAIL, at)
  return out
}

/**
 * Parse gossip bytes into the reports of a batch, or throw a typed,
 * penalising `SwarmdError` (`REPORT_BATCH_MALFORMED`): too large, not JSON,
 * wrong version, no or too many reports, or any report of the wrong shape.
 * Never throws anything else.
 */
export function decodeReportBatch(bytes: Uint8Array): SignedReport[] {
  if (bytes.length > MAX_REPORT_BATCH_BYTES)
    return malformed(`batch of ${bytes.length} bytes > ${MAX_REPORT_BATCH_BYTES}`)
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    return malformed('batch is not UTF-8 JSON', err)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return malformed('not an object')
  const v = value as Record<string, unknown>
  if (v.v !== REPORT_BATCH_VERSION) return malformed(`unsupported batch version ${JSON.stringify(v.v)}`)
  const extra = Object.keys(v).find((k) => k !== 'v' && k !== 'reports')
  if (extra !== undefined) return malformed(`unknown batch field ${extra}`)
  const reports = v.reports
  if (!Array.isArray(reports)) return malformed('reports is not a list')
  if (reports.length === 0) return malformed('empty batch')
  if (reports.length > MAX_REPORT_BATCH_REPORTS)
    return malformed(`${reports.length} reports > ${MAX_REPORT_BATCH_REPORTS}`)
  for (const [i, r] of reports.entries()) {
    let problem: string | undefined
    try {
      problem = reportShapeProblem(r)
    } catch (err) {
      return malformed(`report ${i}: unreadable`, err) // e.g. task evidence nested too deep to measure
    }
    if (problem !== undefined) return malformed(`report ${i}: ${problem}`)
  }
  return reports as SignedReport[]
}

function malformed(message: string, cause?: unknown): never {
  throw new SwarmdError('REPORT_BATCH_MALFORMED', message, { action: 'penalise', cause })
}

/**
 * The gossipsub verdict of a whole batch from the intake results of its
 * reports: `reject` if any report was rejected with a penalising action (a
 * batch carrying a forgery, replay or flood is not relayed); else `accept`
 * if at least one report was accepted (held ones in it then travel along);
 * else `ignore`: held reports only, duplicates, stale reports and other
 * harmless drops. Held-only batches are not relayed, as a single held report
 * is not: a requester's one-sided report about a task third parties cannot
 * know would otherwise spread to every node just to be held there.
 */
export function batchVerdict(results: readonly IntakeResult[]): 'accept' | 'ignore' | 'reject' {
  let accepted = false
  for (const r of results) {
    if (r.status === 'rejected' && r.action === 'penalise') return 'reject'
    if (r.status === 'accepted') accepted = true
  }
  return accepted ? 'accept' : 'ignore'
}
