/**
 * Confidence-based Q-routing (Kumar & Miikkulainen 1998), the default router.
 * Each Q carries a confidence C in [0,1]; the sender answers with its best
 * estimate t and that estimate's confidence C_y. With η = max(C_y, 1 − C_x):
 * `Q += η·((q+s+t) − Q)` and `C += η·(C_y − C)`. Confidences not refreshed
 * decay by λ at every decision taken for their destination (Kumar &
 * Miikkulainen's per-step decay). It is computed lazily, `C·λ^(steps since
 * the cell's last update)`, from a per-destination step counter, so decay
 * costs nothing per step and follows the traffic, not the wall clock.
 */
import { TableRouter, type TableRouterInit } from './table-router.ts'

export interface CqRouterInit extends TableRouterInit {
  /** Decay factor λ of an unrefreshed confidence per decision for its destination. @default 0.95 */
  decay?: number
}

const FIELDS = ['q', 'c', 'step', 'visits'] as const
const Q = 0
const C = 1
const U = 2

export class CqRouter extends TableRouter {
  readonly kind: string = 'cq'
  private readonly lnDecay: number

  constructor(init: CqRouterInit) {
    super(init, FIELDS)
    const decay = init.decay ?? 0.95
    if (!(decay > 0 && decay <= 1)) throw new RangeError('decay must be in (0, 1]')
    this.lnDecay = Math.log(decay)
    if (init.dual) this.kind = 'cdrq'
  }

  fieldNames(): readonly string[] {
    return FIELDS
  }

  protected score(base: number): number {
    return this.table.cells[base + Q]!
  }

  protected confidenceAt(base: number): number {
    const cells = this.table.cells
    const c = cells[base + C]!
    if (c === 0) return 0
    const dt = this.table.steps(this.rowOfBase(base)) - cells[base + U]!
    return dt > 0 ? c * Math.exp(this.lnDecay * dt) : c
  }

  protected update(base: number, target: number, cy: number): void {
    const cells = this.table.cells
    const cx = this.confidenceAt(base)
    const eta = Math.max(cy, 1 - cx)
    cells[base + Q] = cells[base + Q]! + eta * (target - cells[base + Q]!)
    cells[base + C] = cx + eta * (cy - cx)
    cells[base + U] = this.table.steps(this.rowOfBase(base))
  }

  protected set(base: number, value: number, confidence: number): void {
    const cells = this.table.cells
    cells[base + Q] = value
    cells[base + C] = confidence
    cells[base + U] = this.table.steps(this.rowOfBase(base))
  }
}
