/**
 * Baselines without a learned table: flooding (the gossip baseline), DHT
 * lookup (a model of a Kademlia provider lookup), random walk and the
 * shortest-path oracle (simulator only). They share the router interface so
 * the simulator, the compliance suite and the CLI treat every router alike;
 * learning calls are no-ops.
 */
import type { Random } from '../../common/index.ts'
import {
  type Choice,
  type Dest,
  type EntryView,
  type Estimate,
  type NeighbourId,
  REASONS,
  type RouteContext,
  type Router,
  type RouterInit,
  type RouterSnapshot,
} from '../types.ts'

abstract class StatelessRouter implements Router {
  abstract readonly kind: string
  protected readonly nbrs: NeighbourId[]
  protected readonly random: Random
  protected readonly isLocal: (dest: Dest) => boolean

  constructor(init: RouterInit) {
    this.nbrs = [...(init.neighbours ?? [])]
    this.random = init.random
    this.isLocal = init.isLocal ?? (() => false)
  }

  abstract choose(dest: Dest, ctx?: RouteContext): Choice

  /** Eligible neighbours (not excluded), in neighbour order. */
  eligible(ctx?: RouteContext): NeighbourId[] {
    const ex = ctx?.exclude
    return ex ? this.nbrs.filter((n) => !ex(n)) : [...this.nbrs]
  }

  protected pickRandom(ctx?: RouteContext): NeighbourId | undefined {
    const ex = ctx?.exclude
    let chosen: NeighbourId | undefined
    let k = 0
    for (const n of this.nbrs) {
      if (ex?.(n)) continue
      k++
      if (this.random.int(k) === 0) chosen = n
    }
    return chosen
  }

  protected local(): Choice {
    return { next: undefined, estimate: 0, confidence: 1, reason: REASONS.LOCAL }
  }

  protected noRoute(): Choice {
    return { next: undefined, estimate: Number.POSITIVE_INFINITY, confidence: 0, reason: REASONS.NO_ROUTE }
  }

  estimate(dest: Dest): Estimate {
    return this.isLocal(dest) ? { value: 0, confidence: 1 } : { value: 0, confidence: 0 }
  }
  feedback(): void {}
  backward(): void {}
  reward(): void {}
  seed(_dest: Dest, via: NeighbourId): void {
    this.addNeighbour(via)
  }
  addNeighbour(n: NeighbourId): void {
    if (!this.nbrs.includes(n)) this.nbrs.push(n)
  }
  removeNeighbour(n: NeighbourId): void {
    const i = this.nbrs.indexOf(n)
    if (i >= 0) this.nbrs.splice(i, 1)
  }
  neighbours(): readonly NeighbourId[] {
    return this.nbrs
  }
  entries(): EntryView[] {
    return []
  }
  snapshot(): RouterSnapshot {
    return { kind: this.kind, version: 1, neighbours: [...this.nbrs], fields: [], rows: [] }
  }
  restore(s: RouterSnapshot): void {
    if (s.version !== 1) throw new RangeError(`unknown routing snapshot version ${String(s.version)}`)
    this.nbrs.length = 0
    for (const n of s.neighbours) if (n !== null) this.nbrs.push(n)
  }
}

/** Flooding: every node forwards a new CFP to all neighbours but the ones it came from. */
export class FloodRouter extends StatelessRouter {
  readonly kind = 'flood'
  choose(dest: Dest, ctx?: RouteContext): Choice {
    if (this.isLocal(dest)) return this.local()
    const all = this.eligible(ctx)
    if (all.length === 0) return this.noRoute()
    return { next: all[0], estimate: 0, confidence: 0, reason: REASONS.FLOOD }
  }
  /** Every neighbour a flooded CFP is sent to. */
  fanout(dest: Dest, ctx?: RouteContext): NeighbourId[] {
    return this.isLocal(dest) ? [] : this.eligible(ctx)
  }
}

/** Random walk: a uniformly random neighbour not yet on the path. */
export class RandomWalkRouter extends StatelessRouter {
  readonly kind = 'random-walk'
  choose(dest: Dest, ctx?: RouteContext): Choice {
    if (this.isLocal(dest)) return this.local()
    const n = this.pickRandom(ctx)
    if (n === undefined) return this.noRoute()
    return { next: n, estimate: 0, confidence: 0, reason: REASONS.RANDOM }
  }
}

export interface DhtLookupModel {
  /** Sequential request rounds of the iterative lookup. */
  rounds: number
  /** Messages of the lookup (α requests + α responses per round). */
  messages: number
}

/**
 * Cost model of a Kademlia provider lookup in a network of `nodes`: about
 * log2(n)/2 sequential rounds (k-buckets resolve more than one bit per round
 * in practice) with α parallel requests each, a request and a response per
 * query. The CFP then goes directly to the provider (one more message).
 */
export function kademliaLookup(nodes: number, alpha = 3): DhtLookupModel {
  const rounds = Math.max(1, Math.ceil(Math.log2(Math.max(2, nodes)) / 2))
  return { rounds, messages: 2 * alpha * rounds }
}

export interface DhtRouterInit extends RouterInit {
  /** Network size used by the cost model. */
  nodes: number
  /** Parallel queries per round. @default 3 */
  alpha?: number
}

/** DHT lookup: each CFP does a provider lookup, then goes straight to the provider. */
export class DhtRouter extends StatelessRouter {
  readonly kind = 'dht'
  readonly model: DhtLookupModel
  constructor(init: DhtRouterInit) {
    super(init)
    this.model = kademliaLookup(init.nodes, init.alpha)
  }
  choose(dest: Dest): Choice {
    if (this.isLocal(dest)) return this.local()
    return { next: undefined, estimate: 0, confidence: 0, reason: REASONS.DHT_LOOKUP }
  }
}

export interface ShortestPathInit extends RouterInit {
  /** Cost of the cheapest path from neighbour `n` to `dest` (the oracle's global knowledge). */
  distance: (n: NeighbourId, dest: Dest) => number
  /** Cost of the link to `n`. @default 1 */
  linkCost?: (n: NeighbourId) => number
}

/** Shortest-path oracle: a random neighbour among those on a cheapest path (simulator only). */
export class ShortestPathRouter extends StatelessRouter {
  readonly kind = 'shortest-path'
  private readonly distance: ShortestPathInit['distance']
  private readonly linkCost: (n: NeighbourId) => number

  constructor(init: ShortestPathInit) {
    super(init)
    this.distance = init.distance
    this.linkCost = init.linkCost ?? (() => 1)
  }

  choose(dest: Dest, ctx?: RouteContext): Choice {
    if (this.isLocal(dest)) return this.local()
    const ex = ctx?.exclude
    let best: NeighbourId | undefined
    let bestCost = Number.POSITIVE_INFINITY
    let ties = 0
    for (const n of this.nbrs) {
      if (ex?.(n)) continue
      const cost = this.linkCost(n) + this.distance(n, dest)
      if (cost < bestCost - 1e-9) {
        bestCost = cost
        best = n
        ties = 1
      } else if (cost <= bestCost + 1e-9) {
        ties++
        if (this.random.int(ties) === 0) best = n
      }
    }
    if (best === undefined || !Number.isFinite(bestCost)) return this.noRoute()
    return { next: best, estimate: bestCost, confidence: 1, reason: REASONS.SHORTEST }
  }

  override estimate(dest: Dest): Estimate {
    if (this.isLocal(dest)) return { value: 0, confidence: 1 }
    let best = Number.POSITIVE_INFINITY
    for (const n of this.nbrs) best = Math.min(best, this.linkCost(n) + this.distance(n, dest))
    return { value: best, confidence: 1 }
  }
}
