/** One suite every router passes: the interface contract the daemon and the simulator rely on. */
import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv, seededRandom } from '../../../src/common/index.ts'
import {
  createRouter,
  loadRouter,
  REASONS,
  ROUTER_KINDS,
  type Router,
  type RouterKind,
  saveRouter,
} from '../../../src/routing/index.ts'

const NBRS = ['a', 'b', 'c']

function make(kind: RouterKind, seed = 1): Router {
  return createRouter(kind, {
    clock: new ManualClock(0),
    random: seededRandom(seed),
    isLocal: (d) => d === 'mine',
    neighbours: NBRS,
    nodes: 100,
    distance: (n) => ({ a: 3, b: 1, c: 2 })[n as 'a' | 'b' | 'c'],
  })
}

describe.each(ROUTER_KINDS)('router compliance: %s', (kind) => {
  it('delivers locally when it hosts the destination, and estimates 0 with full confidence', () => {
    const r = make(kind)
    expect(r.choose('mine')).toMatchObject({
      next: undefined,
      estimate: 0,
      confidence: 1,
      reason: REASONS.LOCAL,
    })
    expect(r.estimate('mine')).toEqual({ value: 0, confidence: 1 })
  })

  it('never chooses an excluded neighbour (loop-free paths) and says so when none is left', () => {
    const r = make(kind)
    for (let i = 0; i < 50; i++) {
      const c = r.choose('cap', { exclude: (n) => n === 'a' || n === 'b' })
      if (c.next !== undefined) expect(c.next).toBe('c')
      else expect([REASONS.DHT_LOOKUP]).toContain(c.reason)
    }
    const none = r.choose('cap', { exclude: () => true })
    expect(none.next).toBeUndefined()
    expect([REASONS.NO_ROUTE, REASONS.DHT_LOOKUP]).toContain(none.reason)
  })

  it('returns a well-formed choice whose next hop is a neighbour', () => {
    const r = make(kind)
    const c = r.choose('cap')
    expect(Object.values(REASONS)).toContain(c.reason)
    expect(c.confidence).toBeGreaterThanOrEqual(0)
    expect(c.confidence).toBeLessThanOrEqual(1)
    if (c.next !== undefined) expect(NBRS).toContain(c.next)
    const e = r.estimate('cap')
    expect(Number.isFinite(e.value)).toBe(true)
  })

  it('accepts feedback, rewards and backward updates without leaving its neighbours', () => {
    const r = make(kind)
    for (let i = 0; i < 20; i++) {
      const c = r.choose('cap')
      const via = c.next ?? 'a'
      r.feedback('cap', via, 0.1, 1, 2, 0.5)
      r.backward('src', via, 0, 1, 1, 0.5)
      r.reward('cap', via, 3, i % 2 === 0)
    }
    r.feedback('cap', 'stranger', 0, 1, 1, 1)
    for (let i = 0; i < 20; i++) {
      const next = r.choose('cap').next
      if (next !== undefined) expect(NBRS).toContain(next)
    }
  })

  it('follows neighbour removal and addition', () => {
    const r = make(kind)
    r.removeNeighbour('b')
    expect([...r.neighbours()].sort()).toEqual(['a', 'c'])
    for (let i = 0; i < 30; i++) expect(r.choose('cap').next).not.toBe('b')
    r.addNeighbour('d')
    expect([...r.neighbours()].sort()).toEqual(['a', 'c', 'd'])
  })

  it('persists through snapshot/restore and a KvStore', async () => {
    const r = make(kind)
    r.feedback('cap', 'a', 0, 1, 0, 1)
    r.feedback('cap', 'b', 0, 1, 7, 1)
    const kv = new MemoryKv()
    await saveRouter(kv, r)
    const again = make(kind, 2)
    expect(await loadRouter(kv, again)).toBe(true)
    expect(again.entries()).toEqual(r.entries())
    expect(again.estimate('cap')).toEqual(r.estimate('cap'))
    expect([...again.neighbours()]).toEqual([...r.neighbours()])
  })

  it('breaks ties at random rather than freezing on one neighbour', () => {
    const r = make(kind, 7)
    const seen = new Set<unknown>()
    for (let i = 0; i < 60; i++) seen.add(r.choose('fresh-cap').next)
    if (kind === 'shortest-path') expect([...seen]).toEqual(['b'])
    else if (kind === 'dht') expect([...seen]).toEqual([undefined])
    else if (kind === 'flood') expect(seen.size).toBe(1)
    else expect(seen.size).toBeGreaterThan(1)
  })
})

describe('bounded memory', () => {
  it('keeps at most maxRows destinations, evicting the least recently used', () => {
    const clock = new ManualClock(0)
    const r = createRouter('cq', { clock, random: seededRandom(1), neighbours: NBRS, maxRows: 3 })
    for (const cap of ['w', 'x', 'y']) {
      clock.advance(1)
      r.feedback(cap, 'a', 0, 1, 0, 1)
    }
    clock.advance(1)
    r.choose('w') // w is used again: x is now the coldest
    clock.advance(1)
    r.feedback('z', 'a', 0, 1, 0, 1)
    const dests = new Set(r.entries().map((e) => e.dest))
    expect([...dests].sort()).toEqual(['w', 'y', 'z'])
  })
})

describe('exploration', () => {
  it('with ε > 0 a converged Q-router still tries other neighbours', () => {
    const r = createRouter('q', {
      clock: new ManualClock(0),
      random: seededRandom(3),
      neighbours: NBRS,
      epsilon: 0.1,
    })
    r.feedback('cap', 'a', 0, 1, 0, 0)
    r.feedback('cap', 'b', 0, 1, 50, 0)
    r.feedback('cap', 'c', 0, 1, 50, 0)
    const counts = new Map<unknown, number>()
    for (let i = 0; i < 500; i++) {
      const n = r.choose('cap').next
      counts.set(n, (counts.get(n) ?? 0) + 1)
    }
    expect(counts.get('a')!).toBeGreaterThan(400)
    expect((counts.get('b') ?? 0) + (counts.get('c') ?? 0)).toBeGreaterThan(10)
  })
})
