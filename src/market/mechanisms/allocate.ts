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
  const cands = candidates(input).map((c) => ({ bid: c.bid, bidder: c.bidder, o: c.offers[0]! }))
  cands.sort((x, y) => x.o.price - y.o.price || byId(x.bidder, y.bidder))
  const m = Math.min(K, cands.length)
  const winners = cands.slice(0, m)
  let welfare = 0
  for (const w of winners) welfare += w.o.value
  const without = new Map<number, number>()
  if (withExclusions) {
    const next = cands[m]
    const refill = next ? r - next.o.price : 0
    for (const w of winners) without.set(w.bid, welfare - w.o.value + refill)
  }
  winners.sort((x, y) => byId(x.bidder, y.bidder))
  return { welfare, chosen: winners.map((w) => ({ bid: w.bid, offer: w.o.offer })), without }
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
