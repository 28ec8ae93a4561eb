/**
 * CLI commands of the routing subsystem: `swarmd sim`, the discrete-event
 * simulator (the classic Boyan–Littman experiment and the capability
 * workload at scale). The daemon's `route table|explain|probe` come with the
 * CFP routing protocol.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { UserError } from '../common/index.ts'
import {
  buildTopology,
  type ClassicExperiment,
  classicExperiment,
  isRouterKind,
  lineChart,
  parseSweep,
  type RouterKind,
  runWorkload,
  stackCharts,
  TOPOLOGIES,
  type TopologyKind,
  type WorkloadResult,
} from '../routing/index.ts'
import { type Command, type CommandContext, type Io, printJson, table } from './command.ts'

const CLASSIC_ROUTERS = ['q', 'cq', 'pq', 'full-echo', 'drq', 'cdrq', 'shortest-path', 'random-walk'] as const
const WORKLOAD_ROUTERS = ['cq', 'q', 'pq', 'flood', 'dht', 'random-walk', 'shortest-path'] as const

const sim: Command = {
  name: 'sim',
  summary: 'simulate routing: the classic Boyan–Littman experiment or CFPs for capabilities at scale',
  description: `
Classic experiment (packets between random node pairs on the irregular 6x6 grid):
  swarmd sim --topology boyan-littman --router q --load 2 --seeds 19 --duration 20000 --warmup 10000 --json
  swarmd sim --topology boyan-littman --compare shortest-path,q,cq --sweep 0.5:4.0:0.25 --chart curve.svg
Capability workload (CFPs routed to the nearest node hosting a capability):
  swarmd sim --topology small-world --nodes 10000 --cfps 200000 --compare cq,flood,dht --chart cmp.svg
Same seed, same numbers.`,
  flags: {
    topology: { type: 'string', description: 'network', choices: TOPOLOGIES, default: 'boyan-littman' },
    file: {
      type: 'string',
      description: 'edge list for --topology file (a b [latency] per line)',
      placeholder: 'PATH',
    },
    router: {
      type: 'string',
      description: 'router (q|cq|pq|full-echo|drq|cdrq|shortest-path|flood|dht|random-walk)',
      default: 'cq',
    },
    compare: {
      type: 'list',
      description: 'several routers, comma-separated (overrides --router)',
      placeholder: 'R1,R2',
    },
    nodes: { type: 'integer', description: 'nodes (generated topologies)', default: 1000 },
    degree: { type: 'integer', description: 'mean degree (generated topologies)', default: 6 },
    rewire: { type: 'number', description: 'small-world rewiring probability', default: 0.1, min: 0, max: 1 },
    latency: {
      type: 'string',
      description: 'per-link latency range MIN:MAX (capability workload)',
      default: '0.5:1.5',
    },
    load: {
      type: 'number',
      description: 'classic: packets per time unit; workload: CFPs per time unit (default nodes/1000)',
      placeholder: 'L',
    },
    seeds: {
      type: 'integer',
      description: 'classic: independent runs per load (median reported)',
      default: 5,
    },
    seed: { type: 'integer', description: 'first seed', default: 1 },
    duration: { type: 'number', description: 'classic: simulated time units per run', default: 20000 },
    warmup: { type: 'number', description: 'classic: time units discarded before measuring', default: 10000 },
    sweep: { type: 'string', description: 'classic: load sweep FROM:TO:STEP', placeholder: 'A:B:S' },
    cfps: { type: 'integer', description: 'workload: CFPs to simulate', default: 20000 },
    caps: { type: 'integer', description: 'workload: distinct capabilities', default: 100 },
    replication: {
      type: 'string',
      description: 'workload: providers per capability, a fraction (0.01), a percentage (1%) or a count (5)',
      default: '1%',
    },
    popularity: {
      type: 'string',
      description: 'workload: capability popularity',
      choices: ['zipf', 'uniform'],
      default: 'zipf',
    },
    'warmup-fraction': {
      type: 'number',
      description: 'workload: share of CFPs left out of the metrics',
      default: 0.2,
      min: 0,
      max: 0.99,
    },
    'flood-cfps': {
      type: 'integer',
      description: 'workload: CFPs simulated for flooding (it costs ~2|E| messages each)',
      default: 500,
    },
    ttl: { type: 'integer', description: 'workload: hop limit', default: 64, min: 1, max: 1024 },
    dht: {
      type: 'boolean',
      description:
        'workload: CQ falls back to a DHT lookup below the confidence threshold (--no-dht for pure CQ)',
      default: true,
    },
    threshold: {
      type: 'number',
      description: 'workload: CQ confidence threshold',
      default: 0.5,
      min: 0,
      max: 1,
    },
    churn: { type: 'number', description: 'workload: node failures per time unit', default: 0, min: 0 },
    'link-failures': {
      type: 'number',
      description: 'workload: link failures per time unit',
      default: 0,
      min: 0,
    },
    chart: { type: 'string', description: 'write an SVG chart', placeholder: 'FILE.svg' },
  },
  run: runSim,
}

export const commands: Command[] = [sim]

function fail(msg: string): never {
  throw new UserError(`sim: ${msg}`)
}

function routersFrom(ctx: CommandContext, allowed: readonly string[], what: string): RouterKind[] {
  const list = (ctx.flags.compare as string[] | undefined)?.length
    ? (ctx.flags.compare as string[])
    : [ctx.flags.router as string]
  for (const r of list) {
    if (!isRouterKind(r)) fail(`unknown router '${r}' (known: ${allowed.join(', ')})`)
    if (!allowed.includes(r))
      fail(`router '${r}' does not apply to ${what} (use one of ${allowed.join(', ')})`)
  }
  return list as RouterKind[]
}

function progressBar(io: Io): ((f: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined
  return (f) => {
    const w = 30
    const k = Math.round(f * w)
    io.err(
      `\r[${'#'.repeat(k)}${' '.repeat(w - k)}] ${(f * 100).toFixed(0).padStart(3)}%${f >= 1 ? '\n' : ''}`,
    )
  }
}

async function runSim(ctx: CommandContext): Promise<number> {
  const f = ctx.flags
  const topology = f.topology as TopologyKind
  if (topology === 'boyan-littman') return runClassicCli(ctx)
  const nodes = f.nodes as number
  if (topology !== 'file') {
    if (nodes < 2) fail(`--nodes must be at least 2; got ${nodes}`)
    if ((f.degree as number) < 2) fail(`--degree must be at least 2; got ${String(f.degree)}`)
    if ((f.degree as number) >= nodes)
      fail(`--degree (${String(f.degree)}) must be smaller than --nodes (${nodes})`)
  }
  const lat = String(f.latency).split(':').map(Number)
  if (lat.length !== 2 || !(lat[0]! > 0) || !(lat[1]! >= lat[0]!)) {
    fail(`--latency must be MIN:MAX with 0 < MIN <= MAX; got '${String(f.latency)}'`)
  }
  let edgeList: string | undefined
  if (topology === 'file') {
    if (!f.file) fail('--topology file needs --file PATH')
    try {
      edgeList = readFileSync(f.file as string, 'utf8')
    } catch {
      fail(`cannot read edge list '${String(f.file)}'`)
    }
  }
  const graph = buildTopology({
    kind: topology,
    nodes,
    degree: f.degree as number,
    rewire: f.rewire as number,
    latency: { min: lat[0]!, max: lat[1]! },
    seed: f.seed as number,
    ...(edgeList !== undefined ? { edgeList } : {}),
  })
  const n = graph.n
  const replication = parseReplication(String(f.replication), n)
  const cfps = f.cfps as number
  if (cfps < 1) fail(`--cfps must be at least 1; got ${cfps}`)
  if ((f.caps as number) < 1) fail(`--caps must be at least 1; got ${String(f.caps)}`)
  if (f.load !== undefined && !((f.load as number) > 0)) fail(`--load must be > 0; got ${String(f.load)}`)
  const routers = routersFrom(ctx, WORKLOAD_ROUTERS, 'the capability workload')
  const results: WorkloadResult[] = []
  for (const r of routers) {
    if (!ctx.flags.json && process.stderr.isTTY) ctx.io.err(`${r}:\n`)
    const res = runWorkload({
      graph,
      router: r,
      cfps: r === 'flood' ? Math.min(cfps, f['flood-cfps'] as number) : cfps,
      seed: f.seed as number,
      caps: f.caps as number,
      replication,
      popularity: f.popularity as 'zipf' | 'uniform',
      ttl: f.ttl as number,
      warmup: f['warmup-fraction'] as number,
      dhtFallback: r === 'cq' && (f.dht as boolean),
      confidenceThreshold: f.threshold as number,
      churn: f.churn as number,
      linkFailures: f['link-failures'] as number,
      ...(f.load !== undefined ? { rate: f.load as number } : {}),
      ...(progressBar(ctx.io) ? { progress: progressBar(ctx.io)! } : {}),
    })
    results.push(res)
  }
  if (f.chart) {
    writeChart(
      f.chart as string,
      stackCharts([
        lineChart({
          title: `Learning curve: mean time to a provider (${topology}, ${n} nodes)`,
          xLabel: 'CFPs issued',
          yLabel: 'mean time to provider',
          series: results.map((r) => ({ name: r.router, points: r.curve.map((c) => [c.to, c.meanTime]) })),
        }),
        lineChart({
          title: 'Messages per CFP (log scale)',
          xLabel: 'CFPs issued',
          yLabel: 'messages per CFP',
          logY: true,
          series: results.map((r) => ({
            name: r.router,
            points: r.curve.map((c) => [c.to, c.messagesPerCfp]),
          })),
        }),
      ]),
    )
  }
  if (f.json) {
    printJson(ctx.io, results.length === 1 ? results[0] : results)
    return 0
  }
  ctx.io.out(
    `${table(
      ['router', 'nodes', 'cfps', 'delivery', 'mean time', 'p95 time', 'msgs/CFP', 'bytes/CFP'],
      results.map((r) => [
        r.router,
        r.nodes,
        r.cfps,
        `${(r.deliveryRate * 100).toFixed(2)}%`,
        r.meanTime?.toFixed(2) ?? '-',
        r.p95Time?.toFixed(2) ?? '-',
        r.messagesPerCfp.toFixed(1),
        r.bytesPerCfp.toFixed(0),
      ]),
    )}\n`,
  )
  if (f.chart) ctx.io.out(`chart written to ${String(f.chart)}\n`)
  return 0
}

function parseReplication(text: string, n: number): number {
  const pct = text.endsWith('%')
  const v = Number(pct ? text.slice(0, -1) : text)
  if (!Number.isFinite(v) || v <= 0)
    fail(`--replication must be a positive fraction, percentage or count; got '${text}'`)
  if (pct) {
    if (v > 100) fail(`--replication cannot exceed 100%; got '${text}'`)
    return v / 100
  }
  if (v < 1) return v
  if (!Number.isInteger(v)) fail(`--replication count must be a whole number; got '${text}'`)
  if (v > n) fail(`--replication (${v} providers) cannot exceed the number of nodes (${n})`)
  return v / n
}

function runClassicCli(ctx: CommandContext): number {
  const f = ctx.flags
  const duration = f.duration as number
  const warmup = f.warmup as number
  const seeds = f.seeds as number
  if (!(duration > 0)) fail(`--duration must be > 0; got ${duration}`)
  if (!(warmup >= 0)) fail(`--warmup must be >= 0; got ${warmup}`)
  if (warmup >= duration) fail(`--warmup (${warmup}) must be smaller than --duration (${duration})`)
  if (seeds < 1) fail(`--seeds must be at least 1; got ${seeds}`)
  const routers = routersFrom(ctx, CLASSIC_ROUTERS, 'the classic experiment')
  let loads: number[]
  if (f.sweep !== undefined) loads = parseSweep(f.sweep as string)
  else {
    const load = (f.load as number | undefined) ?? 1
    if (!(load > 0)) fail(`--load must be > 0; got ${load}`)
    loads = [load]
  }
  const graph = buildTopology({ kind: 'boyan-littman' })
  const bar = progressBar(ctx.io)
  const total = routers.length * loads.length
  const out: ClassicExperiment[][] = []
  let done = 0
  for (const r of routers) {
    const row: ClassicExperiment[] = []
    for (const load of loads) {
      row.push(classicExperiment({ graph, router: r, load, seeds, duration, warmup, seed: f.seed as number }))
      bar?.(++done / total)
    }
    out.push(row)
  }
  if (f.chart) {
    const chart =
      loads.length > 1
        ? lineChart({
            title: 'Boyan–Littman 6x6 grid: delivery time vs load',
            xLabel: 'network load (packets per time unit)',
            yLabel: 'mean delivery time (median of seeds)',
            yMax: 60,
            series: out.map((row) => ({
              name: row[0]!.router,
              points: row.map((e) => [e.load, e.meanDeliveryTime]),
            })),
          })
        : lineChart({
            title: `Boyan–Littman 6x6 grid: learning curve at load ${loads[0]}`,
            xLabel: 'time',
            yLabel: 'mean delivery time per window of 100 (log)',
            logY: true,
            series: out.map((row) => ({
              name: row[0]!.router,
              points: row[0]!.curve.map((v, w) => [(w + 1) * 100, v]),
            })),
          })
    writeChart(f.chart as string, chart)
  }
  const strip = (e: ClassicExperiment) => ({
    router: e.router,
    load: e.load,
    seeds: e.seeds,
    meanDeliveryTime: e.meanDeliveryTime,
    perSeed: e.perSeed,
  })
  if (f.json) {
    if (loads.length === 1 && routers.length === 1) printJson(ctx.io, strip(out[0]![0]!))
    else if (loads.length === 1)
      printJson(
        ctx.io,
        out.map((row) => strip(row[0]!)),
      )
    else
      printJson(
        ctx.io,
        out.map((row) => ({ router: row[0]!.router, sweep: row.map(strip) })),
      )
    return 0
  }
  ctx.io.out(
    `${table(
      ['load', ...routers],
      loads.map((l, i) => [l, ...out.map((row) => row[i]!.meanDeliveryTime.toFixed(2))]),
    )}\n(mean delivery time after warm-up, median of ${seeds} seed${seeds > 1 ? 's' : ''})\n`,
  )
  if (f.chart) ctx.io.out(`chart written to ${String(f.chart)}\n`)
  return 0
}

function writeChart(path: string, svg: string): void {
  try {
    writeFileSync(path, svg)
  } catch (err) {
    fail(`cannot write chart '${path}': ${(err as Error).message}`)
  }
}
