import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSwarmdError } from '../../../src/common/index.ts'
import {
  batchVerdict,
  decodeReportBatch,
  encodeReport,
  encodeReportBatch,
  type IntakeResult,
  MAX_REPORT_BATCH_BYTES,
  MAX_REPORT_BATCH_REPORTS,
  makeReport,
  REPORT_BATCH_TOPIC,
  REPORT_TOPIC,
  reportBatchSize,
  type SignedReport,
} from '../../../src/reputation/index.ts'
import { agentKey, reportBody } from './helpers.ts'

const req = agentKey(1)
const prov = agentKey(2)
const enc = (s: string) => new TextEncoder().encode(s)

function reports(n: number): SignedReport[] {
  return Array.from({ length: n }, (_, i) =>
    makeReport(reportBody(req.id, prov.id, `t${i}`), req.sk, prov.sk),
  )
}

/** decodeReportBatch either returns reports or throws its typed, penalising error: never anything else. */
function decodeOutcome(bytes: Uint8Array): SignedReport[] | string {
  try {
    return decodeReportBatch(bytes)
  } catch (err) {
    if (!isSwarmdError(err) || err.code !== 'REPORT_BATCH_MALFORMED' || err.action !== 'penalise') throw err
    return err.message
  }
}

describe('report batches: encoding', () => {
  it('round-trips a list of reports, in order, byte-identical to the single encoding', () => {
    const rs = reports(5)
    rs[2]!.taskEvidence = { award: { a: 1 }, bid: { b: [2, 3] } }
    const bytes = encodeReportBatch(rs.map(encodeReport))
    const back = decodeReportBatch(bytes)
    expect(back).toEqual(rs)
    expect(back.map(encodeReport)).toEqual(rs.map(encodeReport))
    expect(bytes.length).toBe(
      reportBatchSize(
        rs.length,
        rs.reduce((s, r) => s + encodeReport(r).length, 0),
      ),
    )
  })

  it('uses its own topic, never the single-report one', () => {
    expect(REPORT_BATCH_TOPIC).not.toBe(REPORT_TOPIC)
    // a single report is not a batch and a batch is not a single report
    const one = reports(1)[0]!
    expect(typeof decodeOutcome(encodeReport(one))).toBe('string')
  })

  it('enforces the count and byte caps on both sides', () => {
    expect(() => encodeReportBatch([])).toThrow(/at least one report/)
    const one = encodeReport(reports(1)[0]!)
    const max = Array.from({ length: MAX_REPORT_BATCH_REPORTS }, () => one)
    expect(decodeReportBatch(encodeReportBatch(max))).toHaveLength(MAX_REPORT_BATCH_REPORTS)
    expect(() => encodeReportBatch([...max, one])).toThrow(/reports >/)
    // a hand-made batch over the count cap is refused by the decoder
    const tooMany = enc(
      `{"reports":[${Array.from({ length: MAX_REPORT_BATCH_REPORTS + 1 }, () => new TextDecoder().decode(one)).join(',')}],"v":1}`,
    )
    expect(decodeOutcome(tooMany)).toMatch(/reports > 256/)
    // bytes: refused before parsing
    const huge = new Uint8Array(MAX_REPORT_BATCH_BYTES + 1).fill(0x20)
    expect(decodeOutcome(huge)).toMatch(/bytes >/)
    const big = new Uint8Array(MAX_REPORT_BATCH_BYTES) // one report this large cannot be batched
    expect(() => encodeReportBatch([big])).toThrow(/bytes >/)
  })

  it('refuses wrong versions, extra fields, empty batches and any malformed report', () => {
    const good = new TextDecoder().decode(encodeReport(reports(1)[0]!))
    expect(decodeOutcome(enc(`{"reports":[${good}],"v":2}`))).toMatch(/version/)
    expect(decodeOutcome(enc(`{"reports":[${good}]}`))).toMatch(/version/)
    expect(decodeOutcome(enc(`{"reports":[${good}],"v":1,"x":0}`))).toMatch(/unknown batch field/)
    expect(decodeOutcome(enc(`{"reports":[],"v":1}`))).toMatch(/empty/)
    expect(decodeOutcome(enc(`{"reports":{},"v":1}`))).toMatch(/not a list/)
    expect(decodeOutcome(enc(`{"reports":[${good},{"body":{}}],"v":1}`))).toMatch(
      /report 1: missing body|report 1/,
    )
    expect(decodeOutcome(enc(`[${good}]`))).toMatch(/not an object/)
    expect(decodeOutcome(new Uint8Array([0x7b, 0xff, 0xfe]))).toMatch(/not UTF-8 JSON/)
  })

  it('a report whose evidence is nested too deep to measure makes the batch malformed, not a crash', () => {
    let deep = '1'
    for (let i = 0; i < 100_000; i++) deep = `[${deep}]`
    const r = JSON.stringify(reports(1)[0]!).slice(0, -1) + `,"taskEvidence":{"award":${deep},"bid":1}}`
    const bytes = enc(`{"reports":[${r}],"v":1}`)
    expect(bytes.length).toBeLessThan(MAX_REPORT_BATCH_BYTES)
    expect(decodeOutcome(bytes)).toMatch(/report 0/)
  })

  it('garbage never throws anything but the typed error', () => {
    const good = encodeReport(reports(1)[0]!)
    const batch = encodeReportBatch([good, good])
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        decodeOutcome(bytes)
      }),
      { numRuns: 300 },
    )
    // mutations of a valid batch: flipped bytes and truncations
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: batch.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          maxLength: 8,
        }),
        fc.nat({ max: batch.length }),
        (flips, cut) => {
          const b = batch.slice(0, Math.max(1, cut))
          for (const [i, v] of flips) if (i < b.length) b[i] = v
          decodeOutcome(b)
        },
      ),
      { numRuns: 300 },
    )
    // arbitrary JSON in the reports list
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 5 }), (items) => {
        decodeOutcome(enc(JSON.stringify({ reports: items, v: 1 })))
      }),
      { numRuns: 200 },
    )
  })
})

describe('report batches: verdict', () => {
  const accepted = { status: 'accepted', id: 'x', coSigned: true, report: reports(1)[0]! } as const
  const held: IntakeResult = { status: 'held', id: 'y', action: 'ignore' }
  const dup: IntakeResult = { status: 'rejected', reason: 'DUPLICATE', action: 'ignore' }
  const stale: IntakeResult = { status: 'rejected', reason: 'STALE', action: 'reject' }
  const forged: IntakeResult = { status: 'rejected', reason: 'BAD_SIGNATURE', action: 'penalise' }

  it('accept when something was accepted and nothing penalising (held ones travel along)', () => {
    expect(batchVerdict([accepted, dup, stale])).toBe('accept')
    expect(batchVerdict([held, accepted])).toBe('accept')
  })
  it('reject when any report is penalising, whatever else it carries', () => {
    expect(batchVerdict([accepted, accepted, forged])).toBe('reject')
  })
  it('ignore when all were held or harmless drops', () => {
    expect(batchVerdict([dup, dup, stale])).toBe('ignore')
    expect(batchVerdict([held, dup])).toBe('ignore')
    expect(batchVerdict([])).toBe('ignore')
  })
})
