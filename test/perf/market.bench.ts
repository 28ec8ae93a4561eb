/**
 * Market benchmark: VCG clearing against first-price (same winner
 * determination, pay-as-bid) and against naive VCG (a full re-solve per
 * winner instead of prefix/suffix merges), plus ledger escrow throughput.
 * Prints one Markdown section to stdout; progress on stderr.
 */
import { ManualClock, MemoryKv, seededRandom } from '../../src/common/index.ts'
import { allocateDp, type ClearInput, firstPrice, Ledger, secondPrice, vcg } from '../../src/market/index.ts'

const RUNS = 31
const rng = seededRandom(20261122)

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** The textbook way: W*₋ᵢ by re-solving without each winner. */
function naiveVcg(input: ClearInput): number {
  const all = allocateDp(input, false)
  let total = 0
  for (const c of all.chosen) {
    const without = allocateDp({ ...input, bids: input.bids.filter((_, i) => i !== c.bid) }, false)
    total += input.bids[c.bid]!.offers[c.offer]!.price + all.welfare - without.welfare
  }
  return total
}

const single: ClearInput = {
  units: 1,
  reserve: 1_000,
  bids: Array.from({ length: 10_000 }, (_, i) => ({
    bidder: `s${i}`,
    offers: [{ units: 1, price: 1 + rng.int(1_500) }],
  })),
}
const singleK: ClearInput = { ...single, units: 100 }
const multi: ClearInput = {
  units: 100,
  reserve: 100,
  bids: Array.from({ length: 1_000 }, (_, i) => ({
    bidder: `m${i}`,
    offers: Array.from({ length: 3 }, () => {
      const u = 1 + rng.int(10)
      return { units: u, price: u * (40 + rng.int(100)) }
    }),
  })),
}

type Row = [string, string, number, number, string]
const rows: Row[] = []
/**
 * Every variant runs once per round, in rotating order, so that the noise of
 * a shared machine hits all of them alike; medians over the rounds.
 */
function scenario(
  name: string,
  input: ClearInput,
  goalMs: number | undefined,
  extra: [string, () => unknown][] = [],
) {
  process.stderr.write(`market bench: ${name}\n`)
  const variants: [string, () => unknown][] = [
    ['first-price (baseline)', () => firstPrice.clear(input)],
    ['VCG', () => vcg.clear(input)],
    ...extra,
  ]
  const times = variants.map(() => [] as number[])
  for (const [, fn] of variants) for (let i = 0; i < 3; i++) fn()
  for (let round = 0; round < RUNS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = (k + round) % variants.length
      if (variants[v]![0].startsWith('VCG naive') && round % 4 !== 0) continue
      const t = performance.now()
      variants[v]![1]()
      times[v]!.push(performance.now() - t)
    }
  }
  const base = median(times[0]!)
  variants.forEach(([label], v) => {
    const m = median(times[v]!)
    const goal = label === 'VCG' && goalMs ? `< ${goalMs} ms ${m < goalMs ? '✓' : '✗'}` : ''
    rows.push([name, label, m, m / base, goal])
  })
  return vcg.clear(input).winners.length
}

const w1 = scenario('10⁴ single-unit bids, K = 1', single, 10, [
  ['VCG, general DP (no fast path)', () => allocateDp(single, true)],
  ['second price', () => secondPrice.clear(single)],
])
const w2 = scenario('10⁴ single-unit bids, K = 100', singleK, undefined, [
  ['VCG, general DP (no fast path)', () => allocateDp(singleK, true)],
])
const w3 = scenario('K = 100, 10³ XOR bidders × 3 offers', multi, 100, [
  ['second price', () => secondPrice.clear(multi)],
  ['VCG naive (re-solve per winner)', () => naiveVcg(multi)],
])

// Ledger: escrow lock + release, each its own atomic batch, on the in-memory store.
process.stderr.write('market bench: ledger\n')
const clock = new ManualClock(0)
const ledger = new Ledger({ store: new MemoryKv(), clock })
await ledger.mint('req', 1e12, 'bench')
const CYCLES = 2_000
const t0 = performance.now()
for (let i = 0; i < CYCLES; i++) {
  await ledger.lock(`e${i}`, 'req', 100, null)
  await ledger.release(`e${i}`, `p${i % 50}`, 60)
}
const ledgerMs = performance.now() - t0
const audit = await ledger.audit()

const fmt = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1))
const out: string[] = []
out.push('## Market: clearing mechanisms and ledger', '')
out.push(
  `Medians of ${RUNS} rounds (every 4th round for the naive re-solve) after 3 warm-ups; in each round every variant runs once, in rotating order. Instances are seeded and identical for every mechanism. ` +
    'Ratios are against first-price (the same exact winner determination, paid as bid) on the same instance. ' +
    `Winners: ${w1}, ${w2} and ${w3}.`,
  '',
)
out.push('| instance | mechanism | median ms | × first-price | goal |', '|---|---|---:|---:|---|')
for (const [inst, mech, ms, ratio, goal] of rows)
  out.push(`| ${inst} | ${mech} | ${fmt(ms)} | ${ratio.toFixed(2)} | ${goal} |`)
out.push(
  '',
  `Ledger (MemoryKv): ${CYCLES} escrow lock + release pairs (${2 * CYCLES} atomic batches) in ${ledgerMs.toFixed(0)} ms, ` +
    `${Math.round((2 * CYCLES * 1000) / ledgerMs)} operations/s; audit ${audit.ok ? 'balanced' : 'FAILED'}.`,
)
process.stdout.write(`${out.join('\n')}\n`)
