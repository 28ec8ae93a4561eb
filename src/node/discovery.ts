/**
 * Capability discovery over the Kademlia DHT.
 *
 * A capability name maps to a CID: `CIDv1(raw, sha2-256("swarmd/cap/v1/" + name))`.
 * `provide(name)` stores provider records for that CID on the k closest
 * nodes, remembers the capability under `caps/` in the node's LevelDB so a
 * restart re-provides it, and re-provides every `dht.reprovideIntervalMs`
 * (below the record validity). `withdraw(name)` stops re-providing and drops
 * our local record; copies on other nodes expire after `dht.providerValidityMs`.
 * `find(name)` returns provider peer ids with their addresses.
 *
 * Agent cards (the src/e2e card format, checked by agent-card.ts) are stored
 * with DHT put/get under `/swarmd-card/<agentId>`.
 */
import type { Libp2p } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Clock, KvStore, Logger } from '../common/index.ts'
import { SwarmdError, UserError } from '../common/index.ts'
import { type AgentCard, cardKey, decodeCard, encodeCard, newerCard } from './agent-card.ts'
import type { NodeMetrics } from './metrics.ts'

export const CAPABILITY_PREFIX = 'swarmd/cap/v1/'
const CAP_RE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/

export interface Provider {
  peerId: string
  addresses: string[]
}

export interface FindOptions {
  signal?: AbortSignal
  /** Stop after this many providers. @default 20 */
  limit?: number
  /** @default config dht.queryTimeoutMs */
  timeoutMs?: number
  /**
   * Return this long after the first provider arrived instead of waiting for
   * the whole DHT query (later answers mostly repeat the first: every provider
   * announced to the same k closest nodes). `Infinity` waits for the full query.
   * @default config dht.findSettleMs
   */
  settleMs?: number
}

/** Throws a `UserError` for a name that is not a valid capability. */
export function checkCapabilityName(name: string): void {
  if (!CAP_RE.test(name)) {
    throw new UserError(
      `invalid capability name ${JSON.stringify(name)}: 1..128 chars of letters, digits and . _ : / @ + - (starting with a letter or digit)`,
    )
  }
}

export async function capabilityCid(name: string): Promise<CID> {
  checkCapabilityName(name)
  const digest = await sha256.digest(new TextEncoder().encode(CAPABILITY_PREFIX + name))
  return CID.createV1(raw.code, digest)
}

export interface DiscoveryComponents {
  libp2p: Libp2p
  dht: KadDHT
  /** The `caps/` sublevel. */
  kv: KvStore
  clock: Clock
  logger: Logger
  metrics?: NodeMetrics
}

export interface DiscoveryInit {
  /** @default 10_000 */
  queryTimeoutMs?: number
  /** @default 12 h */
  reprovideIntervalMs?: number
  /** @default 50 */
  findSettleMs?: number
}

export class Discovery {
  private readonly c: DiscoveryComponents
  private readonly queryTimeoutMs: number
  private readonly reprovideIntervalMs: number
  private readonly findSettleMs: number
  private readonly log: Logger
  private readonly caps = new Set<string>()
  /** Provided while no peer answered: announced again when a peer connects. */
  private readonly pending = new Set<string>()
  private pendingTimer: NodeJS.Timeout | undefined
  private readonly onPeerConnect = (): void => {
    if (this.pending.size === 0 || this.pendingTimer || !this.started) return
    this.pendingTimer = setTimeout(() => {
      this.pendingTimer = undefined
      // The peer joins the routing table after identify: wait for it.
      if (this.routingTableSize() === 0) return this.onPeerConnect()
      const names = [...this.pending]
      this.pending.clear()
      for (const name of names) {
        if (!this.caps.has(name)) continue
        this.announce(name, AbortSignal.timeout(this.queryTimeoutMs * 3)).catch((err: unknown) =>
          this.log.warn('announce after connect failed', { capability: name, error: err }),
        )
      }
    }, 1000)
    this.pendingTimer.unref()
  }
  private timer: NodeJS.Timeout | undefined
  private readonly stopController = new AbortController()
  private started = false

  constructor(components: DiscoveryComponents, init: DiscoveryInit = {}) {
    this.c = components
    this.queryTimeoutMs = init.queryTimeoutMs ?? 10_000
    this.reprovideIntervalMs = init.reprovideIntervalMs ?? 12 * 3600_000
    this.findSettleMs = init.findSettleMs ?? 50
    this.log = components.logger.forComponent('swarmd:discovery')
  }

  /** Load the persisted capabilities and re-provide them in the background. */
  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    for await (const [name] of this.c.kv.entries('')) this.caps.add(name)
    this.timer = setInterval(() => void this.reprovideAll(), this.reprovideIntervalMs)
    this.timer.unref()
    this.c.libp2p.addEventListener('peer:connect', this.onPeerConnect)
    if (this.caps.size > 0) void this.reprovideAll()
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    clearInterval(this.timer)
    clearTimeout(this.pendingTimer)
    this.c.libp2p.removeEventListener('peer:connect', this.onPeerConnect)
    this.stopController.abort()
  }

  /** Capabilities this node currently provides. */
  list(): string[] {
    return [...this.caps].sort()
  }

  private async reprovideAll(): Promise<void> {
    for (const name of this.caps) {
      try {
        await this.announce(name, AbortSignal.timeout(this.queryTimeoutMs * 3))
      } catch (err) {
        this.log.warn('re-provide failed', { capability: name, error: err })
      }
    }
  }

  /**
   * Peers in the DHT routing table. kad-dht holds queries until the table has
   * a peer (so that the first self-query fills it), so a lone node must not
   * start one: it would wait for the whole timeout.
   */
  /** Peers in the DHT routing table. */
  routingTableSize(): number {
    return (this.c.dht as KadDHT & { routingTable?: { size: number } }).routingTable?.size ?? 0
  }

  /** Announce to the network; returns how many peers stored the record (0: only local, retried on connect). */
  private async announce(name: string, signal: AbortSignal): Promise<number> {
    if (this.routingTableSize() === 0) {
      this.pending.add(name)
      return 0
    }
    const cid = await capabilityCid(name)
    const all = AbortSignal.any([signal, this.stopController.signal])
    const answered = new Set<string>()
    for await (const ev of this.c.dht.provide(cid, { signal: all })) {
      if (ev.name === 'PEER_RESPONSE') answered.add(ev.from.toString())
    }
    const peers = answered.size
    if (peers === 0) this.pending.add(name)
    this.c.metrics?.discoveryProvideTotal.inc()
    return peers
  }

  /**
   * Advertise a capability for this node; persisted and re-provided until
   * withdrawn. Returns how many peers answered the announcement (0 on a lone
   * node: it is announced again when a peer connects).
   */
  async provide(name: string, opts: { signal?: AbortSignal } = {}): Promise<number> {
    checkCapabilityName(name)
    this.caps.add(name)
    await this.c.kv.put(name, new Uint8Array([1]))
    const signals = [AbortSignal.timeout(this.queryTimeoutMs * 3)]
    if (opts.signal) signals.push(opts.signal)
    try {
      return await this.announce(name, AbortSignal.any(signals))
    } catch (err) {
      // The local record is stored; other nodes get it on the next re-provide.
      this.log.warn('provide did not reach the network', { capability: name, error: err })
      throw new SwarmdError(
        'PROVIDE_FAILED',
        `capability ${name} recorded locally but not announced: ${(err as Error).message}`,
      )
    }
  }

  /** Stop advertising a capability. Returns false when it was not provided. */
  async withdraw(name: string): Promise<boolean> {
    checkCapabilityName(name)
    const had = this.caps.delete(name)
    this.pending.delete(name)
    await this.c.kv.del(name)
    await this.c.dht.cancelReprovide(await capabilityCid(name)).catch((err: unknown) => {
      this.log.debug('cancelReprovide failed', { capability: name, error: err })
    })
    return had
  }

  /** Providers of a capability (up to `limit`), with their addresses. Returns what it found by the timeout. */
  async find(name: string, opts: FindOptions = {}): Promise<Provider[]> {
    const cid = await capabilityCid(name)
    const limit = opts.limit ?? 20
    const settle = new AbortController()
    const signals = [
      AbortSignal.timeout(opts.timeoutMs ?? this.queryTimeoutMs),
      this.stopController.signal,
      settle.signal,
    ]
    if (opts.signal) signals.push(opts.signal)
    const signal = AbortSignal.any(signals)
    const settleMs = opts.settleMs ?? this.findSettleMs
    let settleTimer: NodeJS.Timeout | undefined
    const startSettling = (): void => {
      if (settleTimer === undefined && Number.isFinite(settleMs)) {
        settleTimer = setTimeout(() => settle.abort(), settleMs)
      }
    }
    const found = new Map<string, Provider>()
    const started = performance.now()
    const self = this.c.libp2p.peerId.toString()
    if (this.caps.has(name)) {
      found.set(self, { peerId: self, addresses: this.c.libp2p.getMultiaddrs().map((a) => a.toString()) })
      startSettling()
    }
    try {
      if (found.size < limit && this.routingTableSize() > 0) {
        outer: for await (const ev of this.c.dht.findProviders(cid, { signal })) {
          if (ev.name !== 'PROVIDER') continue
          for (const p of ev.providers) {
            const id = p.id.toString()
            const addresses = [...new Set(p.multiaddrs.map((a) => a.toString()))]
            const prev = found.get(id)
            if (!prev) found.set(id, { peerId: id, addresses })
            else if (prev.addresses.length === 0) prev.addresses = addresses
            if (found.size >= limit) break outer
          }
          if (found.size > 0) startSettling()
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err
    } finally {
      clearTimeout(settleTimer)
    }
    // Fill in addresses we know from the peer store.
    for (const p of found.values()) {
      if (p.addresses.length > 0 || p.peerId === self) continue
      try {
        const peer = await this.c.libp2p.peerStore.get(peerIdFromString(p.peerId))
        p.addresses = [...new Set(peer.addresses.map((a) => a.multiaddr.toString()))]
      } catch {
        // unknown peer: leave empty
      }
    }
    this.c.metrics?.discoveryFindSeconds.observe((performance.now() - started) / 1000)
    return [...found.values()]
  }

  /** Publish a signed agent card (checked locally first). Returns how many peers accepted it. */
  async putCard(card: AgentCard, opts: { signal?: AbortSignal } = {}): Promise<number> {
    const bytes = encodeCard(card)
    decodeCard(bytes, this.c.clock.now(), card.body.agentId)
    if (this.routingTableSize() === 0) {
      throw new SwarmdError('NO_PEERS', 'cannot publish an agent card: no DHT peers yet')
    }
    const signals = [AbortSignal.timeout(this.queryTimeoutMs * 3), this.stopController.signal]
    if (opts.signal) signals.push(opts.signal)
    const stored = new Set<string>()
    try {
      for await (const ev of this.c.dht.put(cardKey(card.body.agentId), bytes, {
        signal: AbortSignal.any(signals),
      })) {
        if (ev.name === 'PEER_RESPONSE') stored.add(ev.from.toString())
      }
      this.c.metrics?.discoveryCardOpsTotal.inc({ op: 'put', result: 'ok' })
    } catch (err) {
      this.c.metrics?.discoveryCardOpsTotal.inc({ op: 'put', result: 'error' })
      throw new SwarmdError('CARD_PUT_FAILED', `could not publish agent card: ${(err as Error).message}`)
    }
    return stored.size
  }

  /** The newest valid card of an agent, or undefined. */
  async getCard(
    agentId: string,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<AgentCard | undefined> {
    const signals = [AbortSignal.timeout(opts.timeoutMs ?? this.queryTimeoutMs), this.stopController.signal]
    if (opts.signal) signals.push(opts.signal)
    let best: AgentCard | undefined
    if (this.routingTableSize() === 0) return undefined
    try {
      for await (const ev of this.c.dht.get(cardKey(agentId), { signal: AbortSignal.any(signals) })) {
        if (ev.name !== 'VALUE') continue
        try {
          const card = decodeCard(ev.value, this.c.clock.now(), agentId)
          if (newerCard(card, best)) best = card
        } catch {
          // an invalid value from a peer: skip it
        }
      }
    } catch (err) {
      const e = err as { name?: string }
      if (e.name !== 'NotFoundError' && e.name !== 'AbortError' && e.name !== 'TimeoutError') {
        this.c.metrics?.discoveryCardOpsTotal.inc({ op: 'get', result: 'error' })
        if (!best) throw err
      }
    }
    this.c.metrics?.discoveryCardOpsTotal.inc({ op: 'get', result: best ? 'ok' : 'missing' })
    return best
  }
}
