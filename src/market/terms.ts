/**
 * Multi-attribute terms for negotiation (AACL-Negotiate), additive utility
 * functions over them, and concession strategies.
 *
 * Utility: each attribute is scored in [0, 1] (1 at the agent's `best`
 * value, 0 at its `worst`, linear in between and clamped; quality levels
 * carry their own scores) and the scores are weighted. A buyer's best price
 * is low and a seller's high, and so on: the same code serves both sides.
 *
 * Concession: an agent at concession `c` ∈ [0, 1 − reservation] proposes
 * every numeric attribute at `best + c × (worst − best)` and the lowest-scored
 * quality level whose score is ≥ 1 − c, so its own utility is about 1 − c.
 */
export const QUALITY_LEVELS = ['standard', 'premium', 'enterprise'] as const
export type QualityLevel = (typeof QUALITY_LEVELS)[number]

export interface Terms {
  /** Total price in credits (whole). */
  price: number
  /** Delivery time after agreement, in ms (whole). */
  deadlineMs: number
  quality: QualityLevel
  /** Share of the price paid up front, in whole percent (the rest on delivery). */
  upfrontPct: number
}

export interface Range {
  best: number
  worst: number
}

export interface Preferences {
  price: Range
  deadlineMs: Range
  upfrontPct: Range
  /** Score in [0, 1] of each quality level; 1 for the most preferred. */
  quality: Record<QualityLevel, number>
  /** Non-negative weights; normalised by their sum. */
  weights: { price: number; deadlineMs: number; quality: number; upfrontPct: number }
  /** Utility below which a proposal is never accepted (and never offered). */
  reservation: number
}

const score = (x: number, r: Range): number => {
  if (r.best === r.worst) return x === r.best ? 1 : 0
  const s = (x - r.worst) / (r.best - r.worst)
  return Math.min(1, Math.max(0, s))
}

export function utility(t: Terms, p: Preferences): number {
  const w = p.weights
  const sum = w.price + w.deadlineMs + w.quality + w.upfrontPct
  if (!(sum > 0)) return 0
  return (
    (w.price * score(t.price, p.price) +
      w.deadlineMs * score(t.deadlineMs, p.deadlineMs) +
      w.quality * (p.quality[t.quality] ?? 0) +
      w.upfrontPct * score(t.upfrontPct, p.upfrontPct)) /
    sum
  )
}

/** The terms an agent proposes at concession `c` (see the module comment). */
export function termsAt(p: Preferences, c: number): Terms {
  const at = (r: Range) => Math.round(r.best + c * (r.worst - r.best))
  const levels = [...QUALITY_LEVELS].sort((a, b) => p.quality[a] - p.quality[b])
  const quality = levels.find((q) => p.quality[q] >= 1 - c - 1e-9) ?? levels[levels.length - 1]!
  return {
    price: at(p.price),
    deadlineMs: at(p.deadlineMs),
    quality,
    upfrontPct: Math.min(100, Math.max(0, at(p.upfrontPct))),
  }
}

export interface StrategyContext {
  /** Round of the proposal about to be made (1-based). */
  round: number
  maxRounds: number
  now: number
  startedAt: number
  deadline: number
  reservation: number
  /** Concessions of my previous proposals, oldest first. */
  mine: number[]
  /** My utility of each of the opponent's proposals, oldest first. */
  theirs: number[]
}

export interface Strategy {
  readonly name: string
  /** Concession for the next proposal, in [0, 1 − reservation]. */
  concession(ctx: StrategyContext): number
}

/** Progress τ ∈ [0, 1]: the larger of elapsed time and used rounds. */
export function progress(ctx: StrategyContext): number {
  const byTime = ctx.deadline > ctx.startedAt ? (ctx.now - ctx.startedAt) / (ctx.deadline - ctx.startedAt) : 1
  const byRounds = ctx.maxRounds > 1 ? (ctx.round - 1) / (ctx.maxRounds - 1) : 1
  return Math.min(1, Math.max(0, byTime, byRounds))
}

/**
 * Time-dependent concession (Faratin, Sierra & Jennings): concede
 * `(1 − reservation) × τ^(1/β)`. β < 1 is Boulware (holds firm, concedes at
 * the end), β = 1 linear, β > 1 conceder (gives ground early).
 */
export function timeDependent(beta: number, name = `time-dependent(β=${beta})`): Strategy {
  if (!(beta > 0)) throw new RangeError('beta must be > 0')
  return {
    name,
    concession: (ctx) => (1 - ctx.reservation) * progress(ctx) ** (1 / beta),
  }
}
export const boulware = (beta = 0.2): Strategy => timeDependent(beta, 'boulware')
export const linear = (): Strategy => timeDependent(1, 'linear')
export const conceder = (beta = 5): Strategy => timeDependent(beta, 'conceder')

/**
 * Tit-for-tat (relative): concede as much (in my utility) as the opponent
 * conceded in its last move, never retract, never past the reservation.
 * `firstStep` is the opening gesture after the first exchange.
 */
export function titForTat(firstStep = 0.05): Strategy {
  return {
    name: 'tit-for-tat',
    concession: (ctx) => {
      const prev = ctx.mine[ctx.mine.length - 1] ?? 0
      const n = ctx.theirs.length
      const step =
        n >= 2 ? Math.max(0, ctx.theirs[n - 1]! - ctx.theirs[n - 2]!) : ctx.mine.length > 0 ? firstStep : 0
      return Math.min(1 - ctx.reservation, prev + step)
    },
  }
}

export function validTerms(t: unknown): t is Terms {
  if (typeof t !== 'object' || t === null) return false
  const x = t as Record<string, unknown>
  const whole = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
  return (
    whole(x.price) &&
    whole(x.deadlineMs) &&
    whole(x.upfrontPct) &&
    (x.upfrontPct as number) <= 100 &&
    (QUALITY_LEVELS as readonly unknown[]).includes(x.quality)
  )
}
