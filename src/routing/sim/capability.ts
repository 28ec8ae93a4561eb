/**
 * The capability workload: CFPs for capabilities (not nodes) over a large
 * network, driven through the same router classes as the daemon. Poisson CFP
 * arrivals at random origins; FIFO service per node; per-link latency; TTL
 * and loop-free paths; delivery at the first node hosting the capability;
 * feedback from every hop; DHT fallback with table seeding (CQ); node churn
 * and link failures. Flooding copies the CFP to every neighbour (gossip
 * baseline); DHT lookup is a cost model (see `kademliaLookup`).
 */
import { type SeededRandom, seededRandom } from '../../common/index.ts'
import { createRouter, type RouterKind, tableFields } from '../registry.ts'
import { kademliaLookup } from '../routers/stateless.ts'
import { REASONS, type Router } from '../types.ts'
import type { Graph } from './graph.ts'
import { EventHeap } from './heap.ts'
import { type CfpLedger, summarise, type WorkloadResult } from './metrics.ts'
import { distancesToSet } from './oracle.ts'
import { SimClock } from './sim-clock.ts'
import { type Placement, placeCapabilities, popularity } from './workload.ts'

export interface WorkloadOptions {
  graph: Graph
  router: RouterKind
  cfps: number
  seed: number
  /** Number of distinct capabilities. @default 100 */
  caps?: number
  /** Fraction of nodes hosting each capability. @default 0.01 */
  replication?: number
  popularity?: 'zipf' | 'uniform'
  /** Zipf exponent. @default 1 */
  zipf?: number
  /** CFPs per time unit (Poisson). @default max(1, n/1000) */
  rate?: number
  /** Per-message processing time at a node (FIFO). @default 0.01 */
  serviceTime?: number
  /** Hop limit. @default 64 */
  ttl?: number
  /** Fraction of CFPs (the first ones) left out of the headline metrics. @default 0.2 */
  warmup?: number
  /** Learning-curve windows. @default 20 */
  windows?: number
  /** CQ/Q/PQ: fall back to a DHT lookup below the confidence threshold and seed the table. @default true for cq */
  dhtFallback?: boolean
  /** @default 0.5 */
  confidenceThreshold?: number
  /** CQ confidence decay per decision for the destination. @default 0.95 */
  decay?: number
  /** ε-exploration of the table routers. @default 0.02 */
  epsilon?: number
  /** Destinations kept per node. @default min(caps, 128) */
  maxRows?: number
  /** Initial Q of an untried entry (pessimistic, so confident routes win). @default 2·log2(n)·(latency+service) */
  initialEstimate?: number
  /** Below the confidence threshold, first ask every neighbour for its estimate (2 messages each). @default true */
  echoOnLowConfidence?: boolean
  /**
   * Providers announce their capabilities to the nodes within this many hops at start (each
   * announcement is one message, amortised over the CFPs in `messagesPerCfp`). @default 1 for table routers
   */
  advertiseRadius?: number
  /** Extra neighbour slots per node for DHT-dialled providers. @default 16 */
  dialSlots?: number
  /** Node failures per time unit (each down for `downtime`). @default 0 */
  churn?: number
  /** Link failures per time unit (each down for `downtime`). @default 0 */
  linkFailures?: number
  /** @default 50 */
  downtime?: number
  /** Called now and then with the fraction done. */
  progress?: (fraction: number) => void
}

const CREATE = 0
const ARRIVE = 1
const SERVE = 2
const NODE_DOWN = 3
const NODE_UP = 4
const LINK_DOWN = 5
const LINK_UP = 6

export const CFP_BYTES = 512
export const FEEDBACK_BYTES = 32
export const DHT_MSG_BYTES = 128

export function runWorkload(o: WorkloadOptions): WorkloadResult {
  const g = o.graph
  const n = g.n
  const rng: SeededRandom = seededRandom(o.seed)
  const placeRng = rng.fork()
  const caps = o.caps ?? 100
  const placement: Placement = placeCapabilities(n, caps, o.replication ?? 0.01, placeRng)
  const draw = popularity(caps, o.popularity ?? 'zipf', o.zipf ?? 1, rng.fork())
  const rate = o.rate ?? Math.max(1, n / 1000)
  const svc = o.serviceTime ?? 0.01
  const ttl = o.ttl ?? 64
  const kind = o.router
  const isFlood = kind === 'flood'
  const isDht = kind === 'dht'
  const fields = tableFields(kind)
  const dhtFallback = o.dhtFallback ?? kind === 'cq'
  const dialSlots = dhtFallback ? (o.dialSlots ?? 16) : 0
  const maxRows = o.maxRows ?? Math.min(caps, 128)
  const meanLat = meanLatency(g)
  const dht = kademliaLookup(n)
  const clock = new SimClock()
  const initialQ = o.initialEstimate ?? 2 * Math.log2(Math.max(2, n)) * (meanLat + svc)
  const echoLow = o.echoOnLowConfidence ?? true

  // Oracle distances, per capability, computed on first use.
  const oracle: (Float64Array | undefined)[] = []
  const dist = (c: number): Float64Array => {
    let d = oracle[c]
    if (!d) {
      d = distancesToSet(g, placement.providers[c]!, svc)
      oracle[c] = d
    }
    return d
  }

  // Flat table storage for every node, handed out as views.
  let slabSize = 0
  const slabOffset = new Float64Array(n + 1)
  for (let i = 0; i < n; i++) {
    slabOffset[i] = slabSize
    slabSize += fields * maxRows * (g.offsets[i + 1]! - g.offsets[i]! + dialSlots)
  }
  const slab = new Float64Array(slabSize)
  const routers: Router[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const deg = g.offsets[i + 1]! - g.offsets[i]!
    const width = deg + dialSlots
    routers[i] = createRouter(kind, {
      clock,
      random: rng.fork(),
      isLocal: (c) => placement.hosts(i, c as number),
      neighbours: Array.from(g.targets.subarray(g.offsets[i]!, g.offsets[i + 1]!)),
      width: Math.max(1, width),
      maxRows,
      ...(fields > 0
        ? { cells: slab.subarray(slabOffset[i]!, slabOffset[i]! + fields * maxRows * width) }
        : {}),
      decay: o.decay ?? 0.95,
      initialQ,
      epsilon: o.epsilon ?? 0.02,
      confidenceThreshold: dhtFallback ? (o.confidenceThreshold ?? 0.5) : 0,
      nodes: n,
      distance: (nb, c) => dist(c as number)[nb as number]!,
      linkCost: (nb) => linkLatency(i, nb as number) + svc,
    })
  }
  let setupMessages = 0
  const radius = fields > 0 ? (o.advertiseRadius ?? 2) : 0
  if (radius > 0) {
    const mark = new Int32Array(n).fill(-1)
    for (let c = 0; c < caps; c++) {
      let frontier = Array.from(placement.providers[c]!)
      for (const p of frontier) mark[p] = c
      for (let round = 0; round < radius && frontier.length > 0; round++) {
        const next: number[] = []
        for (const u of frontier) {
          const est = routers[u]!.estimate(c)
          for (let e = g.offsets[u]!; e < g.offsets[u + 1]!; e++) {
            const v = g.targets[e]!
            if (mark[v] === c && placement.hosts(v, c)) continue
            routers[v]!.feedback(c, u, svc, g.latency[e]!, est.value, est.confidence)
            setupMessages++
            if (mark[v] !== c) {
              mark[v] = c
              next.push(v)
            }
          }
        }
        frontier = next
      }
    }
  }
  const dialled = new Int32Array(Math.max(1, n * dialSlots)).fill(-1)
  const dialPos = new Int32Array(n)

  function linkLatency(a: number, b: number): number {
    for (let e = g.offsets[a]!; e < g.offsets[a + 1]!; e++) if (g.targets[e] === b) return g.latency[e]!
    return meanLat
  }

  // CFP ledger.
  const M = o.cfps
  const ledger: CfpLedger = {
    birth: new Float64Array(M),
    done: new Float64Array(M).fill(-1),
    failed: new Uint8Array(M),
    msgs: new Float64Array(M),
    bytes: new Float64Array(M),
  }
  const cfpCap = new Int32Array(M)
  const liveCopies = new Int32Array(M)
  const seen = new Map<number, Uint8Array>()

  // In-flight packet slots (one per CFP copy).
  let slots = 1024
  let sCfp: Int32Array = new Int32Array(slots)
  let sNode: Int32Array = new Int32Array(slots)
  let sPrev: Int32Array = new Int32Array(slots)
  let sQ: Float64Array = new Float64Array(slots)
  let sEnter: Float64Array = new Float64Array(slots)
  let sNext: Int32Array = new Int32Array(slots)
  let sHops: Int32Array = new Int32Array(slots)
  let sPath: Int32Array = new Int32Array(slots * (isFlood ? 1 : ttl + 1))
  const freeSlots: number[] = []
  for (let i = slots - 1; i >= 0; i--) freeSlots.push(i)
  const growSlots = (): void => {
    const old = slots
    slots *= 2
    const gi = (a: Int32Array, k = 1): Int32Array => {
      const b = new Int32Array(slots * k)
      b.set(a)
      return b
    }
    const gf = (a: Float64Array): Float64Array => {
      const b = new Float64Array(slots)
      b.set(a)
      return b
    }
    sCfp = gi(sCfp)
    sNode = gi(sNode)
    sPrev = gi(sPrev)
    sQ = gf(sQ)
    sEnter = gf(sEnter)
    sNext = gi(sNext)
    sHops = gi(sHops)
    sPath = gi(sPath, isFlood ? 1 : ttl + 1)
    for (let i = slots - 1; i >= old; i--) freeSlots.push(i)
  }
  const alloc = (cfp: number): number => {
    if (freeSlots.length === 0) growSlots()
    const s = freeSlots.pop()!
    sCfp[s] = cfp
    sHops[s] = 0
    liveCopies[cfp]!++
    return s
  }
  const release = (s: number): void => {
    const cfp = sCfp[s]!
    if (--liveCopies[cfp]! === 0) {
      if (isFlood) seen.delete(cfp)
      if (ledger.done[cfp]! < 0) ledger.failed[cfp] = 1
      finished++
    }
    freeSlots.push(s)
  }

  const qHead = new Int32Array(n).fill(-1)
  const qTail = new Int32Array(n).fill(-1)
  const freeAt = new Float64Array(n)
  const serving = new Uint8Array(n)
  const down = new Uint8Array(n)
  const linkDown = new Set<number>()
  const heap = new EventHeap(1 << 16)

  let curSlot = 0
  const stride = ttl + 1
  const inPath = (nb: number | string): boolean => {
    if (down[nb as number]) return true
    const base = curSlot * stride
    const h = sHops[curSlot]!
    for (let i = 0; i <= h; i++) if (sPath[base + i] === nb) return true
    return false
  }

  const send = (s: number, from: number, to: number, at: number, lat: number): void => {
    const cfp = sCfp[s]!
    ledger.msgs[cfp]! += 1
    ledger.bytes[cfp]! += CFP_BYTES
    sPrev[s] = from
    sNode[s] = to
    heap.push(at + lat, ARRIVE, s)
  }

  const dhtLookup = (s: number, y: number, now: number): void => {
    const cfp = sCfp[s]!
    const c = cfpCap[cfp]!
    const provs = placement.providers[c]!
    let p = provs[rng.int(provs.length)]!
    for (let k = 0; k < 4 && down[p]; k++) p = provs[rng.int(provs.length)]!
    ledger.msgs[cfp]! += dht.messages
    lookups++
    ledger.bytes[cfp]! += dht.messages * DHT_MSG_BYTES
    const lookupTime = dht.rounds * (2 * meanLat + svc)
    if (dhtFallback && dialSlots > 0) {
      const r = routers[y]!
      if (!r.neighbours().includes(p)) {
        const slot = y * dialSlots + (dialPos[y]! % dialSlots)
        const old = dialled[slot]!
        if (old >= 0) r.removeNeighbour(old)
        dialled[slot] = p
        dialPos[y]!++
      }
      r.seed(c, p, svc + meanLat, 1)
    }
    sQ[s] = svc + lookupTime
    sEnter[s] = now + svc + lookupTime
    send(s, y, p, now + svc + lookupTime, meanLat)
  }

  const fail = (s: number): void => release(s)

  let created = 0
  let echoes = 0
  let lookups = 0
  let finished = 0
  let events = 0
  const nextCreate = (now: number): void => {
    if (created < M) heap.push(now + expo(rng, rate), CREATE, created)
  }
  nextCreate(0)
  const churn = o.churn ?? 0
  const linkFail = o.linkFailures ?? 0
  const downtime = o.downtime ?? 50
  if (churn > 0) heap.push(expo(rng, churn), NODE_DOWN, 0)
  if (linkFail > 0) heap.push(expo(rng, linkFail), LINK_DOWN, 0)
  const progressEvery = 1 << 18

  const enqueue = (s: number, y: number, now: number): void => {
    sEnter[s] = now
    sNext[s] = -1
    if (qTail[y]! >= 0) sNext[qTail[y]!] = s
    else qHead[y] = s
    qTail[y] = s
    if (!serving[y]) {
      serving[y] = 1
      heap.push(Math.max(now, freeAt[y]!), SERVE, y)
    }
  }

  while (heap.size > 0 && finished < M) {
    const ev = heap.pop()
    const now = heap.lastTime
    const subj = heap.lastSubject
    clock.t = now
    if ((++events & (progressEvery - 1)) === 0) o.progress?.(created / M)
    if (ev === ARRIVE) {
      const s = subj
      const y = sNode[s]!
      const x = sPrev[s]!
      const cfp = sCfp[s]!
      const c = cfpCap[cfp]!
      if (down[y]) {
        fail(s)
        continue
      }
      if (!isFlood && x >= 0) {
        const est = routers[y]!.estimate(c)
        routers[x]!.feedback(c, y, sQ[s]!, now - sEnter[s]!, est.value, est.confidence)
        ledger.msgs[cfp]! += 1
        ledger.bytes[cfp]! += FEEDBACK_BYTES
      }
      if (placement.hosts(y, c)) {
        if (ledger.done[cfp]! < 0) {
          ledger.done[cfp] = now - ledger.birth[cfp]!
        }
        if (!isFlood) {
          release(s)
          continue
        }
      }
      if (isFlood) {
        const mark = seen.get(cfp)!
        if (mark[y]) {
          release(s)
          continue
        }
        mark[y] = 1
      } else {
        const h = ++sHops[s]!
        if (h >= ttl) {
          fail(s)
          continue
        }
        sPath[s * stride + h] = y
      }
      enqueue(s, y, now)
    } else if (ev === SERVE) {
      const y = subj
      const s = qHead[y]!
      qHead[y] = sNext[s]!
      if (qHead[y] === -1) qTail[y] = -1
      const dep = now + svc
      freeAt[y] = dep
      if (qHead[y]! >= 0) heap.push(dep, SERVE, y)
      else serving[y] = 0
      if (down[y]) {
        fail(s)
        continue
      }
      const cfp = sCfp[s]!
      const c = cfpCap[cfp]!
      if (isFlood) {
        const prev = sPrev[s]!
        for (let e = g.offsets[y]!; e < g.offsets[y + 1]!; e++) {
          const v = g.targets[e]!
          if (v === prev || linkDown.has(e)) continue
          const k = alloc(cfp)
          send(k, y, v, dep, g.latency[e]!)
        }
        release(s)
        continue
      }
      curSlot = s
      let choice = isDht ? undefined : routers[y]!.choose(c, { exclude: inPath })
      const q = dep - sEnter[s]!
      if (
        echoLow &&
        dhtFallback &&
        (choice!.reason === REASONS.LOW_CONFIDENCE || choice!.reason === REASONS.NO_ROUTE)
      ) {
        // Ask the eligible neighbours for their estimates (a request and an answer each), then decide again.
        const r = routers[y]!
        for (let e = g.offsets[y]!; e < g.offsets[y + 1]!; e++) {
          const v = g.targets[e]!
          if (inPath(v) || linkDown.has(e)) continue
          const est = routers[v]!.estimate(c)
          r.feedback(c, v, q, g.latency[e]!, est.value, est.confidence)
          ledger.msgs[cfp]! += 2
          ledger.bytes[cfp]! += 2 * FEEDBACK_BYTES
        }
        choice = r.choose(c, { exclude: inPath })
        echoes++
      }
      if (
        isDht ||
        (dhtFallback && (choice!.reason === REASONS.LOW_CONFIDENCE || choice!.reason === REASONS.NO_ROUTE))
      ) {
        dhtLookup(s, y, now)
        continue
      }
      const next = choice!.next
      if (next === undefined) {
        fail(s)
        continue
      }
      sQ[s] = q
      sEnter[s] = dep
      send(s, y, next as number, dep, linkLatency(y, next as number))
    } else if (ev === CREATE) {
      const cfp = subj
      created++
      nextCreate(now)
      const c = draw()
      cfpCap[cfp] = c
      ledger.birth[cfp] = now
      let origin = rng.int(n)
      for (let k = 0; k < 8 && down[origin]; k++) origin = rng.int(n)
      if (placement.hosts(origin, c)) {
        ledger.done[cfp] = 0
        finished++
        continue
      }
      const s = alloc(cfp)
      sNode[s] = origin
      sPrev[s] = -1
      sPath[s * (isFlood ? 1 : stride)] = origin
      if (isFlood) {
        const mark = new Uint8Array(n)
        mark[origin] = 1
        seen.set(cfp, mark)
      }
      enqueue(s, origin, now)
    } else if (ev === NODE_DOWN) {
      heap.push(now + expo(rng, churn), NODE_DOWN, 0)
      const y = rng.int(n)
      if (down[y]) continue
      down[y] = 1
      for (let e = g.offsets[y]!; e < g.offsets[y + 1]!; e++) routers[g.targets[e]!]!.removeNeighbour(y)
      heap.push(now + downtime, NODE_UP, y)
    } else if (ev === NODE_UP) {
      const y = subj
      down[y] = 0
      for (let e = g.offsets[y]!; e < g.offsets[y + 1]!; e++) routers[g.targets[e]!]!.addNeighbour(y)
    } else if (ev === LINK_DOWN) {
      heap.push(now + expo(rng, linkFail), LINK_DOWN, 0)
      const e = rng.int(g.targets.length)
      if (linkDown.has(e)) continue
      const a = sourceOf(g, e)
      const b = g.targets[e]!
      linkDown.add(e)
      routers[a]!.removeNeighbour(b)
      routers[b]!.removeNeighbour(a)
      heap.push(now + downtime, LINK_UP, e)
    } else if (ev === LINK_UP) {
      const e = subj
      linkDown.delete(e)
      const a = sourceOf(g, e)
      const b = g.targets[e]!
      if (!down[b]) routers[a]!.addNeighbour(b)
      if (!down[a]) routers[b]!.addNeighbour(a)
    }
  }
  // Flood: copies still in flight when the loop ends (all CFPs accounted) are counted as sent.
  o.progress?.(1)
  return summarise(kind, n, ledger, {
    warmup: o.warmup ?? 0.2,
    windows: o.windows ?? 20,
    events,
    echoes,
    dhtLookups: lookups,
    setupMessages,
  })
}

function sourceOf(g: Graph, e: number): number {
  let lo = 0
  let hi = g.n - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (g.offsets[mid]! <= e) lo = mid
    else hi = mid - 1
  }
  return lo
}

function meanLatency(g: Graph): number {
  let s = 0
  for (let i = 0; i < g.latency.length; i++) s += g.latency[i]!
  return g.latency.length ? s / g.latency.length : 1
}

function expo(rng: SeededRandom, rate: number): number {
  return -Math.log(1 - rng.next()) / rate
}
