import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv, silentLogger } from '../../../src/common/index.ts'
import { parseConfig } from '../../../src/node/config.ts'
import { createPeerScore } from '../../../src/node/peer-score.ts'
import {
  type BatchOutcome,
  type BatchTimers,
  createReportBatchValidator,
  REPORT_PENALTY,
  ReportBatcher,
  TaskRegistry,
} from '../../../src/node/reputation/index.ts'
import {
  decodeReportBatch,
  encodeReport,
  encodeReportBatch,
  MAX_REPORT_BATCH_REPORTS,
  makeReport,
  type ReportBody,
  ReportIntake,
  type SignedReport,
  TrustEngine,
} from '../../../src/reputation/index.ts'
import { agentKey, reportBody } from '../reputation/helpers.ts'

const req = agentKey(1)
const prov = agentKey(2)
const mallory = agentKey(3)

const body = (taskId: string, extra: Partial<ReportBody> = {}): ReportBody =>
  reportBody(req.id, prov.id, taskId, extra)
const coSigned = (taskId: string) => makeReport(body(taskId), req.sk, prov.sk)

/** Timers that fire only when the test says so. */
function manualTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>()
  let next = 0
  const timers: BatchTimers = {
    set: (fn, ms) => {
      pending.set(++next, { fn, ms })
      return next
    },
    clear: (h) => void pending.delete(h as number),
  }
  const fire = () => {
    const all = [...pending.values()]
    pending.clear()
    for (const t of all) t.fn()
  }
  return { timers, pending, fire }
}

function batcherSetup(opts: { maxBatch?: number; batchMs?: number; maxBytes?: number; fail?: boolean } = {}) {
  const sent: SignedReport[][] = []
  const t = manualTimers()
  const batcher = new ReportBatcher({
    maxBatch: opts.maxBatch ?? 4,
    batchMs: opts.batchMs ?? 250,
    maxBytes: opts.maxBytes,
    timers: t.timers,
    publish: async (batch, n) => {
      if (opts.fail) throw new Error('no route')
      const reports = decodeReportBatch(batch)
      expect(reports).toHaveLength(n)
      sent.push(reports)
      return 3 // recipients
    },
  })
  return { batcher, sent, ...t }
}

const settle = () => new Promise((r) => setImmediate(r))

describe('the outgoing report batch (flush policy)', () => {
  it('sends a full batch at once when maxBatch reports are queued', async () => {
    const { batcher, sent, pending } = batcherSetup({ maxBatch: 3 })
    const rs = Array.from({ length: 7 }, (_, i) => coSigned(`t${i}`))
    const done = rs.map((r) => batcher.add(encodeReport(r)))
    await settle()
    expect(sent.map((b) => b.length)).toEqual([3, 3])
    expect(sent.flat()).toEqual(rs.slice(0, 6))
    expect(batcher.queued).toBe(1)
    expect(pending.size).toBe(1) // the timer of the 7th
    expect(await Promise.all(done.slice(0, 6))).toEqual([3, 3, 3, 3, 3, 3])
  })

  it('sends a partial batch when the timer set at its first report fires, and only one timer runs', async () => {
    const { batcher, sent, pending, fire } = batcherSetup({ maxBatch: 64, batchMs: 250 })
    batcher.add(encodeReport(coSigned('a')))
    batcher.add(encodeReport(coSigned('b')))
    expect(pending.size).toBe(1)
    expect([...pending.values()][0]!.ms).toBe(250)
    await settle()
    expect(sent).toEqual([]) // nothing leaves before the timer
    fire()
    await settle()
    expect(sent.map((b) => b.map((r) => r.body.taskId))).toEqual([['a', 'b']])
    expect(batcher.queued).toBe(0)
    // the next report starts a new timer
    batcher.add(encodeReport(coSigned('c')))
    expect(pending.size).toBe(1)
  })

  it('a size flush cancels the timer; flush() sends at once and resolves to the recipients', async () => {
    const { batcher, sent, pending } = batcherSetup({ maxBatch: 2 })
    batcher.add(encodeReport(coSigned('a')))
    batcher.add(encodeReport(coSigned('b')))
    expect(pending.size).toBe(0)
    const c = batcher.add(encodeReport(coSigned('c')))
    expect(await batcher.flush()).toBe(3)
    expect(await c).toBe(3)
    expect(await batcher.flush()).toBe(0) // nothing queued
    expect(sent.map((b) => b.length)).toEqual([2, 1])
  })

  it('flushes before a report would push the batch over maxBytes', async () => {
    const one = encodeReport(coSigned('a'))
    const { batcher, sent } = batcherSetup({ maxBatch: 64, maxBytes: one.length * 2 + 40 })
    for (const id of ['a', 'b', 'c', 'd', 'e']) batcher.add(encodeReport(coSigned(id)))
    await batcher.flush()
    expect(sent.map((b) => b.length)).toEqual([2, 2, 1])
  })

  it('close() sends what is queued and refuses more', async () => {
    const { batcher, sent, pending } = batcherSetup({ maxBatch: 64 })
    batcher.add(encodeReport(coSigned('a')))
    await batcher.close()
    expect(sent).toHaveLength(1)
    expect(pending.size).toBe(0)
    await expect(batcher.add(encodeReport(coSigned('b')))).rejects.toThrow(/closed/)
    await batcher.close() // idempotent
  })

  it('a failed publish rejects the reports of that batch, and the next batch still goes', async () => {
    const { batcher } = batcherSetup({ maxBatch: 2, fail: true })
    const a = batcher.add(encodeReport(coSigned('a')))
    batcher.add(encodeReport(coSigned('b')))
    await expect(a).rejects.toThrow(/no route/)
    await expect(batcher.flush()).resolves.toBe(0)
  })
})

function validatorSetup(opts: { burst?: number } = {}) {
  const clock = new ManualClock(10_000)
  const store = new MemoryKv()
  const tasks = new TaskRegistry(store)
  let co = false
  const intake = new ReportIntake({
    clock,
    store,
    isTaskKnown: (t, r, p) => tasks.known(t, r, p, co, 'accept-co-signed'),
    ratePerSecond: 1,
    burst: opts.burst ?? 100,
    holdMs: 30_000,
  })
  const trust = new TrustEngine({ preTrusted: [req.id] })
  intake.onAccepted((r, c, up) => trust.addReport(r, c, up))
  const peerScore = createPeerScore(clock, { disconnectThreshold: -100, recoveryPerMinute: 0 })
  const batches: BatchOutcome[] = []
  const validate = createReportBatchValidator({
    receive: async (report, from) => {
      co = report.providerSig !== undefined
      return intake.receive(report, from)
    },
    peerScore,
    logger: silentLogger,
    onBatch: (_from, b) => batches.push(b),
  })
  return { intake, trust, peerScore, validate, batches }
}

async function stored(intake: ReportIntake): Promise<number> {
  let n = 0
  for await (const _ of intake.accepted()) n++
  return n
}

const batchOf = (rs: SignedReport[]) => encodeReportBatch(rs.map(encodeReport))

describe('the report batch validator', () => {
  it('accepts a batch of good reports: every one stored and fed to trust', async () => {
    const { validate, intake, trust, peerScore, batches } = validatorSetup()
    expect(await validate('p', batchOf([coSigned('t1'), coSigned('t2'), coSigned('t3')]))).toBe('accept')
    expect(await stored(intake)).toBe(3)
    expect(trust.edges).toBe(1) // one requester → provider edge carrying all three
    expect(batches).toEqual([{ reports: 3, checked: 3, verdict: 'accept' }])
    expect(peerScore.get('p')).toBe(0)
  })

  it('ignores a batch of duplicates; a batch with one new report among duplicates is accepted', async () => {
    const { validate, intake, peerScore } = validatorSetup()
    const rs = [coSigned('t1'), coSigned('t2')]
    expect(await validate('a', batchOf(rs))).toBe('accept')
    expect(await validate('b', batchOf(rs))).toBe('ignore')
    expect(await validate('b', batchOf([...rs, coSigned('t3')]))).toBe('accept')
    expect(peerScore.get('b')).toBe(0)
    expect(await stored(intake)).toBe(3)
  })

  it('rejects a batch carrying a forgery and penalises the sender; the forgery is not stored', async () => {
    const { validate, peerScore, trust, batches } = validatorSetup()
    const forged = makeReport(body('t2'), mallory.sk) // claims req as the requester
    const verdict = await validate('f', batchOf([coSigned('t1'), forged, coSigned('t3')]))
    expect(verdict).toBe('reject')
    expect(peerScore.get('f')).toBe(-REPORT_PENALTY.BAD_SIGNATURE!)
    expect(batches).toEqual([{ reports: 3, checked: 2, verdict: 'reject' }]) // stops at the forgery
    expect(trust.edges).toBe(1) // t1, checked before the forgery, stays
  })

  it('rejects undecodable batches with the undecodable penalty', async () => {
    const { validate, peerScore, batches } = validatorSetup()
    expect(await validate('x', new TextEncoder().encode('not json'))).toBe('reject')
    expect(await validate('x', encodeReport(coSigned('t1')))).toBe('reject') // a single report is not a batch
    const bad = new TextEncoder().encode(`{"reports":[{"body":{}}],"v":1}`)
    expect(await validate('x', bad)).toBe('reject')
    expect(peerScore.get('x')).toBe(-3 * REPORT_PENALTY.UNDECODABLE)
    expect(batches.every((b) => b.reports === 0 && b.verdict === 'reject')).toBe(true)
  })

  it('the per-peer rate limit counts reports, not messages', async () => {
    const { validate, peerScore, intake } = validatorSetup({ burst: 5 })
    const rs = Array.from({ length: 8 }, (_, i) => coSigned(`r${i}`))
    // one message, eight reports: the sixth is over the limit of five
    expect(await validate('p', batchOf(rs))).toBe('reject')
    expect(peerScore.get('p')).toBe(-REPORT_PENALTY.RATE_LIMITED!)
    expect(await stored(intake)).toBe(5)
  })

  it('a batch of held reports only is not relayed (ignore), like a single held report; with an accepted one it is', async () => {
    const { validate, intake, peerScore } = validatorSetup()
    const oneSided = (t: string) => makeReport(body(t), req.sk) // unknown task, requester only: held
    expect(await validate('a', batchOf([oneSided('h1'), oneSided('h2')]))).toBe('ignore')
    expect(intake.heldCount).toBe(2)
    expect(await validate('a', batchOf([oneSided('h3'), coSigned('c1')]))).toBe('accept')
    expect(intake.heldCount).toBe(3)
    expect(await stored(intake)).toBe(1)
    expect(peerScore.get('a')).toBe(0)
  })
})

describe('reputation.gossip config', () => {
  it('defaults to batches of 32 within 250 ms, and a burst that fits a full batch', () => {
    const cfg = parseConfig({})
    expect(cfg.reputation.gossip).toEqual({ maxBatch: 32, batchMs: 1000 })
    expect(cfg.reputation.burst).toBeGreaterThanOrEqual(cfg.reputation.gossip.maxBatch)
  })

  it('validates both keys with clear errors', () => {
    expect(parseConfig({ reputation: { gossip: { maxBatch: 1, batchMs: 0 } } }).reputation.gossip).toEqual({
      maxBatch: 1,
      batchMs: 0,
    })
    expect(() => parseConfig({ reputation: { gossip: { maxBatch: 0 } } })).toThrow(
      /"reputation.gossip.maxBatch" must be/,
    )
    expect(() => parseConfig({ reputation: { gossip: { maxBatch: MAX_REPORT_BATCH_REPORTS + 1 } } })).toThrow(
      /"reputation.gossip.maxBatch" must be/,
    )
    expect(() => parseConfig({ reputation: { gossip: { batchMs: -1 } } })).toThrow(
      /"reputation.gossip.batchMs" must be/,
    )
    expect(() => parseConfig({ reputation: { gossip: { maxbatch: 2 } } })).toThrow(/did you mean "maxBatch"/)
    expect(() => parseConfig({ reputation: { burst: 10 } })).toThrow(
      /"reputation.gossip.maxBatch" must be at most "reputation.burst" \(10\), got 32/,
    )
    expect(parseConfig({ reputation: { burst: 10, gossip: { maxBatch: 10 } } }).reputation.burst).toBe(10)
  })
})
