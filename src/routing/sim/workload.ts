/**
 * Capability placement and popularity for the capability workload: each of
 * `caps` capabilities is hosted by `replication` × n random nodes; CFPs ask
 * for a capability drawn uniformly or by Zipf popularity.
 */
import type { SeededRandom } from '../../common/index.ts'

export interface Placement {
  caps: number
  /** providers[c]: the nodes hosting capability c. */
  providers: Int32Array[]
  /** Does node i host capability c? */
  hosts(i: number, c: number): boolean
}

export function placeCapabilities(
  n: number,
  caps: number,
  replication: number,
  rng: SeededRandom,
): Placement {
  const per = Math.max(1, Math.round(replication * n))
  const providers: Int32Array[] = []
  const bits = new Uint8Array(Math.ceil((n * caps) / 8))
  for (let c = 0; c < caps; c++) {
    const chosen = new Set<number>()
    while (chosen.size < Math.min(per, n)) chosen.add(rng.int(n))
    const arr = Int32Array.from(chosen)
    providers.push(arr)
    for (const i of arr) {
      const k = i * caps + c
      bits[k >> 3]! |= 1 << (k & 7)
    }
  }
  return {
    caps,
    providers,
    hosts: (i, c) => {
      const k = i * caps + c
      return (bits[k >> 3]! & (1 << (k & 7))) !== 0
    },
  }
}

/** Draws capability indices: Zipf(s) over ranks 0..caps-1, or uniform. */
export function popularity(
  caps: number,
  kind: 'zipf' | 'uniform',
  s: number,
  rng: SeededRandom,
): () => number {
  if (kind === 'uniform') return () => rng.int(caps)
  const cdf = new Float64Array(caps)
  let sum = 0
  for (let i = 0; i < caps; i++) {
    sum += 1 / (i + 1) ** s
    cdf[i] = sum
  }
  for (let i = 0; i < caps; i++) cdf[i] = cdf[i]! / sum
  return () => {
    const u = rng.next()
    let lo = 0
    let hi = caps - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
