import { describe, expect, it } from 'vitest'
import { ManualClock, seededRandom } from '../../../src/common/index.ts'
import { CqRouter, PqRouter, QRouter } from '../../../src/routing/index.ts'

const mk = () => ({ clock: new ManualClock(0), random: seededRandom(1), neighbours: ['a', 'b'] })

function q(
  router: { entries(d?: string): { neighbour: string | number; q: number; confidence: number }[] },
  n: string,
) {
  return router.entries('d').find((e) => e.neighbour === n)!
}

describe('Q-routing update (Boyan & Littman, η = 0.5)', () => {
  it('moves Q halfway to q + s + t', () => {
    const r = new QRouter(mk())
    r.feedback('d', 'a', 2, 1, 5, 0) // target 8, Q 0 → 4
    expect(q(r, 'a').q).toBe(4)
    r.feedback('d', 'a', 0, 1, 1, 0) // target 2 → 4 + 0.5·(2 − 4) = 3
    expect(q(r, 'a').q).toBe(3)
    expect(q(r, 'b').q).toBe(0)
  })

  it('routes greedily to argmin Q and returns min Q as its estimate', () => {
    const r = new QRouter(mk())
    r.feedback('d', 'a', 0, 1, 9, 0) // 5
    r.feedback('d', 'b', 0, 1, 3, 0) // 2
    expect(r.choose('d').next).toBe('b')
    expect(r.estimate('d').value).toBe(2)
  })

  it('full echo updates every neighbour before deciding', () => {
    const r = new QRouter({ ...mk(), fullEcho: true })
    const est = { a: 10, b: 2 } as Record<string, number>
    const c = r.choose('d', { echo: (n) => ({ value: est[n as string]!, confidence: 1 }), queueTime: 1 })
    // Q(a) = 0.5·(1 + 1 + 10) = 6, Q(b) = 0.5·(1 + 1 + 2) = 2
    expect(q(r, 'a').q).toBe(6)
    expect(q(r, 'b').q).toBe(2)
    expect(c.next).toBe('b')
  })

  it('DRQ applies backward updates; plain Q ignores them', () => {
    const drq = new QRouter({ ...mk(), dual: true })
    drq.backward('d', 'a', 0, 1, 3, 0)
    expect(q(drq, 'a').q).toBe(2)
    const plain = new QRouter(mk())
    plain.backward('d', 'a', 0, 1, 3, 0)
    expect(plain.entries('d')).toEqual([])
  })
})

describe('CQ-routing update (Kumar & Miikkulainen)', () => {
  it('uses η = max(C_y, 1 − C_x) for Q and C', () => {
    const r = new CqRouter({ ...mk(), decay: 0.9 })
    // C_x = 0, C_y = 0.4 → η = 1: Q = 6, C = 0.4
    r.feedback('d', 'a', 1, 1, 4, 0.4)
    expect(q(r, 'a').q).toBeCloseTo(6)
    expect(q(r, 'a').confidence).toBeCloseTo(0.4)
    // C_x = 0.4, C_y = 0.3 → η = max(0.3, 0.6) = 0.6: Q = 6 + 0.6·(2 − 6) = 3.6, C = 0.4 + 0.6·(0.3 − 0.4) = 0.34
    r.feedback('d', 'a', 0, 1, 1, 0.3)
    expect(q(r, 'a').q).toBeCloseTo(3.6)
    expect(q(r, 'a').confidence).toBeCloseTo(0.34)
  })

  it('an exact answer (C_y = 1) is adopted at once', () => {
    const r = new CqRouter(mk())
    r.feedback('d', 'a', 0, 1, 0, 1)
    expect(q(r, 'a').q).toBe(1)
    expect(q(r, 'a').confidence).toBe(1)
  })

  it('confidences not refreshed decay by λ per decision for the destination', () => {
    const r = new CqRouter({ ...mk(), decay: 0.9 })
    r.feedback('d', 'a', 0, 1, 0, 1) // Q(a) = 1, C = 1
    r.feedback('d', 'b', 0, 1, 5, 1) // Q(b) = 6, C = 1
    r.choose('d') // picks a; one decision
    r.choose('d')
    // Neither was updated after those two decisions: C = 0.9² = 0.81
    expect(q(r, 'a').confidence).toBeCloseTo(0.81)
    expect(q(r, 'b').confidence).toBeCloseTo(0.81)
    r.feedback('d', 'a', 0, 1, 0, 1) // refreshed: η = max(1, 0.19) = 1 → C = 1
    expect(q(r, 'a').confidence).toBeCloseTo(1)
    expect(q(r, 'b').confidence).toBeCloseTo(0.81)
  })

  it('reports low confidence below the threshold and the node hosting the destination answers 0', () => {
    const r = new CqRouter({ ...mk(), confidenceThreshold: 0.5, initialQ: 10, isLocal: (d) => d === 'me' })
    expect(r.choose('d').reason).toBe('low-confidence')
    r.feedback('d', 'a', 0, 1, 0, 1)
    expect(r.choose('d')).toMatchObject({ next: 'a', reason: 'greedy', estimate: 1, confidence: 1 })
    expect(r.estimate('me')).toEqual({ value: 0, confidence: 1 })
    expect(r.choose('me').reason).toBe('local')
  })
})

describe('PQ-routing update (Choi & Yeung; α = 0.7, β = 0.7, γ = 0.9)', () => {
  it('tracks best estimate B, recovery rate R and last update U', () => {
    const clock = new ManualClock(0)
    const r = new PqRouter({ clock, random: seededRandom(1), neighbours: ['a', 'b'] })
    const snap = () => r.snapshot().rows[0]!.cells[0]! // [q, b, r, u, visits]
    r.feedback('d', 'a', 0, 1, 9, 0) // ΔQ = 10, Q = 7, first: B = 7, ΔQ > 0: R = 0.9·0 = 0, U = 0
    expect(snap()).toEqual([7, 7, 0, 0, 1])
    clock.advance(2)
    r.feedback('d', 'a', 0, 1, 2, 0) // target 3: ΔQ = −4, Q = 7 − 2.8 = 4.2, B = 4.2, R = 0.7·(−4)/2 = −1.4, U = 2
    const s = snap()
    expect(s[0]).toBeCloseTo(4.2)
    expect(s[1]).toBeCloseTo(4.2)
    expect(s[2]).toBeCloseTo(-1.4)
    expect(s[3]).toBe(2)
    clock.advance(1)
    r.feedback('d', 'a', 0, 1, 9, 0) // target 10: ΔQ = 5.8 > 0: Q = 8.26, B stays 4.2, R = −1.26
    const t = snap()
    expect(t[0]).toBeCloseTo(8.26)
    expect(t[1]).toBeCloseTo(4.2)
    expect(t[2]).toBeCloseTo(-1.26)
  })

  it('scores max(Q + (now − U)·R, B): a neighbour left alone drifts back to its best estimate', () => {
    const clock = new ManualClock(0)
    const r = new PqRouter({ clock, random: seededRandom(1), neighbours: ['a', 'b'] })
    r.feedback('d', 'b', 0, 1, 4, 0) // Q(b) = 3.5
    r.feedback('d', 'a', 0, 1, 1, 0) // Q(a) = 1.4, B = 1.4
    clock.advance(1)
    r.feedback('d', 'a', 0, 1, 19, 0) // target 20: Q(a) = 1.4 + 0.7·18.6 = 14.42, R = 0
    expect(r.choose('d').next).toBe('b')
    // Drive R negative: a falling estimate.
    clock.advance(1)
    r.feedback('d', 'a', 0, 1, 5, 0) // target 6: ΔQ = −8.42 → Q = 8.526, R = 0.7·(−8.42)/1 = −5.894
    clock.advance(2) // score = max(8.526 − 11.79, 1.4) = 1.4 < 3.5
    expect(r.choose('d').next).toBe('a')
  })
})
