/** Validation of clearing inputs: one clear error per malformed field. */
import { MarketError, MarketErrorCode } from '../errors.ts'
import type { ClearInput } from './types.ts'

const isWhole = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x)

function bad(msg: string): never {
  throw new MarketError(MarketErrorCode.BAD_INPUT, msg)
}
function badBid(msg: string): never {
  throw new MarketError(MarketErrorCode.BAD_BID, msg, { action: 'reject' })
}

/**
 * Checks the shape of `input`. Units are positive whole numbers no larger
 * than the requested `units`; prices and the reserve are non-negative whole
 * numbers of credits (credits are integers, which also makes winner
 * determination exact); bidder ids are unique non-empty strings; every bid has
 * at least one offer.
 */
export function validateClearInput(input: unknown): ClearInput {
  if (typeof input !== 'object' || input === null) bad('input must be an object with units, reserve and bids')
  const { units, reserve, bids } = input as Record<string, unknown>
  if (!isWhole(units) || units < 1) bad(`units must be a whole number >= 1, got ${JSON.stringify(units)}`)
  if (!isWhole(reserve) || reserve < 0)
    bad(`reserve must be a whole number of credits >= 0, got ${JSON.stringify(reserve)}`)
  if (!Number.isSafeInteger(reserve * units)) bad('reserve × units exceeds the largest safe integer')
  if (!Array.isArray(bids)) bad('bids must be an array')
  const seen = new Set<string>()
  for (let i = 0; i < bids.length; i++) {
    const b: unknown = bids[i]
    if (typeof b !== 'object' || b === null) badBid(`bid #${i} is not an object`)
    const { bidder, offers } = b as Record<string, unknown>
    if (typeof bidder !== 'string' || bidder.length === 0)
      badBid(`bid #${i}: bidder must be a non-empty string`)
    if (seen.has(bidder))
      badBid(`duplicate bidder '${bidder}' (one bid per seller; put alternatives in offers)`)
    seen.add(bidder)
    if (!Array.isArray(offers) || offers.length === 0)
      badBid(`bidder '${bidder}': offers must be a non-empty array`)
    for (let j = 0; j < offers.length; j++) {
      const o: unknown = offers[j]
      if (typeof o !== 'object' || o === null) badBid(`bidder '${bidder}' offer #${j} is not an object`)
      const { units: u, price: p } = o as Record<string, unknown>
      // Fast check first; the detailed message only on failure.
      if (isWhole(u) && u >= 1 && u <= units && isWhole(p) && p >= 0) continue
      const where = `bidder '${bidder}' offer #${j}`
      if (!isWhole(u) || u < 1)
        badBid(`${where}: units must be a whole number >= 1, got ${JSON.stringify(u)}`)
      if (u > units) badBid(`${where}: offers ${u} units but only ${units} are wanted`)
      if (typeof p !== 'number' || Number.isNaN(p))
        badBid(`${where}: price must be a number, got ${JSON.stringify(p)}`)
      if (p < 0) badBid(`${where}: price must be >= 0, got ${p}`)
      badBid(`${where}: price must be a whole number of credits, got ${p}`)
    }
  }
  return input as ClearInput
}
