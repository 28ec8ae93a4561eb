/**
 * Agent-to-agent sessions over an injected, untrusted transport.
 *
 * - IK when the sender knows the recipient's Noise key from its agent card
 *   (one round trip; the first message already carries the payload), XX
 *   otherwise (the responder's card arrives in message 2, the initiator's in 3).
 * - Identity binding: every handshake payload that can carry a static key also
 *   carries the agent's signed card; it must verify, name the handshake static
 *   key, and name the agent the delivery layer says the frame is from
 *   (`E2E_CARD_MISMATCH` otherwise, the handshake torn down).
 * - Opt-in hybrid ML-KEM-768 (`hybrid: true`, see hybrid.ts).
 * - Transport: explicit nonces, replay window, rekey (transport.ts); a session
 *   per agent pair, cached until `sessionTtlMs`, then renegotiated.
 *
 * Frames: `type u8 || session id (8) || body`. INIT carries a mode byte
 * (bit0 IK, bit1 hybrid) before the Noise message; the mode is also in the
 * prologue, so a downgrade breaks the handshake.
 */
import { randomBytes } from '@noble/hashes/utils.js'
import type { Clock } from '../common/index.ts'
import { fromHex, toHex } from '../common/index.ts'
import { decodePayload, encodePayload } from './codec.ts'
import { E2E_ERRORS, E2eError, isE2eError } from './errors.ts'
import { FRAME, frame, HEADER, MODE_HYBRID, MODE_IK, prologue, SID_BYTES } from './frames.ts'
import type { KemKeyPair } from './hybrid.ts'
import { kemDecapsulate, kemEncapsulate, kemKeygen } from './hybrid.ts'
import type { AgentCard, AgentKeys } from './keys.ts'
import { checkHandshakeCard, verifyAgentCard } from './keys.ts'
import { HandshakeState } from './noise/handshake-state.ts'
import type { TransportInit } from './transport.ts'
import { TransportReceiver, TransportSender } from './transport.ts'

export { FRAME } from './frames.ts'
export const IK_PROTOCOL = 'Noise_IK_25519_ChaChaPoly_SHA256'
export const XX_PROTOCOL = 'Noise_XX_25519_ChaChaPoly_SHA256'
/** @default 10 minutes */
export const DEFAULT_SESSION_TTL_MS = 10 * 60_000
/** @default 30 seconds */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000
/** @default 256 messages queued per peer while a handshake runs */
export const DEFAULT_MAX_QUEUED = 256
/** @default 10000 sessions and pending handshakes held at once */
export const DEFAULT_MAX_SESSIONS = 10_000

export interface SessionManagerInit {
  keys: AgentKeys
  /** This agent's signed card, sent inside handshakes. */
  card: AgentCard
  clock: Clock
  /** Deliver bytes to an agent (directly, by relay or into its mailbox). */
  send: (to: string, bytes: Uint8Array) => void | Promise<void>
  /** The recipient's agent card (from the DHT), when known: enables IK. */
  lookupCard?: (agentId: string) => AgentCard | undefined | Promise<AgentCard | undefined>
  /** Mix an ML-KEM-768 secret into sessions this agent starts. @default false */
  hybrid?: boolean
  /** @default DEFAULT_SESSION_TTL_MS */
  sessionTtlMs?: number
  /** @default DEFAULT_HANDSHAKE_TIMEOUT_MS */
  handshakeTimeoutMs?: number
  /** @default DEFAULT_MAX_QUEUED */
  maxQueued?: number
  /** Refuse new inbound handshakes beyond this many sessions (a flood of INITs). @default DEFAULT_MAX_SESSIONS */
  maxSessions?: number
  transport?: TransportInit
}

export interface Received {
  /** The authenticated sender agent id. */
  from: string
  plaintext: Uint8Array
  sessionId: string
}

export interface SessionInfo {
  sessionId: string
  peer: string
  pattern: 'IK' | 'XX'
  hybrid: boolean
  initiator: boolean
  open: boolean
  expiresAt: number
  handshakeHash?: string
}

interface Session {
  sid: Uint8Array
  sidHex: string
  peer: string
  initiator: boolean
  ik: boolean
  hybrid: boolean
  hs: HandshakeState | undefined
  kem: KemKeyPair | undefined
  tx: TransportSender | undefined
  rx: TransportReceiver | undefined
  expiresAt: number
  queue: Uint8Array[]
  handshakeHash: string | undefined
}

export class SessionManager {
  private readonly init: SessionManagerInit
  private readonly ttl: number
  private readonly hsTimeout: number
  private readonly maxQueued: number
  private readonly maxSessions: number
  private readonly sessions = new Map<string, Session>()
  private readonly byPeer = new Map<string, string>()
  /** Initiator ephemerals of accepted INITs, to refuse replayed first messages. */
  private readonly seenInit = new Map<string, number>()

  constructor(init: SessionManagerInit) {
    if (!verifyAgentCard(init.card) || init.card.body.agentId !== init.keys.agentId) {
      throw new E2eError(E2E_ERRORS.CARD_MISMATCH, 'own agent card is not signed by these keys')
    }
    this.init = init
    this.ttl = init.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS
    this.hsTimeout = init.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
    this.maxQueued = init.maxQueued ?? DEFAULT_MAX_QUEUED
    this.maxSessions = init.maxSessions ?? DEFAULT_MAX_SESSIONS
  }

  get agentId(): string {
    return this.init.keys.agentId
  }

  private now(): number {
    return this.init.clock.now()
  }

  /** Encrypt `plaintext` for agent `to` and send it, opening a session first if needed. */
  async encrypt(to: string, plaintext: Uint8Array): Promise<void> {
    this.expire()
    const sidHex = this.byPeer.get(to)
    const s = sidHex === undefined ? undefined : this.sessions.get(sidHex)
    if (s?.tx) {
      try {
        await this.init.send(to, frame(FRAME.DATA, s.sid, s.tx.encrypt(plaintext, s.sid)))
      } catch (err) {
        if (isE2eError(err) && err.code === E2E_ERRORS.NONCE_EXHAUSTED) this.drop(s)
        throw err
      }
      return
    }
    if (s) {
      if (s.queue.length >= this.maxQueued) {
        throw new E2eError(
          E2E_ERRORS.MAILBOX_FULL,
          `too many messages queued for ${to} while the handshake runs`,
          {
            action: 'ignore',
          },
        )
      }
      s.queue.push(plaintext)
      return
    }
    await this.startHandshake(to, plaintext)
  }

  private async startHandshake(to: string, first: Uint8Array): Promise<void> {
    const card = await this.init.lookupCard?.(to)
    const known = card !== undefined && verifyAgentCard(card) && card.body.agentId === to ? card : undefined
    const ik = known !== undefined
    const hybrid = this.init.hybrid === true
    const mode = (ik ? MODE_IK : 0) | (hybrid ? MODE_HYBRID : 0)
    const sid = randomBytes(SID_BYTES)
    const hs = new HandshakeState({
      protocolName: ik ? IK_PROTOCOL : XX_PROTOCOL,
      initiator: true,
      prologue: prologue(mode),
      s: this.init.keys.noise,
      ...(known ? { rs: fromHex(known.body.noiseKey) } : {}),
    })
    const kem = hybrid ? kemKeygen() : undefined
    const s: Session = {
      sid,
      sidHex: toHex(sid),
      peer: to,
      initiator: true,
      ik,
      hybrid,
      hs,
      kem,
      tx: undefined,
      rx: undefined,
      expiresAt: this.now() + this.hsTimeout,
      queue: ik ? [] : [first],
      handshakeHash: undefined,
    }
    // IK: the first message carries our card and the first payload. XX: message 1 is in clear (only the KEM key).
    const payload = ik
      ? encodePayload({ card: this.init.card, data: first, ...(kem ? { kem: kem.publicKey } : {}) })
      : encodePayload({ data: new Uint8Array(0), ...(kem ? { kem: kem.publicKey } : {}) })
    const msg = hs.writeMessage(payload)
    this.sessions.set(s.sidHex, s)
    this.byPeer.set(to, s.sidHex)
    await this.init.send(to, frame(FRAME.INIT, sid, msg, mode))
  }

  /**
   * Handle bytes from agent `from` (as the delivery layer names it; checked
   * against the authenticated card). Returns the plaintexts delivered. Throws
   * only `E2eError`.
   */
  async onMessage(from: string, bytes: Uint8Array): Promise<Received[]> {
    try {
      return await this.handle(from, bytes)
    } catch (err) {
      if (isE2eError(err)) throw err
      throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'malformed E2E frame', { cause: err })
    }
  }

  private async handle(from: string, bytes: Uint8Array): Promise<Received[]> {
    this.expire()
    if (bytes.length < HEADER) throw new E2eError(E2E_ERRORS.TRUNCATED, 'E2E frame shorter than its header')
    const type = bytes[0]
    const sid = bytes.slice(1, HEADER)
    const sidHex = toHex(sid)
    const body = bytes.subarray(HEADER)
    if (type === FRAME.INIT) return this.onInit(from, sid, sidHex, body)
    const s = this.sessions.get(sidHex)
    if (!s) throw new E2eError(E2E_ERRORS.NO_SESSION, `no session ${sidHex}`, { action: 'ignore' })
    if (s.peer !== from) {
      throw new E2eError(E2E_ERRORS.BAD_MESSAGE, `session ${sidHex} belongs to another agent`)
    }
    if (type === FRAME.DATA) {
      if (!s.rx) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'data before the handshake completed')
      // A bad frame is rejected and the session kept (Noise spec 5.1: decryption failure does not tear down).
      return [{ from: s.peer, plaintext: s.rx.decrypt(body, s.sid), sessionId: sidHex }]
    }
    try {
      if (type === FRAME.RESP) return await this.onResp(s, body)
      if (type === FRAME.FINAL) return await this.onFinal(s, from, body)
    } catch (err) {
      this.drop(s) // a failed handshake is torn down (Noise spec 5.3)
      throw err
    }
    throw new E2eError(E2E_ERRORS.BAD_MESSAGE, `unknown frame type ${String(type)}`)
  }

  private async onInit(from: string, sid: Uint8Array, sidHex: string, body: Uint8Array): Promise<Received[]> {
    if (body.length < 1 + 32) throw new E2eError(E2E_ERRORS.TRUNCATED, 'handshake message truncated')
    if (this.sessions.size >= this.maxSessions) {
      throw new E2eError(
        E2E_ERRORS.BAD_MESSAGE,
        `session table full (${this.maxSessions}); handshake refused`,
        {
          action: 'ignore',
        },
      )
    }
    const mode = body[0] ?? 0
    if (mode > 3) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, `unknown handshake mode ${mode}`)
    const ik = (mode & MODE_IK) !== 0
    const hybrid = (mode & MODE_HYBRID) !== 0
    const msg = body.subarray(1)
    const eKey = toHex(msg.subarray(0, 32))
    if (this.seenInit.has(eKey))
      throw new E2eError(E2E_ERRORS.REPLAY, 'replayed handshake initiation', { action: 'ignore' })
    if (this.sessions.has(sidHex)) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'session id already in use')
    const hs = new HandshakeState({
      protocolName: ik ? IK_PROTOCOL : XX_PROTOCOL,
      initiator: false,
      prologue: prologue(mode),
      s: this.init.keys.noise,
    })
    const p = decodePayload(hs.readMessage(msg))
    let delivered: Received[] = []
    if (ik) {
      const card = await this.checkCard(p.card, hs.getRemoteStatic(), from)
      delivered = [{ from: card.body.agentId, plaintext: p.data, sessionId: sidHex }]
    }
    let kemCt: Uint8Array | undefined
    let kemSecret: Uint8Array | undefined
    if (hybrid) {
      const r = kemEncapsulate(p.kem)
      kemCt = r.cipherText
      kemSecret = r.sharedSecret
    }
    const reply = hs.writeMessage(
      encodePayload({ card: this.init.card, data: new Uint8Array(0), ...(kemCt ? { kem: kemCt } : {}) }),
    )
    if (kemSecret) hs.mixKey(kemSecret)
    this.seenInit.set(eKey, this.now() + this.ttl)
    const s: Session = {
      sid,
      sidHex,
      peer: from,
      initiator: false,
      ik,
      hybrid,
      hs,
      kem: undefined,
      tx: undefined,
      rx: undefined,
      expiresAt: this.now() + (ik ? this.ttl : this.hsTimeout),
      queue: [],
      handshakeHash: undefined,
    }
    if (ik) this.openSession(s)
    this.sessions.set(sidHex, s)
    if (ik && !this.byPeer.has(from)) this.byPeer.set(from, sidHex)
    await this.init.send(from, frame(FRAME.RESP, sid, reply))
    return delivered
  }

  private async onResp(s: Session, body: Uint8Array): Promise<Received[]> {
    const hs = s.hs
    if (!s.initiator || !hs || s.tx)
      throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'unexpected handshake response')
    const p = decodePayload(hs.readMessage(body))
    await this.checkCard(p.card, hs.getRemoteStatic(), s.peer)
    if (s.hybrid && s.kem) hs.mixKey(kemDecapsulate(p.kem, s.kem.secretKey))
    let final: Uint8Array | undefined
    if (!s.ik) final = hs.writeMessage(encodePayload({ card: this.init.card, data: new Uint8Array(0) }))
    this.openSession(s)
    if (final) await this.init.send(s.peer, frame(FRAME.FINAL, s.sid, final))
    await this.flush(s)
    return []
  }

  private async onFinal(s: Session, from: string, body: Uint8Array): Promise<Received[]> {
    const hs = s.hs
    if (s.initiator || s.ik || !hs || s.tx)
      throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'unexpected handshake final')
    const p = decodePayload(hs.readMessage(body))
    await this.checkCard(p.card, hs.getRemoteStatic(), from)
    this.openSession(s)
    if (!this.byPeer.has(from)) this.byPeer.set(from, s.sidHex)
    return p.data.length > 0 ? [{ from, plaintext: p.data, sessionId: s.sidHex }] : []
  }

  /**
   * The handshake card must verify and match the handshake key and agent; and
   * when the directory (`lookupCard`, i.e. the DHT) has a card for that agent
   * that is at least as recent and names a different Noise key, the presented
   * card is stale or forged: rejected.
   */
  private async checkCard(card: unknown, rs: Uint8Array | undefined, agentId: string): Promise<AgentCard> {
    const c = checkHandshakeCard(card, rs, agentId)
    const published = await this.init.lookupCard?.(agentId)
    if (
      published !== undefined &&
      verifyAgentCard(published) &&
      published.body.agentId === agentId &&
      published.body.issuedAt >= c.body.issuedAt &&
      published.body.noiseKey !== c.body.noiseKey
    ) {
      throw new E2eError(
        E2E_ERRORS.CARD_MISMATCH,
        `agent ${agentId} presented a Noise key that differs from its published card`,
        {
          action: 'penalise',
        },
      )
    }
    return c
  }

  private openSession(s: Session): void {
    const hs = s.hs
    if (!hs) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'no handshake to split')
    const [c1, c2] = hs.split()
    const [send, recv] = s.initiator ? [c1, c2] : [c2, c1]
    s.tx = new TransportSender(send.keyBytes(), this.init.transport)
    s.rx = new TransportReceiver(recv.keyBytes(), this.init.transport)
    s.handshakeHash = toHex(hs.getHandshakeHash())
    s.hs = undefined
    s.kem = undefined
    s.expiresAt = this.now() + this.ttl
  }

  private async flush(s: Session): Promise<void> {
    const q = s.queue
    s.queue = []
    for (const m of q) {
      if (!s.tx) break
      await this.init.send(s.peer, frame(FRAME.DATA, s.sid, s.tx.encrypt(m, s.sid)))
    }
  }

  private drop(s: Session): void {
    this.sessions.delete(s.sidHex)
    if (this.byPeer.get(s.peer) === s.sidHex) this.byPeer.delete(s.peer)
  }

  /** Forget sessions and handshakes past their expiry. */
  expire(): void {
    const now = this.now()
    for (const s of this.sessions.values()) if (s.expiresAt <= now) this.drop(s)
    for (const [k, t] of this.seenInit) if (t <= now) this.seenInit.delete(k)
  }

  /** Tear down every session with `peer`. */
  close(peer: string): void {
    for (const s of [...this.sessions.values()]) if (s.peer === peer) this.drop(s)
  }

  sessionInfo(peer: string): SessionInfo | undefined {
    const sidHex = this.byPeer.get(peer)
    const s = sidHex === undefined ? undefined : this.sessions.get(sidHex)
    if (!s) return undefined
    return {
      sessionId: s.sidHex,
      peer: s.peer,
      pattern: s.ik ? 'IK' : 'XX',
      hybrid: s.hybrid,
      initiator: s.initiator,
      open: s.tx !== undefined,
      expiresAt: s.expiresAt,
      ...(s.handshakeHash ? { handshakeHash: s.handshakeHash } : {}),
    }
  }

  get size(): number {
    return this.sessions.size
  }
}
