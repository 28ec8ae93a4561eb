import { describe, expect, it } from 'vitest'
import { ManualClock, seededRandom } from '../../../src/common/index.ts'
import { CqRouter, RouterTable } from '../../../src/routing/index.ts'

describe('RouterTable', () => {
  it('grows its width as peers connect (daemon) and keeps every value', () => {
    const clock = new ManualClock(0)
    const r = new CqRouter({ clock, random: seededRandom(1), initialQ: 50 })
    const peers = Array.from({ length: 40 }, (_, i) => `peer-${i}`)
    for (const p of peers.slice(0, 5)) r.addNeighbour(p)
    for (let i = 0; i < 5; i++) r.feedback('ocr', `peer-${i}`, 0, 1, i, 1)
    for (const p of peers.slice(5)) r.addNeighbour(p) // past 8 slots and past the 16-peer index threshold
    for (let i = 5; i < 40; i++) r.feedback('ocr', `peer-${i}`, 0, 1, i, 1)
    const q = new Map(r.entries('ocr').map((e) => [e.neighbour, e.q]))
    for (let i = 0; i < 40; i++) expect(q.get(`peer-${i}`)).toBe(1 + i)
    expect(r.choose('ocr').next).toBe('peer-0')
    r.removeNeighbour('peer-0')
    expect(r.choose('ocr').next).toBe('peer-1')
    r.addNeighbour('peer-new') // reuses the freed column, fresh values
    expect(r.entries('ocr').find((e) => e.neighbour === 'peer-new')).toMatchObject({
      q: 50,
      confidence: 0,
      visits: 0,
    })
  })

  it('works on storage supplied by a simulator and refuses to outgrow it', () => {
    const cells = new Float64Array(2 * 3 * 4)
    const t = new RouterTable({ fields: 4, maxRows: 2, width: 3, cells })
    for (const n of [1, 2, 3]) t.addNeighbour(n)
    const row = t.ensureRow(7, 0)
    t.cells[t.base(row, 1)] = 42
    expect(cells[t.base(row, 1)]).toBe(42) // same memory
    expect(() => t.addNeighbour(4)).toThrow(/fixed storage/)
    t.ensureRow(8, 1)
    t.ensureRow(9, 2) // evicts 7, the coldest
    expect(t.rowOf(7)).toBe(-1)
    expect(t.evictions).toBe(1)
  })
})
