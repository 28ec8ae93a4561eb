/**
 * Network topologies as compact adjacency (CSR: `offsets`, `targets`, and a
 * latency per directed edge). Builders: the Boyan–Littman irregular 6×6
 * grid (exact edge list), random regular, Watts–Strogatz small world,
 * Barabási–Albert and an edge-list file.
 */
import type { SeededRandom } from '../../common/index.ts'
import { UserError } from '../../common/index.ts'

export interface Graph {
  n: number
  offsets: Int32Array
  targets: Int32Array
  /** Latency of each directed edge (same index as `targets`). */
  latency: Float64Array
}

/** The irregular 6×6 grid of Boyan & Littman (node = 6·row + col, 50 edges, bridges 20–21 and 32–33). */
export const BOYAN_LITTMAN_EDGES = `
0-1 0-6 1-2 1-7 2-8 3-4 3-9 4-5 4-10 5-11
6-7 6-12 7-8 7-13 8-14 9-10 9-15 10-11 10-16 11-17
12-13 12-18 13-14 13-19 14-20 15-16 15-21 16-17 16-22 17-23
18-19 18-24 19-20 19-25 20-21 20-26 21-22 21-27 22-23 22-28
23-29 24-30 25-26 27-28 29-35 30-31 31-32 32-33 33-34 34-35`

export interface LatencySpec {
  /** Uniform per-link latency in [min, max]. @default 1, 1 */
  min?: number
  max?: number
}

/** Build CSR from undirected edges (duplicates and self-loops are dropped). */
export function fromEdges(
  n: number,
  edges: ArrayLike<number>,
  rng?: SeededRandom,
  lat: LatencySpec = {},
  fixedLatency?: ArrayLike<number>,
): Graph {
  const m = edges.length / 2
  const deg = new Int32Array(n)
  const seen = new Set<number>()
  const keep = new Uint8Array(m)
  for (let e = 0; e < m; e++) {
    const a = edges[2 * e]!
    const b = edges[2 * e + 1]!
    if (a === b) continue
    const key = a < b ? a * n + b : b * n + a
    if (seen.has(key)) continue
    seen.add(key)
    keep[e] = 1
    deg[a]!++
    deg[b]!++
  }
  const offsets = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + deg[i]!
  const targets = new Int32Array(offsets[n]!)
  const latency = new Float64Array(offsets[n]!)
  const fill = offsets.slice(0, n)
  const lo = lat.min ?? 1
  const hi = lat.max ?? lo
  for (let e = 0; e < m; e++) {
    if (!keep[e]) continue
    const a = edges[2 * e]!
    const b = edges[2 * e + 1]!
    const l = fixedLatency ? fixedLatency[e]! : hi > lo && rng ? lo + (hi - lo) * rng.next() : lo
    targets[fill[a]!] = b
    latency[fill[a]!++] = l
    targets[fill[b]!] = a
    latency[fill[b]!++] = l
  }
  return { n, offsets, targets, latency }
}

export function boyanLittman(): Graph {
  const nums = BOYAN_LITTMAN_EDGES.trim()
    .split(/\s+/)
    .flatMap((e) => e.split('-').map(Number))
  return fromEdges(36, nums)
}

/** Approximately k-regular and always connected: the union of k/2 random Hamiltonian cycles. */
export function randomRegular(n: number, k: number, rng: SeededRandom, lat?: LatencySpec): Graph {
  const edges: number[] = []
  const perm = Int32Array.from({ length: n }, (_, i) => i)
  for (let round = 0; round < Math.max(1, Math.floor(k / 2)); round++) {
    shuffle(perm, rng)
    for (let i = 0; i < n; i++) edges.push(perm[i]!, perm[(i + 1) % n]!)
  }
  return fromEdges(n, edges, rng, lat)
}

/**
 * Watts–Strogatz small world: a ring where each node links to its k/2 nearest on each side; every
 * edge except the ring's (i, i+1) backbone is rewired to a random node with probability p (the
 * backbone keeps the graph connected).
 */
export function wattsStrogatz(n: number, k: number, p: number, rng: SeededRandom, lat?: LatencySpec): Graph {
  const half = Math.max(1, Math.floor(k / 2))
  const edges: number[] = []
  for (let i = 0; i < n; i++) {
    for (let j = 1; j <= half; j++) {
      let b = (i + j) % n
      if (j > 1 && rng.next() < p) b = rng.int(n)
      edges.push(i, b)
    }
  }
  return fromEdges(n, edges, rng, lat)
}

/** Barabási–Albert preferential attachment, m links per new node. */
export function barabasiAlbert(n: number, m: number, rng: SeededRandom, lat?: LatencySpec): Graph {
  const edges: number[] = []
  const ends: number[] = []
  const m0 = Math.max(m + 1, 2)
  for (let i = 0; i < m0 && i < n; i++) {
    for (let j = 0; j < i; j++) {
      edges.push(i, j)
      ends.push(i, j)
    }
  }
  for (let i = m0; i < n; i++) {
    const chosen = new Set<number>()
    while (chosen.size < m) chosen.add(ends[rng.int(ends.length)]!)
    for (const t of chosen) {
      edges.push(i, t)
      ends.push(i, t)
    }
  }
  return fromEdges(n, edges, rng, lat)
}

/** Parse an edge list: one `a b [latency]` per line, `#` comments; node ids are 0..n-1. */
export function parseEdgeList(text: string): Graph {
  const edges: number[] = []
  const lats: number[] = []
  let n = 0
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim()
    if (!line) return
    const parts = line.split(/[\s,-]+/)
    const a = Number(parts[0])
    const b = Number(parts[1])
    const l = parts[2] === undefined ? 1 : Number(parts[2])
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || !(l > 0)) {
      throw new UserError(
        `edge list line ${i + 1}: expected 'a b [latency]' with node ids >= 0, got '${raw}'`,
      )
    }
    edges.push(a, b)
    lats.push(l)
    n = Math.max(n, a + 1, b + 1)
  })
  if (n < 2) throw new UserError('edge list has fewer than 2 nodes')
  return fromEdges(n, edges, undefined, {}, lats)
}

export function neighboursOf(g: Graph, i: number): number[] {
  return Array.from(g.targets.subarray(g.offsets[i]!, g.offsets[i + 1]!))
}

export function edgeCount(g: Graph): number {
  return g.targets.length / 2
}

/** Hop distances from every node to `dest` (BFS); -1 when unreachable. */
export function bfsFrom(g: Graph, sources: ArrayLike<number>): Int32Array {
  const dist = new Int32Array(g.n).fill(-1)
  const queue = new Int32Array(g.n)
  let head = 0
  let tail = 0
  for (let i = 0; i < sources.length; i++) {
    const s = sources[i]!
    if (dist[s] === -1) {
      dist[s] = 0
      queue[tail++] = s
    }
  }
  while (head < tail) {
    const u = queue[head++]!
    for (let e = g.offsets[u]!; e < g.offsets[u + 1]!; e++) {
      const v = g.targets[e]!
      if (dist[v] === -1) {
        dist[v] = dist[u]! + 1
        queue[tail++] = v
      }
    }
  }
  return dist
}

export function isConnected(g: Graph): boolean {
  return g.n === 0 || bfsFrom(g, [0]).every((d) => d >= 0)
}

function shuffle(a: Int32Array, rng: SeededRandom): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = a[i]!
    a[i] = a[j]!
    a[j] = t
  }
}
