/**
 * The E2E service: end-to-end encrypted agent messaging in the daemon. It
 * hosts local agents' Noise sessions (one `SessionManager` per agent),
 * publishes their cards to the DHT, and carries e2e envelopes over
 * `/swarmd/e2e/1.0.0`: direct to the recipient's node, through a relay, or —
 * for an offline agent — as a sealed message into mailboxes held by peers.
 * See docs/e2e.md, "Delivery in the daemon".
 *
 * ```ts
 * const e2e = node.service<E2EService>('e2e')!
 * await e2e.registerAgent({ agentId: keys.agentId, keys, capabilities: ['chat'], onMessage: (m) => use(m) })
 * const { messageId, via } = await e2e.send(keys.agentId, otherAgentId, bytes)
 * ```
 */
import type { Logger } from '../../common/index.ts'
import { fromHex, SwarmdError, sign, silentLogger, UserError } from '../../common/index.ts'
import {
  type AgentCard,
  type AgentKeys,
  AgentKeyStore,
  agentCardBody,
  Mailbox,
  open,
  type SessionInfo,
  SessionManager,
  seal,
  signAgentCard,
} from '../../e2e/index.ts'
import { KV_PREFIXES } from '../db.ts'
import type { NodeService, SwarmNode } from '../node.ts'
import { CardDirectory } from './cards.ts'
import { decodeDrained, E2E_PROTOCOL, encodeDrain, MSG } from './codec.ts'
import { Delivery } from './delivery.ts'
import { DRAIN_DOMAIN, Inbound } from './inbound.ts'
import { type E2EMetrics, e2eMetrics } from './metrics.ts'
import { Outbound } from './outbound.ts'
import { registerMsgRoutes } from './routes.ts'
import { loadRepoSecret } from './secret.ts'

export type { Via } from './delivery.ts'

export interface InboundMessage {
  from: string
  to: string
  messageId: string
  payload: Uint8Array
  receivedAt: number
  via: 'local' | 'direct' | 'relay' | 'mailbox'
}

export interface LocalAgentEndpoint {
  agentId: string
  keys: AgentKeys
  capabilities?: string[]
  /** Indicative prices by capability, published in the card. */
  priceHints?: Record<string, number>
  /**
   * Open sessions in the hybrid post-quantum mode (ML-KEM-768 mixed into Noise);
   * also advertised in the card. @default config `e2e.postQuantum` (false)
   */
  postQuantum?: boolean
  onMessage(msg: InboundMessage): void | Promise<void>
}

export interface SendResult {
  messageId: string
  via: 'local' | 'direct' | 'relay' | 'mailbox'
}

export interface E2EServiceInit {
  /** Register the node-owned agent at start (the CLI's default sender). @default true */
  nodeAgent?: boolean
  /**
   * Observe each envelope this node forwards as a relay, exactly as received
   * (monitoring; the tests use it to show a relay sees only ciphertext).
   */
  onRelay?: (envelope: Uint8Array, info: { to: string; id: string; target: string }) => void
}

/** @internal per local agent */
export interface LocalAgent {
  ep: LocalAgentEndpoint
  mgr: SessionManager
  card: AgentCard
  chains: Map<string, Promise<unknown>>
}

const HEX64 = /^[0-9a-f]{64}$/
const NODE_AGENT_KEY = 'node-agent'

export class E2EService implements NodeService {
  readonly name = 'e2e' as const
  private readonly init: E2EServiceInit
  private nodeRef: SwarmNode | undefined
  private log: Logger | undefined
  /** @internal */ readonly agents = new Map<string, LocalAgent>()
  private readonly inboxes = new Map<string, InboundMessage[]>()
  private readonly outbound = new Outbound(this)
  private cardsRef: CardDirectory | undefined
  private deliveryRef: Delivery | undefined
  private mailboxRef: Mailbox | undefined
  private inbound: Inbound | undefined
  private keyStore: AgentKeyStore | undefined
  private nodeAgentId: string | undefined
  private timers: NodeJS.Timeout[] = []
  private pendingPublish = new Set<string>()
  private lastDrain = new Map<string, number>()
  private started = false
  /** @internal */ metrics: E2EMetrics | undefined
  private readonly onConnect = (evt: CustomEvent<{ toString(): string }>): void => {
    const peer = evt.detail.toString()
    setTimeout(() => {
      if (!this.started) return
      void this.drainFromPeer(peer)
      if (this.pendingPublish.size > 0 && !this.publishing) void this.republishPending()
    }, 500).unref()
  }

  constructor(init: E2EServiceInit = {}) {
    this.init = init
  }

  // ------------------------------------------------------------ accessors

  /** @internal */ get node(): SwarmNode {
    if (!this.nodeRef) throw new SwarmdError('E2E_NOT_STARTED', 'the e2e service is not started')
    return this.nodeRef
  }
  /** @internal */ get cards(): CardDirectory {
    if (!this.cardsRef) throw new SwarmdError('E2E_NOT_STARTED', 'the e2e service is not started')
    return this.cardsRef
  }
  /** @internal */ get delivery(): Delivery {
    if (!this.deliveryRef) throw new SwarmdError('E2E_NOT_STARTED', 'the e2e service is not started')
    return this.deliveryRef
  }
  /** @internal */ get mailbox(): Mailbox {
    if (!this.mailboxRef) throw new SwarmdError('E2E_NOT_STARTED', 'the e2e service is not started')
    return this.mailboxRef
  }
  /** @internal */ get inboundHandler(): Inbound {
    if (!this.inbound) throw new SwarmdError('E2E_NOT_STARTED', 'the e2e service is not started')
    return this.inbound
  }
  /** @internal */ get logger(): Logger {
    return this.log ?? silentLogger
  }
  /** @internal */ get relayTap(): E2EServiceInit['onRelay'] {
    return this.init.onRelay
  }
  /** The node-owned agent's id (the CLI's default sender). */
  get nodeAgent(): string | undefined {
    return this.nodeAgentId
  }
  /** The card of a local agent. */
  localCard(agentId: string): AgentCard | undefined {
    return this.agents.get(agentId)?.card
  }

  // ------------------------------------------------------------ lifecycle

  async start(node: SwarmNode): Promise<void> {
    if (this.started) return
    this.nodeRef = node
    const cfg = node.config.e2e
    this.log = node.logger.forComponent('swarmd:e2e')
    this.metrics = e2eMetrics(node.metrics)
    const kv = node.kv.sublevel(KV_PREFIXES.e2e)
    this.keyStore = new AgentKeyStore(kv.sublevel('keys/'), loadRepoSecret(node.repo.root))
    this.mailboxRef = new Mailbox({
      kv: kv.sublevel('mail/'),
      clock: node.clock,
      maxMessagesPerSender: cfg.mailboxMaxPerSender,
      maxBytesPerSender: cfg.mailboxMaxBytesPerSender,
      defaultTtlMs: cfg.mailboxTtlMs,
      maxTtlMs: cfg.mailboxTtlMs,
    })
    // Card lookups made while handling an inbound handshake must end well before the sender's delivery timeout.
    this.cardsRef = new CardDirectory(
      node.discovery,
      node.clock,
      cfg.cardCacheMs,
      Math.max(100, Math.floor(cfg.deliveryTimeoutMs / 2)),
    )
    this.deliveryRef = new Delivery(
      node,
      {
        timeoutMs: cfg.deliveryTimeoutMs,
        maxRelays: cfg.maxRelays,
        mailboxReplicas: cfg.mailboxReplicas,
        mailboxTtlMs: cfg.mailboxTtlMs,
      },
      this.log,
    )
    this.inbound = new Inbound(this, kv.sublevel('seen/'), this.log)
    const inbound = this.inbound
    await node.wire.handle(E2E_PROTOCOL, (env, ctx) => inbound.handle(env, ctx), {
      types: [MSG.DELIVER, MSG.RELAY, MSG.DEPOSIT, MSG.DRAIN],
      maxMessageBytes: Math.max(node.config.wire.maxMessageBytes, 2 * cfg.mailboxMaxBytesPerSender),
    })
    registerMsgRoutes(node.control, this)
    node.libp2p.addEventListener('peer:connect', this.onConnect)
    this.started = true
    const republish = setInterval(() => void this.republish([...this.agents.keys()]), cfg.cardTtlMs / 2)
    const purge = setInterval(() => {
      void this.mailbox.purgeExpired().catch(() => {})
      void inbound.purgeSeen().catch(() => {})
    }, 3600_000)
    // Cards that could not be published yet (no DHT peers): retried until they are.
    const retry = setInterval(() => {
      if (this.pendingPublish.size > 0 && !this.publishing) void this.republishPending()
    }, 2000)
    republish.unref()
    purge.unref()
    retry.unref()
    this.timers.push(republish, purge, retry)
    if (this.init.nodeAgent ?? true) {
      const raw = await kv.get(NODE_AGENT_KEY)
      const keys = await this.keyStore.loadOrCreate(raw ? new TextDecoder().decode(raw) : undefined)
      if (!raw) await kv.put(NODE_AGENT_KEY, new TextEncoder().encode(keys.agentId))
      this.nodeAgentId = keys.agentId
      await this.registerAgent({ agentId: keys.agentId, keys, capabilities: [], onMessage: () => {} })
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    this.nodeRef?.libp2p.removeEventListener('peer:connect', this.onConnect)
    await this.nodeRef?.wire.unhandle(E2E_PROTOCOL).catch(() => {})
    this.agents.clear()
  }

  /** Agent keys sealed in this node's repository (`e2e/keys/`): created on first use. */
  async loadOrCreateKeys(agentId?: string): Promise<AgentKeys> {
    if (!this.keyStore) throw new SwarmdError('E2E_NOT_STARTED', 'the e2e service is not started')
    return this.keyStore.loadOrCreate(agentId)
  }

  // ------------------------------------------------------------ agents

  private postQuantum(ep: LocalAgentEndpoint): boolean {
    return ep.postQuantum ?? this.node.config.e2e.postQuantum
  }

  private async signCard(ep: LocalAgentEndpoint): Promise<AgentCard> {
    const node = this.node
    const kv = node.kv.sublevel(KV_PREFIXES.e2e).sublevel('seq/')
    const prev = await kv.get(ep.agentId)
    const now = node.clock.now()
    const seq = Math.max(prev ? Number(new TextDecoder().decode(prev)) + 1 : 1, 1)
    await kv.put(ep.agentId, new TextEncoder().encode(String(seq)))
    const body = agentCardBody(ep.keys, ep.capabilities ?? [], {
      issuedAt: now,
      expiresAt: now + node.config.e2e.cardTtlMs,
      node: node.peerId,
      addresses: node.addresses(),
      seq,
      ...(ep.priceHints ? { priceHints: ep.priceHints } : {}),
      ...(this.postQuantum(ep) ? { pq: true } : {}),
    })
    return signAgentCard(ep.keys, body)
  }

  private async publish(agentId: string): Promise<void> {
    const a = this.agents.get(agentId)
    if (!a) return
    try {
      const peers = await this.node.discovery.putCard(a.card, {
        signal: AbortSignal.timeout(this.node.config.e2e.deliveryTimeoutMs * 2),
      })
      if (peers > 0) this.pendingPublish.delete(agentId)
      else this.pendingPublish.add(agentId)
    } catch (err) {
      this.pendingPublish.add(agentId)
      this.log?.debug('card not published yet', { agent: agentId, error: err })
    }
  }

  private publishing = false

  private async republishPending(): Promise<void> {
    this.publishing = true
    try {
      for (const id of [...this.pendingPublish]) await this.publish(id)
    } finally {
      this.publishing = false
    }
  }

  private async republish(ids: string[]): Promise<void> {
    for (const id of ids) {
      const a = this.agents.get(id)
      if (!a || !this.started) continue
      a.card = await this.signCard(a.ep)
      this.cards.setLocal(a.card)
      await this.publish(id)
    }
  }

  /**
   * Host an agent: a session manager for it, its signed card published to the
   * DHT, and the mail peers hold for it fetched.
   */
  async registerAgent(ep: LocalAgentEndpoint): Promise<void> {
    if (!this.started) throw new SwarmdError('E2E_NOT_STARTED', 'the e2e service is not started')
    if (ep.keys.agentId !== ep.agentId || !HEX64.test(ep.agentId))
      throw new UserError(`agent id ${ep.agentId} does not match its keys`)
    const card = await this.signCard(ep)
    const mgr = new SessionManager({
      keys: ep.keys,
      card,
      clock: this.node.clock,
      sessionTtlMs: this.node.config.e2e.sessionTtlMs,
      handshakeTimeoutMs: this.node.config.e2e.deliveryTimeoutMs * 4,
      hybrid: this.postQuantum(ep),
      send: (to, bytes) => this.outbound.transport(ep.agentId, to, bytes),
      lookupCard: (id) => this.cards.lookup(id),
    })
    this.agents.set(ep.agentId, { ep, mgr, card, chains: new Map() })
    this.cards.setLocal(card)
    await this.publish(ep.agentId)
    await this.drainLocal(ep.agentId)
    void this.drainFromAll(ep.agentId)
  }

  async unregisterAgent(agentId: string): Promise<void> {
    this.agents.delete(agentId)
    this.cards?.removeLocal(agentId)
    this.pendingPublish.delete(agentId)
  }

  // ------------------------------------------------------------ inbound (from Inbound)

  /** @internal Hand a decrypted message to its agent and remember it for the inbox. */
  async dispatch(msg: InboundMessage): Promise<void> {
    const a = this.agents.get(msg.to)
    if (!a) return
    const box = this.inboxes.get(msg.to) ?? []
    box.push(msg)
    const max = this.node.config.e2e.inboxSize
    if (box.length > max) box.splice(0, box.length - max)
    this.inboxes.set(msg.to, box)
    this.metrics?.messages.inc({ direction: 'in', via: msg.via })
    try {
      await a.ep.onMessage(msg)
    } catch (err) {
      this.log?.warn('agent onMessage failed', { agent: msg.to, error: err })
    }
  }

  /** The session a local agent holds with a peer agent (pattern, hybrid mode, expiry), if any. */
  session(agentId: string, peer: string): SessionInfo | undefined {
    return this.agents.get(agentId)?.mgr.sessionInfo(peer)
  }

  /** Recent messages received by a local agent, newest last. */
  inbox(agentId: string, opts: { limit?: number } = {}): InboundMessage[] {
    const box = this.inboxes.get(agentId) ?? []
    const limit = opts.limit ?? box.length
    return box.slice(Math.max(0, box.length - limit))
  }

  // ------------------------------------------------------------ mailboxes

  private async drainLocal(agentId: string): Promise<void> {
    const items = await this.mailbox.drain(agentId).catch(() => [])
    for (const it of items) await this.inbound?.fromMailbox(it.blob, this.node.peerId)
  }

  private async drainFromAll(agentId: string): Promise<void> {
    const peers = this.node.libp2p.getPeers().map((p) => p.toString())
    await Promise.allSettled(peers.map((p) => this.drainOne(p, agentId)))
  }

  private async drainFromPeer(peer: string): Promise<void> {
    const now = this.node.clock.now()
    if ((this.lastDrain.get(peer) ?? 0) > now - 2000) return
    this.lastDrain.set(peer, now)
    for (const id of [...this.agents.keys()]) await this.drainOne(peer, id).catch(() => {})
  }

  /** Ask `peer` for the mail it holds for a local agent (signed by the agent). */
  private async drainOne(peer: string, agentId: string): Promise<void> {
    const a = this.agents.get(agentId)
    if (!a || peer === this.node.peerId) return
    const timestamp = this.node.clock.now()
    const body = { agentId, holder: peer, timestamp }
    const signature = sign(DRAIN_DOMAIN, body, a.ep.keys.signing.secretKey)
    try {
      const reply = await this.node.wire.request(
        peer,
        E2E_PROTOCOL,
        { type: MSG.DRAIN, payload: encodeDrain({ ...body, signature }) },
        { timeoutMs: this.node.config.e2e.deliveryTimeoutMs, maxMessageBytes: 64 * 1024 * 1024 },
      )
      if (reply.type !== MSG.DRAINED) return
      for (const blob of decodeDrained(reply.payload)) await this.inbound?.fromMailbox(blob, peer)
    } catch (err) {
      this.log?.debug('mailbox drain failed', { peer, agent: agentId, error: err })
    }
  }

  // ------------------------------------------------------------ outbound

  /** Send `payload` from local agent `from` to agent `to`, end-to-end encrypted. */
  async send(
    from: string,
    to: string,
    payload: Uint8Array,
    opts: { signal?: AbortSignal } = {},
  ): Promise<SendResult> {
    const t0 = performance.now()
    const res = await this.outbound.send(from, to, payload, opts)
    this.metrics?.messages.inc({ direction: 'out', via: res.via })
    this.metrics?.sendSeconds.observe({ via: res.via }, (performance.now() - t0) / 1000)
    return res
  }

  // ------------------------------------------------------------ sealed (Noise X)

  /** Seal `payload` from local agent `from` to the card's agent (one-way, e.g. a bid). */
  seal(from: string, toCard: AgentCard, payload: Uint8Array): Uint8Array {
    const a = this.agents.get(from)
    if (!a) throw new UserError(`${from} is not an agent of this node`)
    return seal(fromHex(toCard.body.noiseKey), a.ep.keys, a.card, payload)
  }

  /** Open a message sealed to local agent `to`. Throws `E2eError` on bad input. */
  open(to: string, sealed: Uint8Array): { from: string; payload: Uint8Array } {
    const a = this.agents.get(to)
    if (!a) throw new UserError(`${to} is not an agent of this node`)
    const o = open(a.ep.keys, sealed)
    return { from: o.sender.body.agentId, payload: o.plaintext }
  }
}
