/** How often `tick` rescans the whole active index (ms of the injected clock). */
const RESCAN_MS = 1000

/**
 * When `tick` next has work for an auction: the close of an open one, the
 * award of a cleared one, the first result deadline of an awarded one with
 * escrow still locked; never for the others.
 */
function dueAt(r: AuctionRecord): number {
  if (r.phase === 'open') return cfpCloseAt(r.cfp)
  if (r.phase === 'cleared') return r.negotiateUntil ?? 0
  if (r.phase !== 'awarded') return Number.POSITIVE_INFINITY
  let at = Number.POSITIVE_INFINITY
  for (const a of r.awards) if (a.status === 'locked') at = Math.min(at, a.award.resultDeadline)
  return at
}

/**
 * The requester's side of an auction as a persisted state machine driven by
 * an injected clock (a CFP that allows negotiation passes through `cleared`
 * between `open` and `awarded`, see `award()`):
 *
 *   open (collecting bids) ──close/tick at deadline──▶ awarded (cleared, escrows locked)
 *     │                                                  │ per award: result accepted → paid
 *     │                                                  │            failed / late / timeout → refunded
 *     └──cancel──▶ cancelled ◀──cancel (refunds)──────────┴──▶ done (every award paid or refunded)
 *
 * Every transition is ONE atomic batch on the shared store: the auction
 * record and the ledger writes it implies (clearing + every escrow lock;
 * result + release or refund). A requester killed at any point restarts from
 * the stored records: `recover('resume' | 'cancel')` finishes or cancels
 * open auctions and `tick()` keeps timing out results, so nothing is lost
 * or paid twice.
 */
import type { Clock, KvTransaction } from '../common/index.ts'
import {
  type AuctionEvent,
  type AuctionHouseInit,
  type AuctionRecord,
  type AwardState,
  DEFAULT_MAX_BIDS,
  DEFAULT_NEGOTIATION_WINDOW_MS,
  type ProvisionalAward,
} from './auction-types.ts'
import { MarketError, MarketErrorCode } from './errors.ts'
import type { Ledger } from './ledger.ts'
import { type ClearInput, getMechanism } from './mechanisms/index.ts'
import {
  type Bid,
  type Cfp,
  cfpCloseAt,
  DEFAULT_RESULT_TIMEOUT_MS,
  type Result,
  signAward,
  verifyBid,
  verifyCfp,
  verifyResult,
} from './protocol.ts'
import { type Receipt, releaseByReceipt } from './receipts.ts'
import { type BidScorer, identityScorer, scoreBids } from './scoring.ts'
import { type Terms, validTerms } from './terms.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

export class AuctionHouse {
  private readonly ledger: Ledger
  private readonly clock: Clock
  private readonly init: AuctionHouseInit
  private readonly p: string
  private readonly scorer: BidScorer
  private readonly maxBids: number
  /** cfpId → when `step` next has something to do for that active auction (see `dueRecords`). */
  private readonly due = new Map<string, number>()
  private lastScan = Number.NEGATIVE_INFINITY

  constructor(init: AuctionHouseInit) {
    this.init = init
    this.ledger = init.ledger
    this.clock = init.clock
    this.p = init.prefix ?? 'auction/'
    this.scorer = init.scorer ?? identityScorer
    this.maxBids = init.maxBids ?? DEFAULT_MAX_BIDS
  }

  // ------------------------------------------------------------------ keys
  private recKey = (id: string) => `${this.p}a/${id}`
  private bidKey = (id: string, bidder: string) => `${this.p}bid/${id}/${bidder}`
  private activeKey = (id: string) => `${this.p}active/${id}`

  private async load(tx: KvTransaction, cfpId: string): Promise<AuctionRecord> {
    const v = await tx.get(this.recKey(cfpId))
    if (!v)
      throw new MarketError(MarketErrorCode.UNKNOWN_AUCTION, `no auction for CFP ${cfpId}`, {
        action: 'ignore',
      })
    return JSON.parse(dec.decode(v)) as AuctionRecord
  }
  private save(tx: KvTransaction, r: AuctionRecord): void {
    tx.put(this.recKey(r.cfp.id), enc.encode(JSON.stringify(r)))
    if (r.phase === 'done' || r.phase === 'cancelled') {
      tx.del(this.activeKey(r.cfp.id))
      this.due.delete(r.cfp.id)
    } else {
      tx.put(this.activeKey(r.cfp.id), enc.encode('1'))
      this.due.set(r.cfp.id, dueAt(r))
    }
  }

  // ----------------------------------------------------------------- reads

  async get(cfpId: string): Promise<AuctionRecord | undefined> {
    const v = await this.ledger.kv.get(this.recKey(cfpId))
    return v ? (JSON.parse(dec.decode(v)) as AuctionRecord) : undefined
  }
  /** Every auction, or only those not yet done or cancelled. */
  async list(opts: { active?: boolean } = {}): Promise<AuctionRecord[]> {
    const out: AuctionRecord[] = []
    if (opts.active) {
      const ids: string[] = []
      for await (const [k] of this.ledger.kv.entries(`${this.p}active/`)) ids.push(k.slice(this.p.length + 7))
      for (const id of ids) {
        const r = await this.get(id)
        if (r) out.push(r)
      }
      return out
    }
    for await (const [, v] of this.ledger.kv.entries(`${this.p}a/`))
      out.push(JSON.parse(dec.decode(v)) as AuctionRecord)
    return out
  }
  async bids(cfpId: string): Promise<Bid[]> {
    const out: Bid[] = []
    for await (const [, v] of this.ledger.kv.entries(`${this.p}bid/${cfpId}/`))
      out.push(JSON.parse(dec.decode(v)) as Bid)
    return out
  }

  // ---------------------------------------------------------------- writes

  /** Start an auction for a CFP signed by a local requester. Idempotent for the same signed CFP. */
  async open(raw: Cfp): Promise<AuctionRecord> {
    const now = this.clock.now()
    const cfp = verifyCfp(raw, now)
    if (!this.init.keyFor(cfp.requester))
      throw new MarketError(
        MarketErrorCode.BAD_STATE,
        `requester ${cfp.requester.slice(0, 12)}… is not a local agent`,
      )
    const budget = cfp.reserve * cfp.units
    return this.ledger.atomic(async (tx) => {
      const prev = await tx.get(this.recKey(cfp.id))
      if (prev) {
        const r = JSON.parse(dec.decode(prev)) as AuctionRecord
        if (r.cfp.signature !== cfp.signature)
          throw new MarketError(MarketErrorCode.BAD_STATE, `CFP id ${cfp.id} is already used`)
        return r
      }
      const bal = await this.ledger.balance(cfp.requester)
      if (bal < budget)
        throw new MarketError(
          MarketErrorCode.INSUFFICIENT_FUNDS,
          `requester has ${bal} credits, the CFP may cost up to ${budget}`,
        )
      const r: AuctionRecord = { v: 1, cfp, phase: 'open', openedAt: now, bidCount: 0, awards: [] }
      this.save(tx, r)
      return r
    })
  }

  /** Record a (decrypted) bid; throws a typed error saying how to treat the sender. */
  async bid(raw: unknown): Promise<Bid> {
    const cfpId = (raw as { cfpId?: unknown } | null)?.cfpId
    if (typeof cfpId !== 'string')
      throw new MarketError(MarketErrorCode.BAD_MESSAGE, 'bid has no cfpId', { action: 'reject' })
    return this.ledger.atomic(async (tx) => {
      const r = await this.load(tx, cfpId)
      if (r.phase !== 'open')
        throw new MarketError(MarketErrorCode.EXPIRED, `auction ${cfpId} is ${r.phase}`, { action: 'ignore' })
      const bid = verifyBid(raw, r.cfp, this.clock.now())
      if (await tx.get(this.bidKey(cfpId, bid.bidder)))
        throw new MarketError(MarketErrorCode.BAD_MESSAGE, `${bid.bidder.slice(0, 12)}… already bid`, {
          action: 'ignore',
        })
      if (r.bidCount >= this.maxBids)
        throw new MarketError(MarketErrorCode.BAD_STATE, `auction ${cfpId} is full`, { action: 'ignore' })
      tx.put(this.bidKey(cfpId, bid.bidder), enc.encode(JSON.stringify(bid)))
      r.bidCount++
      this.save(tx, r)
      return bid
    })
  }

  /** Clear an open auction now (at its deadline, or early when enough bids are in). */
  async close(cfpId: string): Promise<AuctionEvent[]> {
    try {
      // Bids are read inside the serialised step, so none accepted before it is missed.
      return await this.ledger.atomic(async (tx) => this.clearIn(tx, cfpId, await this.bids(cfpId)))
    } catch (err) {
      if (!(err instanceof MarketError) || err.code !== MarketErrorCode.INSUFFICIENT_FUNDS) throw err
      return this.cancel(cfpId, `cannot lock escrow: ${err.message}`)
    }
  }

  private async clearIn(tx: KvTransaction, cfpId: string, allBids: Bid[]): Promise<AuctionEvent[]> {
    const r = await this.load(tx, cfpId)
    if (r.phase !== 'open') return []
    const now = this.clock.now()
    const cfp = r.cfp
    const live = allBids.filter((b) => b.expiresAt > now)
    const dropped = allBids
      .filter((b) => b.expiresAt <= now)
      .map((b) => ({ bidder: b.bidder, reason: 'bid expired' }))
    const { scored, dropped: refused } = await scoreBids(live, this.scorer, cfp, now)
    dropped.push(...refused)
    const input: ClearInput = {
      units: cfp.units,
      reserve: cfp.reserve,
      bids: scored.map((s) => ({
        bidder: s.bid.bidder,
        offers: s.offers.map((o) => ({ units: o.units, price: o.adjustedPrice })),
      })),
    }
    const res = getMechanism(cfp.mechanism).clear(input)
    const winners: ProvisionalAward[] = res.winners.map((w) => {
      const o = scored.find((x) => x.bid.bidder === w.bidder)!.offers[w.offer]!
      // Shift the payment back by the scorer's adjustment (see scoring.ts).
      const payment = Math.max(o.price, w.payment - (o.adjustedPrice - o.price))
      return { winner: w.bidder, units: o.units, price: o.price, payment }
    })
    r.closedAt = now
    r.welfare = winners.reduce((t, w) => t + cfp.reserve * w.units - w.price, 0)
    r.dropped = dropped
    if (winners.length === 0) {
      r.phase = 'done'
      r.reason = live.length === 0 ? 'no valid bids' : 'no offer below the reserve'
      r.totalPayment = 0
      this.save(tx, r)
      return [{ type: 'no-winner', cfpId, reason: r.reason }]
    }
    if (cfp.negotiation) {
      r.phase = 'cleared'
      r.provisional = winners
      const negotiateUntil = now + (this.init.negotiationWindowMs ?? DEFAULT_NEGOTIATION_WINDOW_MS)
      r.negotiateUntil = negotiateUntil
      this.save(tx, r)
      return [{ type: 'cleared', cfpId, winners, negotiateUntil }]
    }
    return this.awardIn(tx, r, winners, {})
  }

  /**
   * Award a cleared auction (phase `cleared`): winners listed in `agreed`
   * get the terms negotiated with them (payment = `terms.price`, at most
   * `reserve × units`; result due `terms.deadlineMs` after the award), the
   * others the mechanism's terms. Locks every escrow in the same batch.
   */
  async award(cfpId: string, agreed: Record<string, Terms> = {}): Promise<AuctionEvent[]> {
    try {
      return await this.ledger.atomic(async (tx) => {
        const r = await this.load(tx, cfpId)
        if (r.phase !== 'cleared') return []
        return this.awardIn(tx, r, r.provisional ?? [], agreed)
      })
    } catch (err) {
      if (!(err instanceof MarketError) || err.code !== MarketErrorCode.INSUFFICIENT_FUNDS) throw err
      return this.cancel(cfpId, `cannot lock escrow: ${err.message}`)
    }
  }

  private async awardIn(
    tx: KvTransaction,
    r: AuctionRecord,
    winners: ProvisionalAward[],
    agreed: Record<string, Terms>,
  ): Promise<AuctionEvent[]> {
    const cfp = r.cfp
    const now = this.clock.now()
    const key = this.init.keyFor(cfp.requester)
    if (!key) throw new MarketError(MarketErrorCode.BAD_STATE, 'requester key is no longer available')
    r.awards = []
    for (const w of winners) {
      const terms = agreed[w.winner]
      const budget = cfp.reserve * w.units
      if (terms && (!validTerms(terms) || terms.price > budget))
        throw new MarketError(
          MarketErrorCode.BAD_AMOUNT,
          `agreed terms for ${w.winner.slice(0, 12)}… exceed the budget ${budget}`,
        )
      const payment = terms ? terms.price : w.payment
      const resultDeadline =
        now + (terms ? terms.deadlineMs : (cfp.resultTimeoutMs ?? DEFAULT_RESULT_TIMEOUT_MS))
      const escrowId = `${cfp.id}/${w.winner}`
      const award = signAward(
        {
          cfpId: cfp.id,
          requester: cfp.requester,
          winner: w.winner,
          units: w.units,
          price: w.price,
          payment,
          escrowId,
          resultDeadline,
          issuedAt: now,
          terms,
        },
        key,
      )
      const locked = Math.max(budget, payment)
      await this.ledger.lock(
        escrowId,
        cfp.requester,
        locked,
        { cfpId: cfp.id, winner: w.winner, resultDeadline },
        { tx },
      )
      r.awards.push({ award, locked, status: 'locked' })
    }
    r.totalPayment = r.awards.reduce((t, a) => t + a.award.payment, 0)
    r.provisional = undefined
    r.phase = 'awarded'
    this.save(tx, r)
    return [{ type: 'awarded', cfpId: cfp.id, awards: r.awards.map((a) => a.award) }]
  }

  /**
   * A winner's result arrived. Paid when `result.ok` and `accept` (the
   * requester's check of the output) agree and it is on time; refunded
   * otherwise. A repeat for a settled award returns no events.
   */
  async result(raw: unknown, accept?: (r: Result) => boolean | Promise<boolean>): Promise<AuctionEvent[]> {
    const cfpId = (raw as { cfpId?: unknown } | null)?.cfpId
    const escrowId = (raw as { escrowId?: unknown } | null)?.escrowId
    if (typeof cfpId !== 'string' || typeof escrowId !== 'string')
      throw new MarketError(MarketErrorCode.BAD_MESSAGE, 'result has no cfpId/escrowId', { action: 'reject' })
    const rec = await this.get(cfpId)
    const st = rec?.awards.find((a) => a.award.escrowId === escrowId)
    if (!rec || !st)
      throw new MarketError(MarketErrorCode.NOT_AWARDED, `no award ${escrowId}`, { action: 'ignore' })
    const res = verifyResult(raw, st.award)
    const verdict = res.ok && (accept ? await accept(res) : true)
    return this.ledger.atomic(async (tx) => {
      const r = await this.load(tx, cfpId)
      const a = r.awards.find((x) => x.award.escrowId === escrowId)!
      if (a.status !== 'locked') return []
      const now = this.clock.now()
      if (now >= a.award.resultDeadline) return this.refundIn(tx, r, a, 'result arrived after the deadline')
      if (!verdict)
        return this.refundIn(
          tx,
          r,
          a,
          res.ok ? 'result rejected by the requester' : 'worker reported failure',
        )
      return this.payIn(tx, r, a, res.output)
    })
  }

  /**
   * Clear auctions whose bid window has closed, award cleared ones whose
   * negotiation window passed, and refund overdue results. A domain error in
   * one auction (say, a scorer that refuses to answer) is reported as an
   * `error` event and does not hold up the others; storage errors propagate.
   */
  async tick(): Promise<AuctionEvent[]> {
    const events: AuctionEvent[] = []
    const now = this.clock.now()
    for (const r of await this.dueRecords(now)) {
      try {
        events.push(...(await this.step(r, now)))
      } catch (err) {
        if (!(err instanceof MarketError)) throw err
        events.push({ type: 'error', cfpId: r.cfp.id, code: err.code, message: err.message })
      }
    }
    return events
  }

  /**
   * The active auctions `step` may have work for at `now`. Normally read from
   * the in-memory due index that `save` keeps (no store scan per tick); the
   * whole active index is rescanned every RESCAN_MS (and at the first tick),
   * so an entry the index missed (a write it did not see, a transaction that
   * failed after `save`) is caught within that time. A stale entry only costs
   * one read: `step` checks the record itself.
   */
  private async dueRecords(now: number): Promise<AuctionRecord[]> {
    if (now - this.lastScan >= RESCAN_MS || now < this.lastScan) {
      this.lastScan = now
      const all = await this.list({ active: true })
      this.due.clear()
      for (const r of all) this.due.set(r.cfp.id, dueAt(r))
      return all.filter((r) => dueAt(r) <= now)
    }
    const out: AuctionRecord[] = []
    for (const [id, at] of this.due) {
      if (at > now) continue
      const r = await this.get(id)
      if (r && r.phase !== 'done' && r.phase !== 'cancelled') out.push(r)
      else this.due.delete(id)
    }
    return out
  }

  private async step(r: AuctionRecord, now: number): Promise<AuctionEvent[]> {
    if (dueAt(r) > now) return []
    if (r.phase === 'open') return this.close(r.cfp.id)
    if (r.phase === 'cleared') return this.award(r.cfp.id)
    // awarded, with a locked award past its result deadline
    return this.ledger.atomic(async (tx) => {
      const cur = await this.load(tx, r.cfp.id)
      const out: AuctionEvent[] = []
      for (const a of cur.awards)
        if (a.status === 'locked' && now >= a.award.resultDeadline)
          out.push(...(await this.refundIn(tx, cur, a, 'timeout: no result by the deadline')))
      return out
    })
  }

  /** Cancel an auction: nothing moves for an open one; locked escrows are refunded. */
  async cancel(cfpId: string, reason: string): Promise<AuctionEvent[]> {
    return this.ledger.atomic(async (tx) => {
      const r = await this.load(tx, cfpId)
      if (r.phase === 'done' || r.phase === 'cancelled') return []
      const out: AuctionEvent[] = []
      for (const a of r.awards)
        if (a.status === 'locked') out.push(...(await this.refundIn(tx, r, a, `cancelled: ${reason}`)))
      r.phase = 'cancelled'
      r.reason = reason
      r.closedAt ??= this.clock.now()
      this.save(tx, r)
      out.push({ type: 'cancelled', cfpId, reason })
      return out
    })
  }

  /**
   * After a restart: `resume` keeps open and cleared auctions (clearing
   * those whose window closed while down, with the bids already stored, and
   * awarding cleared ones whose negotiation window passed), `cancel` cancels
   * them; awarded auctions always continue (their escrows are
   * locked; results may still arrive, `tick` refunds at the deadline).
   */
  async recover(policy: 'resume' | 'cancel'): Promise<AuctionEvent[]> {
    const events: AuctionEvent[] = []
    for (const r of await this.list({ active: true })) {
      if ((r.phase === 'open' || r.phase === 'cleared') && policy === 'cancel')
        events.push(...(await this.cancel(r.cfp.id, 'requester restarted')))
    }
    events.push(...(await this.tick()))
    return events
  }

  // ------------------------------------------------------------- internals

  private async payIn(
    tx: KvTransaction,
    r: AuctionRecord,
    a: AwardState,
    output: unknown,
  ): Promise<AuctionEvent[]> {
    const { award } = a
    const now = this.clock.now()
    let receipt: Receipt | undefined
    if (award.payment === 0) await this.ledger.release(award.escrowId, r.cfp.requester, 0, { tx })
    else if (this.init.isLocal(award.winner))
      await this.ledger.release(award.escrowId, award.winner, award.payment, { tx })
    else {
      const key = this.init.keyFor(r.cfp.requester)
      if (!key) throw new MarketError(MarketErrorCode.BAD_STATE, 'requester key is no longer available')
      const body = {
        id: `r:${award.escrowId}`,
        from: r.cfp.requester,
        to: award.winner,
        amount: award.payment,
        issuedAt: now,
        fromNode: this.init.node,
        ref: award.escrowId,
      }
      receipt = (await releaseByReceipt(this.ledger, award.escrowId, body, key, { tx })).receipt
    }
    Object.assign(a, { status: 'paid', settledAt: now, output, receipt })
    this.finish(tx, r)
    return [
      {
        type: 'paid',
        cfpId: r.cfp.id,
        escrowId: award.escrowId,
        winner: award.winner,
        amount: award.payment,
        receipt,
      },
    ]
  }

  private async refundIn(
    tx: KvTransaction,
    r: AuctionRecord,
    a: AwardState,
    reason: string,
  ): Promise<AuctionEvent[]> {
    await this.ledger.refund(a.award.escrowId, reason, { tx })
    Object.assign(a, { status: 'refunded', settledAt: this.clock.now(), reason })
    this.finish(tx, r)
    return [{ type: 'refunded', cfpId: r.cfp.id, escrowId: a.award.escrowId, winner: a.award.winner, reason }]
  }

  private finish(tx: KvTransaction, r: AuctionRecord): void {
    if (r.phase === 'awarded' && r.awards.every((a) => a.status !== 'locked')) r.phase = 'done'
    this.save(tx, r)
  }
}
