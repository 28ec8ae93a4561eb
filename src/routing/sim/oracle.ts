/** Multi-source Dijkstra: the cheapest time from every node to the nearest provider (per-hop cost = latency + service). */
import type { Graph } from './graph.ts'

export function distancesToSet(g: Graph, sources: ArrayLike<number>, perHop: number): Float64Array {
  const dist = new Float64Array(g.n).fill(Number.POSITIVE_INFINITY)
  // Binary heap of (dist, node) in typed arrays; lazy deletion.
  let hd = new Float64Array(1024)
  let hn = new Int32Array(1024)
  let size = 0
  const push = (d: number, v: number): void => {
    if (size === hd.length) {
      const a = new Float64Array(size * 2)
      a.set(hd)
      hd = a
      const b = new Int32Array(size * 2)
      b.set(hn)
      hn = b
    }
    let i = size++
    while (i > 0) {
      const p = (i - 1) >> 1
      if (hd[p]! <= d) break
      hd[i] = hd[p]!
      hn[i] = hn[p]!
      i = p
    }
    hd[i] = d
    hn[i] = v
  }
  const pop = (): number => {
    const v = hn[0]!
    const d = hd[--size]!
    const x = hn[size]!
    let i = 0
    for (;;) {
      let c = 2 * i + 1
      if (c >= size) break
      if (c + 1 < size && hd[c + 1]! < hd[c]!) c++
      if (hd[c]! >= d) break
      hd[i] = hd[c]!
      hn[i] = hn[c]!
      i = c
    }
    hd[i] = d
    hn[i] = x
    return v
  }
  for (let i = 0; i < sources.length; i++) {
    const s = sources[i]!
    dist[s] = 0
    push(0, s)
  }
  const done = new Uint8Array(g.n)
  while (size > 0) {
    const u = pop()
    if (done[u]) continue
    done[u] = 1
    const du = dist[u]!
    for (let e = g.offsets[u]!; e < g.offsets[u + 1]!; e++) {
      const v = g.targets[e]!
      const nd = du + g.latency[e]! + perHop
      if (nd < dist[v]!) {
        dist[v] = nd
        push(nd, v)
      }
    }
  }
  return dist
}
