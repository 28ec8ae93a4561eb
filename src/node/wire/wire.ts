/**
 * Request/response and one-way messaging over libp2p streams, one signed
 * envelope per length-prefixed frame.
 *
 * ```ts
 * await node.wire.handle('/swarmd/route/1.0.0', async (env, ctx) => {
 *   const cfp = decodeCfp(env.payload)            // your protocol's payload
 *   return { type: 'route.estimate', payload: encodeEstimate(...) } // or undefined: no reply
 * }, { types: ['route.cfp'] })
 * const reply = await node.wire.request(peerId, '/swarmd/route/1.0.0', { type: 'route.cfp', payload }, { signal })
 * ```
 *
 * Inbound: each frame is size-limited, decoded defensively and validated
 * (version, type, sender = connected peer, timestamp skew, signature, replay).
 * A bad frame resets the stream (`stream.abort`) and penalises the peer; a
 * handler that throws resets the stream (and penalises when the error says
 * so: `SwarmdError` with `action: 'penalise'`). Nothing throws out of the
 * stream handler.
 */
import { randomBytes } from 'node:crypto'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Clock, Logger } from '../../common/index.ts'
import { isSwarmdError, SwarmdError } from '../../common/index.ts'
import type { NodeMetrics } from '../metrics.ts'
import { PENALTY, type PeerScore } from '../peer-score.ts'
import {
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  nonceGuard,
  type OutboundMessage,
  type Signer,
  sealEnvelope,
  validateEnvelope,
  WireError,
  type WireRejectReason,
} from './envelope.ts'
import {
  decodeFrame,
  encodeFrame,
  errorFrame,
  FRAME,
  MAX_FRAME_OVERHEAD,
  MUX_PROTOCOL,
  type MuxFrame,
  MuxSession,
  remoteError,
  SessionClosedError,
} from './mux.ts'

export interface WireContext {
  /** The connected peer that sent the envelope. */
  peerId: string
  protocol: string
  connection: Connection
  /** Aborted when the request times out or the node stops. */
  signal: AbortSignal
}

export type WireHandler = (
  env: Envelope,
  ctx: WireContext,
) => Promise<OutboundMessage | undefined> | OutboundMessage | undefined

export interface HandleOptions {
  /** Accepted envelope types; any other type is rejected as unsupported. */
  types?: string[]
  /** Per-protocol frame limit. @default config wire.maxMessageBytes */
  maxMessageBytes?: number
  /** @default 32 */
  maxInboundStreams?: number
}

export interface RequestOptions {
  signal?: AbortSignal
  /** @default config wire.requestTimeoutMs */
  timeoutMs?: number
  maxMessageBytes?: number
  /** Open a stream for this one message instead of using the peer's mux session. @default false */
  direct?: boolean
}

interface Registration {
  handler: WireHandler
  types: ReadonlySet<string> | undefined
  maxBytes: number
}

/** Requests one peer may have in flight on its mux streams together; more are answered `busy`. */
export const MAX_MUX_INFLIGHT = 256

export interface WireInit {
  /** @default 1 MiB */
  maxMessageBytes?: number
  /** @default 300_000 */
  maxClockSkewMs?: number
  /** @default 10_000 */
  requestTimeoutMs?: number
}

export interface WireComponents {
  libp2p: Libp2p
  signer: Signer
  clock: Clock
  peerScore: PeerScore
  logger: Logger
  metrics?: NodeMetrics
}

const PENALTY_BY_REASON: Record<WireRejectReason, number> = {
  malformed: PENALTY.MALFORMED,
  oversized: PENALTY.OVERSIZED,
  truncated: PENALTY.TRUNCATED,
  unsupported: PENALTY.UNSUPPORTED,
  'bad-signature': PENALTY.BAD_SIGNATURE,
  'wrong-sender': PENALTY.BAD_SIGNATURE,
  stale: PENALTY.STALE,
  replay: PENALTY.STALE,
}

const RESET_ERRORS = new Set([
  'StreamResetError',
  'StreamAbortedError',
  'StreamStateError',
  'StreamClosedError',
  'ConnectionClosedError',
  'MuxerClosedError',
])

/** True when the remote reset or closed the stream: an error for the caller, not misbehaviour to score. */
export function isStreamReset(err: unknown): boolean {
  return RESET_ERRORS.has((err as { name?: string })?.name ?? '')
}

/** Map a framing error from lpStream to a rejection reason. */
export function classifyReadError(err: unknown): WireError {
  if (err instanceof WireError) return err
  const name = (err as { name?: string })?.name ?? ''
  const msg = (err as Error)?.message ?? String(err)
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError')
    return new WireError('oversized', msg, err)
  if (name === 'UnexpectedEOFError') return new WireError('truncated', msg, err)
  if (name === 'InvalidMessageLengthError') return new WireError('malformed', msg, err)
  if (name === 'AbortError' || name === 'TimeoutError')
    return new WireError('truncated', `timed out: ${msg}`, err)
  return new WireError('malformed', msg, err)
}

export class Wire {
  private readonly c: WireComponents
  private readonly maxBytes: number
  private readonly skewMs: number
  private readonly timeoutMs: number
  private readonly log: Logger
  private readonly checkNonce: (nonceHex: string, ts: number) => boolean
  private readonly protocols = new Set<string>()
  private readonly stopController = new AbortController()
  private readonly inflight = new Set<Promise<void>>()
  private readonly registry = new Map<string, Registration>()
  private muxHandled = false
  /** Outbound mux sessions by peer id (a promise while the stream opens). */
  private readonly sessions = new Map<string, Promise<MuxSession>>()
  /** Peers that do not speak the mux protocol: a stream per message for them. */
  private readonly noMux = new Set<string>()
  /** Handlers running for each peer's mux requests, across all its mux streams. */
  private readonly muxActive = new Map<string, number>()

  constructor(components: WireComponents, init: WireInit = {}) {
    this.c = components
    this.maxBytes = init.maxMessageBytes ?? 1024 * 1024
    this.skewMs = init.maxClockSkewMs ?? 300_000
    this.timeoutMs = init.requestTimeoutMs ?? 10_000
    this.log = components.logger.forComponent('swarmd:wire')
    this.checkNonce = nonceGuard(2 * this.skewMs)
  }

  /** Seal a message with this node's key. */
  seal(msg: OutboundMessage, signed = true): Envelope {
    return sealEnvelope(msg, this.c.signer, this.c.clock.now(), new Uint8Array(randomBytes(16)), signed)
  }

  /** Register a handler for a stream protocol (e.g. `/swarmd/route/1.0.0`). */
  async handle(protocol: string, handler: WireHandler, opts: HandleOptions = {}): Promise<void> {
    const types = opts.types ? new Set(opts.types) : undefined
    const maxBytes = opts.maxMessageBytes ?? this.maxBytes
    this.registry.set(protocol, { handler, types, maxBytes })
    if (!this.muxHandled) {
      this.muxHandled = true
      await this.c.libp2p.handle(MUX_PROTOCOL, (stream, connection) => this.serveMux(stream, connection), {
        maxInboundStreams: 8,
      })
    }
    await this.c.libp2p.handle(
      protocol,
      (stream, connection) => {
        const p = this.serve(protocol, handler, stream, connection, types, maxBytes).finally(() =>
          this.inflight.delete(p),
        )
        this.inflight.add(p)
      },
      { maxInboundStreams: opts.maxInboundStreams ?? 32 },
    )
    this.protocols.add(protocol)
  }

  async unhandle(protocol: string): Promise<void> {
    this.protocols.delete(protocol)
    this.registry.delete(protocol)
    await this.c.libp2p.unhandle(protocol)
  }

  private reject(peerId: string, protocol: string, stream: Stream | undefined, err: WireError): void {
    this.c.metrics?.wireRejectedTotal.inc({ protocol, reason: err.reason })
    this.c.metrics?.peerPenaltiesTotal.inc({ reason: err.reason })
    const score = this.c.peerScore.penalise(peerId, PENALTY_BY_REASON[err.reason], err.reason)
    this.log.warn('rejected inbound message', {
      peer: peerId,
      protocol,
      reason: err.reason,
      error: err.message,
      score,
    })
    if (!stream) return
    try {
      stream.abort(err)
    } catch {
      // already closed
    }
  }

  /**
   * Decode and validate an envelope from `remote` (a request, or a reply to
   * ours; throws a WireError). `muxed`: it came on the mux session, whose
   * channel authenticates the sender, so it may be unsigned.
   */
  private checked(
    bytes: Uint8Array,
    remote: PeerId,
    maxBytes: number,
    muxed: boolean,
    types?: ReadonlySet<string>,
  ): Envelope {
    const env = decodeEnvelope(bytes, maxBytes, muxed)
    const remoteKey = remote.publicKey?.raw
    validateEnvelope(env, {
      now: this.c.clock.now(),
      maxClockSkewMs: this.skewMs,
      ...(remoteKey ? { expectedSender: remoteKey } : {}),
      ...(types ? { types } : {}),
      checkNonce: this.checkNonce,
      channelAuthenticated: muxed,
    })
    return env
  }

  /** The largest mux frame any registered protocol may receive. */
  private muxFrameLimit(): number {
    let maxBytes = this.maxBytes
    for (const r of this.registry.values()) maxBytes = Math.max(maxBytes, r.maxBytes)
    return maxBytes + MAX_FRAME_OVERHEAD
  }

  /**
   * Serve one inbound mux stream: read frames until it ends, run each
   * request's handler concurrently (at most MAX_MUX_INFLIGHT per peer) and
   * write the answers back tagged with the request's id. A frame that cannot
   * be parsed resets the stream and penalises the peer; a bad envelope inside
   * a well-formed frame is refused (and penalised) alone.
   */
  private async serveMux(stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: this.muxFrameLimit() })
    const write = (bytes: Uint8Array) => lp.write(bytes).catch(() => {}) // the stream went away: nobody to answer
    for (;;) {
      let frame: MuxFrame
      try {
        frame = decodeFrame((await lp.read({ signal: this.stopController.signal })).subarray())
        if (frame.kind !== FRAME.REQUEST && frame.kind !== FRAME.ONEWAY)
          throw new WireError('malformed', 'an answer frame on the serving side of a mux stream')
      } catch (err) {
        if (this.stopController.signal.aborted) {
          stream.abort(new Error('node stopping'))
          return
        }
        if (isStreamReset(err) || stream.status !== 'open' || connection.status !== 'open') return
        if (
          (err as { name?: string })?.name === 'UnexpectedEOFError' &&
          /after reading 0\//.test(String(err))
        )
          return // the caller closed its side between frames
        this.reject(peerId, MUX_PROTOCOL, stream, classifyReadError(err))
        return
      }
      const protocol = frame.protocol!
      const reg = this.registry.get(protocol)
      const answers = frame.kind === FRAME.REQUEST
      if (!reg) {
        // Not misbehaviour: a newer peer, or a protocol this node just unregistered while stopping.
        this.log.debug('mux frame for a protocol not served here', { peer: peerId, protocol })
        if (answers) void write(errorFrame(frame.id, 'unsupported-protocol'))
        continue
      }
      const active = this.muxActive.get(peerId) ?? 0
      if (active >= MAX_MUX_INFLIGHT) {
        if (answers) void write(errorFrame(frame.id, 'busy'))
        continue
      }
      this.muxActive.set(peerId, active + 1)
      const p = this.dispatch(frame, protocol, reg, connection, write).finally(() => {
        const left = (this.muxActive.get(peerId) ?? 1) - 1
        if (left > 0) this.muxActive.set(peerId, left)
        else this.muxActive.delete(peerId)
        this.inflight.delete(p)
      })
      this.inflight.add(p)
    }
  }

  private async dispatch(
    frame: MuxFrame,
    protocol: string,
    reg: Registration,
    connection: Connection,
    write: (bytes: Uint8Array) => Promise<void>,
  ): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const answers = frame.kind === FRAME.REQUEST
    let env: Envelope
    try {
      env = this.checked(frame.body, connection.remotePeer, reg.maxBytes, true, reg.types)
    } catch (err) {
      const werr = classifyReadError(err)
      this.reject(peerId, protocol, undefined, werr)
      if (answers) await write(errorFrame(frame.id, `rejected:${werr.reason}`))
      return
    }
    this.c.metrics?.wireMessagesTotal.inc({ protocol, direction: 'in' })
    const signal = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopController.signal])
    try {
      const reply = await reg.handler(env, { peerId, protocol, connection, signal })
      if (!answers) return
      if (reply) {
        await write(
          encodeFrame({ kind: FRAME.REPLY, id: frame.id, body: encodeEnvelope(this.seal(reply, false)) }),
        )
        this.c.metrics?.wireMessagesTotal.inc({ protocol, direction: 'out' })
      } else {
        await write(encodeFrame({ kind: FRAME.NO_REPLY, id: frame.id, body: new Uint8Array(0) }))
      }
    } catch (err) {
      if (isSwarmdError(err) && err.action === 'penalise') {
        this.c.peerScore.penalise(peerId, PENALTY.MALFORMED, err.code)
        this.c.metrics?.peerPenaltiesTotal.inc({ reason: err.code })
      }
      this.log.debug('handler failed', { peer: peerId, protocol, type: env.type, error: err })
      if (answers) await write(errorFrame(frame.id, 'reset'))
    }
  }

  private async serve(
    protocol: string,
    handler: WireHandler,
    stream: Stream,
    connection: Connection,
    types: ReadonlySet<string> | undefined,
    maxBytes: number,
  ): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const signal = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopController.signal])
    const lp = lpStream(stream, { maxDataLength: maxBytes })
    let env: Envelope
    try {
      const frame = await lp.read({ signal })
      env = this.checked(frame.subarray(), connection.remotePeer, maxBytes, false, types)
    } catch (err) {
      if (this.stopController.signal.aborted) {
        stream.abort(new Error('node stopping'))
        return
      }
      // The stream or its connection went away (the peer reset it, or the connection was aborted,
      // e.g. by libp2p's connection monitor on a failed ping under load): not the peer's misbehaviour.
      if (isStreamReset(err) || stream.status !== 'open' || connection.status !== 'open') {
        this.log.debug('stream ended before a full frame', {
          peer: peerId,
          protocol,
          stream: stream.status,
          connection: connection.status,
        })
        return
      }
      this.reject(peerId, protocol, stream, classifyReadError(err))
      return
    }
    this.c.metrics?.wireMessagesTotal.inc({ protocol, direction: 'in' })
    try {
      const reply = await handler(env, { peerId, protocol, connection, signal })
      if (reply) {
        await lp.write(encodeEnvelope(this.seal(reply)), { signal })
        this.c.metrics?.wireMessagesTotal.inc({ protocol, direction: 'out' })
      }
      await stream.close({ signal })
    } catch (err) {
      if (isSwarmdError(err) && err.action === 'penalise') {
        this.c.peerScore.penalise(peerId, PENALTY.MALFORMED, err.code)
        this.c.metrics?.peerPenaltiesTotal.inc({ reason: err.code })
      }
      this.log.debug('handler failed', { peer: peerId, protocol, type: env.type, error: err })
      try {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      } catch {
        // already closed
      }
    }
  }

  /** The mux session with `peerId`, opening its stream if there is none (shared by concurrent callers). */
  private session(peerId: PeerId): Promise<MuxSession> {
    const key = peerId.toString()
    const existing = this.sessions.get(key)
    if (existing) return existing
    const opening = (async () => {
      const signal = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopController.signal])
      const stream = await this.c.libp2p.dialProtocol(peerId, MUX_PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: this.muxFrameLimit() })
      return new MuxSession(lp, key, {
        abort: (err) => stream.abort(err),
        onClose: () => {
          if (this.sessions.get(key) === opening) this.sessions.delete(key)
        },
        onMalformed: (err) => this.reject(key, MUX_PROTOCOL, undefined, err),
      })
    })()
    this.sessions.set(key, opening)
    opening.catch(() => {
      if (this.sessions.get(key) === opening) this.sessions.delete(key)
    })
    return opening
  }

  private async exchange(
    peer: string | PeerId,
    protocol: string,
    msg: OutboundMessage,
    expectReply: boolean,
    opts: RequestOptions,
  ): Promise<Envelope | undefined> {
    const peerId = typeof peer === 'string' ? peerIdFromString(peer) : peer
    const key = peerId.toString()
    if (opts.direct || this.noMux.has(key))
      return this.exchangeDirect(peerId, protocol, msg, expectReply, opts)
    const signal = this.requestSignal(opts)
    const started = performance.now()
    let session: MuxSession
    try {
      session = await this.session(peerId) // a closed session has already left the map
    } catch (err) {
      if ((err as { name?: string })?.name === 'UnsupportedProtocolError') {
        this.noMux.add(key) // an older node: a stream per message
        return this.exchangeDirect(peerId, protocol, msg, expectReply, opts)
      }
      throw err
    }
    let frame: MuxFrame | undefined
    const envelope = encodeEnvelope(this.seal(msg, false))
    try {
      try {
        frame = await session.call(protocol, envelope, expectReply, signal)
      } catch (err) {
        // The stream had died unnoticed and nothing was sent: once more on a fresh session.
        if (!(err instanceof SessionClosedError) || signal.aborted) throw err
        frame = await (await this.session(peerId)).call(protocol, envelope, expectReply, signal)
      }
    } catch (err) {
      if (signal.aborted) throw new SwarmdError('WIRE_TIMEOUT', `no reply from ${key} on ${protocol} in time`)
      throw err
    }
    this.c.metrics?.wireMessagesTotal.inc({ protocol, direction: 'out' })
    if (!frame) return undefined
    if (frame.kind === FRAME.NO_REPLY)
      throw new SwarmdError('WIRE_NO_REPLY', `${key} answered nothing on ${protocol}`)
    if (frame.kind === FRAME.ERROR) throw remoteError(key, protocol, frame.body)
    let reply: Envelope
    try {
      reply = this.checked(frame.body, peerId, opts.maxMessageBytes ?? this.maxBytes, true)
    } catch (err) {
      const werr = classifyReadError(err)
      this.reject(key, protocol, undefined, werr)
      throw werr
    }
    this.c.metrics?.wireMessagesTotal.inc({ protocol, direction: 'in' })
    this.c.metrics?.wireRequestSeconds.observe({ protocol }, (performance.now() - started) / 1000)
    return reply
  }

  /** The request's own signal: its timeout, the caller's signal, and the wire stopping. */
  private requestSignal(opts: RequestOptions): AbortSignal {
    const signals = [AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs), this.stopController.signal]
    if (opts.signal) signals.push(opts.signal)
    return AbortSignal.any(signals)
  }

  /** `exchange` on a stream of its own (a peer without the mux protocol, or `direct`). */
  private async exchangeDirect(
    peerId: PeerId,
    protocol: string,
    msg: OutboundMessage,
    expectReply: boolean,
    opts: RequestOptions,
  ): Promise<Envelope | undefined> {
    const signal = this.requestSignal(opts)
    const started = performance.now()
    const stream = await this.c.libp2p.dialProtocol(peerId, protocol, { signal })
    const maxBytes = opts.maxMessageBytes ?? this.maxBytes
    const lp = lpStream(stream, { maxDataLength: maxBytes })
    try {
      await lp.write(encodeEnvelope(this.seal(msg)), { signal })
      this.c.metrics?.wireMessagesTotal.inc({ protocol, direction: 'out' })
      if (!expectReply) {
        await stream.close({ signal })
        return undefined
      }
      let reply: Envelope
      try {
        reply = this.checked((await lp.read({ signal })).subarray(), peerId, maxBytes, false)
      } catch (err) {
        if (signal.aborted)
          throw new SwarmdError('WIRE_TIMEOUT', `no reply from ${peerId} on ${protocol} in time`)
        if (isStreamReset(err)) {
          throw new SwarmdError(
            'WIRE_RESET',
            `${peerId} reset the stream on ${protocol} (its handler failed or refused the message)`,
          )
        }
        const werr = classifyReadError(err)
        if (werr.reason === 'truncated' && /closed after reading 0|tried to read|0\//.test(werr.message)) {
          throw new SwarmdError('WIRE_NO_REPLY', `${peerId} closed ${protocol} without a reply`)
        }
        this.reject(peerId.toString(), protocol, stream, werr)
        throw werr
      }
      this.c.metrics?.wireMessagesTotal.inc({ protocol, direction: 'in' })
      this.c.metrics?.wireRequestSeconds.observe({ protocol }, (performance.now() - started) / 1000)
      await stream.close({ signal }).catch(() => {})
      return reply
    } catch (err) {
      try {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      } catch {
        // already closed
      }
      throw err
    }
  }

  /** Send `msg` and wait for the peer's reply envelope (validated like any inbound one). */
  async request(
    peer: string | PeerId,
    protocol: string,
    msg: OutboundMessage,
    opts: RequestOptions = {},
  ): Promise<Envelope> {
    const reply = await this.exchange(peer, protocol, msg, true, opts)
    if (!reply) throw new SwarmdError('WIRE_NO_REPLY', `no reply from ${String(peer)} on ${protocol}`)
    return reply
  }

  /** Send `msg` one-way (the stream is closed after the frame is written). */
  async send(
    peer: string | PeerId,
    protocol: string,
    msg: OutboundMessage,
    opts: RequestOptions = {},
  ): Promise<void> {
    await this.exchange(peer, protocol, msg, false, opts)
  }

  /** Stop intake: unregister every protocol, abort in-flight handlers after `drainMs`. */
  async stop(drainMs = 2000): Promise<void> {
    for (const p of [...this.protocols]) await this.unhandle(p).catch(() => {})
    if (this.inflight.size > 0) {
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise((r) => setTimeout(r, drainMs).unref()),
      ])
    }
    this.stopController.abort()
    for (const p of this.sessions.values())
      void p.then(
        (s) => s.close(new Error('node stopping')),
        () => {},
      )
    this.sessions.clear() // inbound mux streams end themselves: their read loops follow stopController
    if (this.muxHandled) {
      this.muxHandled = false
      await this.c.libp2p.unhandle(MUX_PROTOCOL).catch(() => {})
    }
  }
}
