/**
 * Trust computation benchmark: the incremental CSR EigenTrust of
 * src/reputation/trust.ts for 10^4 agents and 10^5 reports (ingest, full
 * cold compute, and an incremental update of 100 new reports with a warm
 * start), against a naive dense power iteration measured in the same run at
 * a smaller size (10^3 agents, 10^4 reports). Prints one Markdown section.
 */
import { seededRandom } from '../../src/common/index.ts'
import { type Interaction, TrustEngine } from '../../src/reputation/index.ts'

const RUNS = 7
const log = (s: string) => process.stderr.write(`${s}\n`)

function reports(agents: number, n: number, seed: number): Interaction[] {
  const rng = seededRandom(seed)
  const out: Interaction[] = []
  for (let k = 0; k < n; k++) {
    const rater = rng.int(agents)
    let ratee = rng.int(agents)
    if (ratee === rater) ratee = (ratee + 1) % agents
    out.push({
      rater: `a${rater}`,
      ratee: `a${ratee}`,
      outcome: rng.next() < 0.8 ? 'success' : 'failure',
      rating: rng.next(),
      price: rng.int(500),
      issuedAt: k * 1000,
      coSigned: rng.next() < 0.7,
    })
  }
  return out
}

const preTrusted = (agents: number) => Array.from({ length: Math.max(1, agents / 100) }, (_, i) => `a${i}`)

/** The textbook method: dense n×n matrix, same local trust, same a, tolerance and prior. */
function denseEigenTrust(agents: number, rs: Interaction[], now: number): Float64Array {
  const n = agents
  const sat = new Float64Array(n * n)
  const unsat = new Float64Array(n * n)
  const H = 30 * 24 * 3600_000
  for (const r of rs) {
    const i = Number(r.rater.slice(1))
    const j = Number(r.ratee.slice(1))
    const w = (r.coSigned ? 1 : 0.5) * Math.log2(2 + r.price) * 2 ** ((r.issuedAt - rs[0]!.issuedAt) / H)
    if (r.outcome === 'success') sat[i * n + j]! += w * r.rating
    else unsat[i * n + j]! += 2 * w
  }
  const K = 2 ** ((now - rs[0]!.issuedAt) / H)
  const p = new Float64Array(n)
  const pre = preTrusted(n).map((id) => Number(id.slice(1)))
  for (const i of pre) p[i] = 1 / pre.length
  const C = new Float64Array(n * n)
  const leakRow = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += Math.max(sat[i * n + j]! - unsat[i * n + j]!, 0)
    for (let j = 0; j < n; j++)
      C[i * n + j] = s > 0 ? Math.max(sat[i * n + j]! - unsat[i * n + j]!, 0) / (s + K) : 0
    leakRow[i] = s > 0 ? K / (s + K) : 1
  }
  let t = p.slice()
  for (let it = 0; it < 200; it++) {
    const next = new Float64Array(n)
    let leak = 0
    for (let i = 0; i < n; i++) leak += t[i]! * leakRow[i]!
    for (let j = 0; j < n; j++) {
      let v = 0
      for (let i = 0; i < n; i++) v += C[i * n + j]! * t[i]!
      next[j] = 0.85 * (v + leak * p[j]!) + 0.15 * p[j]!
    }
    let sum = 0
    for (let j = 0; j < n; j++) sum += next[j]!
    let res = 0
    for (let j = 0; j < n; j++) {
      next[j]! /= sum
      res += Math.abs(next[j]! - t[j]!)
    }
    t = next
    if (res < 1e-9) break
  }
  return t
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** CPU time of this process spent in `fn`, kept per call in `cpu` (the machine is shared, wall time is noisy). */
const cpu: number[] = []
function time(fn: () => void): number {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  fn()
  const c = process.cpuUsage(c0)
  cpu.push((c.user + c.system) / 1000)
  return performance.now() - t0
}
const cpuOf = (from: number, every: number, offset: number) =>
  cpu.slice(from).filter((_, i) => i % every === offset)

const gc = (globalThis as { gc?: () => void }).gc

// --- large: 10^4 agents, 10^5 reports -------------------------------------------------
const A = 10_000
const R = 100_000
const big = reports(A, R, 1)
const extra = reports(A, 100, 2).map((r, k) => ({ ...r, issuedAt: R * 1000 + k }))
const ingest: number[] = []
const full: number[] = []
const incr: number[] = []
let coldIt = 0
let warmIt = 0
let rowsTouched = 0
for (let run = 0; run < RUNS; run++) {
  gc?.()
  const e = new TrustEngine({ preTrusted: preTrusted(A) })
  ingest.push(
    time(() => {
      for (const r of big) e.addInteraction(r)
    }),
  )
  full.push(time(() => (coldIt = e.compute(R * 1000).iterations)))
  incr.push(
    time(() => {
      for (const r of extra) e.addInteraction(r)
      const st = e.compute(R * 1000 + 100)
      warmIt = st.iterations
      rowsTouched = st.rowsRenormalised
    }),
  )
  log(
    `large run ${run + 1}/${RUNS}: ingest ${ingest.at(-1)!.toFixed(1)} ms, full ${full.at(-1)!.toFixed(1)} ms, incremental ${incr.at(-1)!.toFixed(1)} ms`,
  )
}

const cpuIngest = cpuOf(0, 3, 0)
const cpuFull = cpuOf(0, 3, 1)
const cpuIncr = cpuOf(0, 3, 2)
const cpuMark = cpu.length

// --- small: 10^3 agents, 10^4 reports, CSR vs dense ---------------------------------
const a = 1000
const small = reports(a, 10_000, 3)
const now = 10_000 * 1000
const csrSmall: number[] = []
const dense: number[] = []
let maxDiff = 0
for (let run = 0; run < RUNS; run++) {
  gc?.()
  let e!: TrustEngine
  csrSmall.push(
    time(() => {
      e = new TrustEngine({ preTrusted: preTrusted(a) })
      for (const r of small) e.addInteraction(r)
      e.compute(now)
    }),
  )
  let t!: Float64Array
  dense.push(time(() => (t = denseEigenTrust(a, small, now))))
  for (let i = 0; i < a; i++) maxDiff = Math.max(maxDiff, Math.abs(t[i]! - e.trust(`a${i}`)))
  log(
    `small run ${run + 1}/${RUNS}: csr ${csrSmall.at(-1)!.toFixed(1)} ms, dense ${dense.at(-1)!.toFixed(1)} ms`,
  )
}

const cpuCsr = cpuOf(cpuMark, 2, 0)
const cpuDense = cpuOf(cpuMark, 2, 1)
const f = (x: number) => `${x.toFixed(1)} ms`
const mFull = median(ingest.map((x, i) => x + full[i]!))
const cFull = median(cpuIngest.map((x, i) => x + cpuFull[i]!))
const lines = [
  '## Reputation: EigenTrust',
  '',
  `Incremental CSR EigenTrust (\`src/reputation/trust.ts\`) on random report graphs, medians of ${RUNS} runs.`,
  `Large: ${A.toLocaleString('en')} agents, ${R.toLocaleString('en')} reports (${big.length} ingested, 1 % of agents pre-trusted); the incremental`,
  `update adds 100 reports and recomputes from the previous vector. Baseline: a dense n×n power iteration with the same`,
  `local trust, prior and tolerance, at 1,000 agents and 10,000 reports (a dense 10^4 matrix would need 800 MB).`,
  '',
  'Wall time is what a caller waits on this shared machine; CPU time is the process CPU spent (less disturbed by other load).',
  '',
  '| case | median wall | median CPU | note |',
  '|---|---:|---:|---|',
  `| 10^4 agents: ingest 10^5 reports | ${f(median(ingest))} | ${f(median(cpuIngest))} | |`,
  `| 10^4 agents: full compute (cold) | ${f(median(full))} | ${f(median(cpuFull))} | ${coldIt} iterations |`,
  `| 10^4 agents: ingest + full compute | ${f(mFull)} | ${f(cFull)} | target < 1000 ms |`,
  `| 10^4 agents: incremental update (+100 reports) | ${f(median(incr))} | ${f(median(cpuIncr))} | ${warmIt} iterations, ${rowsTouched} rows re-normalised |`,
  `| 10^3 agents, 10^4 reports: CSR (ingest + compute) | ${f(median(csrSmall))} | ${f(median(cpuCsr))} | |`,
  `| 10^3 agents, 10^4 reports: dense baseline | ${f(median(dense))} | ${f(median(cpuDense))} | baseline |`,
  '',
  `CSR is ${(median(cpuDense) / median(cpuCsr)).toFixed(1)}× faster (CPU) than the dense baseline at 10^3 agents (max |Δt| between them ${maxDiff.toExponential(1)});`,
  `the incremental update is ${(median(cpuFull) / median(cpuIncr)).toFixed(1)}× faster (CPU) than a cold compute at 10^4 agents.`,
]
process.stdout.write(`${lines.join('\n')}\n`)
