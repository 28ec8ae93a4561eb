import { describe, expect, it } from 'vitest'
import { type Interaction, TrustEngine } from '../../../src/reputation/index.ts'

const H = 1000 // half-life in ms for these tests
const ok = (rater: string, ratee: string, issuedAt = 0, price = 0): Interaction => ({
  rater,
  ratee,
  outcome: 'success',
  rating: 1,
  price,
  issuedAt,
  coSigned: true,
})

describe('EigenTrust on hand-worked graphs', () => {
  it('chain A→{B,C}, B→C with A pre-trusted', () => {
    // a = 0.5, no prior (K = 0), price 0 → weight log2(2) = 1, all co-signed.
    // Rows: A: B 1/2, C 1/2.  B: C 1.  C: no ratings → all of C's mass goes to p = (1,0,0).
    // t_B = 0.5·(t_A/2)              = t_A/4
    // t_C = 0.5·(t_A/2 + t_B)        = t_A/4 + t_A/8 = 3t_A/8
    // t_A = 0.5·t_C + 0.5            = 3t_A/16 + 1/2  → t_A = 8/13, t_B = 2/13, t_C = 3/13
    const e = new TrustEngine({ preTrusted: ['A'], alpha: 0.5, priorWeight: 0, halfLifeMs: H })
    e.addInteraction(ok('A', 'B'))
    e.addInteraction(ok('A', 'C'))
    e.addInteraction(ok('B', 'C'))
    e.compute(0)
    expect(e.trust('A')).toBeCloseTo(8 / 13, 8)
    expect(e.trust('B')).toBeCloseTo(2 / 13, 8)
    expect(e.trust('C')).toBeCloseTo(3 / 13, 8)
  })

  it('a colluding ring nobody trusted rated gets exactly zero, however much it rates itself', () => {
    // D and E rate each other with high prices; no row with trust points to them.
    // t_D = 0.5·(t_E·1), t_E = 0.5·(t_D·1) → t_D = t_E = 0; A keeps everything: t_A = 1·... (B gets A's row).
    const e = new TrustEngine({ preTrusted: ['A'], alpha: 0.5, priorWeight: 0, halfLifeMs: H })
    e.addInteraction(ok('A', 'B'))
    for (let k = 0; k < 50; k++) {
      e.addInteraction(ok('D', 'E', 0, 10_000))
      e.addInteraction(ok('E', 'D', 0, 10_000))
    }
    e.compute(0)
    expect(e.trust('D')).toBe(0)
    expect(e.trust('E')).toBe(0)
    // t_B = 0.5·t_A, t_A = 0.5·t_B + 0.5 → t_A = 2/3, t_B = 1/3
    expect(e.trust('A')).toBeCloseTo(2 / 3, 8)
    expect(e.trust('B')).toBeCloseTo(1 / 3, 8)
  })

  it('ratings by an untrusted rater count for nothing until the rater earns trust', () => {
    const e = new TrustEngine({ preTrusted: ['A'], alpha: 0.5, priorWeight: 0, halfLifeMs: H })
    e.addInteraction(ok('X', 'Y')) // X is a fresh identity
    e.compute(0)
    expect(e.trust('Y')).toBe(0)
    e.addInteraction(ok('A', 'X')) // now A vouches for X: Y inherits through X
    e.compute(0)
    // t_X = 0.5·t_A, t_Y = 0.5·t_X = t_A/4, t_A = 0.5·t_Y + 0.5 → t_A = 4/7, t_X = 2/7, t_Y = 1/7
    expect(e.trust('A')).toBeCloseTo(4 / 7, 8)
    expect(e.trust('X')).toBeCloseTo(2 / 7, 8)
    expect(e.trust('Y')).toBeCloseTo(1 / 7, 8)
  })

  it('a failure outweighs a success (penalty 2) and clips local trust at zero', () => {
    // sat = 1, unsat = 2·1 → s_AB = max(1 − 2, 0) = 0 → row A is empty → t_A = 1
    const e = new TrustEngine({ preTrusted: ['A'], alpha: 0.5, priorWeight: 0, halfLifeMs: H })
    e.addInteraction(ok('A', 'B'))
    e.addInteraction({ ...ok('A', 'B'), outcome: 'failure' })
    e.compute(0)
    expect(e.trust('A')).toBeCloseTo(1, 12)
    expect(e.trust('B')).toBe(0)
  })

  it('distrust keeps the negative evidence, weighted by the rater’s trust, one hop only', () => {
    // Row A: s_AB = 1, and A→C failed: unsat = 2·1 = 2 → N_A = 2. K = 0.
    // t_B = 0.5·t_A, t_A = 0.5·t_B + 0.5 → t_A = 2/3, t_B = 1/3, t_C = 0
    // d_C = t_A · 2 / (S_A + N_A + K) = (2/3)·(2/3) = 4/9
    // X (untrusted) reports a failure of B: t_X = 0, so it adds nothing to d_B.
    const e = new TrustEngine({ preTrusted: ['A'], alpha: 0.5, priorWeight: 0, halfLifeMs: H })
    e.addInteraction(ok('A', 'B'))
    e.addInteraction({ ...ok('A', 'C'), outcome: 'failure' })
    e.addInteraction({ ...ok('X', 'B'), outcome: 'timeout' })
    e.compute(0)
    expect(e.trust('A')).toBeCloseTo(2 / 3, 8)
    expect(e.trust('C')).toBe(0)
    expect(e.distrust('C')).toBeCloseTo(4 / 9, 8)
    expect(e.distrust('B')).toBe(0)
    expect(e.relativeDistrust('C')).toBeCloseTo((4 / 9) * 4, 8) // 4 known agents
  })

  it('newer reports weigh more: one half-life later counts twice', () => {
    // w(A→B at 0) = 1, w(A→C at H) = 2 → row A: B 1/3, C 2/3.
    // t_B = 0.5·t_A/3, t_C = 0.5·2t_A/3, t_A = 0.5 + 0.5·(t_B + t_C) = 0.5 + t_A/4 → t_A = 2/3, t_B = 1/9, t_C = 2/9
    const e = new TrustEngine({ preTrusted: ['A'], alpha: 0.5, priorWeight: 0, halfLifeMs: H })
    e.addInteraction(ok('A', 'B', 0))
    e.addInteraction(ok('A', 'C', H))
    e.compute(H)
    expect(e.trust('A')).toBeCloseTo(2 / 3, 8)
    expect(e.trust('B')).toBeCloseTo(1 / 9, 8)
    expect(e.trust('C')).toBeCloseTo(2 / 9, 8)
  })

  it('old evidence fades against the prior K', () => {
    // K = 1 at time 0, s_AB = 1 → β_A = 1/2: t_B = 0.5·(t_A/2), t_A = 0.5 + 0.5·(t_A/2 + t_B) → t_A = 0.8, t_B = 0.2
    const e = new TrustEngine({ preTrusted: ['A'], alpha: 0.5, priorWeight: 1, halfLifeMs: H })
    e.addInteraction(ok('A', 'B', 0))
    e.compute(0)
    expect(e.trust('B')).toBeCloseTo(0.2, 8)
    // one half-life later K = 2, β_A = 1/3: t_B = t_A/6, t_A = 0.5 + 0.5·(2t_A/3 + t_A/6) → t_A = 6/7, t_B = 1/7
    e.compute(H)
    expect(e.trust('B')).toBeCloseTo(1 / 7, 8)
  })

  it('price scales the weight: log2(2 + price)', () => {
    // w(A→B, price 0) = 1, w(A→C, price 6) = log2 8 = 3 → row A: B 1/4, C 3/4
    // t_B = 0.5·t_A/4 = t_A/8, t_C = 3t_A/8, t_A = 0.5 + 0.5·t_A/2 → t_A = 2/3, t_B = 1/12, t_C = 1/4
    const e = new TrustEngine({ preTrusted: ['A'], alpha: 0.5, priorWeight: 0, halfLifeMs: H })
    e.addInteraction(ok('A', 'B', 0, 0))
    e.addInteraction(ok('A', 'C', 0, 6))
    e.compute(0)
    expect(e.trust('B')).toBeCloseTo(1 / 12, 8)
    expect(e.trust('C')).toBeCloseTo(1 / 4, 8)
  })

  it('each node has its personal view: the pre-trusted set decides', () => {
    const mk = (pre: string) => {
      const e = new TrustEngine({ preTrusted: [pre], alpha: 0.5, priorWeight: 0, halfLifeMs: H })
      e.addInteraction(ok('A', 'B'))
      e.addInteraction(ok('C', 'D'))
      e.compute(0)
      return e
    }
    expect(mk('A').trust('B')).toBeGreaterThan(0)
    expect(mk('A').trust('D')).toBe(0)
    expect(mk('C').trust('D')).toBeGreaterThan(0)
    expect(mk('C').trust('B')).toBe(0)
  })
})

describe('incremental computation', () => {
  it('re-normalises only changed rows, warm-starts, and matches a from-scratch computation', () => {
    const pre = ['a0', 'a1']
    const all: Interaction[] = []
    let seed = 7
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    for (let k = 0; k < 600; k++) {
      all.push({
        ...ok(`a${Math.floor(rnd() * 60)}`, `a${Math.floor(rnd() * 60)}`, k, Math.floor(rnd() * 100)),
        outcome: rnd() < 0.8 ? 'success' : 'failure',
      })
    }
    const inc = new TrustEngine({ preTrusted: pre, halfLifeMs: 10_000 })
    for (const x of all.slice(0, 590)) inc.addInteraction(x)
    const cold = inc.compute(590)
    for (const x of all.slice(590)) inc.addInteraction(x)
    const rowsTouched = new Set(
      all
        .slice(590)
        .filter((x) => x.rater !== x.ratee)
        .map((x) => x.rater),
    ).size
    const warm = inc.compute(600)
    expect(warm.rowsRenormalised).toBe(rowsTouched)
    expect(warm.iterations).toBeLessThan(cold.iterations)

    const fresh = new TrustEngine({ preTrusted: pre, halfLifeMs: 10_000 })
    for (const x of all) fresh.addInteraction(x)
    fresh.compute(600)
    for (const { agent, trust } of fresh.snapshot()) expect(inc.trust(agent)).toBeCloseTo(trust, 7)
  })

  it('a report on an existing edge updates values in place without rebuilding the layout', () => {
    const e = new TrustEngine({ preTrusted: ['A'], alpha: 0.5, priorWeight: 0, halfLifeMs: H })
    e.addInteraction(ok('A', 'B'))
    e.addInteraction(ok('A', 'C'))
    expect(e.compute(0).rebuiltLayout).toBe(true)
    e.addInteraction(ok('A', 'C', 0, 6)) // s_AC = 1 + log2 8 = 4 → row A: B 1/5, C 4/5
    const st = e.compute(0)
    expect(st).toMatchObject({ rebuiltLayout: false, rowsRenormalised: 1 })
    // t_B = 0.5·t_A/5, t_C = 0.5·4t_A/5, t_A = 0.5 + 0.5·(t_B + t_C) = 0.5 + t_A/4 → t_A = 2/3, t_B = 1/15, t_C = 4/15
    expect(e.trust('B')).toBeCloseTo(1 / 15, 8)
    expect(e.trust('C')).toBeCloseTo(4 / 15, 8)
  })
})
