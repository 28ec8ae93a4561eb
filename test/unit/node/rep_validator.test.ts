import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv, silentLogger } from '../../../src/common/index.ts'
import { createReportValidator, REPORT_PENALTY, TaskRegistry } from '../../../src/node/reputation/index.ts'
import type { UnknownTaskPolicy } from '../../../src/node/config.ts'
import { createPeerScore } from '../../../src/node/peer-score.ts'
import {
  encodeReport,
  makeReport,
  type ReportBody,
  ReportIntake,
  TrustEngine,
} from '../../../src/reputation/index.ts'
import { agentKey, reportBody } from '../reputation/helpers.ts'

const req = agentKey(1)
const prov = agentKey(2)
const mallory = agentKey(3)

const body = (taskId: string, extra: Partial<ReportBody> = {}): ReportBody =>
  reportBody(req.id, prov.id, taskId, extra)

function setup(opts: { unknownTasks?: UnknownTaskPolicy; burst?: number } = {}) {
  const clock = new ManualClock(10_000)
  const store = new MemoryKv()
  const tasks = new TaskRegistry(store)
  let coSigned = false
  const intake = new ReportIntake({
    clock,
    store,
    isTaskKnown: (t, r, p) => tasks.known(t, r, p, coSigned, opts.unknownTasks ?? 'accept-co-signed'),
    ratePerSecond: 1,
    burst: opts.burst ?? 50,
    holdMs: 30_000,
  })
  const trust = new TrustEngine({ preTrusted: [req.id] })
  intake.onAccepted((r, co, up) => trust.addReport(r, co, up))
  const peerScore = createPeerScore(clock, { disconnectThreshold: -100, recoveryPerMinute: 0 })
  const validate = createReportValidator({
    receive: async (report, from) => {
      coSigned = report.providerSig !== undefined
      return intake.receive(report, from)
    },
    peerScore,
    logger: silentLogger,
  })
  return { clock, store, tasks, intake, trust, peerScore, validate }
}

describe('the report gossip validator', () => {
  it('accepts a co-signed report about an unknown task, stores it and feeds trust, without penalty', async () => {
    const { validate, intake, trust, peerScore, clock } = setup()
    const r = makeReport(body('t1'), req.sk, prov.sk)
    expect(await validate('peerA', encodeReport(r))).toBe('accept')
    expect(peerScore.get('peerA')).toBe(0)
    expect(trust.edges).toBe(1)
    trust.compute(clock.now())
    expect(trust.trust(prov.id)).toBeGreaterThan(0)
    const stored = []
    for await (const x of intake.accepted()) stored.push(x)
    expect(stored).toHaveLength(1)
    expect(stored[0]!.coSigned).toBe(true)
  })

  it('rejects a forged report and lowers the sender score', async () => {
    const { validate, peerScore, trust } = setup()
    // claims req as requester but is signed by mallory
    const forged = makeReport(body('t1'), mallory.sk)
    expect(await validate('forger', encodeReport(forged))).toBe('reject')
    expect(peerScore.get('forger')).toBe(-REPORT_PENALTY.BAD_SIGNATURE!)
    // a genuine report with a tampered rating
    const genuine = makeReport(body('t2'), req.sk, prov.sk)
    const tampered = { ...genuine, body: { ...genuine.body, rating: 0 } }
    expect(await validate('forger', encodeReport(tampered))).toBe('reject')
    expect(peerScore.get('forger')).toBe(-2 * REPORT_PENALTY.BAD_SIGNATURE!)
    expect(peerScore.isBanned('forger')).toBe(true)
    expect(trust.edges).toBe(0)
  })

  it('ignores an honest duplicate but rejects and penalises a replay with different content', async () => {
    const { validate, peerScore, trust } = setup()
    const r = makeReport(body('t1'), req.sk, prov.sk)
    expect(await validate('a', encodeReport(r))).toBe('accept')
    expect(await validate('b', encodeReport(r))).toBe('ignore')
    expect(peerScore.get('b')).toBe(0)
    const replay = makeReport(body('t1', { issuedAt: 10_001, rating: 0.2 }), req.sk, prov.sk)
    expect(await validate('c', encodeReport(replay))).toBe('reject')
    expect(peerScore.get('c')).toBe(-REPORT_PENALTY.REPLAY!)
    expect(trust.edges).toBe(1)
  })

  it('rejects a flood above the rate limit, and the flooder ends banned', async () => {
    const { validate, peerScore } = setup({ burst: 10 })
    const verdicts: string[] = []
    for (let k = 0; k < 40; k++)
      verdicts.push(await validate('flooder', encodeReport(makeReport(body(`f${k}`), req.sk, prov.sk))))
    expect(verdicts.slice(0, 10).every((v) => v === 'accept')).toBe(true)
    expect(verdicts.slice(10).every((v) => v === 'reject')).toBe(true)
    expect(peerScore.get('flooder')).toBe(-30 * REPORT_PENALTY.RATE_LIMITED!)
    expect(peerScore.isBanned('flooder')).toBe(true)
    // another peer is not affected by the flooder's bucket
    expect(await validate('other', encodeReport(makeReport(body('g1'), req.sk, prov.sk)))).toBe('accept')
  })

  it('rejects undecodable bytes and penalises them', async () => {
    const { validate, peerScore } = setup()
    expect(await validate('x', new TextEncoder().encode('not json'))).toBe('reject')
    expect(await validate('x', new TextEncoder().encode('{"body":{}}'))).toBe('reject')
    expect(peerScore.get('x')).toBe(-2 * REPORT_PENALTY.UNDECODABLE)
  })

  it('holds a one-sided report about an unknown task, accepts it once the task is registered', async () => {
    const { validate, intake, tasks, trust } = setup()
    const r = makeReport(body('t9'), req.sk) // requester only
    expect(await validate('a', encodeReport(r))).toBe('ignore')
    expect(intake.heldCount).toBe(1)
    await tasks.register('t9', req.id, prov.id, 10_000)
    const out = await intake.retryHeld()
    expect(out).toMatchObject([{ status: 'accepted', coSigned: false }])
    expect(trust.edges).toBe(1)
  })

  it('drops a held report after holdMs when the task never becomes known', async () => {
    const { validate, intake, clock, trust, peerScore } = setup()
    expect(await validate('a', encodeReport(makeReport(body('t9'), req.sk)))).toBe('ignore')
    clock.advance(31_000)
    const out = await intake.retryHeld()
    expect(out).toMatchObject([{ status: 'rejected', reason: 'UNKNOWN_TASK' }])
    expect(intake.heldCount).toBe(0)
    expect(trust.edges).toBe(0)
    expect(peerScore.get('a')).toBe(0)
  })

  it('with unknownTasks "accept", accepts a one-sided report about an unknown task at half weight', async () => {
    const { validate, trust } = setup({ unknownTasks: 'accept' })
    expect(await validate('a', encodeReport(makeReport(body('t1'), req.sk)))).toBe('accept')
    expect(trust.edges).toBe(1)
  })

  it('with unknownTasks "hold", holds even a co-signed report; a registered task with other parties is a penalised mismatch', async () => {
    const { validate, intake, tasks, peerScore } = setup({ unknownTasks: 'hold' })
    expect(await validate('a', encodeReport(makeReport(body('t1'), req.sk, prov.sk)))).toBe('ignore')
    expect(intake.heldCount).toBe(1)
    await tasks.register('t2', req.id, mallory.id, 10_000)
    expect(await validate('b', encodeReport(makeReport(body('t2'), req.sk, prov.sk)))).toBe('reject')
    expect(peerScore.get('b')).toBe(-REPORT_PENALTY.TASK_MISMATCH!)
  })
})
