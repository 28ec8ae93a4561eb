/**
 * The CFP routing engine of one node, over narrow injected components (a
 * router, a transport, a clock, peer scoring, traces), so unit tests drive it
 * without libp2p. The node service (`service.ts`) wires it to the real node.
 *
 * Per CFP, at each hop: validate (drop + penalise on bad TTL, loop, forged
 * origin), answer the previous hop at once with this node's estimate, then
 * decide: deliver locally, forward to the router's choice, or — below the
 * confidence threshold or with no route — look providers up in the DHT, seed
 * the table with them and send directly. When the next hop answers, feed its
 * estimate back into the router (q = time spent here, s = half the RTT). The
 * delivering node (or the node where routing stopped) acknowledges straight
 * to the origin with the full list of decisions; the origin rewards its first
 * hop with the time to delivery.
 */
import { randomBytes } from 'node:crypto'
import type { Clock, Logger } from '../../common/index.ts'
import { REASONS, type Router } from '../../routing/index.ts'
import type { PeerScore } from '../peer-score.ts'
import { WireError } from '../wire/envelope.ts'
import {
  type Candidate,
  decodeAck,
  decodeCfp,
  encodeCfp,
  type Hop,
  type RouteAck,
  type RouteCfp,
  type RouteEstimate,
  type RouteQuery,
  decodeQuery,
  MAX_PATH,
  signOrigin,
} from './messages.ts'
import { checkCapabilityName } from '../discovery.ts'
import type { RouteMetrics } from './metrics.ts'
import type { CfpTrace, TraceStore } from './trace.ts'
import { checkCfp, DROP_PENALTY, type DropReason } from './validate.ts'

export interface RouteTransport {
  /** Send a routed CFP to `peer` and return its immediate estimate reply. */
  forward(peer: string, cfp: Uint8Array): Promise<RouteEstimate>
  /** Ask a neighbour for its estimate for `capability` (excluding `path`). */
  query(peer: string, capability: string, path: string[]): Promise<RouteEstimate>
  /** Send an acknowledgement straight to the origin (dialling its addresses if needed). */
  ack(origin: string, addrs: string[], ack: RouteAck): Promise<void>
  /** DHT provider lookup. */
  findProviders(capability: string): Promise<{ peerId: string; addresses: string[] }[]>
  /** Make sure a connection to `peer` exists (addresses from the DHT answer). */
  connect(peer: string, addrs: string[]): Promise<void>
  /** Flooding baseline: publish on the capability's gossipsub topic; returns the peers it went to. */
  publish(capability: string, cfp: Uint8Array): Promise<number>
  /** The Ed25519 public key inside a peer id. */
  publicKey(peerId: string): Uint8Array | undefined
}

/** A CFP handed to local consumers (the market; for now the probe). */
export interface DeliveredCfp {
  cfpId: string
  capability: string
  origin: string
  payload: Uint8Array
  path: string[]
  mode: 'cq' | 'flood'
  receivedAt: number
}

export interface RouteEngineComponents {
  peerId: string
  /** Our own multiaddrs (put in CFPs so acknowledgements can reach us). */
  addresses: () => string[]
  /** 32-byte Ed25519 seed of the node key (signs the CFPs we originate). */
  secretKey: Uint8Array
  router: Router
  /** Does this node provide the capability (deliver here)? */
  isLocal: (capability: string) => boolean
  /** Is there an open connection to this neighbour? (disconnected ones are skipped, their table kept) */
  isConnected: (peer: string) => boolean
  transport: RouteTransport
  clock: Clock
  logger: Logger
  peerScore: Pick<PeerScore, 'penalise'>
  traces: TraceStore
  metrics?: RouteMetrics
}

export interface RouteEngineInit {
  /** TTL of the CFPs we originate. @default 16 */
  ttl?: number
  /** DHT fallback on low confidence / no route. @default true */
  dhtFallback?: boolean
  /** Next hops tried when a send fails or is refused. @default 3 */
  maxAttempts?: number
  /** How long the origin waits for an acknowledgement. @default 10_000 */
  ackTimeoutMs?: number
  /** Table entries kept per decision in traces. @default 3 */
  candidates?: number
  /** Q given to a provider learned from the DHT before any feedback (ms). @default 10 */
  seedEstimateMs?: number
  /** CFPs routed at once; beyond, new ones are refused as `busy` (no penalty). @default 256 */
  maxInflight?: number
  /** Below the confidence threshold, first ask up to this many eligible neighbours for their estimate (0 = never). @default 8 */
  echoFanout?: number
  /** Estimate reported when every neighbour is already on the CFP's path (ms). @default 1000 */
  deadEndMs?: number
}

export interface RouteOutcome {
  cfpId: string
  capability: string
  mode: 'cq' | 'flood'
  delivered: boolean
  latencyMs: number | undefined
  hops: number
  /** Messages this CFP cost: forwards + estimate replies + the acknowledgement (flood: publish recipients + ack). */
  messages: number
  dhtLookups: number
  deliveredBy: string | undefined
  /** The neighbour the origin sent it to (for a later `reward`). */
  firstHop: string | undefined
  error: string | undefined
}

interface Pending {
  capability: string
  createdAt: number
  firstHop: string | undefined
  mode: 'cq' | 'flood'
  publishCost: number
  resolve: (o: RouteOutcome) => void
  timer: NodeJS.Timeout | undefined
}

const FAILED = 'failed'

export class RouteEngine {
  private readonly c: RouteEngineComponents
  private readonly ttl: number
  private readonly dhtFallback: boolean
  private readonly maxAttempts: number
  private readonly ackTimeoutMs: number
  private readonly nCandidates: number
  private readonly seedQ: number
  private readonly deadEndMs: number
  private readonly echoFanout: number
  private readonly maxInflight: number
  private readonly log: Logger
  private readonly pending = new Map<string, Pending>()
  private readonly seen = new Map<string, number>()
  private readonly deliverFns = new Set<(cfp: DeliveredCfp) => void>()
  private readonly inflight = new Set<Promise<void>>()
  private stopped = false

  constructor(components: RouteEngineComponents, init: RouteEngineInit = {}) {
    this.c = components
    this.ttl = init.ttl ?? 16
    this.dhtFallback = init.dhtFallback ?? true
    this.maxAttempts = init.maxAttempts ?? 3
    this.ackTimeoutMs = init.ackTimeoutMs ?? 10_000
    this.nCandidates = init.candidates ?? 3
    this.seedQ = init.seedEstimateMs ?? 10
    this.deadEndMs = init.deadEndMs ?? 1000
    this.echoFanout = init.echoFanout ?? 8
    this.maxInflight = init.maxInflight ?? 256
    this.log = components.logger.forComponent('swarmd:route')
  }

  get router(): Router {
    return this.c.router
  }

  /** Register a consumer of CFPs delivered at this node; returns an unsubscribe function. */
  onDeliver(fn: (cfp: DeliveredCfp) => void): () => void {
    this.deliverFns.add(fn)
    return () => this.deliverFns.delete(fn)
  }

  /** Stop: fail pending CFPs, wait for in-flight forwards (bounded). */
  async stop(drainMs = 2000): Promise<void> {
    this.stopped = true
    for (const [id, p] of this.pending) this.finish(id, p, undefined, 'node stopping')
    if (this.inflight.size > 0)
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise((r) => setTimeout(r, drainMs).unref()),
      ])
  }

  // ------------------------------------------------------------------ origin

  /** Originate a CFP and wait for its acknowledgement (or the timeout). */
  async send(
    capability: string,
    payload: Uint8Array,
    opts: { mode?: 'cq' | 'flood' } = {},
  ): Promise<RouteOutcome> {
    const mode = opts.mode ?? 'cq'
    const now = this.c.clock.now()
    const base = {
      cfpId: randomBytes(16).toString('hex'),
      capability,
      origin: this.c.peerId,
      createdAt: now,
      payload,
    }
    const cfp: RouteCfp = {
      ...base,
      originAddrs: this.c.addresses(),
      originSig: signOrigin(base, this.c.secretKey),
      ttl: this.ttl,
      path: [],
      hopTimes: [],
      hops: [],
      mode,
    }
    const outcome = new Promise<RouteOutcome>((resolve) => {
      const p: Pending = {
        capability,
        createdAt: now,
        firstHop: undefined,
        mode,
        publishCost: 0,
        resolve,
        timer: undefined,
      }
      p.timer = setTimeout(
        () => this.finish(cfp.cfpId, p, undefined, `no acknowledgement within ${this.ackTimeoutMs} ms`),
        this.ackTimeoutMs,
      )
      p.timer.unref()
      this.pending.set(cfp.cfpId, p)
    })
    this.trace(cfp, (t) => {
      t.status = 'pending'
    })
    if (mode === 'flood' && !this.isLocal(capability)) {
      const p = this.pending.get(cfp.cfpId)!
      const hop = this.decide(cfp, '', {
        next: floodTopicOf(capability),
        reason: REASONS.FLOOD,
        estimate: -1,
        confidence: 0,
      })
      const full = { ...cfp, path: [this.c.peerId], hopTimes: [now], hops: [hop] }
      this.c.transport
        .publish(capability, encodeCfp(full))
        .then((n) => {
          p.publishCost = n
          if (n === 0) this.failHere(cfp, now, 'the flood reached no subscriber of the capability topic')
        })
        .catch((err: unknown) => this.failHere(cfp, now, `publish failed: ${(err as Error).message}`))
    } else {
      this.track(this.process(cfp, now, ''))
    }
    return outcome
  }

  /** A final reward from the market (e.g. time to first bid) for a CFP we originated and that was delivered. */
  reward(cfpId: string, capability: string, via: string, totalMs: number, success: boolean): void {
    this.c.router.reward(capability, via, totalMs, success)
    this.log.debug('reward', { cfpId, via, totalMs, success })
  }

  private finish(cfpId: string, p: Pending, ack: RouteAck | undefined, error?: string): void {
    if (this.pending.get(cfpId) !== p) return
    this.pending.delete(cfpId)
    clearTimeout(p.timer)
    const now = this.c.clock.now()
    const delivered = ack?.delivered === true
    const latency = delivered ? Math.max(0, (ack?.at ?? now) - p.createdAt) : undefined
    const hops = ack ? Math.max(0, ack.path.length - 1) : 0
    const dhtLookups = ack ? countLookups(ack.hops) : 0
    const queries = ack ? ack.hops.reduce((a, h) => a + h.queries, 0) : 0
    const messages =
      p.mode === 'flood' ? p.publishCost + (ack ? 1 : 0) : 2 * hops + 2 * queries + (ack && hops > 0 ? 1 : 0)
    const firstHop = p.firstHop ?? ack?.path[1]
    if (firstHop && p.mode === 'cq') {
      const total = delivered ? latency! : now - p.createdAt
      this.c.router.reward(p.capability, firstHop, total, delivered)
    }
    if (delivered) {
      this.c.metrics?.latency.observe({ mode: p.mode }, latency! / 1000)
    }
    const err = error ?? (ack && !ack.delivered ? ack.error || 'not delivered' : undefined)
    this.c.traces.update(
      cfpId,
      () => this.newTrace(cfpId, p.capability, this.c.peerId, p.mode, p.createdAt),
      (t) => {
        t.status = delivered ? 'delivered' : FAILED
        if (ack) {
          t.path = ack.path
          t.hops = ack.hops
          t.deliveredBy = ack.by
        }
        if (latency !== undefined) t.latencyMs = latency
        if (err) t.error = err
      },
    )
    p.resolve({
      cfpId,
      capability: p.capability,
      mode: p.mode,
      delivered,
      latencyMs: latency,
      hops,
      messages,
      dhtLookups,
      deliveredBy: delivered ? ack?.by : undefined,
      firstHop,
      error: delivered ? undefined : err,
    })
  }

  /** Inbound `route.ack` (an acknowledgement of a CFP we originated). */
  onAck(bytes: Uint8Array, sender: string): void {
    let ack: RouteAck
    try {
      ack = decodeAck(bytes)
    } catch (err) {
      this.drop(sender, 'malformed', (err as Error).message)
      return
    }
    this.handleAck(ack, sender)
  }

  private handleAck(ack: RouteAck, sender: string): void {
    const p = this.pending.get(ack.cfpId)
    if (!p) return // late or unknown: ignore
    if (ack.by !== sender || (ack.path.length > 0 && ack.path[0] !== this.c.peerId)) {
      this.drop(sender, 'forged-origin', 'acknowledgement not sent by the node it names')
      return
    }
    this.finish(ack.cfpId, p, ack)
  }

  // ------------------------------------------------------------------ hops

  /**
   * Inbound `route.cfp` from `sender`: validate, answer at once with our
   * estimate, route in the background. Never throws.
   */
  onCfp(bytes: Uint8Array, sender: string): RouteEstimate {
    const refuse = (reason: string): RouteEstimate => ({ accepted: false, value: 0, confidence: 0, reason })
    if (this.stopped) return refuse('stopping')
    let cfp: RouteCfp
    try {
      cfp = decodeCfp(bytes)
    } catch (err) {
      this.drop(sender, 'malformed', err instanceof WireError ? err.message : String(err))
      return refuse('malformed')
    }
    const bad = checkCfp(cfp, {
      self: this.c.peerId,
      sender,
      originKey: (o) => this.c.transport.publicKey(o),
    })
    if (bad) {
      this.drop(sender, bad.reason, bad.detail, cfp)
      return refuse(bad.reason)
    }
    if (this.inflight.size >= this.maxInflight) return refuse('busy')
    if (!this.markSeen(cfp.cfpId)) return refuse('duplicate')
    const now = this.c.clock.now()
    const est = this.estimate(cfp.capability, new Set(cfp.path))
    this.track(this.process(cfp, now, sender))
    return { accepted: true, value: est.value, confidence: est.confidence, reason: '' }
  }

  /** Inbound `route.query`: our estimate for a capability, excluding the given path. Never throws. */
  onQuery(bytes: Uint8Array, sender: string): RouteEstimate {
    const refuse = (reason: string): RouteEstimate => ({ accepted: false, value: 0, confidence: 0, reason })
    let q: RouteQuery
    try {
      q = decodeQuery(bytes)
      checkCapabilityName(q.capability)
      if (q.path.length > MAX_PATH) throw new Error('path too long')
    } catch (err) {
      this.drop(sender, 'malformed', (err as Error).message)
      return refuse('malformed')
    }
    const est = this.estimate(q.capability, new Set([...q.path, sender]))
    return { accepted: true, value: est.value, confidence: est.confidence, reason: '' }
  }

  /** Ask the eligible neighbours for their estimates and learn from the answers; returns how many were asked. */
  private async echo(cap: string, exclude: ReadonlySet<string>, path: string[], q: number): Promise<number> {
    const asked = this.c.router
      .neighbours()
      .map(String)
      .filter((n) => !exclude.has(n) && this.c.isConnected(n))
      .slice(0, this.echoFanout)
    await Promise.all(
      asked.map(async (n) => {
        const t0 = performance.now()
        try {
          const est = await this.c.transport.query(n, cap, path)
          if (est.accepted)
            this.c.router.feedback(cap, n, q, (performance.now() - t0) / 2, est.value, est.confidence)
        } catch {
          // an unreachable neighbour simply does not answer
        }
      }),
    )
    return asked.length
  }

  /** A CFP received from the flooding baseline (gossipsub, signed by `from`). */
  onFlood(bytes: Uint8Array, from: string): void {
    let cfp: RouteCfp
    try {
      cfp = decodeCfp(bytes)
    } catch (err) {
      this.drop(from, 'malformed', (err as Error).message)
      return
    }
    const bad = checkCfp(cfp, {
      self: this.c.peerId,
      sender: from,
      originKey: (o) => this.c.transport.publicKey(o),
    })
    if (bad) {
      this.drop(from, bad.reason, bad.detail, cfp)
      return
    }
    if (!this.isLocal(cfp.capability) || !this.markSeen(cfp.cfpId)) return
    this.track(this.process({ ...cfp, mode: 'flood' }, this.c.clock.now(), from))
  }

  /**
   * Our estimate for the rest of this CFP's trip: the best entry among the
   * neighbours it may still visit (the path is excluded, so a relay never
   * reports a route back through the hop that sent the CFP).
   */
  estimate(capability: string, exclude: ReadonlySet<string>): { value: number; confidence: number } {
    if (this.isLocal(capability)) return { value: 0, confidence: 1 }
    const entries = this.c.router.entries(capability)
    if (entries.length === 0) return this.c.router.estimate(capability)
    let best: { value: number; confidence: number } | undefined
    for (const e of entries) {
      if (exclude.has(String(e.neighbour))) continue
      if (!best || e.q < best.value) best = { value: e.q, confidence: e.confidence }
    }
    return best ?? { value: this.deadEndMs, confidence: 0 }
  }

  private markSeen(cfpId: string): boolean {
    if (this.seen.has(cfpId)) return false
    this.seen.set(cfpId, this.c.clock.now())
    if (this.seen.size > 10_000) {
      const oldest = this.seen.keys().next().value
      if (oldest !== undefined) this.seen.delete(oldest)
    }
    return true
  }

  private drop(sender: string, reason: DropReason, detail: string, cfp?: RouteCfp): void {
    this.c.metrics?.dropped.inc({ reason })
    const score = this.c.peerScore.penalise(sender, DROP_PENALTY[reason], `route-${reason}`)
    this.log.warn('dropped route message', { peer: sender, reason, detail, cfpId: cfp?.cfpId, score })
  }

  private track(p: Promise<void>): void {
    const q = p
      .catch((err: unknown) => this.log.warn('routing failed', { error: err }))
      .finally(() => this.inflight.delete(q))
    this.inflight.add(q)
  }

  private isLocal(cap: string): boolean {
    return this.c.isLocal(cap)
  }

  private candidates(cap: string): Candidate[] {
    return this.c.router
      .entries(cap)
      .sort((a, b) => a.score - b.score)
      .slice(0, this.nCandidates)
      .map((e) => ({
        neighbour: String(e.neighbour),
        q: round(e.q),
        confidence: round(e.confidence),
        visits: e.visits,
      }))
  }

  private newTrace(
    cfpId: string,
    capability: string,
    origin: string,
    mode: 'cq' | 'flood',
    at: number,
  ): CfpTrace {
    return { cfpId, capability, origin, mode, seenAt: at, status: 'relayed', decisions: [] }
  }

  private trace(cfp: RouteCfp, change: (t: CfpTrace) => void): void {
    this.c.traces.update(
      cfp.cfpId,
      () => this.newTrace(cfp.cfpId, cfp.capability, cfp.origin, cfp.mode, this.c.clock.now()),
      change,
    )
  }

  /** Record a decision here; returns it as a hop summary for the message. */
  private decide(
    cfp: RouteCfp,
    from: string,
    choice: { next: string; reason: string; estimate: number; confidence: number },
    note = '',
    queries = 0,
  ): Hop {
    const at = this.c.clock.now()
    const candidates = this.candidates(cfp.capability)
    const estimate = Number.isFinite(choice.estimate) ? round(choice.estimate) : -1
    this.trace(cfp, (t) =>
      t.decisions.push({
        cfpId: cfp.cfpId,
        capability: cfp.capability,
        at,
        from,
        choice: { ...choice, estimate, confidence: round(choice.confidence) },
        candidates,
        note,
      }),
    )
    return {
      peer: this.c.peerId,
      at,
      reason: choice.reason,
      next: choice.next,
      estimate,
      confidence: round(choice.confidence),
      candidates,
      note,
      queries,
    }
  }

  /** Route a CFP that arrived at `receivedAt` from `from` ('' = we are the origin). */
  private async process(cfp: RouteCfp, receivedAt: number, from: string): Promise<void> {
    const cap = cfp.capability
    const self = this.c.peerId
    const router = this.c.router
    if (this.isLocal(cap)) {
      const hop = this.decide(cfp, from, { next: '', reason: REASONS.LOCAL, estimate: 0, confidence: 1 })
      this.deliver(cfp, receivedAt)
      await this.acknowledge(cfp, hop, true, '')
      return
    }
    if (cfp.mode === 'flood') return
    if (from !== '' && cfp.ttl <= 1) {
      const hop = this.decide(cfp, from, { next: '', reason: 'ttl-expired', estimate: -1, confidence: 0 })
      await this.acknowledge(cfp, hop, false, `TTL expired at ${self} after ${cfp.path.length} hops`)
      return
    }
    const exclude = new Set<string>([...cfp.path, self])
    const notes: string[] = []
    let lookedUp = false
    let queries = 0
    for (let attempt = 0; attempt < this.maxAttempts && !this.stopped; attempt++) {
      let choice = router.choose(cap, {
        exclude: (n) => exclude.has(String(n)) || !this.c.isConnected(String(n)),
      })
      if (choice.reason === REASONS.NO_ROUTE) {
        // No connected candidate: a neighbour still in the table may just be reconnecting (dialled on send).
        const any = router.choose(cap, { exclude: (n) => exclude.has(String(n)) })
        if (any.next !== undefined) choice = any
      }
      if (
        choice.reason === REASONS.LOW_CONFIDENCE &&
        this.dhtFallback &&
        this.echoFanout > 0 &&
        queries === 0
      ) {
        queries = await this.echo(cap, exclude, [...cfp.path, self], this.c.clock.now() - receivedAt)
        if (queries > 0) {
          notes.push(`low-confidence: asked ${queries} neighbour(s) for their estimate`)
          choice = router.choose(cap, {
            exclude: (n) => exclude.has(String(n)) || !this.c.isConnected(String(n)),
          })
        }
      }
      let next = choice.next === undefined ? undefined : String(choice.next)
      let reason: string = choice.reason
      let estimate = choice.estimate
      let confidence = choice.confidence
      const weak = choice.reason === REASONS.LOW_CONFIDENCE || choice.reason === REASONS.NO_ROUTE
      if (weak && this.dhtFallback && !lookedUp) {
        lookedUp = true
        this.c.metrics?.dhtFallback.inc()
        const providers = (await this.c.transport.findProviders(cap).catch(() => [])).filter(
          (p) => !exclude.has(p.peerId),
        )
        notes.push(`${choice.reason}: ${DHT_NOTE} ${providers.length} provider(s)`)
        const target = providers[0]
        if (target) {
          for (const p of providers) router.seed(cap, p.peerId, this.seedQ, 1)
          try {
            await this.c.transport.connect(target.peerId, target.addresses)
            next = target.peerId
            reason = REASONS.DHT_LOOKUP
            estimate = this.seedQ
            confidence = 1
          } catch (err) {
            notes.push(`cannot connect to provider ${target.peerId}: ${(err as Error).message}`)
            exclude.add(target.peerId)
          }
        }
      }
      if (next === undefined) {
        const why = choice.reason === REASONS.NO_ROUTE ? 'no eligible neighbour' : 'no route'
        const note = notes.join('; ')
        const hop = this.decide(
          cfp,
          from,
          { next: '', reason: REASONS.NO_ROUTE, estimate: -1, confidence: 0 },
          note,
          queries,
        )
        await this.acknowledge(cfp, hop, false, `${why} at ${self}${note ? ` (${note})` : ''}`)
        return
      }
      const hop = this.decide(cfp, from, { next, reason, estimate, confidence }, notes.join('; '), queries)
      const sentAt = this.c.clock.now()
      const out: RouteCfp = {
        ...cfp,
        ttl: from === '' ? cfp.ttl : cfp.ttl - 1,
        path: [...cfp.path, self],
        hopTimes: [...cfp.hopTimes, sentAt],
        hops: [...cfp.hops, hop],
      }
      if (from === '') {
        const p = this.pending.get(cfp.cfpId)
        if (p) p.firstHop = next
      }
      const t0 = performance.now()
      try {
        const reply = await this.c.transport.forward(next, encodeCfp(out))
        const rtt = performance.now() - t0
        if (reply.accepted) {
          router.feedback(cap, next, Math.max(0, sentAt - receivedAt), rtt / 2, reply.value, reply.confidence)
          this.c.metrics?.forwarded.inc()
          return
        }
        notes.push(`${next} refused: ${reply.reason}`)
        router.reward(cap, next, rtt, false)
      } catch (err) {
        notes.push(`${next} unreachable: ${(err as Error).message}`)
        router.reward(cap, next, performance.now() - t0, false)
      }
      exclude.add(next)
    }
    const hop = this.decide(
      cfp,
      from,
      { next: '', reason: REASONS.NO_ROUTE, estimate: -1, confidence: 0 },
      notes.join('; '),
    )
    await this.acknowledge(
      cfp,
      hop,
      false,
      `gave up at ${self} after ${this.maxAttempts} attempts (${notes.join('; ')})`,
    )
  }

  private failHere(cfp: RouteCfp, at: number, error: string): void {
    const p = this.pending.get(cfp.cfpId)
    if (!p) return
    this.finish(cfp.cfpId, p, {
      cfpId: cfp.cfpId,
      capability: cfp.capability,
      delivered: false,
      by: this.c.peerId,
      path: [this.c.peerId],
      hopTimes: [at],
      hops: [],
      at: this.c.clock.now(),
      error,
      mode: cfp.mode,
      dhtLookups: 0,
    })
  }

  private deliver(cfp: RouteCfp, receivedAt: number): void {
    this.c.metrics?.delivered.inc({ mode: cfp.mode })
    this.trace(cfp, (t) => {
      if (t.status !== 'pending') t.status = 'delivered'
    })
    const d: DeliveredCfp = {
      cfpId: cfp.cfpId,
      capability: cfp.capability,
      origin: cfp.origin,
      payload: cfp.payload,
      path: [...cfp.path, this.c.peerId],
      mode: cfp.mode,
      receivedAt,
    }
    for (const fn of this.deliverFns) {
      try {
        fn(d)
      } catch (err) {
        this.log.warn('deliver listener failed', { error: err })
      }
    }
  }

  private async acknowledge(cfp: RouteCfp, hop: Hop, delivered: boolean, error: string): Promise<void> {
    const now = this.c.clock.now()
    const self = this.c.peerId
    const onPath = cfp.path[cfp.path.length - 1] === self
    const ack: RouteAck = {
      cfpId: cfp.cfpId,
      capability: cfp.capability,
      delivered,
      by: self,
      path: onPath ? cfp.path : [...cfp.path, self],
      hopTimes: onPath ? cfp.hopTimes : [...cfp.hopTimes, now],
      hops: [...cfp.hops, hop],
      at: now,
      error,
      mode: cfp.mode,
      dhtLookups: 0,
    }
    ack.dhtLookups = countLookups(ack.hops)
    if (!delivered) this.trace(cfp, (t) => (t.error = error))
    if (cfp.origin === self) {
      this.handleAck(ack, self)
      return
    }
    try {
      await this.c.transport.ack(cfp.origin, cfp.originAddrs, ack)
    } catch (err) {
      this.log.debug('acknowledgement not sent', { cfpId: cfp.cfpId, origin: cfp.origin, error: err })
    }
  }
}

const DHT_NOTE = 'DHT found'
/** DHT lookups done along a path (each hop notes its lookup). */
const countLookups = (hops: Hop[]): number => hops.filter((h) => h.note.includes(DHT_NOTE)).length
/** The flooding baseline's gossipsub topic of a capability. */
export const floodTopicOf = (capability: string): string => `swarmd/cfp/${capability}/1`

const round = (x: number): number => Math.round(x * 1000) / 1000
