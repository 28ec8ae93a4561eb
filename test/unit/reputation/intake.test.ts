import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv } from '../../../src/common/index.ts'
import {
  gossipVerdict,
  makeReport,
  type ReportBody,
  ReportIntake,
  type SignedReport,
  TrustEngine,
} from '../../../src/reputation/index.ts'
import { agentKey, reportBody } from './helpers.ts'

const req = agentKey(1)
const prov = agentKey(2)
const mallory = agentKey(3)

const body = (taskId: string, extra: Partial<ReportBody> = {}): ReportBody =>
  reportBody(req.id, prov.id, taskId, extra)

function setup(known: (t: string) => boolean | undefined = () => true) {
  const clock = new ManualClock(10_000)
  const store = new MemoryKv()
  const intake = new ReportIntake({
    clock,
    store,
    isTaskKnown: (t, r, p) => (r === req.id && p === prov.id ? known(t) : false),
    ratePerSecond: 2,
    burst: 5,
  })
  return { clock, store, intake }
}

describe('report intake', () => {
  it('accepts a valid co-signed report, persists it, and feeds the trust engine', async () => {
    const { store, intake } = setup()
    const trust = new TrustEngine({ preTrusted: [req.id] })
    intake.onAccepted((r, co, up) => trust.addReport(r, co, up))
    const r = makeReport(body('t1'), req.sk, prov.sk)
    const res = await intake.receive(r, 'peerA')
    expect(res).toMatchObject({ status: 'accepted', coSigned: true })
    const again = new ReportIntake({ clock: new ManualClock(10_000), store, isTaskKnown: () => true })
    const stored: SignedReport[] = []
    for await (const x of again.accepted()) stored.push(x.report)
    expect(stored).toEqual([r])
    trust.compute(10_000)
    expect(trust.trust(prov.id)).toBeGreaterThan(0)
  })

  it('forged signature → BAD_SIGNATURE, penalise (gossipsub reject lowers the sender score)', async () => {
    const { intake } = setup()
    const forged = makeReport(body('t1'), mallory.sk) // claims to be from req, signed by mallory
    const res = await intake.receive(forged, 'peerM')
    expect(res).toMatchObject({
      status: 'rejected',
      reason: 'BAD_SIGNATURE',
      action: 'penalise',
    })
    expect(gossipVerdict(res)).toBe('reject')
    const tampered = { ...makeReport(body('t2'), req.sk, prov.sk), body: body('t2', { rating: 0 }) }
    expect(await intake.receive(tampered, 'peerM')).toMatchObject({
      reason: 'BAD_SIGNATURE',
      action: 'penalise',
    })
  })

  it('duplicate → ignore; replay of a reported task with other content → penalise', async () => {
    const { intake } = setup()
    const r = makeReport(body('t1'), req.sk, prov.sk)
    await intake.receive(r, 'p1')
    const dup = await intake.receive(r, 'p2')
    expect(dup).toMatchObject({ reason: 'DUPLICATE', action: 'ignore' })
    expect(gossipVerdict(dup)).toBe('ignore')
    const replay = makeReport(body('t1', { issuedAt: 10_001 }), req.sk, prov.sk)
    expect(await intake.receive(replay, 'p2')).toMatchObject({ reason: 'REPLAY', action: 'penalise' })
  })

  it('a later counter-signature upgrades a one-sided report once', async () => {
    const { intake } = setup()
    const ups: boolean[] = []
    intake.onAccepted((_r, _c, up) => ups.push(up))
    await intake.receive(makeReport(body('t1'), req.sk), 'p1')
    expect(await intake.receive(makeReport(body('t1'), req.sk, prov.sk), 'p1')).toMatchObject({
      status: 'accepted',
      coSigned: true,
    })
    expect(await intake.receive(makeReport(body('t1'), req.sk, prov.sk), 'p1')).toMatchObject({
      reason: 'DUPLICATE',
    })
    expect(ups).toEqual([false, true])
  })

  it('flooding beyond the token bucket → RATE_LIMITED, penalise; the bucket refills with time', async () => {
    const { clock, intake } = setup()
    const results = []
    for (let k = 0; k < 8; k++)
      results.push(await intake.receive(makeReport(body(`f${k}`), req.sk), 'flooder'))
    expect(results.slice(0, 5).every((r) => r.status === 'accepted')).toBe(true)
    expect(results.slice(5).every((r) => r.status === 'rejected' && r.action === 'penalise')).toBe(true)
    // another peer is not affected
    expect((await intake.receive(makeReport(body('g1'), req.sk), 'other')).status).toBe('accepted')
    clock.advance(1000) // 2 tokens per second
    expect((await intake.receive(makeReport(body('f9'), req.sk), 'flooder')).status).toBe('accepted')
  })

  it('unknown task is held, accepted once the market knows it, dropped after the hold', async () => {
    const known = new Set<string>()
    const { clock, intake } = setup((t) => (known.has(t) ? true : undefined))
    expect(await intake.receive(makeReport(body('late'), req.sk), 'p')).toMatchObject({
      status: 'held',
      action: 'ignore',
    })
    expect(await intake.receive(makeReport(body('never'), req.sk), 'p')).toMatchObject({ status: 'held' })
    known.add('late')
    const first = await intake.retryHeld()
    expect(first).toEqual([expect.objectContaining({ status: 'accepted' })])
    expect(intake.heldCount).toBe(1)
    clock.advance(31_000)
    expect(await intake.retryHeld()).toEqual([
      expect.objectContaining({ status: 'rejected', reason: 'UNKNOWN_TASK', action: 'reject' }),
    ])
    expect(intake.heldCount).toBe(0)
  })

  it('refuses wrong parties, self-reports, stale, future-dated and malformed reports', async () => {
    const { intake } = setup()
    const m = agentKey(4)
    const wrongParty = makeReport({ ...body('t1'), provider: m.id }, req.sk, m.sk)
    expect(await intake.receive(wrongParty, 'p')).toMatchObject({
      reason: 'TASK_MISMATCH',
      action: 'penalise',
    })
    const self = makeReport({ ...body('t2'), provider: req.id }, req.sk)
    expect(await intake.receive(self, 'p')).toMatchObject({ reason: 'SELF_REPORT', action: 'penalise' })
    const future = makeReport(body('t3', { issuedAt: 10_000 + 120_000 }), req.sk)
    expect(await intake.receive(future, 'p')).toMatchObject({ reason: 'FROM_FUTURE', action: 'reject' })
    const stale = makeReport(body('t4', { issuedAt: 0 }), req.sk)
    const old = setup()
    old.clock.set(8 * 24 * 3600_000)
    expect(await old.intake.receive(stale, 'p')).toMatchObject({ reason: 'STALE', action: 'reject' })
    expect(await intake.receive({ body: { taskId: 1 } }, 'p')).toMatchObject({
      reason: 'MALFORMED',
      action: 'penalise',
    })
    expect(await intake.receive({ body: body('t5') }, 'p')).toMatchObject({
      reason: 'MISSING_REQUESTER_SIGNATURE',
      action: 'reject',
    })
  })
})
