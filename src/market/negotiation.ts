/**
 * AACL-Negotiate: alternating offers between two agents on multi-attribute
 * terms (price, delivery deadline, quality level, payment schedule), with a
 * round limit and a deadline. Every message is signed by its sender
 * (`swarmd/negotiate/v1`) and threaded: message ids are
 * `negotiationId#round`, each message names the one it answers in
 * `inReplyTo`, and anything out of order, forged or from a third party is
 * refused with a typed error without changing the state.
 *
 * A `Negotiator` is one side's state machine (open → agreed | rejected |
 * timeout | round-limit). It is pure: time comes from the injected clock,
 * transport is the caller's (E2E session), and `snapshot()`/`restore()` let
 * the caller persist it between messages.
 *
 * Two ways to drive it: `receive()` answers each message with the
 * strategy's reply; `take()` + `answer()` record the peer's message and let
 * the caller choose the reply (an agent program that decides for itself),
 * with the same threading, signing and round-limit rules.
 */
import { type Clock, fromB64, fromHex, sign, toB64, verify } from '../common/index.ts'
import { MarketError, MarketErrorCode } from './errors.ts'
import { type Preferences, type Strategy, type Terms, termsAt, utility, validTerms } from './terms.ts'

export const NEGOTIATE_DOMAIN = 'swarmd/negotiate/v1'

export type NegotiationAct = 'propose' | 'accept' | 'reject'

export interface NegotiationMessageBody {
  negotiationId: string
  /** `negotiationId#round`. */
  messageId: string
  /** The message this one answers (absent for the opening proposal). */
  inReplyTo?: string
  round: number
  act: NegotiationAct
  from: string
  to: string
  /** Proposed terms (propose) or the accepted terms (accept). */
  terms?: Terms
  reason?: string
  sentAt: number
  /** The CFP being negotiated, if any. */
  cfpId?: string
}
export interface NegotiationMessage extends NegotiationMessageBody {
  signature: string
}

export const NegotiationState = {
  OPEN: 'open',
  AGREED: 'agreed',
  REJECTED: 'rejected',
  TIMEOUT: 'timeout',
  ROUND_LIMIT: 'round-limit',
} as const
export type NegotiationState = (typeof NegotiationState)[keyof typeof NegotiationState]

export interface NegotiatorInit {
  negotiationId: string
  self: { id: string; secretKey: Uint8Array }
  peer: string
  preferences: Preferences
  strategy: Strategy
  /** Proposals allowed in the whole conversation (both sides); the reply to the last may only accept or reject. */
  maxRounds: number
  /** Absolute time after which nothing is agreed. */
  deadline: number
  clock: Clock
  cfpId?: string
  /**
   * Hard limits on the peer's terms (say, a price within the budget): terms
   * that fail it are never accepted, whatever their utility (my own
   * proposals come from `termsAt` and are not checked). @default any valid terms
   */
  acceptable?: (t: Terms) => boolean
}

export interface NegotiationSnapshot {
  state: NegotiationState
  startedAt: number
  thread: NegotiationMessage[]
  mine: number[]
  theirs: number[]
  agreement?: Terms
  reason?: string
}

const body = (m: NegotiationMessageBody): NegotiationMessageBody => {
  const { negotiationId, messageId, inReplyTo, round, act, from, to, terms, reason, sentAt, cfpId } = m
  return { negotiationId, messageId, inReplyTo, round, act, from, to, terms, reason, sentAt, cfpId }
}
const fail = (code: MarketErrorCode, msg: string, action: 'ignore' | 'reject' | 'penalise'): never => {
  throw new MarketError(code, msg, { action })
}
const sameTerms = (a: Terms | undefined, b: Terms | undefined) =>
  !!a &&
  !!b &&
  a.price === b.price &&
  a.deadlineMs === b.deadlineMs &&
  a.quality === b.quality &&
  a.upfrontPct === b.upfrontPct

export class Negotiator {
  private readonly init: NegotiatorInit
  private s: NegotiationSnapshot

  constructor(init: NegotiatorInit, snapshot?: NegotiationSnapshot) {
    if (!Number.isSafeInteger(init.maxRounds) || init.maxRounds < 1)
      throw new RangeError('maxRounds must be >= 1')
    this.init = init
    this.s = snapshot
      ? structuredClone(snapshot)
      : { state: 'open', startedAt: init.clock.now(), thread: [], mine: [], theirs: [] }
  }

  get state(): NegotiationState {
    return this.s.state
  }
  get agreement(): Terms | undefined {
    return this.s.agreement
  }
  get reason(): string | undefined {
    return this.s.reason
  }
  get thread(): readonly NegotiationMessage[] {
    return this.s.thread
  }
  snapshot(): NegotiationSnapshot {
    return structuredClone(this.s)
  }
  /** My utility of some terms. */
  utilityOf(t: Terms): number {
    return utility(t, this.init.preferences)
  }

  /** The opening proposal (round 1). */
  open(): NegotiationMessage {
    if (this.s.thread.length > 0 || this.s.state !== 'open')
      fail(MarketErrorCode.BAD_STATE, 'negotiation already started', 'ignore')
    return this.propose()
  }

  /**
   * Handle the peer's message and return my reply, if any. Throws (state
   * unchanged) for a forged, misaddressed or out-of-order message.
   */
  receive(raw: unknown): NegotiationMessage | undefined {
    const early = this.take(raw)
    // Closed by the peer's reject or accept, or expired (then `early` is our reject).
    if (early !== undefined || this.s.state !== 'open') return early
    const theirs = this.s.thread[this.s.thread.length - 1]!.terms!
    const u = this.s.theirs[this.s.theirs.length - 1]!
    const round = this.s.thread.length + 1
    const p = this.init.preferences
    const ok = this.init.acceptable?.(theirs) ?? true
    if (round > this.init.maxRounds) {
      if (ok && u >= p.reservation)
        return this.reply('accept', theirs, 'agreed', 'accepted at the round limit')
      return this.reply('reject', undefined, 'round-limit', 'round limit reached')
    }
    const c = this.nextConcession(round)
    const mine = termsAt(p, c)
    if (ok && u >= p.reservation && u >= this.utilityOf(mine))
      return this.reply('accept', theirs, 'agreed', 'accepted')
    return this.propose(c)
  }

  private assertOpen(): void {
    if (this.s.state !== 'open')
      fail(
        MarketErrorCode.NEGOTIATION_CLOSED,
        `negotiation ${this.init.negotiationId} is ${this.s.state}`,
        'ignore',
      )
  }

  /**
   * Record the peer's message without answering it (the caller answers with
   * `answer`). Same checks as `receive`; closes on a reject or an accept.
   * Returns the reject to send when the deadline has passed, else nothing.
   */
  take(raw: unknown): NegotiationMessage | undefined {
    this.assertOpen()
    const m = this.check(raw)
    this.s.thread.push(m)
    if (m.act === 'reject') {
      this.close('rejected', m.reason ?? 'rejected by peer')
      return undefined
    }
    if (this.init.clock.now() >= this.init.deadline) return this.expire()
    if (m.act === 'accept') {
      this.s.agreement = m.terms
      this.close('agreed', 'accepted by peer')
      return undefined
    }
    this.s.theirs.push(this.utilityOf(m.terms!))
    return undefined
  }

  /**
   * My reply, chosen by the caller: the opening proposal, or an answer to the
   * peer's last proposal (a counter-proposal, an accept of exactly its terms,
   * or a reject). Throws (state unchanged) when it is not my turn, the terms
   * are invalid, a proposal would pass the round limit, or an accept names
   * other terms. Past the deadline it closes as `timeout` and returns that
   * reject instead.
   */
  answer(act: NegotiationAct, terms?: Terms, reason?: string): NegotiationMessage {
    this.assertOpen()
    const last = this.s.thread[this.s.thread.length - 1]
    if (last && (last.from === this.init.self.id || last.act !== 'propose'))
      fail(MarketErrorCode.BAD_STATE, 'not my turn: waiting for the peer', 'ignore')
    if (!last && act !== 'propose')
      fail(MarketErrorCode.BAD_STATE, 'the first message must propose', 'ignore')
    const timedOut = this.expire()
    if (timedOut) return timedOut
    if (act === 'reject') return this.reply('reject', undefined, 'rejected', reason ?? 'rejected')
    if (act === 'accept') {
      if (terms !== undefined && !sameTerms(terms, last!.terms))
        fail(MarketErrorCode.BAD_MESSAGE, "an accept must repeat the peer's terms", 'reject')
      return this.reply('accept', last!.terms, 'agreed', reason ?? 'accepted')
    }
    if (act !== 'propose') fail(MarketErrorCode.BAD_MESSAGE, `unknown act ${String(act)}`, 'reject')
    if (!validTerms(terms)) fail(MarketErrorCode.BAD_MESSAGE, 'a proposal needs valid terms', 'reject')
    const round = this.s.thread.length + 1
    if (round > this.init.maxRounds)
      fail(MarketErrorCode.BAD_STATE, `round ${round} is past the round limit: accept or reject`, 'ignore')
    this.s.mine.push(1 - this.utilityOf(terms!))
    return this.send('propose', terms, reason)
  }

  /** Call when the deadline may have passed: closes as `timeout` and returns the reject to send. */
  expire(): NegotiationMessage | undefined {
    if (this.s.state !== 'open' || this.init.clock.now() < this.init.deadline) return undefined
    return this.reply('reject', undefined, 'timeout', 'deadline passed')
  }

  // -------------------------------------------------------------- internals

  private nextConcession(round: number): number {
    const i = this.init
    return i.strategy.concession({
      round,
      maxRounds: i.maxRounds,
      now: i.clock.now(),
      startedAt: this.s.startedAt,
      deadline: i.deadline,
      reservation: i.preferences.reservation,
      mine: this.s.mine,
      theirs: this.s.theirs,
    })
  }

  private propose(c = this.nextConcession(this.s.thread.length + 1)): NegotiationMessage {
    this.s.mine.push(c)
    return this.send('propose', termsAt(this.init.preferences, c))
  }

  private reply(act: 'accept' | 'reject', terms: Terms | undefined, state: NegotiationState, reason: string) {
    const m = this.send(act, terms, reason)
    if (act === 'accept') this.s.agreement = terms
    this.close(state, reason)
    return m
  }

  private close(state: NegotiationState, reason: string): void {
    this.s.state = state
    this.s.reason = reason
  }

  private send(act: NegotiationAct, terms?: Terms, reason?: string): NegotiationMessage {
    const i = this.init
    const round = this.s.thread.length + 1
    const b = body({
      negotiationId: i.negotiationId,
      messageId: `${i.negotiationId}#${round}`,
      inReplyTo: this.s.thread[this.s.thread.length - 1]?.messageId,
      round,
      act,
      from: i.self.id,
      to: i.peer,
      terms,
      reason,
      sentAt: i.clock.now(),
      cfpId: i.cfpId,
    })
    const m: NegotiationMessage = { ...b, signature: toB64(sign(NEGOTIATE_DOMAIN, b, i.self.secretKey)) }
    this.s.thread.push(m)
    return m
  }

  private check(raw: unknown): NegotiationMessage {
    if (typeof raw !== 'object' || raw === null)
      fail(MarketErrorCode.BAD_MESSAGE, 'not a negotiation message', 'reject')
    const m = raw as NegotiationMessage
    const i = this.init
    if (m.from !== i.peer || m.to !== i.self.id || m.negotiationId !== i.negotiationId)
      fail(MarketErrorCode.BAD_MESSAGE, 'message is not from my peer in this negotiation', 'reject')
    if (
      typeof m.signature !== 'string' ||
      !verify(NEGOTIATE_DOMAIN, body(m), fromB64(m.signature), fromHex(i.peer))
    )
      fail(MarketErrorCode.BAD_SIGNATURE, 'negotiation message signature does not verify', 'penalise')
    const round = this.s.thread.length + 1
    const last = this.s.thread[this.s.thread.length - 1]
    if (m.round !== round || m.messageId !== `${i.negotiationId}#${round}` || m.inReplyTo !== last?.messageId)
      fail(
        MarketErrorCode.OUT_OF_ORDER,
        `expected round ${round} in reply to ${last?.messageId ?? 'nothing'}`,
        'ignore',
      )
    if (!['propose', 'accept', 'reject'].includes(m.act))
      fail(MarketErrorCode.BAD_MESSAGE, `unknown act ${m.act}`, 'reject')
    if (m.act === 'propose') {
      if (!validTerms(m.terms)) fail(MarketErrorCode.BAD_MESSAGE, 'proposal without valid terms', 'reject')
      if (m.round > i.maxRounds) fail(MarketErrorCode.BAD_MESSAGE, 'proposal past the round limit', 'reject')
    }
    if (
      m.act === 'accept' &&
      (last?.act !== 'propose' || last.from !== i.self.id || !sameTerms(m.terms, last.terms))
    )
      fail(MarketErrorCode.BAD_MESSAGE, 'accept does not repeat the terms of my last proposal', 'reject')
    return m
  }
}

/**
 * Run two negotiators against each other locally (simulations, tests,
 * examples), advancing `clock` by `stepMs` per message.
 */
export function runNegotiation(
  opener: Negotiator,
  responder: Negotiator,
  clock: { advance(ms: number): number },
  stepMs = 10,
): { opener: NegotiationState; responder: NegotiationState; agreement?: Terms; messages: number } {
  let msg: NegotiationMessage | undefined = opener.open()
  let to = responder
  let messages = 1
  while (msg) {
    clock.advance(stepMs)
    msg = to.receive(msg)
    if (msg) messages++
    to = to === responder ? opener : responder
  }
  return { opener: opener.state, responder: responder.state, agreement: responder.agreement, messages }
}
