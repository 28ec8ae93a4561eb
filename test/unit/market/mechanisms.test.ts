import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  allocateDp,
  allocateSingleUnit,
  type ClearInput,
  firstPrice,
  getMechanism,
  MarketError,
  postedPrice,
  secondPrice,
  vcg,
} from '../../../src/market/index.ts'

const strip = (r: ReturnType<typeof vcg.clear>) => ({
  welfare: r.welfare,
  totalPayment: r.totalPayment,
  winners: r.winners.map(({ bidder, units, price, payment }) => ({ bidder, units, price, payment })),
})

describe('hand-worked examples', () => {
  it('single unit: the lowest price wins and is paid the second-lowest price', () => {
    // r = 100; a asks 40, b asks 60. W* = 100-40 = 60; W*₋a = 100-60 = 40.
    // payment(a) = 40 + 60 - 40 = 60 = min(second price 60, reserve 100).
    const r = vcg.clear({
      units: 1,
      reserve: 100,
      bids: [
        { bidder: 'b', offers: [{ units: 1, price: 60 }] },
        { bidder: 'a', offers: [{ units: 1, price: 40 }] },
      ],
    })
    expect(strip(r)).toEqual({
      welfare: 60,
      totalPayment: 60,
      winners: [{ bidder: 'a', units: 1, price: 40, payment: 60 }],
    })
  })

  it('single unit: with no competitor below the reserve the winner is paid the reserve', () => {
    // b asks 120 > r = 100, so W*₋a = 0 and payment(a) = 40 + 60 - 0 = 100.
    const r = vcg.clear({
      units: 1,
      reserve: 100,
      bids: [
        { bidder: 'a', offers: [{ units: 1, price: 40 }] },
        { bidder: 'b', offers: [{ units: 1, price: 120 }] },
      ],
    })
    expect(strip(r).winners).toEqual([{ bidder: 'a', units: 1, price: 40, payment: 100 }])
  })

  // K = 3 units worth r = 10 each.
  //   A: (2 units, 8) XOR (1 unit, 5)   values 20-8 = 12, 10-5 = 5
  //   B: (2 units, 12)                  value  20-12 = 8
  //   C: (1 unit, 6)                    value  10-6 = 4
  // Feasible (≤ 3 units): A2+C1 = 16, A1+B2 = 13, B2+C1 = 12, A2 = 12, A1+C1 = 9.
  // W* = 16 (A takes 2 units at 8, C 1 unit at 6).
  // W*₋A = B2+C1 = 12 → payment(A) = 8 + 16 - 12 = 12.
  // W*₋C = A1+B2 = 13 → payment(C) = 6 + 16 - 13 = 9.
  const xor: ClearInput = {
    units: 3,
    reserve: 10,
    bids: [
      {
        bidder: 'A',
        offers: [
          { units: 2, price: 8 },
          { units: 1, price: 5 },
        ],
      },
      { bidder: 'B', offers: [{ units: 2, price: 12 }] },
      { bidder: 'C', offers: [{ units: 1, price: 6 }] },
    ],
  }

  it('multi-unit XOR: exact allocation and Clarke payments', () => {
    expect(strip(vcg.clear(xor))).toEqual({
      welfare: 16,
      totalPayment: 21,
      winners: [
        { bidder: 'A', units: 2, price: 8, payment: 12 },
        { bidder: 'C', units: 1, price: 6, payment: 9 },
      ],
    })
  })

  it('baselines on the same instance', () => {
    // first price: pay as bid, 8 + 6.
    expect(strip(firstPrice.clear(xor)).totalPayment).toBe(14)
    // second price: loser B's unit price 12/2 = 6 → A gets max(8, 2×6) = 12, C gets max(6, 6) = 6.
    expect(strip(secondPrice.clear(xor)).winners.map((w) => w.payment)).toEqual([12, 6])
    // posted price 10/unit, arrival order A, B, C: A takes 2 units (8 ≤ 20), B does not fit, C takes 1.
    const p = strip(postedPrice.clear(xor))
    expect(p).toEqual({
      welfare: 16,
      totalPayment: 30,
      winners: [
        { bidder: 'A', units: 2, price: 8, payment: 20 },
        { bidder: 'C', units: 1, price: 6, payment: 10 },
      ],
    })
  })

  it('ties: equal prices go to the lexicographically first bidder id', () => {
    const r = vcg.clear({
      units: 1,
      reserve: 100,
      bids: [
        { bidder: 'b', offers: [{ units: 1, price: 50 }] },
        { bidder: 'a', offers: [{ units: 1, price: 50 }] },
      ],
    })
    // W* = 50 either way; a wins, W*₋a = 50 so it is paid exactly 50.
    expect(strip(r).winners).toEqual([{ bidder: 'a', units: 1, price: 50, payment: 50 }])
  })

  it('ties: equal welfare goes to the allocation with fewer units; zero-welfare offers are not bought', () => {
    // r = 10, K = 2. A (1u, 5) and B (2u, 15) both add welfare 5 and do not fit together.
    // C (1u, 10) adds welfare 0. Fewest units: A alone. W*₋A = 5 (B) → payment(A) = 5.
    const r = vcg.clear({
      units: 2,
      reserve: 10,
      bids: [
        { bidder: 'B', offers: [{ units: 2, price: 15 }] },
        { bidder: 'A', offers: [{ units: 1, price: 5 }] },
        { bidder: 'C', offers: [{ units: 1, price: 10 }] },
      ],
    })
    expect(strip(r)).toEqual({
      welfare: 5,
      totalPayment: 5,
      winners: [{ bidder: 'A', units: 1, price: 5, payment: 5 }],
    })
  })

  it('multi-unit single-unit offers: uniform (K+1)-th price', () => {
    // K = 2, r = 100, prices 10, 20, 30 → two winners each paid 30.
    const bids = [10, 20, 30].map((p, i) => ({ bidder: `s${i}`, offers: [{ units: 1, price: p }] }))
    const r = vcg.clear({ units: 2, reserve: 100, bids })
    expect(r.winners.map((w) => [w.bidder, w.payment])).toEqual([
      ['s0', 30],
      ['s1', 30],
    ])
    expect(secondPrice.clear({ units: 2, reserve: 100, bids }).totalPayment).toBe(60)
  })

  it('no bids: nothing bought', () => {
    expect(strip(vcg.clear({ units: 3, reserve: 5, bids: [] }))).toEqual({
      welfare: 0,
      totalPayment: 0,
      winners: [],
    })
  })
})

describe('validation', () => {
  const base = (offers: unknown[], extra: unknown[] = []) => ({
    units: 2,
    reserve: 10,
    bids: [{ bidder: 'a', offers }, ...extra],
  })
  it.each([
    ['non-integer units', base([{ units: 1.5, price: 1 }]), /units must be a whole number/],
    ['units > K', base([{ units: 3, price: 1 }]), /offers 3 units but only 2 are wanted/],
    ['negative price', base([{ units: 1, price: -1 }]), /price must be >= 0/],
    ['NaN price', base([{ units: 1, price: Number.NaN }]), /price must be a number/],
    ['fractional price', base([{ units: 1, price: 1.25 }]), /whole number of credits/],
    ['no offers', base([]), /non-empty array/],
    [
      'duplicate bidder',
      base([{ units: 1, price: 1 }], [{ bidder: 'a', offers: [{ units: 1, price: 2 }] }]),
      /duplicate bidder 'a'/,
    ],
    ['bad K', { units: 0, reserve: 1, bids: [] }, /units must be a whole number >= 1/],
    ['bad reserve', { units: 1, reserve: -3, bids: [] }, /reserve must be/],
  ])('rejects %s', (_name, input, msg) => {
    for (const m of [vcg, firstPrice, secondPrice, postedPrice]) {
      expect(() => m.clear(input as ClearInput)).toThrow(msg)
      expect(() => m.clear(input as ClearInput)).toThrow(MarketError)
    }
  })
  it('refuses an instance too large for exact clearing instead of exhausting memory', () => {
    const bids = Array.from({ length: 400 }, (_, i) => ({
      bidder: `b${i}`,
      offers: [{ units: 2, price: 1 }],
    }))
    expect(() => vcg.clear({ units: 30_000, reserve: 1, bids })).toThrow(
      expect.objectContaining({ code: 'MARKET_TOO_LARGE' }),
    )
  })
  it('rejects an unknown mechanism by name', () => {
    expect(() => getMechanism('dutch')).toThrow(/unknown mechanism 'dutch'/)
  })
})

// ---------------------------------------------------------------- brute force

type Choice = number // -1 = skip, else offer index
const cmpId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

const lexLess = (a: number[], b: number[]) => {
  const k = a.findIndex((v, i) => v !== b[i])
  return k >= 0 && a[k]! < b[k]!
}

/** Best welfare and its allocation, by enumerating every choice vector. */
function brute(input: ClearInput, exclude?: string) {
  const bids = input.bids.filter((b) => b.bidder !== exclude).sort((x, y) => cmpId(x.bidder, y.bidder))
  const rank = bids.map((b) => {
    const order = b.offers
      .map((o, j) => ({ o, j }))
      .sort((x, y) => x.o.units - y.o.units || x.o.price - y.o.price || x.j - y.j)
    const r = new Map<number, number>()
    order.forEach((x, k) => {
      r.set(x.j, k)
    })
    r.set(-1, 1e9)
    return r
  })
  let best: { w: number; u: number; key: number[]; choice: Choice[] } | undefined
  const cur: Choice[] = []
  const rec = (i: number, units: number, w: number) => {
    if (i === bids.length) {
      const key = cur.map((c, k) => rank[k]!.get(c)!)
      const better =
        !best ||
        w > best.w ||
        (w === best.w && (units < best.u || (units === best.u && lexLess(key, best.key))))
      if (better) best = { w, u: units, key, choice: [...cur] }
      return
    }
    cur.push(-1)
    rec(i + 1, units, w)
    cur.pop()
    bids[i]!.offers.forEach((o, j) => {
      if (units + o.units > input.units) return
      cur.push(j)
      rec(i + 1, units + o.units, w + input.reserve * o.units - o.price)
      cur.pop()
    })
  }
  rec(0, 0, 0)
  const b = best!
  return {
    welfare: b.w,
    winners: bids.flatMap((bid, k) =>
      b.choice[k]! >= 0 ? [{ bidder: bid.bidder, offer: b.choice[k]! }] : [],
    ),
  }
}

/**
 * Random instances. Prices are per-unit prices around the reserve times the
 * units, plus a little noise, so that most instances have several winners,
 * multi-unit winners and ties (checked once below).
 */
const instance = (maxSellers: number, maxK: number, maxOffers: number) =>
  fc.integer({ min: 1, max: maxK }).chain((K) =>
    fc.record({
      units: fc.constant(K),
      reserve: fc.integer({ min: 2, max: 15 }),
      bids: fc.uniqueArray(
        fc.record({
          bidder: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
          offers: fc.array(
            fc
              .record({
                units: fc.oneof(
                  fc.integer({ min: 1, max: Math.ceil(K / 2) }),
                  fc.integer({ min: 1, max: K }),
                ),
                per: fc.integer({ min: 0, max: 16 }),
                extra: fc.nat(4),
              })
              .map(({ units, per, extra }) => ({ units, price: units * per + extra })),
            {
              minLength: 1,
              maxLength: maxOffers,
            },
          ),
        }),
        { maxLength: maxSellers, selector: (b) => b.bidder },
      ),
    }),
  )

describe('properties on random instances', () => {
  it('the generator covers several winners, multi-unit winners and positive Clarke bonuses', () => {
    const seen = { several: 0, multiUnit: 0, bonus: 0 }
    fc.assert(
      fc.property(instance(5, 5, 3), (input) => {
        const r = vcg.clear(input)
        if (r.winners.length >= 2) seen.several++
        if (r.winners.some((w) => w.units > 1)) seen.multiUnit++
        if (r.winners.some((w) => w.payment > w.price)) seen.bonus++
      }),
      { numRuns: 300, seed: 42 },
    )
    for (const n of Object.values(seen)) expect(n).toBeGreaterThan(50)
  })

  it('allocation and welfare match brute force (including tie-breaking)', () => {
    fc.assert(
      fc.property(instance(5, 5, 3), (input) => {
        const r = vcg.clear(input)
        const b = brute(input)
        expect(r.welfare).toBe(b.welfare)
        expect(r.winners.map((w) => ({ bidder: w.bidder, offer: w.offer }))).toEqual(b.winners)
        expect(r.winners.reduce((s, w) => s + w.units, 0)).toBeLessThanOrEqual(input.units)
      }),
      { numRuns: 300 },
    )
  })

  it('Clarke payments match brute-force W* − W*₋ᵢ; individual rationality for both sides', () => {
    fc.assert(
      fc.property(instance(5, 5, 3), (input) => {
        const r = vcg.clear(input)
        for (const w of r.winners) {
          expect(w.payment).toBe(w.price + r.welfare - brute(input, w.bidder).welfare)
          expect(w.payment).toBeGreaterThanOrEqual(w.price) // seller IR
          expect(w.payment).toBeLessThanOrEqual(input.reserve * w.units) // buyer never overpays
        }
      }),
      { numRuns: 200 },
    )
  })

  it('payments ≥ prices for every mechanism', () => {
    fc.assert(
      fc.property(instance(6, 6, 3), (input) => {
        for (const m of [vcg, firstPrice, secondPrice, postedPrice]) {
          for (const w of m.clear(input).winners) expect(w.payment).toBeGreaterThanOrEqual(w.price)
        }
      }),
      { numRuns: 150 },
    )
  })

  it('truthful bidding is a dominant strategy: no seller gains by misreporting its offers', () => {
    const utility = (input: ClearInput, bidder: string, trueCost: (offer: number) => number) => {
      const w = vcg.clear(input).winners.find((x) => x.bidder === bidder)
      return w ? w.payment - trueCost(w.offer) : 0
    }
    fc.assert(
      fc.property(
        instance(5, 5, 3).filter((i) => i.bids.length > 0),
        fc.nat(),
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        (input, pick, lies, keep) => {
          const i = pick % input.bids.length
          const me = input.bids[i]!
          const truth = utility(input, me.bidder, (j) => me.offers[j]!.price)
          // Misreport: any prices for the same unit counts, possibly dropping offers.
          const kept = me.offers.map((o, j) => ({ o, j })).filter((_, j) => keep[j] ?? true)
          const reported = (kept.length ? kept : [{ o: me.offers[0]!, j: 0 }]).map(({ o, j }) => ({
            j,
            offer: { units: o.units, price: lies[j] ?? o.price },
          }))
          const lie: ClearInput = {
            ...input,
            bids: input.bids.map((b, k) =>
              k === i ? { bidder: b.bidder, offers: reported.map((r) => r.offer) } : b,
            ),
          }
          const cheat = utility(lie, me.bidder, (j) => me.offers[reported[j]!.j]!.price)
          expect(cheat).toBeLessThanOrEqual(truth)
        },
      ),
      { numRuns: 400 },
    )
  })

  it('truthfulness also holds against misreports that change which unit counts are offered', () => {
    // The seller's true type: a cost for every quantity 1..K. Truthful = offer every quantity at cost.
    fc.assert(
      fc.property(
        instance(4, 4, 2),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 4, maxLength: 4 }),
        fc.array(
          fc.record({ units: fc.integer({ min: 1, max: 4 }), price: fc.integer({ min: 0, max: 60 }) }),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        (base, costs, lie) => {
          const K = base.units
          const cost = (u: number) => costs[u - 1]!
          const others: ClearInput['bids'] = base.bids
          const run = (offers: { units: number; price: number }[]) => {
            const r = vcg.clear({ ...base, bids: [...others, { bidder: 'me', offers }] })
            const w = r.winners.find((x) => x.bidder === 'me')
            return w ? w.payment - cost(w.units) : 0
          }
          const truth = run(Array.from({ length: K }, (_, i) => ({ units: i + 1, price: cost(i + 1) })))
          const cheat = run(
            lie.filter((o) => o.units <= K).length
              ? lie.filter((o) => o.units <= K)
              : [{ units: 1, price: 0 }],
          )
          expect(cheat).toBeLessThanOrEqual(truth)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('first price is not truthful: a seller gains by asking more than its cost (why VCG)', () => {
    // Costs a = 40, b = 60, reserve 100. Truthful first price pays a its cost (utility 0);
    // asking 59 still wins and earns 19. Under VCG a is paid 60 either way.
    const bids = (askA: number) => [
      { bidder: 'a', offers: [{ units: 1, price: askA }] },
      { bidder: 'b', offers: [{ units: 1, price: 60 }] },
    ]
    const u = (m: typeof vcg, ask: number) =>
      (m.clear({ units: 1, reserve: 100, bids: bids(ask) }).winners[0]?.payment ?? 40) - 40
    expect(u(firstPrice, 40)).toBe(0)
    expect(u(firstPrice, 59)).toBe(19)
    expect(u(vcg, 40)).toBe(20)
    expect(u(vcg, 59)).toBe(20)
  })

  it('the single-unit fast path matches the DP for large K too (full-sort branch, many ties)', () => {
    let seed = 7
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed
    }
    const input: ClearInput = {
      units: 300,
      reserve: 20,
      bids: Array.from({ length: 600 }, (_, i) => ({
        bidder: `x${(i * 37) % 600}`,
        offers: [{ units: 1, price: next() % 25 }],
      })),
    }
    const fast = allocateSingleUnit(input, true)
    const dp = allocateDp(input, true)
    expect(fast.welfare).toBe(dp.welfare)
    expect(fast.chosen).toEqual(dp.chosen)
    expect([...fast.without].sort()).toEqual([...dp.without].sort())
  })

  it('the single-unit fast path gives exactly the DP result', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 3 }), {
          maxLength: 30,
        }),
        (K, reserve, prices) => {
          const input: ClearInput = {
            units: K,
            reserve,
            bids: prices.map((ps, i) => ({
              bidder: `b${(i * 7919) % 101}-${i}`,
              offers: ps.map((price) => ({ units: 1, price })),
            })),
          }
          const fast = allocateSingleUnit(input, true)
          const dp = allocateDp(input, true)
          expect(fast.welfare).toBe(dp.welfare)
          expect(fast.chosen).toEqual(dp.chosen)
          expect([...fast.without].sort()).toEqual([...dp.without].sort())
        },
      ),
      { numRuns: 300 },
    )
  })
})
