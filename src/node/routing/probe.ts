/** Summary of a probe run (`swarmd route probe`): delivery, latency, hops and messages per CFP. */
import type { RouteOutcome } from './engine.ts'

export interface ProbeResult {
  capability: string
  mode: 'cq' | 'flood'
  sent: number
  delivered: number
  deliveryRate: number
  latencyMs: { mean: number; p50: number; p95: number }
  hops: { mean: number }
  /** Messages of all the probe's CFPs (see docs/routing-daemon.md for what is counted). */
  messages: number
  dhtLookups: number
  cfpIds: string[]
  /** The first few failures with their reasons. */
  failures: { cfpId: string; error: string }[]
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[i]!
}

const r2 = (x: number): number => Math.round(x * 100) / 100

export function summariseProbe(
  capability: string,
  mode: 'cq' | 'flood',
  outcomes: RouteOutcome[],
): ProbeResult {
  const ok = outcomes.filter((o) => o.delivered)
  const lat = ok.map((o) => o.latencyMs ?? 0).sort((a, b) => a - b)
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0)
  return {
    capability,
    mode,
    sent: outcomes.length,
    delivered: ok.length,
    deliveryRate: outcomes.length ? r2(ok.length / outcomes.length) : 0,
    latencyMs: { mean: r2(mean(lat)), p50: r2(percentile(lat, 0.5)), p95: r2(percentile(lat, 0.95)) },
    hops: { mean: r2(mean(ok.map((o) => o.hops))) },
    messages: outcomes.reduce((a, o) => a + o.messages, 0),
    dhtLookups: outcomes.reduce((a, o) => a + o.dhtLookups, 0),
    cfpIds: outcomes.map((o) => o.cfpId),
    failures: outcomes
      .filter((o) => !o.delivered)
      .slice(0, 5)
      .map((o) => ({ cfpId: o.cfpId, error: o.error ?? 'unknown' })),
  }
}
