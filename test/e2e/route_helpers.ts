/** Helpers for the routing e2e suites: 10 real nodes on loopback with an imposed overlay topology. */
import { join } from 'node:path'
import type { NodeConfig } from '../../src/node/config.ts'
import { SwarmNode } from '../../src/node/node.ts'
import { initRepo, openRepo } from '../../src/node/repo.ts'
import { ROUTING_SERVICE, RoutingService } from '../../src/node/routing/index.ts'
import { type Cleanup, LOOPBACK, waitFor } from './node_helpers.ts'

export interface Net {
  nodes: SwarmNode[]
  routing: RoutingService[]
  ids: string[]
  /** Overlay links (undirected), by node index. */
  links: [number, number][]
  /** Stop node i and start it again from its repository (a daemon restart), redialling its links. */
  restart(i: number): Promise<void>
}

/**
 * Start `n` nodes; node i dials its overlay neighbours; each routing service
 * only treats overlay neighbours (and providers it learns from the DHT) as
 * neighbours, since the DHT opens connections of its own.
 */
export async function startNet(
  cleanup: Cleanup,
  dir: string,
  n: number,
  links: [number, number][],
  routing: Partial<NodeConfig['routing']>,
): Promise<Net> {
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const res = await initRepo(join(dir, `n${i}`), { overrides: { ...LOOPBACK, 'dht.kBucketSize': 4 } })
    ids.push(res.peerId)
  }
  const adj = ids.map(() => new Set<string>())
  for (const [a, b] of links) {
    adj[a]!.add(ids[b]!)
    adj[b]!.add(ids[a]!)
  }
  const nodes: SwarmNode[] = []
  const services: RoutingService[] = []
  const make = async (i: number): Promise<void> => {
    const svc = new RoutingService({
      config: routing,
      neighbourFilter: (p) => adj[i]!.has(p),
      ackTimeoutMs: 8000,
    })
    const node = new SwarmNode({
      repo: openRepo(join(dir, `n${i}`)),
      processMetrics: false,
      writeDaemonInfo: false,
      services: [svc],
    })
    await node.start()
    cleanup.push(() => node.stop())
    nodes[i] = node
    services[i] = svc
  }
  for (let i = 0; i < n; i++) await make(i)
  for (const [a, b] of links) await nodes[a]!.connect(nodes[b]!.addresses()[0]!)
  await waitFor(() => nodes.every((nd) => nd.status().dht.routingTableSize >= 1), 30_000)
  await waitFor(() =>
    nodes.every((nd, i) => {
      const r = nd.service<RoutingService>(ROUTING_SERVICE)!.router
      return r.neighbours().length >= adj[i]!.size
    }),
  )
  const restart = async (i: number): Promise<void> => {
    await nodes[i]!.stop()
    await make(i)
    for (const [a, b] of links) {
      if (a === i) await nodes[i]!.connect(nodes[b]!.addresses()[0]!).catch(() => {})
      if (b === i) await nodes[i]!.connect(nodes[a]!.addresses()[0]!).catch(() => {})
    }
  }
  return { nodes, routing: services, ids, links, restart }
}

/** A ring of 10 with a chord 5–8: from 5 to 0 the paths are 5-8-9-0 (3 hops), 5-4-3-2-1-0 and 5-6-7-8-9-0 (5). */
export const RING_WITH_CHORD: [number, number][] = [
  ...Array.from({ length: 10 }, (_, i) => [i, (i + 1) % 10] as [number, number]),
  [5, 8],
]

/**
 * Two disjoint paths from node 5 to node 0: 5-8-0 (2 hops) and 5-4-3-2-1-9-7-6-0 (8 hops).
 * Only nodes 5 and 0 have a choice, so no loop-free walk dead-ends.
 */
export const TWO_PATHS: [number, number][] = [
  [5, 8],
  [8, 0],
  [5, 4],
  [4, 3],
  [3, 2],
  [2, 1],
  [1, 9],
  [9, 7],
  [7, 6],
  [6, 0],
]

/** Provide a capability and make sure at least one peer stored the record (a lone announce is retried). */
export async function provide(node: SwarmNode, capability: string): Promise<void> {
  await waitFor(async () => (await node.discovery.provide(capability).catch(() => 0)) > 0, 30_000, 500)
}
