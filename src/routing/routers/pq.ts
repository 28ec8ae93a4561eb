/**
 * Predictive Q-routing (Choi & Yeung 1996). Per (x, d, y): Q, the best
 * estimate ever seen B, a recovery rate R ≤ 0 and the last update time U.
 * Feedback: `ΔQ = (q+s+t) − Q; Q += α·ΔQ; B = min(B, Q)`; if ΔQ < 0 then
 * `R += β·ΔQ/(now − U)`, else if ΔQ > 0 then `R ← γ·R`; `U = now`. Routing
 * picks `argmin_y max(Q + (now − U)·R, B)`: a neighbour left alone drifts
 * back toward its best estimate and is re-probed.
 */
import { TableRouter, type TableRouterInit } from './table-router.ts'

export interface PqRouterInit extends TableRouterInit {
  /** Learning rate α. @default 0.7 */
  alpha?: number
  /** Recovery learning rate β. @default 0.7 */
  beta?: number
  /** Recovery decay γ. @default 0.9 */
  gamma?: number
}

const FIELDS = ['q', 'b', 'r', 'u', 'visits'] as const
const Q = 0
const B = 1
const R = 2
const U = 3
const V = 4

export class PqRouter extends TableRouter {
  readonly kind = 'pq'
  private readonly alpha: number
  private readonly beta: number
  private readonly gamma: number

  constructor(init: PqRouterInit) {
    super(init, FIELDS)
    this.alpha = init.alpha ?? 0.7
    this.beta = init.beta ?? 0.7
    this.gamma = init.gamma ?? 0.9
  }

  fieldNames(): readonly string[] {
    return FIELDS
  }

  protected score(base: number, now: number): number {
    const c = this.table.cells
    if (c[base + V] === 0) return c[base + Q]!
    return Math.max(c[base + Q]! + (now - c[base + U]!) * c[base + R]!, c[base + B]!)
  }

  protected confidenceAt(base: number): number {
    return this.table.cells[base + V]! > 0 ? 1 : 0
  }

  protected update(base: number, target: number, _cy: number, now: number): void {
    const c = this.table.cells
    const first = c[base + V] === 0
    const dq = target - c[base + Q]!
    c[base + Q] = c[base + Q]! + this.alpha * dq
    c[base + B] = first ? c[base + Q]! : Math.min(c[base + B]!, c[base + Q]!)
    const dt = now - c[base + U]!
    if (dq < 0) {
      if (dt > 0 && !first) c[base + R] = c[base + R]! + (this.beta * dq) / dt
    } else if (dq > 0) c[base + R] = this.gamma * c[base + R]!
    c[base + U] = now
  }

  protected set(base: number, value: number, _confidence: number, now: number): void {
    const c = this.table.cells
    c[base + Q] = value
    c[base + B] = value
    c[base + R] = 0
    c[base + U] = now
    c[base + V] = Math.max(1, c[base + V]!)
  }
}
