/**
 * Q-routing (Boyan & Littman 1994): `Q_x(d,y) += η·((q + s + t) − Q_x(d,y))`,
 * greedy argmin with random ties, Q starts at 0, η = 0.5. With
 * `fullEcho: true` every decision first asks all neighbours for their
 * estimate and updates every `Q_x(d,·)` ("full echo").
 */
import { TableRouter, type TableRouterInit } from './table-router.ts'

export interface QRouterInit extends TableRouterInit {
  /** Learning rate η. @default 0.5 */
  learningRate?: number
}

const FIELDS = ['q', 'visits'] as const

export class QRouter extends TableRouter {
  readonly kind: string
  private readonly eta: number

  constructor(init: QRouterInit) {
    super(init, FIELDS)
    this.eta = init.learningRate ?? 0.5
    this.kind = init.fullEcho ? 'full-echo' : init.dual ? 'drq' : 'q'
  }

  fieldNames(): readonly string[] {
    return FIELDS
  }

  protected score(base: number): number {
    return this.table.cells[base]!
  }

  /** Q-routing has no confidence: 1 once the entry has been updated, else 0. */
  protected confidenceAt(base: number): number {
    return this.table.cells[base + 1]! > 0 ? 1 : 0
  }

  protected update(base: number, target: number): void {
    const c = this.table.cells
    c[base] = c[base]! + this.eta * (target - c[base]!)
  }

  protected set(base: number, value: number): void {
    const c = this.table.cells
    c[base] = value
    c[base + 1] = Math.max(1, c[base + 1]!)
  }
}
