/**
 * The router interface shared by the daemon and the simulator. A destination
 * is a capability name in the network (`Q_x(cap, y)`) or a node id in the
 * classic experiment; a neighbour is a peer id (daemon) or a node index
 * (simulator).
 */
import type { Clock, Random } from '../common/index.ts'

export type Dest = string | number
export type NeighbourId = string | number

/** Why a router chose what it chose (feeds `swarmd route explain`). */
export const REASONS = {
  /** This node hosts the destination: deliver locally. */
  LOCAL: 'local',
  /** Lowest estimate among the eligible neighbours. */
  GREEDY: 'greedy',
  /** A random eligible neighbour (exploration). */
  EXPLORE: 'explore',
  /** Best estimate, but its confidence is below the threshold: the caller should fall back (DHT). */
  LOW_CONFIDENCE: 'low-confidence',
  /** No eligible neighbour (all excluded or none known). */
  NO_ROUTE: 'no-route',
  /** Flooding: send to every eligible neighbour (see `fanout`). */
  FLOOD: 'flood',
  /** Use a DHT provider lookup, then send directly. */
  DHT_LOOKUP: 'dht-lookup',
  /** Random walk step. */
  RANDOM: 'random',
  /** Next hop on a shortest path (oracle). */
  SHORTEST: 'shortest-path',
} as const
export type Reason = (typeof REASONS)[keyof typeof REASONS]

export interface Choice {
  /** Next hop, or undefined when delivering locally / no route / DHT lookup needed. */
  next: NeighbourId | undefined
  /** The estimate of the chosen entry (time to a provider through `next`). */
  estimate: number
  /** Confidence of that estimate in [0, 1]. */
  confidence: number
  reason: Reason
}

export interface Estimate {
  /** min over neighbours of Q(dest, ·); 0 when this node hosts dest. */
  value: number
  confidence: number
}

export interface RouteContext {
  /** Neighbours that must not be chosen (path so far, for loop-free routing). */
  exclude?: (n: NeighbourId) => boolean
  /** Full echo: ask a neighbour for its current estimate (side channel, no congestion). */
  echo?: (n: NeighbourId) => Estimate | undefined
  /** Time the packet waited in this node's queue (full echo updates use it). */
  queueTime?: number
  /** Transmission time to a neighbour (full echo updates use it). @default 1 */
  sendTime?: (n: NeighbourId) => number
}

/** One table entry as shown by `swarmd route table` / `route explain`. */
export interface EntryView {
  dest: Dest
  neighbour: NeighbourId
  q: number
  confidence: number
  visits: number
  /** Routing score actually compared (PQ: max(Q + elapsed·R, B)). */
  score: number
}

export interface RouterSnapshot {
  kind: string
  version: 1
  /** Neighbour per column (null for a free column). */
  neighbours: (NeighbourId | null)[]
  /** dest → per neighbour fields (same order as `fields`). */
  fields: string[]
  rows: { dest: Dest; lastUsed: number; cells: (number[] | null)[] }[]
}

export interface Router {
  readonly kind: string
  /** Pick the next hop for `dest`. */
  choose(dest: Dest, ctx?: RouteContext): Choice
  /** This node's best estimate for `dest`: what a hop returns to the previous hop. */
  estimate(dest: Dest): Estimate
  /**
   * Learning signal: the packet for `dest` sent to `via` waited `q` here, took `s` to transmit,
   * and `via` answered with estimate `t` and confidence `confidence`.
   */
  feedback(dest: Dest, via: NeighbourId, q: number, s: number, t: number, confidence: number): void
  /**
   * Dual (backward) update, DRQ/CDRQ: a packet from `src` arrived from `from`, which sent along its own
   * estimate `t` (and confidence) for `src`. A no-op unless the router was built with `dual: true`.
   */
  backward(src: Dest, from: NeighbourId, q: number, s: number, t: number, confidence: number): void
  /** Final reward: the whole trip via `via` took `total` (or failed). */
  reward(dest: Dest, via: NeighbourId, total: number, success: boolean): void
  /** Seed an entry (a DHT answer: `via` hosts or leads to `dest`). */
  seed(dest: Dest, via: NeighbourId, value: number, confidence: number): void
  addNeighbour(n: NeighbourId): void
  removeNeighbour(n: NeighbourId): void
  neighbours(): readonly NeighbourId[]
  /** Table entries, for `route table` and `route explain`. */
  entries(dest?: Dest): EntryView[]
  snapshot(): RouterSnapshot
  restore(s: RouterSnapshot): void
}

export interface RouterInit {
  clock: Clock
  random: Random
  /** Does this node host `dest`? (a provider answers 0) */
  isLocal?: (dest: Dest) => boolean
  neighbours?: readonly NeighbourId[]
}
