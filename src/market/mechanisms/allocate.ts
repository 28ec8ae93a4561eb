/**
 * Exact winner determination for procurement with XOR offers: a
 * multiple-choice knapsack solved by dynamic programming over
 * (sellers × units), plus the best welfare without each winner (for Clarke
 * payments) from prefix/suffix tables, so excluding a seller is an O(K) merge
 * instead of a full re-run.
 *
 * Objective and tie-breaking (deterministic, documented in docs/market.md):
 *  1. maximise welfare `reserve × units − Σ prices`;
 *  2. among those, buy the fewest units;
 *  3. among those, the lexicographically first choice vector: sellers are
 *     ordered by bidder id (code-unit order), and at the first seller where two
 *     allocations differ, the one that accepts an offer of that seller beats
 *     the one that skips it; between two offers of the seller the one with
 *     fewer units, then lower price, then lower index wins.
 * Offers with welfare `reserve × units − price <= 0` are never accepted
 * (rule 2 drops zero-welfare offers).
 */
import { MarketError, MarketErrorCode } from '../errors.ts'
import type { ClearInput } from './types.ts'

/** Largest DP table (cells) we build before refusing the instance. */
export const MAX_DP_CELLS = 30_000_000

export interface Allocation {
  /** Optimal welfare W*. */
  welfare: number
  /** Accepted offers, in bidder-id order. */
  chosen: { bid: number; offer: number }[]
  /** W*₋ᵢ for each chosen bid index (present only when asked for). */
  without: Map<number, number>
}

interface Cand {
  bid: number
  bidder: string
  /** Useful offers (positive welfare), in preference order. */
  offers: { offer: number; units: number; price: number; value: number }[]
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

function candidates(input: ClearInput): Cand[] {
  const out: Cand[] = []
  input.bids.forEach((b, bid) => {
    const offers = b.offers
      .map((o, offer) => ({
        offer,
        units: o.units,
        price: o.price,
        value: input.reserve * o.units - o.price,
      }))
      .filter((o) => o.value > 0)
      .sort((x, y) => x.units - y.units || x.price - y.price || x.offer - y.offer)
    if (offers.length > 0) out.push({ bid, bidder: b.bidder, offers })
  })
  return out.sort((x, y) => byId(x.bidder, y.bidder))
}

/** True when every offer is for a single unit (the fast path applies). */
export function allSingleUnit(input: ClearInput): boolean {
  return input.bids.every((b) => b.offers.every((o) => o.units === 1))
}

/**
 * Single-unit fast path: the best allocation takes the K cheapest sellers
 * (price, then bidder id) below the reserve; excluding one winner brings in
 * the (K+1)-th, if any.
 */
export function allocateSingleUnit(input: ClearInput, withExclusions: boolean): Allocation {
  const K = input.units
  const r = input.reserve
  // Each seller's best offer: the cheapest (first on equal prices), if it adds welfare.
  interface C {
    bid: number
    bidder: string
    offer: number
    price: number
  }
  const before = (x: C, y: C) => x.price < y.price || (x.price === y.price && x.bidder < y.bidder)
  // Keep the K+1 best in a sorted buffer when K is small, else sort everything.
  const cap = K + 1
  const small = cap <= 256
  const best: C[] = []
  const bids = input.bids
  for (let i = 0; i < bids.length; i++) {
    const b = bids[i]!
    let offer = 0
    let price = b.offers[0]!.price
    for (let j = 1; j < b.offers.length; j++) {
      const p = b.offers[j]!.price
      if (p < price) {
        price = p
        offer = j
      }
    }
    if (r - price <= 0) continue
    const c: C = { bid: i, bidder: b.bidder, offer, price }
    if (!small) {
      best.push(c)
      continue
    }
    if (best.length === cap && !before(c, best[cap - 1]!)) continue
    let lo = 0
    let hi = best.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (before(best[mid]!, c)) lo = mid + 1
      else hi = mid
    }
    best.splice(lo, 0, c)
    if (best.length > cap) best.pop()
  }
  if (!small) best.sort((x, y) => x.price - y.price || byId(x.bidder, y.bidder))
  const m = Math.min(K, best.length)
  const winners = best.slice(0, m)
  let welfare = 0
  for (const w of winners) welfare += r - w.price
  const without = new Map<number, number>()
  if (withExclusions) {
    const next = best[m]
    const refill = next ? r - next.price : 0
    for (const w of winners) without.set(w.bid, welfare - (r - w.price) + refill)
  }
  winners.sort((x, y) => byId(x.bidder, y.bidder))
  return { welfare, chosen: winners.map((w) => ({ bid: w.bid, offer: w.offer })), without }
}

/** The general exact solver (any offer sizes). */
export function allocateDp(input: ClearInput, withExclusions: boolean): Allocation {
  const K = input.units
  const cands = candidates(input)
  const n = cands.length
  const W = K + 1
  if ((n + 1) * W * (withExclusions ? 3 : 2) > MAX_DP_CELLS) {
    throw new MarketError(
      MarketErrorCode.TOO_LARGE,
      `instance too large for exact clearing: ${n} sellers × ${K} units exceeds ${MAX_DP_CELLS} table cells`,
    )
  }
  // Suffix tables: sw/su[i*W + k] = best (welfare, units) using sellers i..n-1 with at most k units.
  const sw = new Float64Array((n + 1) * W)
  const su = new Float64Array((n + 1) * W)
  for (let i = n - 1; i >= 0; i--) {
    const row = i * W
    const nxt = (i + 1) * W
    const offers = cands[i]!.offers
    for (let k = 0; k <= K; k++) {
      let bw = sw[nxt + k]!
      let bu = su[nxt + k]!
      for (const o of offers) {
        if (o.units > k) continue
        const w = o.value + sw[nxt + k - o.units]!
        const u = o.units + su[nxt + k - o.units]!
        if (w > bw || (w === bw && u < bu)) {
          bw = w
          bu = u
        }
      }
      sw[row + k] = bw
      su[row + k] = bu
    }
  }
  const welfare = sw[K]!
  // Backtrack from seller 0: prefer accepting an offer (in preference order) over skipping.
  const chosen: { bid: number; offer: number }[] = []
  const chosenAt: number[] = []
  let cap = K
  for (let i = 0; i < n; i++) {
    const tw = sw[i * W + cap]!
    const tu = su[i * W + cap]!
    const nxt = (i + 1) * W
    for (const o of cands[i]!.offers) {
      if (o.units > cap) continue
      if (o.value + sw[nxt + cap - o.units]! === tw && o.units + su[nxt + cap - o.units]! === tu) {
        chosen.push({ bid: cands[i]!.bid, offer: o.offer })
        chosenAt.push(i)
        cap -= o.units
        break
      }
    }
  }
  const without = new Map<number, number>()
  if (withExclusions && chosenAt.length > 0) {
    // Prefix welfare: pw[i*W + k] = best welfare using sellers 0..i-1 with at most k units.
    const pw = new Float64Array((n + 1) * W)
    for (let i = 0; i < n; i++) {
      const row = i * W
      const nxt = (i + 1) * W
      const offers = cands[i]!.offers
      for (let k = 0; k <= K; k++) {
        let bw = pw[row + k]!
        for (const o of offers) {
          if (o.units > k) continue
          const w = o.value + pw[row + k - o.units]!
          if (w > bw) bw = w
        }
        pw[nxt + k] = bw
      }
    }
    for (const i of chosenAt) {
      const pre = i * W
      const suf = (i + 1) * W
      let best = 0
      for (let k = 0; k <= K; k++) {
        const w = pw[pre + k]! + sw[suf + K - k]!
        if (w > best) best = w
      }
      without.set(cands[i]!.bid, best)
    }
  }
  return { welfare, chosen, without }
}

/** The efficient allocation, by the fast path when every offer is single-unit. */
export function allocate(input: ClearInput, withExclusions: boolean): Allocation {
  return allSingleUnit(input) ? allocateSingleUnit(input, withExclusions) : allocateDp(input, withExclusions)
}
