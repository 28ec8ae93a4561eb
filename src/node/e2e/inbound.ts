/**
 * Inbound side of `/swarmd/e2e/1.0.0`: every message is decoded and
 * validated, and bad input is answered with an `e2e.ack` whose status is
 * `rejected` and whose reason names the failure, while the sending peer's
 * score is lowered when the fault is its own (a garbage envelope, tampered
 * ciphertext, a handshake card that does not match its key, a mailbox flood).
 * Nothing throws out of the handler except wire-level malformation.
 *
 * - `e2e.deliver`: an envelope for a local agent (session frame or sealed message).
 * - `e2e.relay`: forward an envelope to its recipient's node, TTL decremented,
 *   this node appended to the path, body untouched (never decrypted here).
 * - `e2e.deposit`: hold a sealed envelope for an offline agent (`Mailbox`).
 * - `e2e.drain`: hand an agent its mail; the request is signed by the agent.
 */
import type { Logger, KvStore } from '../../common/index.ts'
import { fromHex, verify } from '../../common/index.ts'
import {
  decodeEnvelope,
  type Envelope,
  E2E_ERRORS,
  encodeEnvelope,
  forwardEnvelope,
  isE2eError,
  open,
} from '../../e2e/index.ts'
import { PENALTY } from '../peer-score.ts'
import type { Envelope as WireEnvelope, OutboundMessage } from '../wire/envelope.ts'
import type { WireContext } from '../wire/wire.ts'
import {
  ACK,
  type Ack,
  decodeDeliver,
  decodeDeposit,
  decodeDrain,
  decodeRelay,
  encodeAck,
  encodeDrained,
  MSG,
} from './codec.ts'
import type { E2EService } from './service.ts'

export const DRAIN_DOMAIN = 'swarmd/e2e/drain/v1'
const DRAIN_SKEW_MS = 5 * 60_000
const MAX_SEEN = 50_000

/** Penalty for the peer that handed us a frame failing with this code. */
const PENALTY_BY_CODE: Record<string, number> = {
  [E2E_ERRORS.DECRYPT_FAILED]: PENALTY.MALFORMED,
  [E2E_ERRORS.CARD_MISMATCH]: PENALTY.BAD_SIGNATURE,
  [E2E_ERRORS.TRUNCATED]: PENALTY.TRUNCATED,
  [E2E_ERRORS.BAD_MESSAGE]: PENALTY.MALFORMED,
  [E2E_ERRORS.REPLAY]: PENALTY.UNSUPPORTED,
  [E2E_ERRORS.WRONG_RECIPIENT]: PENALTY.UNSUPPORTED,
  [E2E_ERRORS.HANDSHAKE_STATE]: PENALTY.UNSUPPORTED,
  [E2E_ERRORS.MAILBOX_FULL]: PENALTY.UNSUPPORTED,
  [E2E_ERRORS.NO_SESSION]: 0,
}

const ack = (status: Ack['status'], reason = ''): Ack => ({ status, reason })
const reply = (a: Ack): OutboundMessage => ({ type: MSG.ACK, payload: encodeAck(a) })

export class Inbound {
  private readonly svc: E2EService
  private readonly seenKv: KvStore
  private readonly log: Logger
  private readonly seen = new Map<string, number>()

  constructor(svc: E2EService, seenKv: KvStore, log: Logger) {
    this.svc = svc
    this.seenKv = seenKv
    this.log = log
  }

  private penalise(peer: string | undefined, code: string, detail: string): void {
    if (!peer) return
    const points = PENALTY_BY_CODE[code] ?? PENALTY.TRUNCATED
    if (points === 0) return
    const score = this.svc.node.peerScore.penalise(peer, points, code)
    this.log.warn('rejected e2e input', { peer, code, detail, score })
  }

  private reject(peer: string | undefined, code: string, message: string): Ack {
    this.svc.metrics?.rejected.inc({ reason: code })
    this.penalise(peer, code, message)
    return ack(ACK.REJECTED, `${code}: ${message}`)
  }

  private decode(bytes: Uint8Array, peer: string | undefined): Envelope | Ack {
    try {
      return decodeEnvelope(bytes)
    } catch (err) {
      const code = isE2eError(err) ? err.code : E2E_ERRORS.BAD_MESSAGE
      return this.reject(peer, code, (err as Error).message)
    }
  }

  async handle(env: WireEnvelope, ctx: WireContext): Promise<OutboundMessage> {
    const peer = ctx.peerId
    switch (env.type) {
      case MSG.DELIVER: {
        const e = this.decode(decodeDeliver(env.payload), peer)
        if (!('body' in e)) return reply(e)
        return reply(await this.accept(e, e.path.length > 0 ? 'relay' : 'direct', peer))
      }
      case MSG.RELAY:
        return reply(await this.relay(env.payload, peer, ctx.signal))
      case MSG.DEPOSIT:
        return reply(await this.deposit(env.payload, peer))
      default:
        return this.drain(env.payload, peer)
    }
  }

  /** Decrypt an envelope for a local agent and dispatch what it carries. */
  async accept(
    e: Envelope,
    via: 'local' | 'direct' | 'relay' | 'mailbox',
    peer: string | undefined,
  ): Promise<Ack> {
    const a = this.svc.agents.get(e.to)
    if (!a) return ack(ACK.UNKNOWN_AGENT, `agent ${e.to} is not hosted here`)
    const now = () => this.svc.node.clock.now()
    try {
      if (e.kind === 'session') {
        if (!e.replyTo) return this.reject(peer, E2E_ERRORS.BAD_MESSAGE, 'session frame without replyTo')
        const got = await a.mgr.onMessage(e.replyTo, e.body)
        // A message whose other copy (a retry, the mailbox copy) was delivered already: dropped.
        if (got.length > 0 && !(await this.firstTime(e.to, `env:${e.id}`))) return ack(ACK.DELIVERED)
        for (const r of got) {
          await this.svc.dispatch({
            from: r.from,
            to: e.to,
            messageId: e.id,
            payload: r.plaintext,
            receivedAt: now(),
            via,
          })
        }
        return ack(ACK.DELIVERED)
      }
      const o = open(a.ep.keys, e.body)
      if (!(await this.firstTime(e.to, o.id))) {
        return this.reject(peer, E2E_ERRORS.REPLAY, 'sealed message already received')
      }
      if (!(await this.firstTime(e.to, `env:${e.id}`))) return ack(ACK.DELIVERED)
      await this.svc.dispatch({
        from: o.sender.body.agentId,
        to: e.to,
        messageId: e.id,
        payload: o.plaintext,
        receivedAt: now(),
        via,
      })
      return ack(ACK.DELIVERED)
    } catch (err) {
      const code = isE2eError(err) ? err.code : 'E2E_INTERNAL'
      if (!isE2eError(err)) this.log.error('e2e delivery failed', { error: err })
      return this.reject(peer, code, (err as Error).message)
    }
  }

  /** Mail drained from a holder (`holder` is not penalised for what depositors left). */
  async fromMailbox(blob: Uint8Array, holder: string): Promise<void> {
    const e = this.decode(blob, undefined)
    if (!('body' in e)) return
    const res = await this.accept(e, 'mailbox', undefined)
    if (res.status !== ACK.DELIVERED) this.log.debug('mailbox item refused', { holder, reason: res.reason })
  }

  /** Deduplicate sealed messages (drained from several holders, or replayed) across restarts. */
  private async firstTime(agentId: string, id: string): Promise<boolean> {
    const key = `${agentId}/${id}`
    if (this.seen.has(key)) return false
    // Claim the id before any await: two holders delivering the same mailbox message at once
    // would otherwise both pass the check (seen twice in a loaded test run).
    const until = this.svc.node.clock.now() + this.svc.node.config.e2e.mailboxTtlMs
    this.seen.set(key, until)
    if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.keys().next().value ?? '')
    if ((await this.seenKv.get(key)) !== undefined) return false
    await this.seenKv.put(key, new TextEncoder().encode(String(until)))
    return true
  }

  async purgeSeen(): Promise<void> {
    const now = this.svc.node.clock.now()
    const ops: { type: 'del'; key: string }[] = []
    for await (const [k, v] of this.seenKv.entries('')) {
      if (Number(new TextDecoder().decode(v)) <= now) ops.push({ type: 'del', key: k })
    }
    for (const [k, t] of this.seen) if (t <= now) this.seen.delete(k)
    await this.seenKv.batch(ops)
  }

  private async relay(payload: Uint8Array, peer: string, signal: AbortSignal): Promise<Ack> {
    const r = decodeRelay(payload)
    const e = this.decode(r.envelope, peer)
    if (!('body' in e)) return e
    const self = this.svc.node.peerId
    if (r.target === self) return this.accept(e, 'relay', peer)
    let fwd: Envelope
    try {
      fwd = forwardEnvelope(e, self)
    } catch (err) {
      return ack(ACK.REJECTED, (err as Error).message)
    }
    this.svc.relayTap?.(r.envelope, { to: e.to, id: e.id, target: r.target })
    const res = await this.svc.delivery.direct(r.target, r.addresses, encodeEnvelope(fwd), signal)
    const out = res ?? ack(ACK.UNREACHABLE, `relay ${self} cannot reach ${r.target}`)
    this.svc.metrics?.relayed.inc({ result: out.status })
    return out
  }

  private async deposit(payload: Uint8Array, peer: string): Promise<Ack> {
    const d = decodeDeposit(payload)
    const e = this.decode(d.envelope, peer)
    if (!('body' in e)) return e
    if (e.kind !== 'sealed')
      return this.reject(peer, E2E_ERRORS.BAD_MESSAGE, 'a mailbox holds sealed messages only')
    if (this.svc.agents.has(e.to)) return this.accept(e, 'mailbox', peer)
    try {
      await this.svc.mailbox.deposit({
        recipient: e.to,
        sender: peer,
        id: e.id,
        blob: d.envelope,
        ...(d.ttlMs > 0 ? { ttlMs: d.ttlMs } : {}),
      })
      return ack(ACK.STORED)
    } catch (err) {
      const code = isE2eError(err) ? err.code : E2E_ERRORS.MAILBOX_FULL
      return this.reject(peer, code, (err as Error).message)
    }
  }

  private async drain(payload: Uint8Array, peer: string): Promise<OutboundMessage> {
    const d = decodeDrain(payload)
    const node = this.svc.node
    const body = { agentId: d.agentId, holder: d.holder, timestamp: d.timestamp }
    const ok =
      /^[0-9a-f]{64}$/.test(d.agentId) &&
      d.holder === node.peerId &&
      Math.abs(d.timestamp - node.clock.now()) <= DRAIN_SKEW_MS &&
      d.signature.length === 64 &&
      verify(DRAIN_DOMAIN, body, d.signature, fromHex(d.agentId))
    let items: Uint8Array[] = []
    if (ok) items = (await this.svc.mailbox.drain(d.agentId)).map((i) => i.blob)
    else this.penalise(peer, E2E_ERRORS.CARD_MISMATCH, 'drain request not signed by the agent')
    return { type: MSG.DRAINED, payload: encodeDrained(items) }
  }
}
