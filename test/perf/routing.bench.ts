/**
 * Routing benchmark (`npm run bench -- routing`): the simulator's event core
 * at 10^5 pending events, the full CQ simulator on 100,000 nodes and
 * 1,000,000 CFPs (run time, events/s, peak RSS), and the 10,000-node
 * comparison of CQ against flooding, DHT lookup, Q, PQ, random walk and the
 * shortest-path oracle. Prints one Markdown section; progress on stderr.
 */
import { seededRandom } from '../../src/common/index.ts'
import { EventHeap, runWorkload, type WorkloadResult, wattsStrogatz } from '../../src/routing/index.ts'

const log = (s: string) => process.stderr.write(`${s}\n`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const lat = { min: 0.5, max: 1.5 }

// 1. Event core: hold model (pop one, push one) with 10^5 pending events, as at 10^5 nodes.
function heapRate(): number {
  const h = new EventHeap(1 << 17)
  const rng = seededRandom(1)
  for (let i = 0; i < 100_000; i++) h.push(rng.next() * 10, 1, i)
  const N = 5_000_000
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    h.pop()
    h.push(h.lastTime + rng.next() * 10, 1, h.lastSubject)
  }
  return (2 * N) / ((performance.now() - t0) / 1000)
}
log('event core...')
const coreRates = [heapRate(), heapRate(), heapRate()]
const core = median(coreRates)

// 2. 100,000 nodes, 1,000,000 CFPs, CQ.
log('100k nodes / 1M CFPs (CQ)...')
const big = (() => {
  const t0 = performance.now()
  const graph = wattsStrogatz(100_000, 6, 0.1, seededRandom(7), lat)
  const t1 = performance.now()
  const res = runWorkload({
    graph,
    router: 'cq',
    cfps: 1_000_000,
    seed: 1,
    maxRows: 32,
    dialSlots: 4,
    progress: (f) =>
      log(`  ${(f * 100).toFixed(0)}%  rss ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB`),
  })
  const t2 = performance.now()
  return { res, buildS: (t1 - t0) / 1000, simS: (t2 - t1) / 1000, totalS: (t2 - t0) / 1000 }
})()
const maxRssGiB = (process.resourceUsage().maxRSS * 1024) / 2 ** 30

// 3. 10,000 nodes: the comparison.
log('10k-node comparison...')
const g10 = wattsStrogatz(10_000, 6, 0.1, seededRandom(7), lat)
const CFPS = 500_000
const rows: { label: string; r: WorkloadResult; s: number }[] = []
const runs: [string, Parameters<typeof runWorkload>[0]][] = [
  ['shortest-path (oracle)', { graph: g10, router: 'shortest-path', cfps: CFPS, seed: 1, warmup: 0.5 }],
  ['cq (default: echo + DHT fallback)', { graph: g10, router: 'cq', cfps: CFPS, seed: 1, warmup: 0.5 }],
  ['cq, no DHT fallback', { graph: g10, router: 'cq', cfps: CFPS, seed: 1, warmup: 0.5, dhtFallback: false }],
  ['q', { graph: g10, router: 'q', cfps: 100_000, seed: 1, warmup: 0.5 }],
  ['pq', { graph: g10, router: 'pq', cfps: 100_000, seed: 1, warmup: 0.5 }],
  ['random-walk', { graph: g10, router: 'random-walk', cfps: 100_000, seed: 1, warmup: 0.5 }],
  ['dht lookup', { graph: g10, router: 'dht', cfps: CFPS, seed: 1, warmup: 0.5 }],
  ['flood', { graph: g10, router: 'flood', cfps: 1000, seed: 1, warmup: 0.5 }],
]
for (const [label, o] of runs) {
  log(`  ${label}`)
  const t0 = performance.now()
  const r = runWorkload(o)
  rows.push({ label, r, s: (performance.now() - t0) / 1000 })
}
const oracle = rows[0]!.r
const flood = rows.find((x) => x.r.router === 'flood')!.r
const dht = rows.find((x) => x.r.router === 'dht')!.r
const f = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d))

const out: string[] = []
out.push('## routing')
out.push('')
out.push('### Simulator speed and scale')
out.push('')
out.push('| measure | value | baseline / target |')
out.push('|---|---|---|')
out.push(
  `| event core (heap push+pop, 10^5 pending events) | ${(core / 1e6).toFixed(2)} M events/s (median of 3) | target ≥ 2 M events/s |`,
)
out.push(
  `| full CQ simulation, 100,000 nodes | ${(big.res.events / big.simS / 1e6).toFixed(2)} M events/s | ${((big.res.events / big.simS / core) * 100).toFixed(0)} % of the event core |`,
)
out.push(
  `| 100,000 nodes + 1,000,000 CFPs: wall time | ${big.totalS.toFixed(1)} s (graph ${big.buildS.toFixed(1)} s) | limit 600 s |`,
)
out.push(`| 100,000 nodes + 1,000,000 CFPs: peak RSS | ${maxRssGiB.toFixed(2)} GiB | limit 8 GiB |`)
out.push(
  `| 100,000-node run: delivery / mean time / msgs per CFP | ${(big.res.deliveryRate * 100).toFixed(2)} % / ${f(big.res.meanTime)} / ${f(big.res.messagesPerCfp, 1)} | ${big.res.events.toLocaleString('en')} events |`,
)
out.push('')
out.push(
  `### 10,000 nodes (Watts–Strogatz k=6 p=0.1, latency U[0.5,1.5], service 0.01, 100 capabilities, Zipf(1), 1 % replication; metrics over the second half of the CFPs)`,
)
out.push('')
out.push(
  '| router | CFPs | delivery | mean time | p95 time | time ÷ oracle | msgs/CFP | ÷ flood | ÷ DHT | bytes/CFP | run s |',
)
out.push('|---|---|---|---|---|---|---|---|---|---|---|')
for (const { label, r, s } of rows) {
  out.push(
    `| ${label} | ${r.cfps.toLocaleString('en')} | ${(r.deliveryRate * 100).toFixed(2)} % | ${f(r.meanTime)} | ${f(r.p95Time)} | ${r.meanTime === null ? '-' : (r.meanTime / oracle.meanTime!).toFixed(2)} | ${f(r.messagesPerCfp, 1)} | ${(r.messagesPerCfp / flood.messagesPerCfp).toFixed(4)} | ${(r.messagesPerCfp / dht.messagesPerCfp).toFixed(2)} | ${r.bytesPerCfp.toFixed(0)} | ${s.toFixed(1)} |`,
  )
}
out.push('')
out.push(
  'Messages count every CFP transmission, every estimate returned to the previous hop, neighbour queries (2 per neighbour), DHT lookup messages (model: ⌈log2(n)/2⌉ rounds × α=3 × request+response) and the one-off capability announcements amortised over all CFPs. Flooding is simulated on fewer CFPs: each costs ≈2|E| messages.',
)
process.stdout.write(`${out.join('\n')}\n`)
