/**
 * The classic Boyan–Littman experiment, with the original simulator's
 * semantics: one network-wide Poisson process of rate `load`; each packet has
 * a uniform random destination and a different uniform random source; each
 * node forwards at most one packet per time unit, FIFO; each hop takes one
 * time unit; a new packet leaves its source at once without queueing; at
 * most 1000 packets are in the network (extra injections are dropped);
 * destinations are node ids; average delivery time per window of 100 units.
 */
import { type SeededRandom, seededRandom } from '../../common/index.ts'
import { createRouter, type RouterKind } from '../registry.ts'
import type { Router } from '../types.ts'
import { bfsFrom, type Graph, neighboursOf } from './graph.ts'
import { EventHeap } from './heap.ts'
import { SimClock } from './sim-clock.ts'

export interface ClassicOptions {
  graph: Graph
  router: RouterKind
  load: number
  duration: number
  warmup: number
  seed: number
  /** Packets in the network at once. @default 1000 */
  maxPackets?: number
  /** Window of the learning curve. @default 100 */
  window?: number
  /** CQ confidence decay per decision. @default 0.95 */
  decay?: number
}

export interface ClassicRun {
  seed: number
  /** Mean delivery time of packets delivered after warm-up. */
  meanDeliveryTime: number
  delivered: number
  injected: number
  dropped: number
  /** Mean delivery time per window (NaN-free: windows without deliveries are null). */
  curve: (number | null)[]
}

const INJECT = 0
const ARRIVE = 1
const SERVE = 2

export function runClassic(o: ClassicOptions): ClassicRun {
  const g = o.graph
  const n = g.n
  const rng: SeededRandom = seededRandom(o.seed)
  const clock = new SimClock()
  const maxPackets = o.maxPackets ?? 1000
  const window = o.window ?? 100
  const hops: Int32Array[] = []
  if (o.router === 'shortest-path') for (let d = 0; d < n; d++) hops.push(bfsFrom(g, [d]))
  const routers: Router[] = []
  for (let i = 0; i < n; i++) {
    const nb = neighboursOf(g, i)
    routers.push(
      createRouter(o.router, {
        clock,
        random: rng.fork(),
        isLocal: (d) => d === i,
        neighbours: nb,
        width: Math.max(1, nb.length),
        maxRows: n,
        decay: o.decay ?? 0.95,
        nodes: n,
        distance: (nbr, d) => hops[d as number]![nbr as number]!,
      }),
    )
  }
  // Packet pool.
  const cap = maxPackets + 16
  const pDest = new Int32Array(cap)
  const pSrc = new Int32Array(cap)
  const pBirth = new Float64Array(cap)
  const pEnter = new Float64Array(cap)
  const pPrev = new Int32Array(cap)
  const pQ = new Float64Array(cap)
  // DRQ/CDRQ: the sender's estimate for the packet's source, carried along (backward exploration).
  const dual = o.router === 'drq' || o.router === 'cdrq'
  const pBack = new Float64Array(cap)
  const pBackConf = new Float64Array(cap)
  const free: number[] = []
  for (let i = cap - 1; i >= 0; i--) free.push(i)
  // Per-node FIFO queues (linked lists through `next`).
  const pNext = new Int32Array(cap).fill(-1)
  const qHead = new Int32Array(n).fill(-1)
  const qTail = new Int32Array(n).fill(-1)
  const freeAt = new Float64Array(n)
  const serving = new Uint8Array(n)

  const heap = new EventHeap(4096)
  const curveSum: number[] = []
  const curveCount: number[] = []
  let inFlight = 0
  let injected = 0
  let dropped = 0
  let delivered = 0
  let sumAfter = 0
  let countAfter = 0
  let curDest = 0
  const echoFn = (nbr: number | string) => routers[nbr as number]!.estimate(curDest)

  const send = (p: number, from: number, q: number, now: number): void => {
    curDest = pDest[p]!
    const r = routers[from]!
    const choice = r.choose(curDest, { echo: echoFn, queueTime: q })
    const next = choice.next as number
    pPrev[p] = from
    pQ[p] = q
    if (dual) {
      const e = r.estimate(pSrc[p]!)
      pBack[p] = e.value
      pBackConf[p] = e.confidence
    }
    heap.push(now + 1, ARRIVE, p * n + next)
  }

  heap.push(expo(rng, o.load), INJECT, 0)
  while (heap.size > 0) {
    const kind = heap.pop()
    const now = heap.lastTime
    if (now > o.duration) break
    clock.t = now
    const subj = heap.lastSubject
    if (kind === INJECT) {
      heap.push(now + expo(rng, o.load), INJECT, 0)
      injected++
      if (inFlight >= maxPackets) {
        dropped++
        continue
      }
      const dest = rng.int(n)
      let src = rng.int(n - 1)
      if (src >= dest) src++
      const p = free.pop()!
      inFlight++
      pDest[p] = dest
      pSrc[p] = src
      pBirth[p] = now
      send(p, src, 0, now)
    } else if (kind === ARRIVE) {
      const p = Math.floor(subj / n)
      const y = subj - p * n
      const dest = pDest[p]!
      const x = pPrev[p]!
      const est = routers[y]!.estimate(dest)
      routers[x]!.feedback(dest, y, pQ[p]!, 1, est.value, est.confidence)
      // The previous hop's queue time stands in for this node's own, which it cannot know yet.
      if (dual) routers[y]!.backward(pSrc[p]!, x, pQ[p]!, 1, pBack[p]!, pBackConf[p]!)
      if (y === dest) {
        const t = now - pBirth[p]!
        delivered++
        const w = Math.floor(now / window)
        curveSum[w] = (curveSum[w] ?? 0) + t
        curveCount[w] = (curveCount[w] ?? 0) + 1
        if (now >= o.warmup) {
          sumAfter += t
          countAfter++
        }
        inFlight--
        free.push(p)
        continue
      }
      pEnter[p] = now
      pNext[p] = -1
      if (qTail[y]! >= 0) pNext[qTail[y]!] = p
      else qHead[y] = p
      qTail[y] = p
      if (!serving[y]) {
        serving[y] = 1
        heap.push(Math.max(now, freeAt[y]!), SERVE, y)
      }
    } else {
      const y = subj
      const p = qHead[y]!
      qHead[y] = pNext[p]!
      if (qHead[y] === -1) qTail[y] = -1
      freeAt[y] = now + 1
      send(p, y, now - pEnter[p]!, now)
      if (qHead[y]! >= 0) heap.push(now + 1, SERVE, y)
      else serving[y] = 0
    }
  }
  const windows = Math.ceil(o.duration / window)
  const curve: (number | null)[] = []
  for (let w = 0; w < windows; w++) {
    const c = curveCount[w] ?? 0
    curve.push(c > 0 ? (curveSum[w] ?? 0) / c : null)
  }
  return {
    seed: o.seed,
    meanDeliveryTime: countAfter > 0 ? sumAfter / countAfter : Number.NaN,
    delivered,
    injected,
    dropped,
    curve,
  }
}

function expo(rng: SeededRandom, rate: number): number {
  return -Math.log(1 - rng.next()) / rate
}
