/** Build any router by name: the one factory the CLI, the simulator and the daemon use. */
import { CqRouter, type CqRouterInit } from './routers/cq.ts'
import { PqRouter, type PqRouterInit } from './routers/pq.ts'
import { QRouter, type QRouterInit } from './routers/q.ts'
import {
  DhtRouter,
  FloodRouter,
  RandomWalkRouter,
  type ShortestPathInit,
  ShortestPathRouter,
} from './routers/stateless.ts'
import type { Router } from './types.ts'

export const ROUTER_KINDS = [
  'cq',
  'q',
  'pq',
  'full-echo',
  'drq',
  'cdrq',
  'flood',
  'dht',
  'random-walk',
  'shortest-path',
] as const
export type RouterKind = (typeof ROUTER_KINDS)[number]

export type AnyRouterInit = CqRouterInit &
  QRouterInit &
  PqRouterInit &
  Partial<Pick<ShortestPathInit, 'distance' | 'linkCost'>> & { nodes?: number; alpha?: number }

export function isRouterKind(k: string): k is RouterKind {
  return (ROUTER_KINDS as readonly string[]).includes(k)
}

/** Cell fields per entry of a table router (0 for the stateless baselines): sizes the simulator's slab. */
export function tableFields(kind: RouterKind): number {
  switch (kind) {
    case 'q':
    case 'full-echo':
    case 'drq':
      return 2
    case 'cq':
    case 'cdrq':
      return 4
    case 'pq':
      return 5
    default:
      return 0
  }
}

export function createRouter(kind: RouterKind, init: AnyRouterInit): Router {
  switch (kind) {
    case 'cq':
      return new CqRouter(init)
    case 'cdrq':
      return new CqRouter({ ...init, dual: true })
    case 'q':
      return new QRouter(init)
    case 'drq':
      return new QRouter({ ...init, dual: true })
    case 'full-echo':
      return new QRouter({ ...init, fullEcho: true })
    case 'pq':
      return new PqRouter(init)
    case 'flood':
      return new FloodRouter(init)
    case 'dht':
      return new DhtRouter({ ...init, nodes: init.nodes ?? 2 })
    case 'random-walk':
      return new RandomWalkRouter(init)
    case 'shortest-path': {
      if (!init.distance) throw new RangeError('the shortest-path oracle needs a distance function')
      const spInit: ShortestPathInit = { ...init, distance: init.distance }
      return new ShortestPathRouter(spInit)
    }
  }
}
