/** Per-CFP ledger and the summary the simulator reports: delivery, times, messages, bytes, learning curve. */
export interface CfpLedger {
  birth: Float64Array
  /** Time to the first provider, -1 if never delivered. */
  done: Float64Array
  failed: Uint8Array
  msgs: Float64Array
  bytes: Float64Array
}

export interface CurvePoint {
  /** Index range of the CFPs in this window. */
  from: number
  to: number
  deliveryRate: number
  meanTime: number | null
  messagesPerCfp: number
}

export interface WorkloadResult {
  router: string
  nodes: number
  /** CFPs simulated (including warm-up). */
  cfps: number
  /** CFPs measured (after warm-up). */
  measured: number
  deliveryRate: number
  meanTime: number | null
  p50Time: number | null
  p95Time: number | null
  messagesPerCfp: number
  bytesPerCfp: number
  events: number
  /** Low-confidence neighbour queries (CQ with DHT fallback). */
  echoes: number
  /** DHT provider lookups (DHT router, or CQ's fallback). */
  dhtLookups: number
  /** One-off capability announcements before the first CFP (included, amortised, in messagesPerCfp). */
  setupMessages: number
  curve: CurvePoint[]
}

export function summarise(
  router: string,
  nodes: number,
  l: CfpLedger,
  o: {
    warmup: number
    windows: number
    events: number
    echoes: number
    dhtLookups: number
    setupMessages: number
  },
): WorkloadResult {
  const M = l.birth.length
  const start = Math.min(M, Math.floor(M * o.warmup))
  const m = measure(l, start, M)
  const perCfpSetup = M > 0 ? o.setupMessages / M : 0
  m.messagesPerCfp += perCfpSetup
  m.bytesPerCfp += perCfpSetup * 32
  const curve: CurvePoint[] = []
  const w = Math.max(1, o.windows)
  for (let k = 0; k < w; k++) {
    const from = Math.floor((k * M) / w)
    const to = Math.floor(((k + 1) * M) / w)
    if (to <= from) continue
    const x = measure(l, from, to)
    curve.push({
      from,
      to,
      deliveryRate: x.deliveryRate,
      meanTime: x.meanTime,
      messagesPerCfp: x.messagesPerCfp,
    })
  }
  return {
    router,
    nodes,
    cfps: M,
    measured: M - start,
    ...m,
    events: o.events,
    echoes: o.echoes,
    dhtLookups: o.dhtLookups,
    setupMessages: o.setupMessages,
    curve,
  }
}

function measure(l: CfpLedger, from: number, to: number) {
  const times: number[] = []
  let msgs = 0
  let bytes = 0
  for (let i = from; i < to; i++) {
    const d = l.done[i]!
    if (d >= 0) times.push(d)
    msgs += l.msgs[i]!
    bytes += l.bytes[i]!
  }
  const count = to - from
  times.sort((a, b) => a - b)
  const mean = times.length ? times.reduce((a, b) => a + b, 0) / times.length : null
  return {
    deliveryRate: count ? times.length / count : 0,
    meanTime: mean,
    p50Time: quantile(times, 0.5),
    p95Time: quantile(times, 0.95),
    messagesPerCfp: count ? msgs / count : 0,
    bytesPerCfp: count ? bytes / count : 0,
  }
}

export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]!
}
