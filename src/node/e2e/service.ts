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
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import type { Logger } from '../../common/index.ts'
import { fromHex, SwarmdError, sign, UserError } from '../../common/index.ts'
import {
  type AgentCard,
  type AgentKeys,
  AgentKeyStore,
  agentCardBody,
  encodeEnvelope,
  type Envelope,
  Mailbox,
  newEnvelope,
  open,
  SessionManager,
  seal,
  signAgentCard,
} from '../../e2e/index.ts'
import { KV_PREFIXES } from '../db.ts'
import type { NodeService, SwarmNode } from '../node.ts'
import { CardDirectory } from './cards.ts'
import { ACK, decodeDrained, E2E_PROTOCOL, encodeDrain, MSG } from './codec.ts'
import { Delivery, RejectedError, UnreachableError } from './delivery.ts'
import { DRAIN_DOMAIN, Inbound } from './inbound.ts'
import { type E2EMetrics, e2eMetrics } from './metrics.ts'
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

interface SendCtx {
  from: string
  to: string
  result: { messageId: string; via: 'local' | 'direct' | 'relay' } | undefined
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
  private readonly als = new AsyncLocalStorage<SendCtx>()
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
      send: (to, bytes) => this.transport(ep.agentId, to, bytes),
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

  /** The SessionManager's transport: wrap a frame in an envelope and route it. */
  private async transport(from: string, to: string, body: Uint8Array): Promise<void> {
    const env = newEnvelope({
      id: randomBytes(16),
      to,
      kind: 'session',
      replyTo: from,
      ttl: this.node.config.e2e.hopLimit,
      body,
    })
    const ctx = this.als.getStore()
    if (ctx && ctx.from === from && ctx.to === to) {
      ctx.result = { messageId: env.id, via: await this.route(env) }
      return
    }
    // Frames produced while handling inbound ones (handshake replies): in the background.
    this.route(env).catch((err: unknown) =>
      this.log?.debug('background e2e frame not delivered', { to, error: err }),
    )
  }

  /** Route one envelope to its recipient's node; throws when it cannot be delivered. */
  private async route(env: Envelope, signal?: AbortSignal): Promise<'local' | 'direct' | 'relay'> {
    if (this.agents.has(env.to)) {
      const ack = await this.inbound!.accept(env, 'local', undefined)
      if (ack.status !== ACK.DELIVERED) throw new RejectedError(ack)
      return 'local'
    }
    const bytes = encodeEnvelope(env)
    let card = await this.cards.lookup(env.to)
    if (!card) throw agentNotFound(env.to)
    for (let attempt = 0; ; attempt++) {
      const target = card.body.node ?? ''
      try {
        const { via, ack } = await this.delivery.toNode(target, card.body.addresses ?? [], bytes, signal)
        if (ack.status === ACK.DELIVERED) return via
        throw new RejectedError(ack)
      } catch (err) {
        if (!(err instanceof UnreachableError) || attempt > 0) throw err
        // The agent may have moved or its node changed address: look again once.
        const fresh = await this.cards.lookup(env.to, { fresh: true })
        if (!fresh || fresh.sig === card.sig) throw err
        card = fresh
      }
    }
  }

  /** Run `fn` after the previous send from `from` to `to` finished. */
  private serial<T>(a: LocalAgent, to: string, fn: () => Promise<T>): Promise<T> {
    const prev = a.chains.get(to) ?? Promise.resolve()
    const next = prev.catch(() => {}).then(fn)
    a.chains.set(to, next)
    const done = (): void => {
      if (a.chains.get(to) === next) a.chains.delete(to)
    }
    next.then(done, done)
    return next
  }

  /** Wait for a handshake in flight with `to` to complete; forget it if it does not. */
  private async settleSession(a: LocalAgent, to: string): Promise<void> {
    const end = Date.now() + this.node.config.e2e.deliveryTimeoutMs * 2
    for (;;) {
      const info = a.mgr.sessionInfo(to)
      if (!info || info.open) return
      if (Date.now() > end) {
        a.mgr.close(to)
        return
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  private async sendSession(a: LocalAgent, to: string, payload: Uint8Array): Promise<SendResult> {
    const ctx: SendCtx = { from: a.ep.agentId, to, result: undefined }
    await this.als.run(ctx, () => a.mgr.encrypt(to, payload))
    if (!ctx.result) {
      a.mgr.close(to)
      throw new UnreachableError(`the message to ${to} was queued behind an unfinished handshake`)
    }
    return ctx.result
  }

  /** Send `payload` from local agent `from` to agent `to`, end-to-end encrypted. */
  async send(
    from: string,
    to: string,
    payload: Uint8Array,
    opts: { signal?: AbortSignal } = {},
  ): Promise<SendResult> {
    const t0 = performance.now()
    const res = await this.sendInner(from, to, payload, opts)
    this.metrics?.messages.inc({ direction: 'out', via: res.via })
    this.metrics?.sendSeconds.observe({ via: res.via }, (performance.now() - t0) / 1000)
    return res
  }

  private async sendInner(
    from: string,
    to: string,
    payload: Uint8Array,
    opts: { signal?: AbortSignal } = {},
  ): Promise<SendResult> {
    const a = this.agents.get(from)
    if (!a) throw new UserError(`${from} is not an agent of this node`)
    if (!HEX64.test(to))
      throw new UserError(`invalid agent id ${JSON.stringify(to)} (64 lowercase hex chars)`)
    if (this.agents.has(to)) {
      const messageId = randomBytes(16).toString('hex')
      await this.dispatch({ from, to, messageId, payload, receivedAt: this.node.clock.now(), via: 'local' })
      return { messageId, via: 'local' }
    }
    return this.serial(a, to, async () => {
      opts.signal?.throwIfAborted()
      await this.settleSession(a, to)
      try {
        return await this.sendSession(a, to, payload)
      } catch (first) {
        a.mgr.close(to)
        let err = first
        if (err instanceof RejectedError && /E2E_NO_SESSION|E2E_HANDSHAKE_STATE/.test(err.reason)) {
          // The recipient restarted and lost the session: negotiate a new one, once.
          try {
            return await this.sendSession(a, to, payload)
          } catch (again) {
            a.mgr.close(to)
            err = again
          }
        }
        if (err instanceof RejectedError && err.status === ACK.REJECTED) throw err
        if (isAgentNotFound(err)) throw err
        return this.sendToMailbox(a, to, payload, err)
      }
    })
  }

  private async sendToMailbox(
    a: LocalAgent,
    to: string,
    payload: Uint8Array,
    why: unknown,
  ): Promise<SendResult> {
    const card = await this.cards.lookup(to)
    if (!card) throw agentNotFound(to)
    const env = newEnvelope({
      id: randomBytes(16),
      to,
      kind: 'sealed',
      ttl: this.node.config.e2e.hopLimit,
      body: seal(fromHex(card.body.noiseKey), a.ep.keys, a.card, payload),
    })
    const { stored, refused } = await this.delivery.deposit(
      this.mailbox,
      to,
      env.id,
      encodeEnvelope(env),
      card.body.node,
    )
    this.log?.info('recipient unreachable, message left in mailboxes', {
      to,
      reason: (why as Error)?.message,
      holders: stored,
      refused,
    })
    if (stored.length === 0) {
      throw new SwarmdError(
        'E2E_UNDELIVERABLE',
        `agent ${to} is unreachable and no mailbox took the message: ${refused.join('; ')}`,
      )
    }
    return { messageId: env.id, via: 'mailbox' }
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

function agentNotFound(agentId: string): SwarmdError {
  return new SwarmdError('E2E_AGENT_NOT_FOUND', `no card for agent ${agentId} in the DHT`, {
    action: 'ignore',
  })
}

function isAgentNotFound(err: unknown): boolean {
  return err instanceof SwarmdError && err.code === 'E2E_AGENT_NOT_FOUND'
}
