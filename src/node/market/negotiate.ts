/**
 * Negotiated awards in the daemon (docs/market.md, "Negotiation in the
 * daemon"): the glue between the `AuctionHouse`'s `cleared` phase and the
 * pure AACL-Negotiate state machine (src/market/negotiation.ts).
 *
 * Requester side. When a CFP with `negotiation: true` clears, the requester's
 * node runs one `Negotiator` per provisional winner, as the requester agent:
 * it negotiates the price between the winner's asking price and the CFP's
 * budget (`reserve × units`), never accepts anything it values less than the
 * mechanism's terms (what the winner gets anyway when nothing is agreed),
 * holds the CFP's result timeout as the longest delivery time and pays
 * nothing up front. Strategy and round limit come from `market.negotiation`.
 * When every negotiation has ended (agreed, rejected, timed out, round
 * limit, undeliverable) or its deadline passed, it calls
 * `house.award(cfpId, agreed)`: agreed winners get their terms, the others
 * the mechanism's. The deadline is a fifth of the window before the house's
 * own `negotiateUntil`, so the house's fallback award (mechanism terms for
 * all) only runs when this node was too slow or down.
 *
 * Provider side. The winning bidder's node answers for its agent: JS
 * providers (and bid handlers without a policy) with a concession strategy
 * between the CFP's budget and their floor (default: accept at or above
 * their asking price), AVM agents by themselves (an inbox message per
 * requester message, answered with NEGOTIATE → `answerAs`).
 *
 * Messages are the signed, threaded `NegotiationMessage`s, sealed like every
 * market message (`market.negotiate { message, units?, ask?, budget?,
 * maxRounds?, deadline? }`, the extra fields from the requester only) and
 * acknowledged with the usual `market.ack`; replies travel as separate
 * messages. Each side persists its negotiator snapshots under `market/neg/`
 * before sending, so a restarted requester resumes (or awards the agreed
 * terms at once) instead of losing them, and `house.award` only ever awards
 * a cleared auction once.
 */
import {
  type Clock,
  getJson,
  type KvStore,
  type Logger,
  putJson,
  SwarmdError,
  UserError,
} from '../../common/index.ts'
import type { AgentCard, AgentKeys } from '../../e2e/index.ts'
import {
  type AuctionEvent,
  type AuctionHouse,
  boulware,
  type Cfp,
  conceder,
  DEFAULT_RESULT_TIMEOUT_MS,
  linear,
  MarketError,
  MarketErrorCode,
  type NegotiationAct,
  type NegotiationMessage,
  type NegotiationSnapshot,
  Negotiator,
  type Offer,
  type Preferences,
  type Strategy,
  type Terms,
  titForTat,
  utility,
} from '../../market/index.ts'
import type { NegotiationStrategyName, ProviderNegotiationStrategyName } from '../config.ts'
import type { MarketAck } from './messages.ts'
import type { BidHandlerEntry, NegotiationNotice, NegotiationPolicy } from './provider.ts'

// ------------------------------------------------------------------ pure parts

/** Concede everything at once: propose the reservation, accept whatever passes `acceptable`. */
const ACCEPT: Strategy = { name: 'accept', concession: (ctx) => 1 - ctx.reservation }

export function strategyOf(name: ProviderNegotiationStrategyName): Strategy {
  switch (name) {
    case 'boulware':
      return boulware()
    case 'linear':
      return linear()
    case 'conceder':
      return conceder()
    case 'tit-for-tat':
      return titForTat()
    case 'accept':
      return ACCEPT
  }
}

/** `cfpId/winner`, like the award's escrow id. */
export const negotiationIdOf = (cfpId: string, winner: string) => `${cfpId}/${winner}`

type CfpTerms = Pick<Cfp, 'reserve' | 'resultTimeoutMs'>
interface Winner {
  units: number
  /** The winner's asking price for `units`. */
  price: number
  /** The mechanism's payment. */
  payment: number
}

const resultTimeout = (cfp: CfpTerms) => cfp.resultTimeoutMs ?? DEFAULT_RESULT_TIMEOUT_MS
const flat = (x: number) => ({ best: x, worst: x })
/** Neither side's node can check a quality label: the daemon's negotiators are indifferent to it. */
const ANY_QUALITY = { standard: 1, premium: 1, enterprise: 1 }

/** What a winner is awarded when nothing is agreed: the mechanism's payment, the CFP's result timeout. */
export function mechanismTerms(cfp: CfpTerms, w: Winner): Terms {
  return { price: w.payment, deadlineMs: resultTimeout(cfp), quality: 'standard', upfrontPct: 0 }
}

/** A result deadline from all of the CFP's result timeout to half of it: the range the deadline is negotiated in. */
const deadlineSpan = (T: number) => ({ early: Math.max(1, Math.ceil(T / 2)), late: T })

/**
 * The requester's preferences towards one winner: price from the winner's
 * ask (best) to the budget `reserve × units` (worst); with `deadlineWeight`
 * > 0 also the result deadline, from half the CFP's result timeout (best) to
 * all of it (worst), weighed against price (1). The reservation utility is
 * that of the mechanism's terms: with price alone it never proposes or
 * accepts a price above the payment it would make anyway; with a deadline
 * weight it may pay more than that for a sooner result.
 */
export function requesterPreferences(cfp: CfpTerms, w: Winner, deadlineWeight = 0): Preferences {
  const budget = cfp.reserve * w.units
  const T = resultTimeout(cfp)
  const span = deadlineSpan(T)
  const p: Preferences = {
    price: { best: Math.min(w.price, budget), worst: budget },
    deadlineMs: deadlineWeight > 0 ? { best: span.early, worst: span.late } : flat(T),
    upfrontPct: flat(0),
    quality: ANY_QUALITY,
    weights: { price: 1, deadlineMs: deadlineWeight, quality: 0, upfrontPct: 0 },
    reservation: 0,
  }
  p.reservation = utility(mechanismTerms(cfp, w), p)
  return p
}

/** The requester's hard limits: within the budget, delivered within the CFP's result timeout, nothing up front. */
export function requesterAcceptable(cfp: CfpTerms, w: Winner): (t: Terms) => boolean {
  const budget = cfp.reserve * w.units
  const T = resultTimeout(cfp)
  return (t) => t.price <= budget && t.upfrontPct === 0 && t.deadlineMs >= 1 && t.deadlineMs <= T
}

/**
 * A providing agent's preferences: price from the budget (best) down to its
 * floor (worst); with `deadlineWeight` > 0 also the result deadline, from
 * the CFP's whole result timeout (best) down to half of it (worst).
 */
export function providerPreferences(
  budget: number,
  floor: number,
  resultTimeoutMs: number,
  deadlineWeight = 0,
): Preferences {
  const span = deadlineSpan(resultTimeoutMs)
  return {
    price: { best: Math.max(budget, floor), worst: floor },
    deadlineMs: deadlineWeight > 0 ? { best: span.late, worst: span.early } : flat(resultTimeoutMs),
    upfrontPct: flat(0),
    quality: ANY_QUALITY,
    weights: { price: 1, deadlineMs: deadlineWeight, quality: 0, upfrontPct: 0 },
    reservation: 0,
  }
}

/** A providing agent's hard limits: at least its floor, and (when it weighs time) at least half the result timeout. */
export function providerAcceptable(
  floor: number,
  resultTimeoutMs: number,
  deadlineWeight = 0,
): (t: Terms) => boolean {
  const earliest = deadlineWeight > 0 ? deadlineSpan(resultTimeoutMs).early : 1
  return (t) => t.price >= floor && t.deadlineMs >= earliest
}

/** The requester's negotiation deadline: a fifth of the window (at least 50 ms) before the house awards by itself. */
export function negotiationDeadline(negotiateUntil: number, windowMs: number): number {
  return negotiateUntil - Math.max(50, Math.floor(windowMs / 5))
}

/** `base` with the fields `spec` sets (the AVM names only what it changes). */
export function mergeTerms(base: Terms, spec: Partial<Terms>): Terms {
  const out = { ...base }
  for (const k of ['price', 'deadlineMs', 'quality', 'upfrontPct'] as const)
    if (spec[k] !== undefined) (out as Record<string, unknown>)[k] = spec[k]
  return out
}

// ------------------------------------------------------------------ records

/** Sealed body of `market.negotiate`. The requester adds the context a winner needs for its first answer. */
export interface NegotiateBody {
  message: NegotiationMessage
  units?: number
  ask?: number
  budget?: number
  maxRounds?: number
  deadline?: number
}

interface Party extends Winner {
  winner: string
  snapshot: NegotiationSnapshot
  /** Why this winner could not be negotiated with (it gets the mechanism's terms). */
  failed?: string
}

/** Requester side, one per cleared CFP: `neg/req/<cfpId>`. */
export interface RequesterNegotiations {
  v: 1
  cfpId: string
  requester: string
  reserve: number
  resultTimeoutMs?: number
  strategy: NegotiationStrategyName
  maxRounds: number
  /** `market.negotiation.deadlineWeight` when the negotiations opened (absent: 0, price only). */
  deadlineWeight?: number
  deadline: number
  parties: Party[]
  /** Set once the award was made (by us; `superseded` when the house had already awarded the mechanism's terms). */
  awarded?: { at: number; agreed: string[]; superseded?: boolean }
}

/** Provider side, one per negotiation: `neg/prov/<cfpId>/<winner>`. */
export interface ProviderNegotiation {
  v: 1
  cfpId: string
  negotiationId: string
  requester: string
  winner: string
  capability: string
  units: number
  ask: number
  budget: number
  resultTimeoutMs: number
  maxRounds: number
  deadline: number
  snapshot?: NegotiationSnapshot
}

/** A bid this node's agent made (provider side), stored by the market service under `ourBidKey`. */
export interface OurBid {
  cfp: Cfp
  card: AgentCard
  offers?: Offer[]
}

/** Where the market service keeps `agent`'s own bid on `cfpId`. */
export const ourBidKey = (cfpId: string, agent: string): string => `bid/${cfpId}/${agent}`

const reqKey = (cfpId: string) => `neg/req/${cfpId}`
const provKey = (negotiationId: string) => `neg/prov/${negotiationId}`
const MAX_ROUNDS = 100

const bad = (msg: string, action: 'ignore' | 'reject' | 'penalise' = 'reject'): MarketError =>
  new MarketError(MarketErrorCode.BAD_MESSAGE, msg, { action })
const closed = (msg: string): MarketError =>
  new MarketError(MarketErrorCode.NEGOTIATION_CLOSED, msg, { action: 'ignore' })
const whole = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max

// ------------------------------------------------------------------ the service part

export interface NegotiationsInit {
  /** The market service's store (`market/`). */
  kv: KvStore
  house: AuctionHouse
  clock: Clock
  config: { strategy: NegotiationStrategyName; maxRounds: number; windowMs: number; deadlineWeight?: number }
  keysOf(agent: string): Promise<AgentKeys>
  cardOf(agent: string): Promise<AgentCard | undefined>
  /** Seal `body` from local agent `from` to `to`'s agent as `market.negotiate` and deliver it. */
  send(from: string, to: AgentCard, body: NegotiateBody): Promise<MarketAck>
  handlerFor(capability: string, agent: string): BidHandlerEntry | undefined
  /** Auction events of an award made here (the service sends the awards). */
  emit(events: AuctionEvent[]): void
  /** Run a background task (the service waits for them on stop and logs failures). */
  track(p: Promise<unknown>): void
  log?: Logger
}

export class Negotiations {
  private readonly i: NegotiationsInit
  private readonly locks = new Map<string, Promise<void>>()
  /** Requester side: CFPs with open negotiations → their deadline. */
  private readonly due = new Map<string, number>()

  constructor(init: NegotiationsInit) {
    this.i = init
  }

  /** One step at a time per key (a CFP on the requester side, a negotiation on the provider side). */
  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve()
    const run = prev.then(fn)
    const tail = run.then(
      () => undefined,
      () => undefined,
    )
    this.locks.set(key, tail)
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key)
    })
    return run
  }

  stop(): void {
    this.due.clear()
  }

  /** The requester's negotiations of a CFP (for `market show`), if any. */
  requesterSide(cfpId: string): Promise<RequesterNegotiations | undefined> {
    return getJson<RequesterNegotiations>(this.i.kv, reqKey(cfpId))
  }

  // ---------------------------------------------------------------- requester

  /** A CFP cleared into `cleared`: open a negotiation with each provisional winner. */
  async onCleared(cfpId: string, negotiateUntil: number): Promise<void> {
    const { kv, clock, config } = this.i
    const openings = await this.serial(cfpId, async () => {
      if (await getJson(kv, reqKey(cfpId))) return []
      const rec = await this.i.house.get(cfpId)
      if (!rec || rec.phase !== 'cleared' || !rec.provisional) return []
      const deadline = negotiationDeadline(negotiateUntil, config.windowMs)
      // Too late to negotiate (a requester restarted near the end): the house awards the mechanism's terms.
      if (deadline <= clock.now()) return []
      const keys = await this.i.keysOf(rec.cfp.requester)
      const r: RequesterNegotiations = {
        v: 1,
        cfpId,
        requester: rec.cfp.requester,
        reserve: rec.cfp.reserve,
        resultTimeoutMs: rec.cfp.resultTimeoutMs,
        strategy: config.strategy,
        maxRounds: config.maxRounds,
        ...(config.deadlineWeight ? { deadlineWeight: config.deadlineWeight } : {}),
        deadline,
        parties: [],
      }
      const out: { party: Party; card: AgentCard; m: NegotiationMessage }[] = []
      for (const w of rec.provisional) {
        const party = { winner: w.winner, units: w.units, price: w.price, payment: w.payment } as Party
        const n = this.requesterNegotiator(r, party, keys)
        const card = await this.i.cardOf(w.winner)
        if (card) {
          const m = n.open()
          out.push({ party, card, m })
        } else party.failed = 'no card for the winner'
        party.snapshot = n.snapshot()
        r.parties.push(party)
      }
      await putJson(kv, reqKey(cfpId), r)
      this.due.set(cfpId, deadline)
      this.i.log?.info('negotiating', { cfpId, winners: r.parties.length, strategy: r.strategy, deadline })
      return out.map((o) => ({ ...o, r }))
    })
    await Promise.all(openings.map((o) => this.toWinner(o.r, o.party, o.m, o.card)))
    await this.finishIfDone(cfpId)
  }

  private requesterNegotiator(r: RequesterNegotiations, party: Party, keys: AgentKeys): Negotiator {
    return new Negotiator(
      {
        negotiationId: negotiationIdOf(r.cfpId, party.winner),
        self: { id: r.requester, secretKey: keys.signing.secretKey },
        peer: party.winner,
        preferences: requesterPreferences(r, party, r.deadlineWeight ?? 0),
        strategy: strategyOf(r.strategy),
        maxRounds: r.maxRounds,
        deadline: r.deadline,
        clock: this.i.clock,
        cfpId: r.cfpId,
        acceptable: requesterAcceptable(r, party),
      },
      party.snapshot,
    )
  }

  /** Send a requester message; an opening that cannot be delivered ends that negotiation (mechanism terms). */
  private async toWinner(
    r: RequesterNegotiations,
    party: Party,
    m: NegotiationMessage,
    card?: AgentCard,
  ): Promise<void> {
    const to = card ?? (await this.i.cardOf(party.winner))
    const ack = to
      ? await this.i.send(r.requester, to, {
          message: m,
          units: party.units,
          ask: party.price,
          budget: r.reserve * party.units,
          maxRounds: r.maxRounds,
          deadline: r.deadline,
        })
      : { ok: false, reason: 'no card for the winner' }
    if (ack.ok) return
    this.i.log?.warn('negotiation message refused', { negotiationId: m.negotiationId, reason: ack.reason })
    if (m.round !== 1) return
    await this.serial(r.cfpId, async () => {
      const cur = await getJson<RequesterNegotiations>(this.i.kv, reqKey(r.cfpId))
      const p = cur?.parties.find((x) => x.winner === party.winner)
      if (!cur || !p || cur.awarded || p.snapshot.thread.length !== 1) return
      p.failed = `opening not delivered: ${ack.reason ?? 'refused'}`
      await putJson(this.i.kv, reqKey(r.cfpId), cur)
    })
    await this.finishIfDone(r.cfpId)
  }

  private async fromWinner(cfpId: string, winner: string, m: Partial<NegotiationMessage>): Promise<void> {
    if (m.negotiationId !== negotiationIdOf(cfpId, winner))
      throw bad('negotiation id does not name this CFP and sender')
    const out = await this.serial(cfpId, async () => {
      const r = await getJson<RequesterNegotiations>(this.i.kv, reqKey(cfpId))
      const party = r?.parties.find((p) => p.winner === winner)
      if (!r || !party)
        throw new MarketError(MarketErrorCode.NOT_AWARDED, `no negotiation of ${cfpId} with this agent`, {
          action: 'ignore',
        })
      if (r.awarded) throw closed(`${cfpId} is already awarded`)
      if (party.failed) throw closed(`negotiation ${m.negotiationId} ended: ${party.failed}`)
      const n = this.requesterNegotiator(r, party, await this.i.keysOf(r.requester))
      const reply = n.receive(m)
      party.snapshot = n.snapshot()
      await putJson(this.i.kv, reqKey(cfpId), r)
      return { r, party, reply }
    })
    if (out.reply) this.i.track(this.toWinner(out.r, out.party, out.reply))
    this.i.track(this.finishIfDone(cfpId))
  }

  /** Award once every negotiation of the CFP has ended. */
  private async finishIfDone(cfpId: string): Promise<void> {
    const events = await this.serial(cfpId, async () => {
      const r = await getJson<RequesterNegotiations>(this.i.kv, reqKey(cfpId))
      if (!r || r.awarded || r.parties.some((p) => !p.failed && p.snapshot.state === 'open')) return []
      return this.award(r)
    })
    if (events.length > 0) this.i.emit(events)
  }

  private async award(r: RequesterNegotiations): Promise<AuctionEvent[]> {
    const agreed: Record<string, Terms> = {}
    for (const p of r.parties)
      if (!p.failed && p.snapshot.state === 'agreed' && p.snapshot.agreement)
        agreed[p.winner] = p.snapshot.agreement
    let events: AuctionEvent[]
    try {
      events = await this.i.house.award(r.cfpId, agreed)
    } catch (err) {
      if (!(err instanceof MarketError)) throw err
      // Not expected (the requester only agrees within the budget): award the mechanism's terms instead.
      this.i.log?.warn('agreed terms refused; awarding the mechanism terms', { cfpId: r.cfpId, error: err })
      events = await this.i.house.award(r.cfpId)
    }
    const superseded = events.length === 0
    r.awarded = { at: this.i.clock.now(), agreed: Object.keys(agreed), ...(superseded ? { superseded } : {}) }
    this.due.delete(r.cfpId)
    await putJson(this.i.kv, reqKey(r.cfpId), r)
    if (superseded && Object.keys(agreed).length > 0)
      this.i.log?.warn('negotiated too late: the house had already awarded the mechanism terms', {
        cfpId: r.cfpId,
      })
    else
      this.i.log?.info('negotiation over', {
        cfpId: r.cfpId,
        agreed: Object.keys(agreed).length,
        of: r.parties.length,
      })
    return events
  }

  /** Close the negotiations of a CFP whose deadline passed (sending the timeout rejects), then award. */
  private async onDeadline(cfpId: string): Promise<void> {
    const rejects = await this.serial(cfpId, async () => {
      const r = await getJson<RequesterNegotiations>(this.i.kv, reqKey(cfpId))
      if (!r || r.awarded) return []
      const out: { r: RequesterNegotiations; party: Party; m: NegotiationMessage }[] = []
      let keys: AgentKeys | undefined
      for (const party of r.parties) {
        if (party.failed || party.snapshot.state !== 'open') continue
        keys ??= await this.i.keysOf(r.requester)
        const n = this.requesterNegotiator(r, party, keys)
        const m = n.expire()
        if (!m) continue
        party.snapshot = n.snapshot()
        out.push({ r, party, m })
      }
      if (r.parties.some((p) => !p.failed && p.snapshot.state === 'open')) this.due.set(cfpId, r.deadline)
      await putJson(this.i.kv, reqKey(cfpId), r)
      return out
    })
    for (const o of rejects) this.i.track(this.toWinner(o.r, o.party, o.m))
    await this.finishIfDone(cfpId)
  }

  /** Called on the market's timer: close negotiations whose deadline passed. */
  tick(): void {
    const now = this.i.clock.now()
    for (const [cfpId, deadline] of this.due)
      if (now >= deadline) {
        this.due.delete(cfpId)
        this.i.track(this.onDeadline(cfpId))
      }
  }

  /**
   * At start, before the house recovers: resume the negotiations of cleared
   * auctions (awarding at once those that ended or ran out of time while the
   * node was down, with their agreed terms), and open those a crash cut off
   * before their first proposal.
   */
  async recover(): Promise<void> {
    for (const a of await this.i.house.list({ active: true })) {
      if (a.phase !== 'cleared') continue
      const id = a.cfp.id
      const r = await getJson<RequesterNegotiations>(this.i.kv, reqKey(id))
      if (!r) this.i.track(this.onCleared(id, a.negotiateUntil ?? 0))
      else if (r.awarded) continue
      else if (this.i.clock.now() >= r.deadline) await this.onDeadline(id)
      else {
        this.due.set(id, r.deadline)
        await this.finishIfDone(id)
      }
    }
  }

  // ---------------------------------------------------------------- both

  /** An inbound `market.negotiate` for local agent `to`, sealed by agent `from`. Throws typed errors. */
  async onMessage(to: string, from: string, body: Record<string, unknown>): Promise<void> {
    const m = body.message as Partial<NegotiationMessage> | undefined
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      throw bad('negotiate message has no negotiation message')
    if (m.from !== from) throw bad('negotiation message is from another agent than its sender', 'penalise')
    if (m.to !== to) throw bad('negotiation message is addressed to another agent')
    if (typeof m.cfpId !== 'string' || typeof m.negotiationId !== 'string')
      throw bad('negotiation message names no CFP')
    const r = await getJson<RequesterNegotiations>(this.i.kv, reqKey(m.cfpId))
    if (r && r.requester === to) return this.fromWinner(m.cfpId, from, m)
    return this.fromRequester(to, from, m, body)
  }

  // ---------------------------------------------------------------- provider

  private policyOf(p: ProviderNegotiation): NegotiationPolicy {
    return this.i.handlerFor(p.capability, p.winner)?.negotiate ?? { kind: 'auto', strategy: 'accept' }
  }

  private providerNegotiator(p: ProviderNegotiation, policy: NegotiationPolicy, keys: AgentKeys): Negotiator {
    const floor =
      policy.kind === 'auto' && policy.minUnitPrice !== undefined ? policy.minUnitPrice * p.units : p.ask
    const weight = policy.kind === 'auto' ? (policy.deadlineWeight ?? 0) : 0
    return new Negotiator(
      {
        negotiationId: p.negotiationId,
        self: { id: p.winner, secretKey: keys.signing.secretKey },
        peer: p.requester,
        preferences: providerPreferences(p.budget, floor, p.resultTimeoutMs, weight),
        strategy: strategyOf(policy.kind === 'auto' ? policy.strategy : 'accept'),
        maxRounds: p.maxRounds,
        deadline: p.deadline,
        clock: this.i.clock,
        cfpId: p.cfpId,
        acceptable: providerAcceptable(floor, p.resultTimeoutMs, weight),
      },
      p.snapshot,
    )
  }

  /** First message of a negotiation: it must be about a CFP our agent bid on, from its requester. */
  private async newProviderSide(
    to: string,
    from: string,
    m: Partial<NegotiationMessage>,
    body: Record<string, unknown>,
  ): Promise<ProviderNegotiation> {
    const cfpId = m.cfpId!
    const ours = await getJson<OurBid>(this.i.kv, ourBidKey(cfpId, to))
    if (!ours || ours.cfp.requester !== from)
      throw new MarketError(MarketErrorCode.NOT_AWARDED, `${to.slice(0, 12)}… did not bid on ${cfpId}`, {
        action: 'reject',
      })
    const cfp = ours.cfp
    if (!cfp.negotiation) throw bad(`${cfpId} does not allow negotiation`)
    const { units, ask, maxRounds, deadline } = body
    if (!whole(units, 1, cfp.units)) throw bad('negotiation: units out of range')
    if (!whole(ask, 0)) throw bad('negotiation: ask is not a whole number')
    if (!whole(maxRounds, 1, MAX_ROUNDS)) throw bad('negotiation: maxRounds out of range')
    if (!whole(deadline, 0)) throw bad('negotiation: no deadline')
    // Our own asking price for those units when we know it (the requester's word otherwise).
    const own = ours.offers?.find((o) => o.units === units)?.price
    return {
      v: 1,
      cfpId,
      negotiationId: negotiationIdOf(cfpId, to),
      requester: from,
      winner: to,
      capability: cfp.capability,
      units,
      ask: own ?? ask,
      budget: cfp.reserve * units,
      resultTimeoutMs: resultTimeout(cfp),
      maxRounds,
      deadline,
    }
  }

  private async fromRequester(
    to: string,
    from: string,
    m: Partial<NegotiationMessage>,
    body: Record<string, unknown>,
  ): Promise<void> {
    const negotiationId = negotiationIdOf(m.cfpId!, to)
    if (m.negotiationId !== negotiationId) throw bad('negotiation id does not name this CFP and recipient')
    const out = await this.serial(negotiationId, async () => {
      const p =
        (await getJson<ProviderNegotiation>(this.i.kv, provKey(negotiationId))) ??
        (await this.newProviderSide(to, from, m, body))
      if (p.requester !== from)
        throw new MarketError(MarketErrorCode.BAD_MESSAGE, 'not from the requester of this negotiation', {
          action: 'penalise',
        })
      const policy = this.policyOf(p)
      const n = this.providerNegotiator(p, policy, await this.i.keysOf(to))
      const reply = policy.kind === 'inbox' ? n.take(m) : n.receive(m)
      p.snapshot = n.snapshot()
      await putJson(this.i.kv, provKey(negotiationId), p)
      return { p, policy, reply, state: n.state }
    })
    if (out.reply) this.i.track(this.toRequester(out.p, out.reply))
    if (out.policy.kind === 'inbox')
      out.policy.notify({
        cfpId: out.p.cfpId,
        negotiationId,
        round: m.round!,
        act: m.act!,
        terms: m.terms,
        from,
        units: out.p.units,
        ask: out.p.ask,
        budget: out.p.budget,
        maxRounds: out.p.maxRounds,
        deadline: out.p.deadline,
        state: out.state,
      } satisfies NegotiationNotice)
  }

  private async toRequester(p: ProviderNegotiation, m: NegotiationMessage): Promise<MarketAck> {
    const ours = await getJson<OurBid>(this.i.kv, ourBidKey(p.cfpId, p.winner))
    if (!ours) return { ok: false, reason: 'no card for the requester' }
    const ack = await this.i.send(p.winner, ours.card, { message: m })
    if (!ack.ok)
      this.i.log?.warn('negotiation answer refused', { negotiationId: p.negotiationId, reason: ack.reason })
    return ack
  }

  /**
   * Local agent `agent` answers the requester's last message itself (the
   * AVM's NEGOTIATE): `propose` counter-proposes `terms` (fields not given are
   * taken from the requester's last proposal), `accept` takes the requester's
   * last proposal, `reject` ends the negotiation. Returns whether the message
   * went out as asked and the requester took it.
   */
  async answerAs(
    agent: string,
    negotiationId: string,
    act: NegotiationAct,
    terms: Partial<Terms> = {},
    reason?: string,
  ): Promise<boolean> {
    const out = await this.serial(negotiationId, async () => {
      const p = await getJson<ProviderNegotiation>(this.i.kv, provKey(negotiationId))
      if (!p || p.winner !== agent) throw new UserError(`no negotiation ${negotiationId} of this agent`)
      const n = this.providerNegotiator(p, this.policyOf(p), await this.i.keysOf(agent))
      const last = n.thread[n.thread.length - 1]
      if (!last) throw new UserError(`negotiation ${negotiationId}: nothing to answer yet`)
      let m: NegotiationMessage
      try {
        // Only a reject carries no terms, and after one the negotiator refuses any answer.
        m = n.answer(act, act === 'propose' && last.terms ? mergeTerms(last.terms, terms) : undefined, reason)
      } catch (err) {
        if (err instanceof SwarmdError) throw new UserError(`NEGOTIATE ${act}: ${err.message}`)
        throw err
      }
      p.snapshot = n.snapshot()
      await putJson(this.i.kv, provKey(negotiationId), p)
      return { p, m }
    })
    const ack = await this.toRequester(out.p, out.m)
    return ack.ok && out.m.act === act
  }
}
