/**
 * VCG (Vickrey–Clarke–Groves) procurement: the efficient allocation, and each
 * winner paid its asking price plus its marginal contribution
 * `W* − W*₋ᵢ` (Clarke pivot). Truthful reporting of every offer is a dominant
 * strategy for sellers; winners are never paid less than they asked, and the
 * buyer never pays more than `reserve × units` for a seller's units.
 */
import { type Allocation, allocate } from './allocate.ts'
import type { ClearInput, ClearResult, Mechanism, Winner } from './types.ts'
import { validateClearInput } from './validate.ts'

/** Turn an allocation and a payment rule into a result. */
export function settle(
  input: ClearInput,
  alloc: Allocation,
  pay: (bid: number, price: number, units: number) => number,
): ClearResult {
  const winners: Winner[] = alloc.chosen.map(({ bid, offer }) => {
    const b = input.bids[bid]!
    const o = b.offers[offer]!
    return { bidder: b.bidder, units: o.units, price: o.price, payment: pay(bid, o.price, o.units), offer }
  })
  const totalPayment = winners.reduce((s, w) => s + w.payment, 0)
  return { welfare: alloc.welfare, winners, totalPayment }
}

export const vcg: Mechanism = {
  name: 'vcg',
  clear(raw: ClearInput): ClearResult {
    const input = validateClearInput(raw)
    const alloc = allocate(input, true)
    return settle(input, alloc, (bid, price) => price + alloc.welfare - alloc.without.get(bid)!)
  },
}
