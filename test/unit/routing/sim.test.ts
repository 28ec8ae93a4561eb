import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../../src/common/index.ts'
import {
  barabasiAlbert,
  bfsFrom,
  boyanLittman,
  classicExperiment,
  EventHeap,
  edgeCount,
  isConnected,
  lineChart,
  neighboursOf,
  parseEdgeList,
  parseSweep,
  randomRegular,
  runClassic,
  runWorkload,
  wattsStrogatz,
} from '../../../src/routing/index.ts'

describe('event heap', () => {
  it('pops in time order, ties in insertion order', () => {
    const h = new EventHeap(2)
    const rng = seededRandom(5)
    const items: [number, number][] = []
    for (let i = 0; i < 500; i++) {
      const t = Math.floor(rng.next() * 50)
      items.push([t, i])
      h.push(t, 0, i)
    }
    items.sort((a, b) => a[0] - b[0] || a[1] - b[1])
    const out: [number, number][] = []
    while (h.size > 0) {
      h.pop()
      out.push([h.lastTime, h.lastSubject])
    }
    expect(out).toEqual(items)
  })
})

describe('topologies', () => {
  it('builds the exact Boyan–Littman 6×6 grid: 36 nodes, 50 edges, two bridges', () => {
    const g = boyanLittman()
    expect(g.n).toBe(36)
    expect(edgeCount(g)).toBe(50)
    expect(neighboursOf(g, 20).sort((a, b) => a - b)).toEqual([14, 19, 21, 26])
    expect(neighboursOf(g, 32).sort((a, b) => a - b)).toEqual([31, 33])
    // Left block (columns 0–2) and right block (3–5) are joined only by 20–21 and 32–33.
    const col = (i: number) => i % 6
    const crossing: string[] = []
    for (let i = 0; i < 36; i++)
      for (const j of neighboursOf(g, i)) if (i < j && col(i) < 3 !== col(j) < 3) crossing.push(`${i}-${j}`)
    expect(crossing.sort()).toEqual(['20-21', '32-33'])
  })

  it('generates connected random graphs of the requested size', () => {
    const rng = seededRandom(1)
    const ws = wattsStrogatz(500, 6, 0.1, rng)
    const rr = randomRegular(500, 6, rng)
    const ba = barabasiAlbert(500, 3, rng)
    for (const g of [ws, rr, ba]) {
      expect(g.n).toBe(500)
      expect(isConnected(g)).toBe(true)
    }
    expect(edgeCount(rr)).toBeGreaterThan(1450)
    expect(edgeCount(rr)).toBeLessThanOrEqual(1500)
    const bfs = bfsFrom(ws, [0])
    expect(Math.max(...bfs)).toBeLessThan(30) // small world: far below the 84-hop ring diameter
  })

  it('reads an edge list and rejects a malformed one', () => {
    const g = parseEdgeList('# ring\n0 1\n1 2 2.5\n2 0\n')
    expect(g.n).toBe(3)
    expect(edgeCount(g)).toBe(3)
    expect(() => parseEdgeList('0 x\n')).toThrow(/line 1/)
  })
})

describe('classic experiment', () => {
  const graph = boyanLittman()
  it('is reproducible: same seed, same numbers', () => {
    const a = runClassic({ graph, router: 'cq', load: 1.5, duration: 2000, warmup: 1000, seed: 42 })
    const b = runClassic({ graph, router: 'cq', load: 1.5, duration: 2000, warmup: 1000, seed: 42 })
    const c = runClassic({ graph, router: 'cq', load: 1.5, duration: 2000, warmup: 1000, seed: 43 })
    expect(a).toEqual(b)
    expect(c.meanDeliveryTime).not.toBe(a.meanDeliveryTime)
  })

  it('injects about load × duration packets and delivers them', () => {
    const r = runClassic({ graph, router: 'q', load: 1, duration: 2000, warmup: 1000, seed: 1 })
    expect(r.injected).toBeGreaterThan(1800)
    expect(r.injected).toBeLessThan(2200)
    expect(r.delivered).toBeGreaterThan(r.injected * 0.95)
    expect(r.curve).toHaveLength(20)
  })

  it('caps the network at 1000 packets', () => {
    const r = runClassic({ graph, router: 'shortest-path', load: 6, duration: 1500, warmup: 500, seed: 1 })
    expect(r.dropped).toBeGreaterThan(0)
  })

  it('shortest paths congest at the bridges at high load while Q-routing spreads the traffic', () => {
    const e = (router: 'shortest-path' | 'q', load: number) =>
      classicExperiment({ graph, router, load, seeds: 1, duration: 10000, warmup: 5000 }).meanDeliveryTime
    expect(e('shortest-path', 0.5)).toBeLessThan(e('q', 0.5))
    expect(e('shortest-path', 2.5)).toBeGreaterThan(5 * e('q', 2.5))
  })

  it('DRQ backward updates speed up learning at low load', () => {
    const early = (router: 'q' | 'drq') => {
      const e = classicExperiment({ graph, router, load: 1, seeds: 2, duration: 2000, warmup: 1000 })
      return e.curve.reduce<number>((a, b) => a + (b ?? 0), 0)
    }
    expect(early('drq')).toBeLessThan(early('q'))
  })

  it('parses sweeps', () => {
    expect(parseSweep('0.5:1.5:0.5')).toEqual([0.5, 1, 1.5])
    expect(() => parseSweep('1:0:1')).toThrow()
  })
})

describe('capability workload', () => {
  const graph = wattsStrogatz(300, 6, 0.1, seededRandom(3), { min: 0.5, max: 1.5 })
  const base = { graph, cfps: 3000, seed: 9, caps: 10, replication: 0.02 }

  it('is reproducible: same seed, same numbers', () => {
    const a = runWorkload({ ...base, router: 'cq' })
    const b = runWorkload({ ...base, router: 'cq' })
    expect(a).toEqual(b)
  })

  it('CQ learns: after warm-up it delivers everything with far fewer messages than flooding or DHT lookups', () => {
    const cq = runWorkload({ ...base, router: 'cq' })
    const flood = runWorkload({ ...base, router: 'flood', cfps: 200 })
    const dht = runWorkload({ ...base, router: 'dht' })
    expect(cq.deliveryRate).toBeGreaterThanOrEqual(0.99)
    expect(cq.messagesPerCfp).toBeLessThan(flood.messagesPerCfp / 20)
    expect(cq.messagesPerCfp).toBeLessThan(dht.messagesPerCfp)
    const first = cq.curve[0]!.messagesPerCfp
    const last = cq.curve[cq.curve.length - 1]!.messagesPerCfp
    expect(last).toBeLessThan(first)
    // Flooding reaches every node: 2|E| − (n − 1) copies per CFP (none when the origin hosts the capability).
    expect(flood.messagesPerCfp).toBeGreaterThan(0.9 * (2 * edgeCount(graph) - graph.n))
    expect(flood.messagesPerCfp).toBeLessThanOrEqual(2 * edgeCount(graph) - graph.n + 1)
  })

  it('the shortest-path oracle delivers every CFP along cheapest paths', () => {
    const sp = runWorkload({ ...base, router: 'shortest-path' })
    expect(sp.deliveryRate).toBe(1)
    const cq = runWorkload({ ...base, router: 'cq', dhtFallback: false })
    expect(cq.meanTime!).toBeGreaterThanOrEqual(sp.meanTime! * 0.9)
  })

  it('routes around node churn and link failures', () => {
    const r = runWorkload({ ...base, router: 'cq', churn: 0.05, linkFailures: 0.1, downtime: 20 })
    expect(r.deliveryRate).toBeGreaterThan(0.95)
  })
})

describe('charts', () => {
  it('writes a standalone SVG with one polyline per series', () => {
    const svg = lineChart({
      title: 'x < y',
      xLabel: 'load',
      yLabel: 'time',
      series: [
        {
          name: 'q',
          points: [
            [1, 2],
            [2, 3],
            [3, null],
            [4, 5],
          ],
        },
        {
          name: 'cq',
          points: [
            [1, 1],
            [2, 2],
          ],
        },
      ],
    })
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toContain('x &lt; y')
    expect(svg.match(/<polyline/g)).toHaveLength(3)
  })
})
