/**
 * The daemon's negotiation glue (src/node/market/negotiate.ts) without a
 * network: a requester's `Negotiations` over a real AuctionHouse and Ledger
 * on MemoryKv, and providers' `Negotiations` on their own stores, wired by a
 * `send` that JSON-round-trips each body into the other side's `onMessage`.
 * Time is a ManualClock.
 */
import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv, putJson } from '../../../src/common/index.ts'
import type { AgentCard, AgentKeys } from '../../../src/e2e/index.ts'
import {
  type AuctionEvent,
  AuctionHouse,
  answerCfp,
  type Cfp,
  createCfp,
  Ledger,
  type Terms,
  utility,
} from '../../../src/market/index.ts'
import type { MarketAck } from '../../../src/node/market/messages.ts'
import {
  mechanismTerms,
  mergeTerms,
  type NegotiateBody,
  negotiationDeadline,
  Negotiations,
  providerAcceptable,
  providerPreferences,
  requesterAcceptable,
  requesterPreferences,
} from '../../../src/node/market/negotiate.ts'
import type {
  BidHandlerEntry,
  NegotiationNotice,
  NegotiationPolicy,
} from '../../../src/node/market/provider.ts'
import { agent } from '../market/fixtures.ts'

const R = agent(31)
const P1 = agent(32)
const P2 = agent(33)
const keys = (a: { id: string; sk: Uint8Array }) =>
  ({ agentId: a.id, signing: { secretKey: a.sk, publicKey: new Uint8Array() } }) as unknown as AgentKeys
const card = (id: string) => ({ body: { agentId: id } }) as unknown as AgentCard
const WINDOW = 5_000

describe('requester and provider preferences', () => {
  const cfp = { reserve: 50, resultTimeoutMs: 10_000 }
  const w = { units: 2, price: 40, payment: 70 }

  it('the requester values price only, between the ask and the budget, and reserves the mechanism terms', () => {
    const p = requesterPreferences(cfp, w)
    expect(p.price).toEqual({ best: 40, worst: 100 })
    expect(p.reservation).toBeCloseTo(0.5) // a payment of 70 is halfway from 40 to 100
    expect(utility(mechanismTerms(cfp, w), p)).toBeCloseTo(p.reservation)
    const ok = requesterAcceptable(cfp, w)
    const t: Terms = { price: 60, deadlineMs: 10_000, quality: 'premium', upfrontPct: 0 }
    expect(ok(t)).toBe(true)
    expect(ok({ ...t, price: 101 })).toBe(false) // over the budget
    expect(ok({ ...t, upfrontPct: 5 })).toBe(false) // the daemon pays on delivery only
    expect(ok({ ...t, deadlineMs: 10_001 })).toBe(false) // later than the CFP's result timeout
    // No competition (payment = budget): it may concede up to the budget. First-price: not at all.
    expect(requesterPreferences(cfp, { ...w, payment: 100 }).reservation).toBe(0)
    expect(requesterPreferences(cfp, { ...w, payment: 40 }).reservation).toBe(1)
  })

  it('with a deadline weight both sides also bargain over the result deadline, between half and all of the timeout', () => {
    const p = requesterPreferences(cfp, w, 1)
    expect(p.deadlineMs).toEqual({ best: 5_000, worst: 10_000 })
    expect(p.reservation).toBeCloseTo(0.25) // the mechanism's terms: price halfway, the slowest deadline
    const faster: Terms = { price: 80, deadlineMs: 5_000, quality: 'standard', upfrontPct: 0 }
    // More than the VCG payment (70), but twice as fast: worth it to this requester.
    expect(utility(faster, p)).toBeGreaterThan(p.reservation)
    const q = providerPreferences(100, 60, 10_000, 2)
    expect(q.deadlineMs).toEqual({ best: 10_000, worst: 5_000 })
    const ok = providerAcceptable(60, 10_000, 2)
    expect(ok(faster)).toBe(true)
    expect(ok({ ...faster, deadlineMs: 4_999 })).toBe(false) // sooner than half the timeout
    expect(ok({ ...faster, price: 59 })).toBe(false)
    expect(providerAcceptable(60, 10_000)({ ...faster, deadlineMs: 1 })).toBe(true) // price only: any deadline
  })

  it('the provider values price from the budget down to its floor', () => {
    const p = providerPreferences(100, 30, 10_000)
    expect(p.price).toEqual({ best: 100, worst: 30 })
    expect(providerPreferences(20, 30, 1).price).toEqual({ best: 30, worst: 30 })
  })

  it('deadline a fifth of the window early; merged terms', () => {
    expect(negotiationDeadline(10_000, 5_000)).toBe(9_000)
    expect(negotiationDeadline(10_000, 100)).toBe(9_950)
    const base: Terms = { price: 10, deadlineMs: 100, quality: 'standard', upfrontPct: 0 }
    expect(mergeTerms(base, { price: 12 })).toEqual({ ...base, price: 12 })
    expect(mergeTerms(base, {})).toEqual(base)
  })
})

/** One requester and two providers, each with its own store; messages delivered in memory. */
async function world(
  opts: {
    policies?: Partial<Record<string, NegotiationPolicy>>
    strategy?: 'linear'
    deadlineWeight?: number
  } = {},
) {
  const clock = new ManualClock(1_000_000)
  const rKv = new MemoryKv()
  const ledger = new Ledger({ store: rKv, clock, node: 'R' })
  await ledger.mint(R.id, 1_000, 'genesis')
  const house = new AuctionHouse({
    ledger,
    clock,
    keyFor: (id) => (id === R.id ? R.sk : undefined),
    isLocal: () => false,
    negotiationWindowMs: WINDOW,
  })
  const pending = new Set<Promise<unknown>>()
  const failures: unknown[] = []
  const track = (p: Promise<unknown>) => {
    const q: Promise<unknown> = p.catch((err: unknown) => failures.push(err)).finally(() => pending.delete(q))
    pending.add(q)
  }
  const events: AuctionEvent[] = []
  const notices: NegotiationNotice[] = []
  const sides = new Map<string, Negotiations>()
  const stores = new Map<string, MemoryKv>([[R.id, rKv]])
  const delivered: { from: string; to: string; act: string; price?: number }[] = []
  const send = async (from: string, to: AgentCard, body: NegotiateBody): Promise<MarketAck> => {
    const side = sides.get(to.body.agentId)
    if (!side) return { ok: false, reason: 'unreachable' }
    delivered.push({ from, to: to.body.agentId, act: body.message.act, price: body.message.terms?.price })
    try {
      await side.onMessage(to.body.agentId, from, JSON.parse(JSON.stringify(body)))
      return { ok: true }
    } catch (err) {
      return { ok: false, code: (err as { code?: string }).code, reason: (err as Error).message }
    }
  }
  const make = (id: string, kv: MemoryKv) =>
    new Negotiations({
      kv,
      house,
      clock,
      config: {
        strategy: opts.strategy ?? 'linear',
        maxRounds: 10,
        windowMs: WINDOW,
        deadlineWeight: opts.deadlineWeight ?? 0,
      },
      keysOf: async (a) => keys([R, P1, P2].find((x) => x.id === a)!),
      cardOf: async (a) => card(a),
      send,
      handlerFor: (_cap, a) => ({ negotiate: a === id ? opts.policies?.[a] : undefined }) as BidHandlerEntry,
      emit: (ev) => void events.push(...ev),
      track,
    })
  sides.set(R.id, make(R.id, rKv))
  for (const p of [P1, P2]) {
    const kv = new MemoryKv()
    stores.set(p.id, kv)
    sides.set(p.id, make(p.id, kv))
  }
  for (const p of [P1, P2]) {
    const pol = opts.policies?.[p.id]
    if (pol?.kind === 'inbox') Object.assign(pol, { notify: (n: NegotiationNotice) => notices.push(n) })
  }
  const settle = async () => {
    for (let i = 0; i < 100 && pending.size > 0; i++) await Promise.all([...pending])
  }

  /** Issue a negotiated CFP for 1 unit at reserve 100, bids 30 (P1) and 45 (P2), clear it. */
  async function clear(id = 'cfp-n1'): Promise<{ cfp: Cfp; negotiateUntil: number }> {
    const cfp = createCfp(
      { id: R.id, secretKey: R.sk },
      {
        id,
        capability: 'ocr',
        payload: null,
        units: 1,
        reserve: 100,
        negotiation: true,
        resultTimeoutMs: 8_000,
      },
      clock.now(),
    )
    await house.open(cfp)
    for (const [p, price] of [
      [P1, 30],
      [P2, 45],
    ] as const) {
      const bid = (await answerCfp(
        cfp,
        { id: p.id, secretKey: p.sk },
        () => [{ units: 1, price }],
        clock.now(),
      ))!
      await house.bid(bid)
      await putJson(stores.get(p.id)!, `bid/${cfp.id}/${p.id}`, { cfp, card: card(R.id), offers: bid.offers })
    }
    clock.advance(2_500)
    const [ev] = await house.tick()
    if (ev?.type !== 'cleared') throw new Error(`expected cleared, got ${JSON.stringify(ev)}`)
    return { cfp, negotiateUntil: ev.negotiateUntil }
  }
  const award = () => events.find((e) => e.type === 'awarded') as Extract<AuctionEvent, { type: 'awarded' }>
  return {
    clock,
    house,
    ledger,
    sides,
    stores,
    events,
    notices,
    delivered,
    failures,
    track,
    settle,
    clear,
    award,
    make,
  }
}

describe('negotiated awards in the daemon glue', () => {
  it('a default provider accepts the opening offer at its own ask: the award pays the ask', async () => {
    const w = await world()
    const { cfp, negotiateUntil } = await w.clear()
    await w.sides.get(R.id)!.onCleared(cfp.id, negotiateUntil)
    await w.settle()
    expect(w.failures).toEqual([])
    expect(w.delivered.map((d) => d.act)).toEqual(['propose', 'accept'])
    const [a] = w.award().awards
    expect(a).toMatchObject({ winner: P1.id, price: 30, payment: 30 })
    expect(a!.terms).toEqual({ price: 30, deadlineMs: 8_000, quality: 'standard', upfrontPct: 0 })
    expect((await w.house.get(cfp.id))!.phase).toBe('awarded')
    expect(await w.ledger.escrow(`${cfp.id}/${P1.id}`)).toMatchObject({ status: 'open', amount: 100 })
    // The house does not award again at negotiateUntil.
    w.clock.set(negotiateUntil + 1)
    expect(await w.house.tick()).toEqual([])
  })

  it('a linear provider with a floor haggles over several rounds; they agree between its floor and the VCG payment', async () => {
    const w = await world({ policies: { [P1.id]: { kind: 'auto', strategy: 'linear', minUnitPrice: 38 } } })
    const { cfp, negotiateUntil } = await w.clear()
    await w.sides.get(R.id)!.onCleared(cfp.id, negotiateUntil)
    await w.settle()
    expect(w.failures).toEqual([])
    expect(w.delivered.length).toBeGreaterThan(3)
    const [a] = w.award().awards
    expect(a!.terms!.price).toBeGreaterThanOrEqual(38)
    expect(a!.terms!.price).toBeLessThanOrEqual(45) // never above what VCG would pay
    expect(a!.payment).toBe(a!.terms!.price)
    const rec = await w.sides.get(R.id)!.requesterSide(cfp.id)
    expect(rec!.parties[0]!.snapshot.state).toBe('agreed')
    expect(rec!.awarded!.agreed).toEqual([P1.id])
  })

  it('a requester and a provider that both weigh time agree a deadline between half and all of the timeout, and the award keeps it', async () => {
    const w = await world({
      deadlineWeight: 1,
      policies: { [P1.id]: { kind: 'auto', strategy: 'linear', minUnitPrice: 38, deadlineWeight: 1 } },
    })
    const { cfp, negotiateUntil } = await w.clear()
    await w.sides.get(R.id)!.onCleared(cfp.id, negotiateUntil)
    await w.settle()
    expect(w.failures).toEqual([])
    const [a] = w.award().awards
    const T = 8_000
    expect(a!.terms!.deadlineMs).toBeGreaterThanOrEqual(T / 2)
    expect(a!.terms!.deadlineMs).toBeLessThan(T) // the requester bought time
    expect(a!.terms!.price).toBeGreaterThanOrEqual(38)
    expect(a!.terms!.price).toBeLessThanOrEqual(100) // within the budget, not necessarily the VCG payment
    expect(a!.payment).toBe(a!.terms!.price)
    expect(a!.resultDeadline - a!.issuedAt).toBe(a!.terms!.deadlineMs)
    const rec = await w.sides.get(R.id)!.requesterSide(cfp.id)
    expect(rec!.deadlineWeight).toBe(1)
  })

  it('a provider whose floor is above the VCG payment gets no deal: the round limit ends it, the VCG terms are awarded', async () => {
    const w = await world({ policies: { [P1.id]: { kind: 'auto', strategy: 'boulware', minUnitPrice: 60 } } })
    const { cfp, negotiateUntil } = await w.clear()
    await w.sides.get(R.id)!.onCleared(cfp.id, negotiateUntil)
    await w.settle()
    expect(w.failures).toEqual([])
    expect(w.delivered).toHaveLength(11) // 10 proposals, then the requester's reject
    const offers = w.delivered.filter((d) => d.from === R.id && d.act === 'propose')
    expect(offers.every((d) => d.price! <= 45)).toBe(true) // the requester never offers more than VCG pays
    expect(w.delivered.at(-1)).toMatchObject({ from: R.id, act: 'reject' })
    const [a] = w.award().awards
    expect(a).toMatchObject({ payment: 45 })
    expect(a!.terms).toBeUndefined()
  })

  it('an inbox agent counter-proposes, then accepts; a silent one is timed out at the deadline', async () => {
    const inbox = { kind: 'inbox', notify: () => {} } as NegotiationPolicy
    const w = await world({ policies: { [P1.id]: inbox } })
    const { cfp, negotiateUntil } = await w.clear()
    const req = w.sides.get(R.id)!
    await req.onCleared(cfp.id, negotiateUntil)
    await w.settle()
    expect(w.notices).toHaveLength(1)
    const n1 = w.notices[0]!
    expect(n1).toMatchObject({
      cfpId: cfp.id,
      round: 1,
      act: 'propose',
      units: 1,
      ask: 30,
      budget: 100,
      state: 'open',
    })
    expect(n1.terms!.price).toBe(30)
    const p1 = w.sides.get(P1.id)!
    await expect(p1.answerAs(P2.id, n1.negotiationId, 'accept')).rejects.toThrow(/no negotiation/)
    expect(await p1.answerAs(P1.id, n1.negotiationId, 'propose', { price: 44 })).toBe(true)
    await w.settle()
    const n3 = w.notices.at(-1)!
    expect(n3).toMatchObject({ round: 3, act: 'propose', state: 'open' })
    expect(n3.terms!.price).toBeGreaterThan(30)
    expect(n3.terms!.price).toBeLessThan(44)
    await expect(p1.answerAs(P1.id, n1.negotiationId, 'propose', { upfrontPct: 3 })).resolves.toBe(true)
    await w.settle()
    // Up-front payment is never acceptable to the requester: it answers with its own proposal again.
    const n5 = w.notices.at(-1)!
    expect(n5).toMatchObject({ round: 5, act: 'propose' })
    expect(await p1.answerAs(P1.id, n1.negotiationId, 'accept')).toBe(true)
    await w.settle()
    expect(w.failures).toEqual([])
    const [a] = w.award().awards
    expect(a!.payment).toBe(n5.terms!.price)
    expect(a!.terms).toEqual(n5.terms)
    await expect(p1.answerAs(P1.id, n1.negotiationId, 'reject')).rejects.toThrow(/agreed/)

    // A second CFP: the agent never answers; at the deadline the requester rejects and awards the VCG terms.
    const w2 = await world({ policies: { [P1.id]: { kind: 'inbox', notify: () => {} } } })
    const c2 = await w2.clear('cfp-n2')
    const req2 = w2.sides.get(R.id)!
    await req2.onCleared(c2.cfp.id, c2.negotiateUntil)
    await w2.settle()
    req2.tick()
    await w2.settle()
    expect(w2.award()).toBeUndefined()
    w2.clock.set(negotiationDeadline(c2.negotiateUntil, WINDOW))
    req2.tick()
    await w2.settle()
    expect(w2.delivered.map((d) => d.act)).toEqual(['propose', 'reject'])
    expect(w2.notices.at(-1)).toMatchObject({ act: 'reject', state: 'rejected' })
    expect(w2.award().awards[0]).toMatchObject({ payment: 45, terms: undefined })
  })

  it('a restarted requester resumes a negotiation and awards once; one that agreed before a crash awards the agreed terms', async () => {
    const w = await world({ policies: { [P1.id]: { kind: 'inbox', notify: () => {} } } })
    const { cfp, negotiateUntil } = await w.clear()
    await w.sides.get(R.id)!.onCleared(cfp.id, negotiateUntil)
    await w.settle()
    const id = w.notices[0]!.negotiationId
    expect(await w.sides.get(P1.id)!.answerAs(P1.id, id, 'propose', { price: 44 })).toBe(true)
    await w.settle()
    // Restart: a new requester side over the same store.
    const again = w.make(R.id, w.stores.get(R.id)!)
    w.sides.set(R.id, again)
    await again.recover()
    expect(await w.sides.get(P1.id)!.answerAs(P1.id, id, 'accept')).toBe(true)
    await w.settle()
    const awards = w.events.filter((e) => e.type === 'awarded')
    expect(awards).toHaveLength(1)
    const agreed = w.notices.at(-1)!.terms!
    expect((awards[0] as Extract<AuctionEvent, { type: 'awarded' }>).awards[0]!.terms).toEqual(agreed)
    await again.recover() // nothing left to do
    expect(w.events.filter((e) => e.type === 'awarded')).toHaveLength(1)
    expect((await w.ledger.escrows()).length).toBe(1)

    // Crash between the agreement and the award: the next start awards the agreed terms, even past the window.
    const v = await world()
    const c = await v.clear('cfp-n3')
    const house = v.house as unknown as { award: AuctionHouse['award'] }
    const real = house.award.bind(v.house)
    house.award = async () => {
      throw new Error('crash')
    }
    await expect(v.sides.get(R.id)!.onCleared(c.cfp.id, c.negotiateUntil)).rejects.toThrow('crash')
    await v.settle()
    expect((await v.house.get(c.cfp.id))!.phase).toBe('cleared')
    house.award = real
    v.clock.set(c.negotiateUntil + 10_000)
    const restarted = v.make(R.id, v.stores.get(R.id)!)
    await restarted.recover()
    expect(await v.house.tick()).toEqual([]) // what the house's own recovery does next
    expect(v.award().awards[0]).toMatchObject({ payment: 30, terms: { price: 30 } })
  })

  it('refuses messages from strangers and for auctions it has no negotiation for', async () => {
    const w = await world()
    const { cfp, negotiateUntil } = await w.clear()
    await w.sides.get(R.id)!.onCleared(cfp.id, negotiateUntil)
    await w.settle()
    const rec = (await w.sides.get(R.id)!.requesterSide(cfp.id))!
    const msg = rec.parties[0]!.snapshot.thread[0]!
    // The provider's store knows no such CFP for P2.
    await expect(
      w.sides.get(P2.id)!.onMessage(P2.id, R.id, { message: { ...msg, to: P2.id } }),
    ).rejects.toThrow()
    // Sealed by another agent than the message's sender.
    await expect(w.sides.get(P1.id)!.onMessage(P1.id, P2.id, { message: msg })).rejects.toMatchObject({
      action: 'penalise',
    })
    // Late messages after the award are ignored.
    await expect(
      w.sides.get(R.id)!.onMessage(R.id, P1.id, { message: rec.parties[0]!.snapshot.thread[1]! }),
    ).rejects.toMatchObject({ code: 'MARKET_NEGOTIATION_CLOSED' })
  })
})
