/**
 * `RoutingService`: CFP routing as a node service. It keeps the router over
 * the node's connected peers (peer:connect / peer:disconnect), with the
 * capabilities this node provides as local destinations; serves
 * `/swarmd/route/1.0.0` on the wire; subscribes to the flooding baseline's
 * gossipsub topics of the capabilities it provides; persists the table in
 * the `route/` sublevel (periodically and at stop, restored at start); and
 * adds the control routes behind `swarmd route table|explain|probe`.
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { nodeKeyOf } from '../wire/envelope.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { cryptoRandom, type Logger, type Random, SwarmdError, UserError } from '../../common/index.ts'
import { createRouter, loadRouter, type Router, saveRouter } from '../../routing/index.ts'
import type { NodeConfig } from '../config.ts'
import { KV_PREFIXES } from '../db.ts'
import { checkCapabilityName } from '../discovery.ts'
import type { NodeService, SwarmNode } from '../node.ts'
import {
  type DeliveredCfp,
  floodTopicOf,
  RouteEngine,
  type RouteOutcome,
  type RouteTransport,
} from './engine.ts'
import {
  decodeEstimate,
  encodeAck,
  encodeEstimate,
  encodeQuery,
  MAX_ROUTE_MESSAGE_BYTES,
  ROUTE_PROTOCOL,
  ROUTE_TYPES,
} from './messages.ts'
import { FloodMesh } from './flood-mesh.ts'
import { routeMetrics } from './metrics.ts'
import { type ProbeResult, summariseProbe } from './probe.ts'
import { type CfpTrace, TraceStore } from './trace.ts'

export const ROUTING_SERVICE = 'routing'
/**
 * Q (ms) of a neighbour never measured. With the DHT fallback it is
 * pessimistic, so measured routes win and the unknown triggers a lookup;
 * without it, 0 (optimistic), so every neighbour gets tried once.
 */
export const INITIAL_Q_MS = 1000
/** Target (ms) of a failed trip when nothing larger is known. */
export const FAILURE_Q_MS = 1000
const FIND_TIMEOUT_MS = 5000
/** A neighbour disconnected this long leaves the routing table. */
const NEIGHBOUR_GRACE_MS = 30_000
const SEND_TIMEOUT_MS = 5000
/** How long a flood waits for gossipsub to learn the subscriptions of providers it just dialled. */
const SUBSCRIPTIONS_WAIT_MS = 1000
const QUERY_TIMEOUT_MS = 2000

export const floodTopic = floodTopicOf

export interface RoutingServiceInit {
  /** Per-instance overrides of the node's `routing` config (tests, experiments). */
  config?: Partial<NodeConfig['routing']>
  /**
   * Which connected peers are routing neighbours. @default every connected peer.
   * Experiments use it to impose an overlay topology (the DHT connects peers on its own).
   */
  neighbourFilter?: (peerId: string) => boolean
  /** @default cryptoRandom */
  random?: Random
  /** How long the origin waits for an acknowledgement. @default 10_000 */
  ackTimeoutMs?: number
}

export interface TableRow {
  capability: string
  neighbour: string
  q: number
  confidence: number
  visits: number
}

const registered = new WeakSet<SwarmNode>()

export class RoutingService implements NodeService {
  readonly name = ROUTING_SERVICE
  private readonly init: RoutingServiceInit
  private node: SwarmNode | undefined
  private engineRef: RouteEngine | undefined
  private routerRef: Router | undefined
  private tracesRef: TraceStore | undefined
  private cfg: NodeConfig['routing'] | undefined
  private log: Logger | undefined
  private persistTimer: NodeJS.Timeout | undefined
  private topicTimer: NodeJS.Timeout | undefined
  private readonly topics = new Set<string>()
  private mesh: FloodMesh | undefined
  private undo: (() => Promise<void> | void)[] = []

  constructor(init: RoutingServiceInit = {}) {
    this.init = init
  }

  /** The routing engine (`send`, `onDeliver`, `reward`); available once started. */
  get engine(): RouteEngine {
    if (!this.engineRef) throw new SwarmdError('UNAVAILABLE', 'routing is not started')
    return this.engineRef
  }

  get router(): Router {
    if (!this.routerRef) throw new SwarmdError('UNAVAILABLE', 'routing is not started')
    return this.routerRef
  }

  /** Consume CFPs delivered at this node (the market's entry point). */
  onDeliver(fn: (cfp: DeliveredCfp) => void): () => void {
    return this.engine.onDeliver(fn)
  }

  async start(node: SwarmNode): Promise<void> {
    if (this.engineRef) return
    this.node = node
    const cfg = { ...node.config.routing, ...this.init.config }
    this.cfg = cfg
    const log = node.logger.forComponent('swarmd:route')
    this.log = log
    const kv = node.kv.sublevel(KV_PREFIXES.routing)
    const isLocal = (cap: string | number): boolean => node.discovery.list().includes(String(cap))
    const router = createRouter(cfg.router, {
      clock: node.clock,
      random: this.init.random ?? cryptoRandom,
      isLocal,
      confidenceThreshold: cfg.dhtFallback ? cfg.confidenceThreshold : 0,
      epsilon: cfg.exploration,
      maxRows: cfg.tableCap,
      initialQ: cfg.dhtFallback ? INITIAL_Q_MS : 0,
      failurePenalty: FAILURE_Q_MS,
    })
    try {
      if (await loadRouter(kv, router))
        log.info('routing table restored', { entries: router.entries().length })
    } catch (err) {
      log.warn('routing table not restored', { error: err })
    }
    this.routerRef = router
    const traces = new TraceStore(kv.sublevel('t/'), cfg.traceCap, log)
    await traces.load()
    this.tracesRef = traces

    const accept = this.init.neighbourFilter ?? (() => true)
    for (const p of node.libp2p.getPeers()) if (accept(p.toString())) router.addNeighbour(p.toString())
    const onConnect = (e: CustomEvent<PeerId>): void => {
      const id = e.detail.toString()
      if (accept(id)) router.addNeighbour(id)
    }
    // A disconnected neighbour is skipped at once (isConnected) but keeps its
    // table column for a grace period: libp2p often closes and reopens connections.
    const removals = new Map<string, NodeJS.Timeout>()
    const onDisconnect = (e: CustomEvent<PeerId>): void => {
      const id = e.detail.toString()
      clearTimeout(removals.get(id))
      const t = setTimeout(() => {
        removals.delete(id)
        if (node.libp2p.getConnections(e.detail).length === 0) router.removeNeighbour(id)
      }, NEIGHBOUR_GRACE_MS)
      t.unref()
      removals.set(id, t)
    }
    node.libp2p.addEventListener('peer:connect', onConnect)
    node.libp2p.addEventListener('peer:disconnect', onDisconnect)
    this.undo.push(() => {
      node.libp2p.removeEventListener('peer:connect', onConnect)
      node.libp2p.removeEventListener('peer:disconnect', onDisconnect)
      for (const t of removals.values()) clearTimeout(t)
    })

    const engine = new RouteEngine(
      {
        peerId: node.peerId,
        addresses: () => node.addresses(),
        secretKey: node.repo.privateKey.raw.subarray(0, 32),
        router,
        isLocal,
        isConnected: (peer) => {
          try {
            return node.libp2p.getConnections(peerIdFromString(peer)).length > 0
          } catch {
            return false
          }
        },
        transport: this.transport(node),
        clock: node.clock,
        logger: node.logger,
        peerScore: node.peerScore,
        traces,
        metrics: routeMetrics(node.metrics),
      },
      {
        ttl: cfg.ttl,
        dhtFallback: cfg.dhtFallback,
        ...(this.init.ackTimeoutMs ? { ackTimeoutMs: this.init.ackTimeoutMs } : {}),
      },
    )
    this.engineRef = engine

    await node.wire.handle(
      ROUTE_PROTOCOL,
      (env, ctx) => {
        if (env.type === ROUTE_TYPES.QUERY) {
          return {
            type: ROUTE_TYPES.ESTIMATE,
            payload: encodeEstimate(engine.onQuery(env.payload, ctx.peerId)),
          }
        }
        if (env.type === ROUTE_TYPES.CFP) {
          return {
            type: ROUTE_TYPES.ESTIMATE,
            payload: encodeEstimate(engine.onCfp(env.payload, ctx.peerId)),
          }
        }
        engine.onAck(env.payload, ctx.peerId)
        return undefined
      },
      {
        types: [ROUTE_TYPES.CFP, ROUTE_TYPES.ACK],
        maxMessageBytes: MAX_ROUTE_MESSAGE_BYTES,
        maxInboundStreams: 256,
      },
    )
    this.undo.push(() => node.wire.unhandle(ROUTE_PROTOCOL).catch(() => {}))

    // Flooding baseline: providers subscribe to their capabilities' topics.
    const onMessage = (e: CustomEvent<{ type: string; topic: string; data: Uint8Array; from?: PeerId }>) => {
      const m = e.detail
      if (!this.topics.has(m.topic) || m.type !== 'signed' || !m.from) return
      engine.onFlood(m.data, m.from.toString())
    }
    node.pubsub.addEventListener('message', onMessage as unknown as EventListener)
    this.undo.push(() => node.pubsub.removeEventListener('message', onMessage as unknown as EventListener))
    this.mesh = new FloodMesh({
      self: node.peerId,
      subscribers: (topic) => node.pubsub.getSubscribers(topic).length,
      find: (cap) => node.discovery.find(cap, { timeoutMs: FIND_TIMEOUT_MS, limit: 16 }),
      connected: (peer) => node.libp2p.getConnections(peerIdFromString(peer)).length > 0,
      dial: (peer, addrs) => this.connect(node, peer, addrs),
      now: () => node.clock.now(),
      random: this.init.random ?? cryptoRandom,
      log,
    })
    this.syncTopics()
    this.topicTimer = setInterval(() => this.syncTopics(), 1000)
    this.topicTimer.unref()

    this.persistTimer = setInterval(() => {
      saveRouter(kv, router).catch((err: unknown) => log.warn('routing table not saved', { error: err }))
    }, cfg.persistIntervalMs)
    this.persistTimer.unref()
    this.undo.push(async () => {
      clearInterval(this.persistTimer)
      clearInterval(this.topicTimer)
      this.mesh = undefined
      await engine.stop()
      for (const t of this.topics) {
        try {
          node.pubsub.unsubscribe(t)
        } catch {
          // stopping
        }
      }
      this.topics.clear()
      await saveRouter(kv, router).catch((err: unknown) =>
        log.warn('routing table not saved', { error: err }),
      )
    })
    if (!registered.has(node)) {
      registered.add(node)
      this.registerControl(node)
    }
  }

  async stop(): Promise<void> {
    const steps = this.undo.reverse()
    this.undo = []
    for (const s of steps) {
      try {
        await s()
      } catch (err) {
        this.log?.warn('routing stop step failed', { error: err })
      }
    }
    this.engineRef = undefined
    this.routerRef = undefined
    this.tracesRef = undefined
  }

  private syncTopics(): void {
    const node = this.node
    if (!node || !this.engineRef) return
    const caps = node.discovery.list()
    const want = new Set(caps.map(floodTopic))
    for (const t of want) {
      if (this.topics.has(t)) continue
      node.pubsub.subscribe(t)
      this.topics.add(t)
    }
    // Join the other providers' mesh: a flood reaches only subscribers connected to subscribers.
    for (const cap of caps) void this.mesh?.ensure(cap, floodTopic(cap))
    for (const t of [...this.topics]) {
      if (want.has(t)) continue
      node.pubsub.unsubscribe(t)
      this.topics.delete(t)
    }
  }

  /**
   * A peer id, with `addrs` added to the peer store so that it can be dialled
   * (not when already connected: a peer-store merge is a LevelDB read, and
   * every acknowledgement of every CFP came through here).
   */
  private async remember(node: SwarmNode, peer: string, addrs: string[]): Promise<PeerId> {
    const id = peerIdFromString(peer)
    if (node.libp2p.getConnections(id).length > 0) return id
    const mas = addrs.flatMap((a) => {
      try {
        return [multiaddr(a)]
      } catch {
        return []
      }
    })
    if (mas.length > 0) await node.libp2p.peerStore.merge(id, { multiaddrs: mas }).catch(() => {})
    return id
  }

  /** Dial `peer` (at `addrs` if it is new to the peer store) unless already connected. */
  private async connect(node: SwarmNode, peer: string, addrs: string[]): Promise<void> {
    const id = await this.remember(node, peer, addrs)
    if (node.libp2p.getConnections(id).length > 0) return
    await node.libp2p.dial(id, { signal: AbortSignal.timeout(SEND_TIMEOUT_MS) })
  }

  private transport(node: SwarmNode): RouteTransport {
    const remember = (peer: string, addrs: string[]) => this.remember(node, peer, addrs)
    return {
      forward: async (peer, cfp) => {
        const reply = await node.wire.request(
          peer,
          ROUTE_PROTOCOL,
          { type: ROUTE_TYPES.CFP, payload: cfp },
          { timeoutMs: SEND_TIMEOUT_MS },
        )
        if (reply.type !== ROUTE_TYPES.ESTIMATE)
          throw new SwarmdError('ROUTE_BAD_REPLY', `unexpected reply type ${reply.type}`)
        return decodeEstimate(reply.payload)
      },
      query: async (peer, capability, path) => {
        const reply = await node.wire.request(
          peer,
          ROUTE_PROTOCOL,
          { type: ROUTE_TYPES.QUERY, payload: encodeQuery({ capability, path }) },
          { timeoutMs: QUERY_TIMEOUT_MS },
        )
        if (reply.type !== ROUTE_TYPES.ESTIMATE)
          throw new SwarmdError('ROUTE_BAD_REPLY', `unexpected reply type ${reply.type}`)
        return decodeEstimate(reply.payload)
      },
      ack: async (origin, addrs, ack) => {
        const id = await remember(origin, addrs)
        await node.wire.send(
          id,
          ROUTE_PROTOCOL,
          { type: ROUTE_TYPES.ACK, payload: encodeAck(ack) },
          {
            timeoutMs: SEND_TIMEOUT_MS,
          },
        )
      },
      findProviders: async (cap) =>
        (await node.discovery.find(cap, { timeoutMs: FIND_TIMEOUT_MS, limit: 5 })).filter(
          (p) => p.peerId !== node.peerId,
        ),
      connect: (peer, addrs) => this.connect(node, peer, addrs),
      publish: async (cap, cfp) => {
        const topic = floodTopic(cap)
        const mesh = this.mesh
        if (mesh && node.pubsub.getSubscribers(topic).length === 0) {
          // Nobody to publish to yet: dial some providers, and give gossipsub a moment to learn
          // their subscriptions (it exchanges them when its stream to a new peer opens).
          if ((await mesh.ensure(cap, topic)) > 0) {
            const until = Date.now() + SUBSCRIPTIONS_WAIT_MS
            while (node.pubsub.getSubscribers(topic).length === 0 && Date.now() < until)
              await new Promise((r) => setTimeout(r, 20))
          }
        } else void mesh?.ensure(cap, topic) // enough peers: returns at once; else dials more meanwhile
        const res = await node.pubsub.publish(topic, cfp)
        return res.recipients.length
      },
      publicKey: nodeKeyOf,
    }
  }

  // ------------------------------------------------------------ reporting

  /** The routing table (optionally of one capability), best entries first. */
  table(capability?: string): { router: string; neighbours: string[]; entries: TableRow[] } {
    const router = this.router
    const entries = router
      .entries(capability)
      .map((e) => ({
        capability: String(e.dest),
        neighbour: String(e.neighbour),
        q: round(e.q),
        confidence: round(e.confidence),
        visits: e.visits,
      }))
      .sort((a, b) => a.capability.localeCompare(b.capability) || a.q - b.q)
    return { router: router.kind, neighbours: router.neighbours().map(String), entries }
  }

  /** What this node knows of a CFP: its own decisions and, at the origin, the whole path. */
  async explain(cfpId: string): Promise<CfpTrace | undefined> {
    if (!this.tracesRef) throw new SwarmdError('UNAVAILABLE', 'routing is not started')
    return this.tracesRef.get(cfpId)
  }

  /** Send `count` test CFPs one after the other and summarise delivery, latency, hops and messages. */
  async probe(capability: string, count: number, mode?: 'cq' | 'flood'): Promise<ProbeResult> {
    checkCapabilityName(capability)
    const m = mode ?? (this.cfg?.floodBaseline ? 'flood' : 'cq')
    const outcomes: RouteOutcome[] = []
    for (let i = 0; i < count; i++) {
      const payload = new TextEncoder().encode(JSON.stringify({ probe: true, seq: i }))
      outcomes.push(await this.engine.send(capability, payload, { mode: m }))
    }
    return summariseProbe(capability, m, outcomes)
  }

  private registerControl(node: SwarmNode): void {
    const c = node.control
    const self = (): RoutingService => {
      const s = node.service<RoutingService>(ROUTING_SERVICE) ?? this
      if (!s.engineRef) throw new SwarmdError('UNAVAILABLE', 'routing is not started')
      return s
    }
    c.route('GET', '/v1/route/table', (req) => self().table(req.query.get('capability') ?? undefined))
    c.route('GET', '/v1/route/explain', async (req) => {
      const id = req.query.get('cfp')
      if (!id) throw new UserError('missing ?cfp=<CFP id>')
      const t = await self().explain(id)
      if (!t)
        throw new SwarmdError('NOT_FOUND', `no trace of CFP ${id} on this node (never seen, or evicted)`)
      return t
    })
    c.route('POST', '/v1/route/probe', async (req) => {
      const b = (req.body ?? {}) as { capability?: unknown; count?: unknown; mode?: unknown }
      if (typeof b.capability !== 'string')
        throw new UserError('body must be {"capability": "<name>", "count": N}')
      const count = b.count === undefined ? 10 : Number(b.count)
      if (!Number.isInteger(count) || count < 1 || count > 10_000)
        throw new UserError('count must be an integer 1..10000')
      if (b.mode !== undefined && b.mode !== 'cq' && b.mode !== 'flood')
        throw new UserError('mode must be cq or flood')
      return self().probe(b.capability, count, b.mode as 'cq' | 'flood' | undefined)
    })
  }
}

const round = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x)
