import { describe, expect, it } from 'vitest'
import { KvTransaction, ManualClock, MemoryKv } from '../../../src/common/index.ts'
import {
  AWARD_DOMAIN,
  arbitrate,
  arbitratorPool,
  castVote,
  type DisputeEvidence,
  drawPanel,
  KvFunds,
  openDispute,
  RESULT_DOMAIN,
  resolveDispute,
  StakeLedger,
  sha256Hex,
  signEnvelope,
  tally,
  verdictProblem,
  verifySlash,
} from '../../../src/reputation/index.ts'
import { agentKey } from './helpers.ts'

const req = agentKey(1)
const prov = agentKey(2)
const arbs = [10, 11, 12, 13, 14, 15].map(agentKey)
const enc = new TextEncoder()
const good = sha256Hex(enc.encode('correct output'))
const bad = sha256Hex(enc.encode('garbage'))
const trace = 'PUSH 1\nPUSH 2\nADD\nRETURN'

function evidence(extra: Partial<DisputeEvidence> = {}): DisputeEvidence {
  const award = signEnvelope(
    AWARD_DOMAIN,
    { taskId: 't1', requester: req.id, provider: prov.id, price: 80, deadline: 5000 },
    req.sk,
  )
  const result = signEnvelope(
    RESULT_DOMAIN,
    { taskId: 't1', provider: prov.id, outputHash: bad, issuedAt: 4000 },
    prov.sk,
  )
  return {
    taskId: 't1',
    complainant: req.id,
    defendant: prov.id,
    claim: 'wrong-result',
    award,
    result,
    expectedOutputHash: good,
    actualOutputHash: bad,
    traceHash: sha256Hex(enc.encode(trace)),
    trace,
    refund: 80,
    openedAt: 6000,
    ...extra,
  }
}

const candidates = [
  ...arbs.map((a, i) => ({ agent: a.id, trust: 0.1 + i * 0.01 })),
  { agent: prov.id, trust: 0.9 },
]
const replayCorrect = async () => good

describe('disputes', () => {
  it('every node draws the same panel from the dispute id, never a party', () => {
    const d = openDispute(evidence(), req.sk)
    const pool = arbitratorPool(d, candidates, { poolSize: 5 })
    expect(pool).not.toContain(prov.id)
    expect(pool).toHaveLength(5)
    const p1 = drawPanel(d.id, pool)
    expect(drawPanel(d.id, [...pool].reverse())).toEqual(p1)
    expect(new Set(p1).size).toBe(3)
    const other = openDispute(evidence({ refund: 79 }), req.sk)
    // a different dispute id re-seeds the draw (with 10 possible panels, most seeds differ)
    expect(drawPanel(other.id, pool).length).toBe(3)
  })

  it('a won dispute refunds the complainant from the slashed stake, atomically, with verifiable evidence', async () => {
    const root = new MemoryKv()
    const funds = new KvFunds(root)
    const seed = new KvTransaction(root)
    await funds.credit(prov.id, 1000, seed)
    await seed.commit()
    const stake = new StakeLedger({ store: root, funds, clock: new ManualClock(7000) })
    await stake.bond(prov.id, 400)

    const d = openDispute(evidence(), req.sk)
    const pool = arbitratorPool(d, candidates)
    const panel = drawPanel(d.id, pool)
    const votes = []
    for (const id of panel) {
      const k = arbs.find((a) => a.id === id)!
      const { decision, replayOutputHash } = await arbitrate(d, replayCorrect)
      expect(decision).toBe('complainant')
      votes.push(castVote(d.id, id, k.sk, decision, replayOutputHash))
    }
    expect(tally(d, pool, panel, votes.slice(0, 1))).toBeUndefined() // 1 of 3 is no majority
    const verdict = tally(d, pool, panel, votes)!
    expect(verdict.winner).toBe('complainant')
    const rec = (await resolveDispute(verdict, stake))!
    // amount = min(400, 80 + 50) = 130; refund 80 to the requester; 50 burned
    expect(rec).toMatchObject({ amount: 130, toVictim: 80, burned: 50, bondedAfter: 270 })
    expect(await funds.balance(req.id)).toBe(80)
    expect(verifySlash(rec)).toEqual({ ok: true })
    await expect(resolveDispute(verdict, stake)).rejects.toThrow(/already used/)
  })

  it('the defendant wins when the re-run reproduces its output; nothing is slashed', async () => {
    const d = openDispute(evidence(), req.sk)
    const { decision } = await arbitrate(d, async () => bad)
    expect(decision).toBe('defendant')
    const pool = arbitratorPool(d, candidates)
    const panel = drawPanel(d.id, pool)
    const votes = panel.map((id) => castVote(d.id, id, arbs.find((a) => a.id === id)!.sk, 'defendant'))
    const stake = new StakeLedger({
      store: new MemoryKv(),
      funds: new KvFunds(new MemoryKv()),
      clock: new ManualClock(),
    })
    expect(await resolveDispute(tally(d, pool, panel, votes)!, stake)).toBeUndefined()
  })

  it('forged evidence fails: at opening, at verification, and votes from outside the panel do not count', () => {
    // result "signed by the provider" but actually by the requester
    const fakeResult = signEnvelope(
      RESULT_DOMAIN,
      { taskId: 't1', provider: prov.id, outputHash: bad, issuedAt: 4000 },
      req.sk,
    )
    expect(() => openDispute(evidence({ result: fakeResult }), req.sk)).toThrow(/provider’s/)
    expect(() => openDispute(evidence({ actualOutputHash: sha256Hex(enc.encode('x')) }), req.sk)).toThrow(
      /differs from the signed result/,
    )
    expect(() => openDispute(evidence({ trace: 'other trace' }), req.sk)).toThrow(/trace/)
    expect(() => openDispute(evidence({ refund: 81 }), req.sk)).toThrow(/refund/)
    const fakeAward = signEnvelope(AWARD_DOMAIN, evidence().award.body, prov.sk)
    expect(() => openDispute(evidence({ award: fakeAward }), req.sk)).toThrow(/requester/)

    const d = openDispute(evidence(), req.sk)
    const pool = arbitratorPool(d, candidates)
    const panel = drawPanel(d.id, pool)
    const outsider = arbs.find((a) => !panel.includes(a.id))!
    const votes = [
      castVote(d.id, outsider.id, outsider.sk, 'complainant'),
      castVote(d.id, panel[0]!, outsider.sk, 'complainant'), // signed by the wrong key
      castVote(d.id, panel[1]!, arbs.find((a) => a.id === panel[1])!.sk, 'complainant'),
    ]
    expect(tally(d, pool, panel, votes)).toBeUndefined()
    // a verdict with a hand-picked panel is refused
    const honest = panel.map((id) => castVote(d.id, id, arbs.find((a) => a.id === id)!.sk, 'complainant'))
    const v = tally(d, pool, panel, honest)!
    expect(verdictProblem(v)).toBeUndefined()
    const picked = pool.filter((id) => !panel.includes(id)).slice(0, 3)
    expect(verdictProblem({ ...v, panel: picked })).toMatch(/panel/)
    // tampering with the evidence after signing breaks the dispute signature
    expect(verdictProblem({ ...v, dispute: { ...d, evidence: { ...d.evidence, refund: 10 } } })).toMatch(
      /dispute/,
    )
  })
})
