/**
 * Trust aggregation: EigenTrust (Kamvar, Schlosser, Garcia-Molina 2003) with
 * pre-trusted peers, forward-decayed local trust and an evidence prior,
 * computed incrementally on a sparse CSR matrix in typed arrays.
 *
 * Local trust of rater i in agent j, from every report i wrote about j:
 *   w    = signatureWeight (1 co-signed, 0.5 one-sided) × log2(2 + price) × 2^((issuedAt − epoch)/halfLife)
 *   sat  += w × rating                       (outcome success)
 *   unsat += w × failurePenalty               (outcome failure or timeout)
 *   s_ij = max(sat_ij − unsat_ij, 0),  S_i = Σ_j s_ij
 *   c_ij = s_ij / (S_i + K)   and the rest of row i, K / (S_i + K), goes to the pre-trusted distribution p,
 *   K = priorWeight × 2^((now − epoch)/halfLife)   (the prior, in today's units).
 * Global trust is the fixed point of  t = (1 − a)·Cᵀt + a·p.
 * Because s_ij is clipped at 0, an agent that failed looks like a newcomer;
 * a separate one-hop distrust score (`distrust`) keeps the negative evidence,
 * weighted by the raters' trust.
 *
 * Forward decay: a weight is stored as 2^((issuedAt − epoch)/halfLife), so
 * adding a report never touches older entries and time passing changes no
 * row's shape: the relative weight of two reports halves every half-life of
 * age difference, and old evidence as a whole fades against the prior K.
 * Only rows that received a report are re-normalised; the iteration starts
 * from the previous vector.
 */

import type { Outcome, SignedReport } from './report.ts'
import { signatureWeight } from './report.ts'

export interface TrustInit {
  /** This node's pre-trusted agents (its personal view). Empty: uniform over all known agents. */
  preTrusted?: readonly string[]
  /** Weight a of the pre-trusted distribution in every step. @default 0.15 */
  alpha?: number
  /** Half-life of a report's weight. @default 30 days */
  halfLifeMs?: number
  /** Evidence prior K in weight units (a row with little evidence defers to p). @default 1 */
  priorWeight?: number
  /** A failure or timeout counts this many times a success. @default 2 */
  failurePenalty?: number
  /** Stop when the L1 change of the vector is below this. @default 1e-9 */
  tolerance?: number
  /** @default 200 */
  maxIterations?: number
}

export const DEFAULT_ALPHA = 0.15
export const DEFAULT_HALF_LIFE_MS = 30 * 24 * 3600_000
export const DEFAULT_PRIOR_WEIGHT = 1
export const DEFAULT_FAILURE_PENALTY = 2
/** Rebase the forward-decay epoch when exponents pass this (keeps doubles finite). */
const MAX_EXPONENT = 64

/** One rating, already verified. */
export interface Interaction {
  rater: string
  ratee: string
  outcome: Outcome
  rating: number
  price: number
  issuedAt: number
  coSigned: boolean
}

export interface ComputeStats {
  iterations: number
  /** L1 change in the last iteration. */
  residual: number
  rowsRenormalised: number
  /** True when a new edge forced a rebuild of the CSR layout. */
  rebuiltLayout: boolean
  agents: number
  edges: number
}

class Row {
  cols: number[] = []
  sat: number[] = []
  unsat: number[] = []
  readonly pos = new Map<number, number>()
  /** Cached s_ij / S_i, aligned with cols. */
  norm: Float64Array = new Float64Array(0)
  s = 0
  /** Σ_j max(unsat_ij − sat_ij, 0): the row's negative evidence. */
  neg = 0
}

export class TrustEngine {
  private readonly alpha: number
  private readonly halfLifeMs: number
  private readonly priorWeight: number
  private readonly failurePenalty: number
  private readonly tolerance: number
  private readonly maxIterations: number
  private readonly preTrustedIds: Set<string>

  private readonly index = new Map<string, number>()
  private readonly ids: string[] = []
  private readonly rows: Row[] = []
  private readonly dirty = new Set<number>()
  private layoutDirty = true
  private epoch: number | undefined

  private rowPtr = new Int32Array(1)
  private colIdx = new Int32Array(0)
  private val = new Float64Array(0)
  private t: Float64Array = new Float64Array(0)
  private d: Float64Array = new Float64Array(0)
  private edgeCount = 0
  private stats: ComputeStats = {
    iterations: 0,
    residual: 0,
    rowsRenormalised: 0,
    rebuiltLayout: false,
    agents: 0,
    edges: 0,
  }

  constructor(init: TrustInit = {}) {
    this.alpha = init.alpha ?? DEFAULT_ALPHA
    this.halfLifeMs = init.halfLifeMs ?? DEFAULT_HALF_LIFE_MS
    this.priorWeight = init.priorWeight ?? DEFAULT_PRIOR_WEIGHT
    this.failurePenalty = init.failurePenalty ?? DEFAULT_FAILURE_PENALTY
    this.tolerance = init.tolerance ?? 1e-9
    this.maxIterations = init.maxIterations ?? 200
    this.preTrustedIds = new Set(init.preTrusted ?? [])
    for (const id of this.preTrustedIds) this.agent(id)
  }

  /** The index of an agent, registering it (with zero trust) if new. */
  agent(id: string): number {
    let i = this.index.get(id)
    if (i === undefined) {
      i = this.ids.length
      this.index.set(id, i)
      this.ids.push(id)
      this.rows.push(new Row())
      this.layoutDirty = true
    }
    return i
  }

  get agentCount(): number {
    return this.ids.length
  }

  get edges(): number {
    return this.edgeCount
  }

  isPreTrusted(id: string): boolean {
    return this.preTrustedIds.has(id)
  }

  /** Feed an accepted report; `upgrade` adds only the extra weight of a new counter-signature. */
  addReport(report: SignedReport, coSigned: boolean, upgrade = false): void {
    const b = report.body
    const base = {
      rater: b.requester,
      ratee: b.provider,
      outcome: b.outcome,
      rating: b.rating,
      price: b.price,
    }
    if (upgrade) {
      this.add(
        { ...base, issuedAt: b.issuedAt, coSigned: true },
        signatureWeight(true) - signatureWeight(false),
      )
    } else {
      this.add({ ...base, issuedAt: b.issuedAt, coSigned }, signatureWeight(coSigned))
    }
  }

  addInteraction(x: Interaction): void {
    this.add(x, signatureWeight(x.coSigned))
  }

  private add(x: Interaction, sigWeight: number): void {
    if (x.rater === x.ratee) return
    if (this.epoch === undefined) this.epoch = x.issuedAt
    const i = this.agent(x.rater)
    const j = this.agent(x.ratee)
    const w = sigWeight * Math.log2(2 + x.price) * this.growth(x.issuedAt)
    const row = this.rows[i]!
    let k = row.pos.get(j)
    if (k === undefined) {
      k = row.cols.length
      row.pos.set(j, k)
      row.cols.push(j)
      row.sat.push(0)
      row.unsat.push(0)
      this.layoutDirty = true
      this.edgeCount++
    }
    if (x.outcome === 'success') row.sat[k]! += w * x.rating
    else row.unsat[k]! += w * this.failurePenalty
    this.dirty.add(i)
  }

  /** 2^((t − epoch)/halfLife), rebasing the epoch if the exponent grows large. */
  private growth(t: number): number {
    const e = (t - (this.epoch ?? t)) / this.halfLifeMs
    if (e > MAX_EXPONENT) {
      this.rebase(t)
      return 1
    }
    return 2 ** e
  }

  private rebase(newEpoch: number): void {
    const f = 2 ** (-(newEpoch - (this.epoch ?? newEpoch)) / this.halfLifeMs)
    for (let i = 0; i < this.rows.length; i++) {
      const r = this.rows[i]!
      for (let k = 0; k < r.cols.length; k++) {
        r.sat[k]! *= f
        r.unsat[k]! *= f
      }
      if (r.cols.length > 0) this.dirty.add(i)
    }
    this.epoch = newEpoch
  }

  private renormalise(i: number): void {
    const r = this.rows[i]!
    const n = r.cols.length
    if (r.norm.length !== n) r.norm = new Float64Array(n)
    let s = 0
    let neg = 0
    for (let k = 0; k < n; k++) {
      const v = r.sat[k]! - r.unsat[k]!
      const pos = Math.max(v, 0)
      r.norm[k] = pos
      s += pos
      neg += Math.max(-v, 0)
    }
    r.neg = neg
    if (s > 0) for (let k = 0; k < n; k++) r.norm[k]! /= s
    r.s = s
  }

  /** Recompute the global trust vector at time `now`, warm-starting from the last one. */
  compute(now: number): ComputeStats {
    if (this.epoch !== undefined && (now - this.epoch) / this.halfLifeMs > MAX_EXPONENT) this.rebase(now)
    const n = this.ids.length
    const renormalised = this.dirty.size
    for (const i of this.dirty) this.renormalise(i)
    const rebuilt = this.layoutDirty
    if (rebuilt) this.rebuildLayout()
    else for (const i of this.dirty) this.val.set(this.rows[i]!.norm, this.rowPtr[i]!)
    this.dirty.clear()
    this.layoutDirty = false

    const K = this.priorWeight * 2 ** ((now - (this.epoch ?? now)) / this.halfLifeMs)
    const beta = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const s = this.rows[i]!.s
      beta[i] = s > 0 ? s / (s + K) : 0
    }
    const p = this.preTrustVector(n)
    let t: Float64Array = this.warmStart(n, p)
    let next: Float64Array = new Float64Array(n)
    const a = this.alpha
    let it = 0
    let residual = 0
    for (; it < this.maxIterations;) {
      next.fill(0)
      let leak = 0
      for (let i = 0; i < n; i++) {
        const ti = t[i]!
        if (ti === 0) continue
        const b = beta[i]!
        leak += ti * (1 - b)
        if (b === 0) continue
        const w = ti * b
        const end = this.rowPtr[i + 1]!
        for (let k = this.rowPtr[i]!; k < end; k++) next[this.colIdx[k]!]! += w * this.val[k]!
      }
      let sum = 0
      for (let j = 0; j < n; j++) {
        const v = (1 - a) * (next[j]! + leak * p[j]!) + a * p[j]!
        next[j] = v
        sum += v
      }
      residual = 0
      for (let j = 0; j < n; j++) {
        const v = next[j]! / sum
        next[j] = v
        residual += Math.abs(v - t[j]!)
      }
      const tmp = t
      t = next
      next = tmp
      it++
      if (residual < this.tolerance) break
    }
    this.t = t
    this.d = this.distrustVector(t, K)
    this.stats = {
      iterations: it,
      residual,
      rowsRenormalised: renormalised,
      rebuiltLayout: rebuilt,
      agents: n,
      edges: this.edgeCount,
    }
    return this.stats
  }

  get lastStats(): ComputeStats {
    return this.stats
  }

  /**
   * One-hop distrust: d_j = Σ_i t_i · max(unsat_ij − sat_ij, 0) / (S_i + N_i + K),
   * the share of each rater's evidence that is negative about j, weighted by
   * the rater's trust. Not propagated further (distrust of distrust is not
   * meaningful), and raters without trust cannot smear anyone.
   */
  private distrustVector(t: Float64Array, K: number): Float64Array {
    const d = new Float64Array(t.length)
    for (let i = 0; i < this.rows.length; i++) {
      const r = this.rows[i]!
      const ti = t[i]!
      if (r.neg === 0 || ti === 0) continue
      const f = ti / (r.s + r.neg + K)
      for (let k = 0; k < r.cols.length; k++) {
        const v = r.unsat[k]! - r.sat[k]!
        if (v > 0) d[r.cols[k]!]! += f * v
      }
    }
    return d
  }

  private rebuildLayout(): void {
    const n = this.rows.length
    const ptr = new Int32Array(n + 1)
    for (let i = 0; i < n; i++) ptr[i + 1] = ptr[i]! + this.rows[i]!.cols.length
    const nnz = ptr[n]!
    const col = new Int32Array(nnz)
    const val = new Float64Array(nnz)
    for (let i = 0; i < n; i++) {
      const r = this.rows[i]!
      if (r.norm.length !== r.cols.length) this.renormalise(i)
      col.set(r.cols, ptr[i]!)
      val.set(r.norm, ptr[i]!)
    }
    this.rowPtr = ptr
    this.colIdx = col
    this.val = val
  }

  private preTrustVector(n: number): Float64Array {
    const p = new Float64Array(n)
    if (this.preTrustedIds.size === 0) {
      p.fill(n > 0 ? 1 / n : 0)
      return p
    }
    const share = 1 / this.preTrustedIds.size
    for (const id of this.preTrustedIds) p[this.index.get(id)!] = share
    return p
  }

  private warmStart(n: number, p: Float64Array): Float64Array {
    const t = new Float64Array(n)
    t.set(this.t.subarray(0, Math.min(n, this.t.length)))
    let sum = 0
    for (let j = 0; j < n; j++) sum += t[j]!
    if (sum <= 0) return p.slice()
    for (let j = 0; j < n; j++) t[j]! /= sum
    return t
  }

  /** Global trust of an agent (sums to 1 over all known agents); 0 if unknown or not yet computed. */
  trust(id: string): number {
    const i = this.index.get(id)
    return i === undefined ? 0 : (this.t[i] ?? 0)
  }

  /** Trust relative to the average agent (1 = average, 0 = none). */
  relativeTrust(id: string): number {
    return this.trust(id) * this.ids.length
  }

  /** Distrust (one hop, see `distrustVector`); 0 if no trusted rater reported a net failure. */
  distrust(id: string): number {
    const i = this.index.get(id)
    return i === undefined ? 0 : (this.d[i] ?? 0)
  }

  relativeDistrust(id: string): number {
    return this.distrust(id) * this.ids.length
  }

  /** The k most trusted agents, best first. */
  top(k: number): { agent: string; trust: number }[] {
    const order = [...this.ids.keys()].sort((x, y) => (this.t[y] ?? 0) - (this.t[x] ?? 0))
    return order.slice(0, k).map((i) => ({ agent: this.ids[i]!, trust: this.t[i] ?? 0 }))
  }

  /** Every known agent with its trust, in registration order. */
  snapshot(): { agent: string; trust: number }[] {
    return this.ids.map((agent, i) => ({ agent, trust: this.t[i] ?? 0 }))
  }
}
