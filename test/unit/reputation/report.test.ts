import { describe, expect, it } from 'vitest'
import {
  checkReportSignatures,
  decodeReport,
  encodeReport,
  makeReport,
  type ReportBody,
  reportId,
  signatureWeight,
} from '../../../src/reputation/index.ts'
import { agentKey } from './helpers.ts'

const req = agentKey(1)
const prov = agentKey(2)
const body: ReportBody = {
  taskId: 'task-1',
  requester: req.id,
  provider: prov.id,
  outcome: 'success',
  latencyMs: 120,
  rating: 0.9,
  price: 40,
  issuedAt: 1000,
}

describe('interaction reports', () => {
  it('verify from the agent ids alone, co-signed weighs twice a one-sided report', () => {
    const co = makeReport(body, req.sk, prov.sk)
    const one = makeReport(body, req.sk)
    expect(checkReportSignatures(co)).toEqual({ ok: true, coSigned: true })
    expect(checkReportSignatures(one)).toEqual({ ok: true, coSigned: false })
    expect(signatureWeight(true)).toBe(1)
    expect(signatureWeight(false)).toBe(0.5)
  })

  it('a changed field or a signature by the wrong key fails', () => {
    const co = makeReport(body, req.sk, prov.sk)
    expect(checkReportSignatures({ ...co, body: { ...body, rating: 1 } }).ok).toBe(false)
    const wrong = makeReport(body, prov.sk) // provider key in the requester slot
    expect(checkReportSignatures(wrong)).toEqual({ ok: false, problem: 'bad-requester-signature' })
    expect(checkReportSignatures({ body, providerSig: co.providerSig })).toEqual({
      ok: false,
      problem: 'missing-requester-signature',
    })
  })

  it('round-trips through gossip bytes and refuses malformed ones with penalise', () => {
    const co = makeReport(body, req.sk, prov.sk)
    expect(decodeReport(encodeReport(co))).toEqual(co)
    expect(reportId(body)).toMatch(/^[0-9a-f]{64}$/)
    expect(() => decodeReport(new TextEncoder().encode('{'))).toThrow(/not JSON/)
    try {
      decodeReport(new TextEncoder().encode(JSON.stringify({ body: { ...body, rating: 2 } })))
      expect.unreachable()
    } catch (err) {
      expect((err as { action: string }).action).toBe('penalise')
    }
  })
})
