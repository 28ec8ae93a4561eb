/**
 * Baseline mechanisms behind the same interface as VCG, for comparison in
 * benchmarks and experiments. None of them is strategy-proof for sellers.
 */
import { allocate } from './allocate.ts'
import type { ClearInput, ClearResult, Mechanism, Winner } from './types.ts'
import { validateClearInput } from './validate.ts'
import { settle } from './vcg.ts'

/** First-price (pay-as-bid): the efficient allocation for the reported prices; each winner is paid its price. */
export const firstPrice: Mechanism = {
  name: 'first-price',
  clear(raw: ClearInput): ClearResult {
    const input = validateClearInput(raw)
    return settle(input, allocate(input, false), (_bid, price) => price)
  },
}

/**
 * Second price, uniform: the efficient allocation; every unit is paid one
 * clearing unit price `q = min(reserve, lowest per-unit price of any offer of
 * a losing seller)`, and a winner receives `max(price, units × q)` (rounded
 * down to whole credits, never below its own price). With single-unit offers
 * this is the (K+1)-th lowest price capped at the reserve, which equals VCG.
 */
export const secondPrice: Mechanism = {
  name: 'second-price',
  clear(raw: ClearInput): ClearResult {
    const input = validateClearInput(raw)
    const alloc = allocate(input, false)
    const winning = new Set(alloc.chosen.map((c) => c.bid))
    let q = input.reserve
    input.bids.forEach((b, i) => {
      if (winning.has(i)) return
      for (const o of b.offers) q = Math.min(q, o.price / o.units)
    })
    return settle(input, alloc, (_bid, price, units) => Math.max(price, Math.floor(units * q)))
  },
}

/**
 * Posted price: the buyer posts the unit price `reserve` (take it or leave
 * it). Sellers are served in input (arrival) order; each takes its largest
 * offer that fits the remaining units and asks at most `reserve × units`, and
 * is paid `reserve × units`.
 */
export const postedPrice: Mechanism = {
  name: 'posted-price',
  clear(raw: ClearInput): ClearResult {
    const input = validateClearInput(raw)
    let left = input.units
    const winners: Winner[] = []
    let welfare = 0
    for (const b of input.bids) {
      if (left === 0) break
      let best = -1
      b.offers.forEach((o, j) => {
        if (o.units > left || o.price > input.reserve * o.units) return
        const cur = best >= 0 ? b.offers[best]! : undefined
        if (!cur || o.units > cur.units || (o.units === cur.units && o.price < cur.price)) best = j
      })
      if (best < 0) continue
      const o = b.offers[best]!
      left -= o.units
      welfare += input.reserve * o.units - o.price
      winners.push({
        bidder: b.bidder,
        units: o.units,
        price: o.price,
        payment: input.reserve * o.units,
        offer: best,
      })
    }
    winners.sort((x, y) => (x.bidder < y.bidder ? -1 : x.bidder > y.bidder ? 1 : 0))
    return { welfare, winners, totalPayment: winners.reduce((s, w) => s + w.payment, 0) }
  },
}
