/**
 * Experiment drivers shared by `swarmd sim`, the benchmark and the docs:
 * topology construction from a spec, the classic experiment over several
 * seeds (median of the per-run means) and load sweeps.
 */
import { seededRandom, UserError } from '../../common/index.ts'
import type { RouterKind } from '../registry.ts'
import { type ClassicRun, runClassic } from './classic.ts'
import {
  barabasiAlbert,
  boyanLittman,
  type Graph,
  type LatencySpec,
  parseEdgeList,
  randomRegular,
  wattsStrogatz,
} from './graph.ts'

export const TOPOLOGIES = [
  'boyan-littman',
  'small-world',
  'random-regular',
  'barabasi-albert',
  'file',
] as const
export type TopologyKind = (typeof TOPOLOGIES)[number]

export interface TopologySpec {
  kind: TopologyKind
  nodes?: number
  /** Mean degree (random regular, small world) or 2·m (Barabási–Albert). @default 6 */
  degree?: number
  /** Watts–Strogatz rewiring probability. @default 0.1 */
  rewire?: number
  latency?: LatencySpec
  /** Edge-list text for `file`. */
  edgeList?: string
  seed?: number
}

export function buildTopology(spec: TopologySpec): Graph {
  const rng = seededRandom((spec.seed ?? 1) ^ 0x5eed)
  const n = spec.nodes ?? 1000
  const k = spec.degree ?? 6
  switch (spec.kind) {
    case 'boyan-littman':
      return boyanLittman()
    case 'small-world':
      return wattsStrogatz(n, k, spec.rewire ?? 0.1, rng, spec.latency)
    case 'random-regular':
      return randomRegular(n, k, rng, spec.latency)
    case 'barabasi-albert':
      return barabasiAlbert(n, Math.max(1, Math.round(k / 2)), rng, spec.latency)
    case 'file':
      if (spec.edgeList === undefined) throw new UserError('--topology file needs --file PATH')
      return parseEdgeList(spec.edgeList)
  }
}

export interface ClassicExperiment {
  router: RouterKind
  load: number
  seeds: number
  /** Median over seeds of each run's mean delivery time after warm-up. */
  meanDeliveryTime: number
  perSeed: { seed: number; meanDeliveryTime: number; delivered: number; dropped: number }[]
  /** Mean learning curve over seeds (mean delivery time per window of 100 time units). */
  curve: (number | null)[]
}

export interface ClassicExperimentOptions {
  graph: Graph
  router: RouterKind
  load: number
  seeds: number
  duration: number
  warmup: number
  /** First seed; runs use seed, seed+1, ... @default 1 */
  seed?: number
  decay?: number
}

export function classicExperiment(o: ClassicExperimentOptions): ClassicExperiment {
  const runs: ClassicRun[] = []
  for (let i = 0; i < o.seeds; i++) {
    runs.push(
      runClassic({
        graph: o.graph,
        router: o.router,
        load: o.load,
        duration: o.duration,
        warmup: o.warmup,
        seed: (o.seed ?? 1) + i,
        ...(o.decay !== undefined ? { decay: o.decay } : {}),
      }),
    )
  }
  const means = runs.map((r) => r.meanDeliveryTime)
  const len = Math.max(...runs.map((r) => r.curve.length))
  const curve: (number | null)[] = []
  for (let w = 0; w < len; w++) {
    const vals = runs.map((r) => r.curve[w]).filter((v): v is number => typeof v === 'number')
    curve.push(vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null)
  }
  return {
    router: o.router,
    load: o.load,
    seeds: o.seeds,
    meanDeliveryTime: median(means),
    perSeed: runs.map((r) => ({
      seed: r.seed,
      meanDeliveryTime: r.meanDeliveryTime,
      delivered: r.delivered,
      dropped: r.dropped,
    })),
    curve,
  }
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Parse `a:b:step` into the list of values (inclusive). */
export function parseSweep(text: string): number[] {
  const parts = text.split(':').map(Number)
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x))) {
    throw new UserError(`--sweep must look like FROM:TO:STEP (e.g. 0.5:4.0:0.25); got '${text}'`)
  }
  const [a, b, step] = parts as [number, number, number]
  if (a <= 0 || b < a || step <= 0) {
    throw new UserError(`--sweep needs 0 < FROM <= TO and STEP > 0; got '${text}'`)
  }
  const out: number[] = []
  for (let i = 0; a + i * step <= b + 1e-9; i++) out.push(Number((a + i * step).toFixed(6)))
  if (out.length > 1000) throw new UserError('--sweep has more than 1000 points')
  return out
}
