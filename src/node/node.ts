/**
 * The node: one plain typed object assembled explicitly in dependency order
 * (lock → db → datastore → peer score → libp2p host → wire protocols →
 * discovery → control API). `start()` and `stop()` are idempotent; a
 * half-finished start is undone; `stop()` runs in reverse: stop intake
 * (control API, wire handlers), drain, stop discovery and libp2p, close the
 * datastore, close the database last, release the lock.
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import type { Clock, Logger } from '../common/index.ts'
import { SwarmdError, silentLogger, systemClock, UserError } from '../common/index.ts'
import { CARD_NAMESPACE, cardSelector, cardValidator } from './agent-card.ts'
import { applyOverrides, type ConfigOverrides, type NodeConfig } from './config.ts'
import { ControlServer, RawResponse } from './control.ts'
import { Db, KV_PREFIXES, type LevelKv } from './db.ts'
import { Discovery } from './discovery.ts'
import { createHost, type Host } from './host.ts'
import { createNodeMetrics, type NodeMetrics } from './metrics.ts'
import { createPeerScore, type PeerScore } from './peer-score.ts'
import { acquireLock, alreadyInUse, type Repo, removeDaemonInfo, writeDaemonInfo } from './repo.ts'
import { SWARMD_VERSION } from './version.ts'
import { PeerCachedDatastore } from './datastore.ts'
import { Wire } from './wire/wire.ts'

/** The node's own wire protocol: `node.info` request → `node.info` reply (JSON). */
export const NODE_PROTOCOL = '/swarmd/node/1.0.0'

export interface NodeStatus {
  peerId: string
  addresses: string[]
  peers: number
  uptimeMs: number
  version: string
  dht: { routingTableSize: number; mode: 'client' | 'server' }
  capabilities: string[]
}

export interface PeerSummary {
  peerId: string
  addresses: string[]
}

export interface SwarmNodeInit {
  repo: Repo
  /** Per-run config overrides by dotted path (CLI flags); not written to config.json. */
  overrides?: ConfigOverrides
  logger?: Logger
  clock?: Clock
  /** Collect process metrics (one node per process). @default true */
  processMetrics?: boolean
  /** Write `<repo>/daemon.json` when ready (the CLI daemon does). @default true */
  writeDaemonInfo?: boolean
  /**
   * Subsystem services (routing, agents, E2E, market, reputation), started in
   * this order once the host, wire and discovery are up and before the control
   * API opens; stopped in reverse before them. @default [] (the daemon passes
   * `defaultServices()` from `services.ts`)
   */
  services?: NodeService[]
}

/**
 * A subsystem plugged into the node. `start` may register wire handlers,
 * control routes (`node.control.route`), pubsub topics and timers; `stop`
 * stops intake, drains and persists. Both must be idempotent.
 */
export interface NodeService {
  readonly name: string
  start(node: SwarmNode): Promise<void>
  stop(): Promise<void>
}

export class SwarmNode {
  readonly repo: Repo
  readonly config: NodeConfig
  readonly peerId: string
  readonly logger: Logger
  readonly clock: Clock
  readonly metrics: NodeMetrics
  readonly peerScore: PeerScore
  /** The control API; routes may be added before `start()`. */
  readonly control: ControlServer
  private readonly init: SwarmNodeInit
  private db: Db | undefined
  private datastore: PeerCachedDatastore | undefined
  private host: Host | undefined
  private wireService: Wire | undefined
  private discoveryService: Discovery | undefined
  private undo: (() => Promise<void> | void)[] = []
  private startedAt = 0
  private state: 'stopped' | 'starting' | 'started' | 'stopping' = 'stopped'
  private startPromise: Promise<void> | undefined
  private stopPromise: Promise<void> | undefined
  private readonly readyHooks: ((node: SwarmNode) => Promise<void> | void)[] = []
  private readonly services: NodeService[]

  constructor(init: SwarmNodeInit) {
    this.init = init
    this.repo = init.repo
    this.config = applyOverrides(init.repo.config, init.overrides ?? {})
    this.peerId = init.repo.peerId
    this.logger = init.logger ?? silentLogger
    this.clock = init.clock ?? systemClock
    this.metrics = createNodeMetrics()
    this.peerScore = createPeerScore(this.clock, this.config.peerScore)
    this.control = new ControlServer(init.repo.token, { logger: this.logger, metrics: this.metrics })
    this.services = [...(init.services ?? [])]
    this.bootstrapPeers = this.config.bootstrap.map((a) => {
      const addr = multiaddr(a)
      return { addr, id: addr.getComponents().find((c) => c.name === 'p2p')?.value ?? '' }
    })
    this.registerControlRoutes()
  }

  /** A started service by name (for services that use each other, e.g. the market uses routing). */
  service<T extends NodeService>(name: string): T | undefined {
    return this.services.find((s) => s.name === name) as T | undefined
  }

  // ------------------------------------------------------------ extension points

  /** The node's LevelDB root (`KvStore`); take `kv.sublevel('<prefix>')` from the registry. */
  get kv(): LevelKv {
    return this.need(this.db, 'kv').kv
  }
  /** The libp2p host (escape hatch). */
  get libp2p(): Host {
    return this.need(this.host, 'libp2p')
  }
  /** Gossipsub. */
  get pubsub(): Host['services']['pubsub'] {
    return this.libp2p.services.pubsub
  }
  /** Signed-envelope request/response and one-way messaging. */
  get wire(): Wire {
    return this.need(this.wireService, 'wire')
  }
  /** Capability provider records and agent cards in the DHT. */
  get discovery(): Discovery {
    return this.need(this.discoveryService, 'discovery')
  }
  get started(): boolean {
    return this.state === 'started'
  }

  /** Run `fn` once the node is started (before daemon.json is written): where subsystems plug in. */
  onReady(fn: (node: SwarmNode) => Promise<void> | void): void {
    this.readyHooks.push(fn)
  }

  private need<T>(v: T | undefined, name: string): T {
    if (v === undefined)
      throw new SwarmdError('NODE_NOT_STARTED', `node.${name} is available once the node started`)
    return v
  }

  // ------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.state === 'started') return
    if (this.startPromise) return this.startPromise
    if (this.stopPromise) await this.stopPromise
    this.state = 'starting'
    this.startPromise = this.doStart()
      .then(() => {
        this.state = 'started'
      })
      .catch(async (err: unknown) => {
        this.logger.error('start failed, undoing', { error: err })
        await this.runUndo()
        this.state = 'stopped'
        throw err
      })
      .finally(() => {
        this.startPromise = undefined
      })
    return this.startPromise
  }

  private async doStart(): Promise<void> {
    const log = this.logger.forComponent('swarmd:node')
    const { paths } = this.repo
    const release = acquireLock(this.repo.root)
    this.undo.push(release)

    const db = await Db.open(paths.db, { inUse: () => alreadyInUse(this.repo.root) })
    this.db = db
    this.undo.push(async () => {
      await db.close()
      this.db = undefined
    })

    const datastore = new PeerCachedDatastore(paths.datastore)
    try {
      await datastore.open()
    } catch (err) {
      throw new SwarmdError(
        'DATASTORE_OPEN_FAILED',
        `cannot open ${paths.datastore}: ${(err as Error).message}`,
      )
    }
    this.datastore = datastore
    this.undo.push(async () => {
      await datastore.close()
      this.datastore = undefined
    })

    const host = await createHost({
      config: this.config,
      privateKey: this.repo.privateKey,
      datastore,
      registry: this.metrics.registry,
      processMetrics: this.init.processMetrics ?? true,
      validators: { [CARD_NAMESPACE]: cardValidator(this.clock) },
      selectors: { [CARD_NAMESPACE]: cardSelector(this.clock) },
      denyPeer: (id) => this.peerScore.isBanned(id),
    })
    this.peerScore.onBan((id, reason) => {
      this.metrics.peerBansTotal.inc()
      log.warn('peer banned', { peer: id, reason })
      Promise.resolve(host.hangUp(peerIdFromString(id))).catch(() => {})
    })
    try {
      await host.start()
    } catch (err) {
      await Promise.resolve(host.stop()).catch(() => {})
      throw listenError(err, this.config.listen)
    }
    this.host = host
    this.undo.push(async () => {
      await host.stop()
      this.host = undefined
    })

    const raw = this.repo.privateKey.raw
    const wire = new Wire(
      {
        libp2p: host,
        signer: { secretKey: raw.subarray(0, 32), publicKey: this.repo.privateKey.publicKey.raw },
        clock: this.clock,
        peerScore: this.peerScore,
        logger: this.logger,
        metrics: this.metrics,
      },
      this.config.wire,
    )
    this.wireService = wire
    this.undo.push(async () => {
      await wire.stop()
      this.wireService = undefined
    })
    await wire.handle(NODE_PROTOCOL, () => ({ type: 'node.info', payload: this.infoPayload() }), {
      types: ['node.info'],
    })

    const discovery = new Discovery(
      {
        libp2p: host,
        dht: host.services.dht,
        kv: db.kv.sublevel(KV_PREFIXES.capabilities),
        clock: this.clock,
        logger: this.logger,
        metrics: this.metrics,
      },
      this.config.dht,
    )
    await discovery.start()
    this.discoveryService = discovery
    this.undo.push(async () => {
      await discovery.stop()
      this.discoveryService = undefined
    })

    void this.reconnectKnownPeers()
    // A bootstrap dial that failed (a busy or restarting peer) is not retried by libp2p:
    // keep redialling bootstrap and known peers while the node has too few peers.
    const keeper = setInterval(() => void this.keepPeers(), this.config.connections.redialIntervalMs)
    keeper.unref()
    this.undo.push(() => clearInterval(keeper))
    this.startedAt = this.clock.now()

    for (const service of this.services) {
      try {
        await service.start(this)
      } catch (err) {
        await Promise.resolve(service.stop()).catch(() => {})
        throw new SwarmdError(
          'SERVICE_START_FAILED',
          `${service.name} failed to start: ${(err as Error).message}`,
          {
            cause: err,
          },
        )
      }
      this.undo.push(() => service.stop())
      log.debug('service started', { service: service.name })
    }

    for (const hook of this.readyHooks) await hook(this)

    const apiPort = await this.control.start(this.config.api.port)
    this.undo.push(() => this.control.stop())

    if (this.init.writeDaemonInfo ?? true) {
      writeDaemonInfo(this.repo.root, {
        pid: process.pid,
        apiPort,
        peerId: this.peerId,
        addresses: this.addresses(),
        startedAt: this.startedAt,
        version: SWARMD_VERSION,
      })
      this.undo.push(() => removeDaemonInfo(this.repo.root))
    }
    log.info('node ready', { peerId: this.peerId, apiPort, addresses: this.addresses() })
  }

  private keeping = false
  /** `config.bootstrap`, parsed once (validated by the config parser: each ends in /p2p/<id>). */
  private readonly bootstrapPeers: { addr: Multiaddr; id: string }[]

  /** Redial bootstrap peers, then known peers, while fewer than `connections.minPeers` are connected. */
  private async keepPeers(): Promise<void> {
    const host = this.host
    if (!host || this.keeping || this.state !== 'started') return
    if (host.getPeers().length >= this.config.connections.minPeers) return
    this.keeping = true
    try {
      const connected = new Set(host.getPeers().map((p) => p.toString()))
      const missing = this.bootstrapPeers.filter((b) => !connected.has(b.id) && b.id !== this.peerId)
      await Promise.allSettled(missing.map((b) => host.dial(b.addr, { signal: AbortSignal.timeout(5000) })))
      if (host.getPeers().length < this.config.connections.minPeers) await this.reconnectKnownPeers()
    } finally {
      this.keeping = false
    }
  }

  private async reconnectKnownPeers(): Promise<void> {
    const host = this.host
    if (!host) return
    try {
      const peers = await host.peerStore.all()
      const known = peers.filter((p) => p.addresses.length > 0 && !p.id.equals(host.peerId)).slice(0, 32)
      await Promise.allSettled(known.map((p) => host.dial(p.id, { signal: AbortSignal.timeout(5000) })))
    } catch {
      // best effort
    }
  }

  async stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise
    if (this.startPromise) await this.startPromise.catch(() => {})
    if (this.state !== 'started') return
    this.state = 'stopping'
    this.stopPromise = this.runUndo().finally(() => {
      this.state = 'stopped'
      this.stopPromise = undefined
    })
    return this.stopPromise
  }

  private async runUndo(): Promise<void> {
    const steps = this.undo.reverse()
    this.undo = []
    for (const step of steps) {
      try {
        await step()
      } catch (err) {
        this.logger.error('shutdown step failed', { error: err })
      }
    }
  }

  // ------------------------------------------------------------ reporting

  addresses(): string[] {
    return this.host ? this.host.getMultiaddrs().map((a) => a.toString()) : []
  }

  peers(): PeerSummary[] {
    const host = this.libp2p
    const byPeer = new Map<string, Set<string>>()
    for (const c of host.getConnections()) {
      const id = c.remotePeer.toString()
      const set = byPeer.get(id) ?? new Set<string>()
      set.add(c.remoteAddr.toString())
      byPeer.set(id, set)
    }
    return [...byPeer]
      .map(([peerId, addrs]) => ({ peerId, addresses: [...addrs] }))
      .sort((a, b) => a.peerId.localeCompare(b.peerId))
  }

  status(): NodeStatus {
    const host = this.libp2p
    return {
      peerId: this.peerId,
      addresses: this.addresses(),
      peers: host.getPeers().length,
      uptimeMs: this.clock.now() - this.startedAt,
      version: SWARMD_VERSION,
      dht: { routingTableSize: this.discovery.routingTableSize(), mode: host.services.dht.getMode() },
      capabilities: this.discovery.list(),
    }
  }

  private infoPayload(): Uint8Array {
    return new TextEncoder().encode(
      JSON.stringify({
        peerId: this.peerId,
        version: SWARMD_VERSION,
        capabilities: this.discoveryService?.list() ?? [],
      }),
    )
  }

  /** Dial a multiaddr (must include `/p2p/<id>`) or a known peer id. */
  async connect(target: string, signal?: AbortSignal): Promise<PeerSummary> {
    let dialTarget: PeerId | ReturnType<typeof multiaddr>
    if (target.startsWith('/')) {
      try {
        dialTarget = multiaddr(target)
      } catch (err) {
        throw new UserError(`invalid multiaddr ${JSON.stringify(target)}: ${(err as Error).message}`)
      }
    } else {
      try {
        dialTarget = peerIdFromString(target)
      } catch {
        throw new UserError(`${JSON.stringify(target)} is neither a multiaddr nor a peer id`)
      }
    }
    const timeout = AbortSignal.timeout(this.config.wire.requestTimeoutMs)
    try {
      const conn = await this.libp2p.dial(dialTarget, {
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      })
      return { peerId: conn.remotePeer.toString(), addresses: [conn.remoteAddr.toString()] }
    } catch (err) {
      throw new SwarmdError('DIAL_FAILED', `could not connect to ${target}: ${(err as Error).message}`)
    }
  }

  // ------------------------------------------------------------ control routes

  private registerControlRoutes(): void {
    const c = this.control
    const name = (body: unknown): string => {
      const n = (body as { name?: unknown } | undefined)?.name
      if (typeof n !== 'string') throw new UserError('body must be {"name": "<capability>"}')
      return n
    }
    c.route('GET', '/v1/id', () => ({ peerId: this.peerId, addresses: this.addresses() }))
    c.route('GET', '/v1/status', () => this.status())
    c.route('GET', '/v1/peers', () => ({ peers: this.peers() }))
    c.route('GET', '/v1/peer-scores', () => ({ peers: this.peerScore.list() }))
    c.route('POST', '/v1/connect', async (req) => {
      const ma = (req.body as { multiaddr?: unknown } | undefined)?.multiaddr
      if (typeof ma !== 'string') throw new UserError('body must be {"multiaddr": "/ip4/.../p2p/..."}')
      return this.connect(ma, req.signal)
    })
    c.route('GET', '/v1/caps', () => ({ capabilities: this.discovery.list() }))
    c.route('POST', '/v1/caps/provide', async (req) => {
      const n = name(req.body)
      const peers = await this.discovery.provide(n, { signal: req.signal })
      return { capability: n, provided: true, announcedTo: peers }
    })
    c.route('POST', '/v1/caps/withdraw', async (req) => {
      const n = name(req.body)
      const was = await this.discovery.withdraw(n)
      return { capability: n, withdrawn: was }
    })
    c.route('GET', '/v1/caps/find', async (req) => {
      const n = req.query.get('name')
      if (!n) throw new UserError('missing ?name=<capability>')
      const timeout = req.query.get('timeout')
      const limit = req.query.get('limit')
      const all = req.query.get('all')
      const t0 = performance.now()
      const providers = await this.discovery.find(n, {
        signal: req.signal,
        ...(timeout ? { timeoutMs: positiveInt(timeout, 'timeout') } : {}),
        ...(limit ? { limit: positiveInt(limit, 'limit') } : {}),
        ...(all === 'true' || all === '1' ? { settleMs: Number.POSITIVE_INFINITY } : {}),
      })
      return { capability: n, providers, elapsedMs: Math.round(performance.now() - t0) }
    })
    c.route(
      'GET',
      '/metrics',
      async () => new RawResponse(await this.metrics.text(), this.metrics.registry.contentType),
    )
  }
}

function positiveInt(s: string, name: string): number {
  const n = Number(s)
  if (!Number.isInteger(n) || n <= 0)
    throw new UserError(`${name} must be a positive integer, got ${JSON.stringify(s)}`)
  return n
}

function listenError(err: unknown, listen: string[]): SwarmdError {
  const msg = (err as Error).message ?? String(err)
  if (/EADDRINUSE|address already in use/i.test(msg)) {
    return new SwarmdError('LISTEN_FAILED', `cannot listen on ${listen.join(', ')}: address already in use`)
  }
  return new SwarmdError('LISTEN_FAILED', `cannot start libp2p on ${listen.join(', ')}: ${msg}`)
}
