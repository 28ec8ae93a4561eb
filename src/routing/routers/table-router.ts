/**
 * Shared machinery of the Q-routing family (Q, full echo, CQ, PQ; DRQ/CDRQ
 * as the `dual` option): greedy choice over a `RouterTable` with random
 * tie-breaking, optional ε-exploration, estimates, feedback, rewards,
 * seeding and snapshots. Subclasses define the cell fields, the update rule
 * and the routing score.
 */
import type { Clock, Random } from '../../common/index.ts'
import { RouterTable, type TableInit } from '../table.ts'
import {
  type Choice,
  type Dest,
  type EntryView,
  type Estimate,
  type NeighbourId,
  REASONS,
  type RouteContext,
  type Router,
  type RouterInit,
  type RouterSnapshot,
} from '../types.ts'

export interface TableRouterInit extends RouterInit {
  /** Probability of a random eligible neighbour instead of the greedy one. @default 0 */
  epsilon?: number
  /** Below this confidence `choose` reports `low-confidence` (caller falls back to DHT). @default 0 */
  confidenceThreshold?: number
  /** Apply backward (DRQ/CDRQ) updates. @default false */
  dual?: boolean
  /** Full echo: before each decision ask every neighbour (via `ctx.echo`) and update all entries. */
  fullEcho?: boolean
  /** Q of a fresh entry (0 in the classic experiment; pessimistic in capability routing). @default 0 */
  initialQ?: number
  /** Learning rate of final rewards. @default 0.5 */
  rewardRate?: number
  /** Target used for a failed trip when nothing larger is known. @default 100 */
  failurePenalty?: number
  /** Max destinations kept (cold ones are evicted). @default 1024 */
  maxRows?: number
  /** Neighbour slots; and a flat storage slab from the simulator (`maxRows*width*fields`). */
  width?: number
  cells?: Float64Array
}

const TIE = 1e-9

export abstract class TableRouter implements Router {
  abstract readonly kind: string
  readonly table: RouterTable
  protected readonly clock: Clock
  protected readonly random: Random
  protected readonly isLocal: (dest: Dest) => boolean
  protected readonly epsilon: number
  protected readonly threshold: number
  protected readonly dual: boolean
  protected readonly fullEcho: boolean
  protected readonly rewardRate: number
  protected readonly failurePenalty: number
  protected readonly initialQ: number
  /** Index of the visit counter in a cell. */
  protected readonly visitsField: number

  protected constructor(init: TableRouterInit, fields: readonly string[]) {
    this.clock = init.clock
    this.random = init.random
    this.isLocal = init.isLocal ?? (() => false)
    this.epsilon = init.epsilon ?? 0
    this.threshold = init.confidenceThreshold ?? 0
    this.dual = init.dual ?? false
    this.fullEcho = init.fullEcho ?? false
    this.rewardRate = init.rewardRate ?? 0.5
    this.failurePenalty = init.failurePenalty ?? 100
    this.visitsField = fields.length - 1
    this.initialQ = init.initialQ ?? 0
    const tinit: TableInit = { fields: fields.length, defaults: [this.initialQ] }
    if (init.maxRows !== undefined) tinit.maxRows = init.maxRows
    if (init.width !== undefined) tinit.width = init.width
    if (init.cells) tinit.cells = init.cells
    this.table = new RouterTable(tinit)
    for (const n of init.neighbours ?? []) this.table.addNeighbour(n)
  }

  /** Names of the cell fields, in storage order (the last one is `visits`). */
  abstract fieldNames(): readonly string[]
  /** The value compared when routing (lower is better). */
  protected abstract score(base: number, now: number): number
  /** Confidence of a cell now. */
  protected abstract confidenceAt(base: number, now: number): number
  /** Move the cell toward `target` (= q + s + t) given the sender's confidence. */
  protected abstract update(base: number, target: number, confidence: number, now: number): void
  /** Overwrite a cell (seeding). */
  protected abstract set(base: number, value: number, confidence: number, now: number): void

  choose(dest: Dest, ctx?: RouteContext): Choice {
    if (this.isLocal(dest)) return { next: undefined, estimate: 0, confidence: 1, reason: REASONS.LOCAL }
    const now = this.clock.now()
    const t = this.table
    if (this.fullEcho && ctx?.echo) this.echoAll(dest, ctx, now)
    const row = t.rowOf(dest)
    const slots = t.slots()
    const exclude = ctx?.exclude
    let best = -1
    let bestScore = Number.POSITIVE_INFINITY
    let ties = 0
    let eligible = 0
    for (let c = 0; c < slots.length; c++) {
      const n = slots[c]
      if (n === undefined || exclude?.(n)) continue
      eligible++
      const s = row < 0 ? this.initialQ : this.score(t.base(row, c), now)
      if (s < bestScore - TIE) {
        bestScore = s
        best = c
        ties = 1
      } else if (s <= bestScore + TIE) {
        ties++
        if (this.random.int(ties) === 0) best = c
      }
    }
    if (best < 0)
      return { next: undefined, estimate: Number.POSITIVE_INFINITY, confidence: 0, reason: REASONS.NO_ROUTE }
    let reason: Choice['reason'] = REASONS.GREEDY
    if (this.epsilon > 0 && eligible > 1 && this.random.next() < this.epsilon) {
      let k = this.random.int(eligible)
      for (let c = 0; c < slots.length; c++) {
        const n = slots[c]
        if (n === undefined || exclude?.(n)) continue
        if (k-- === 0) {
          best = c
          break
        }
      }
      reason = REASONS.EXPLORE
    }
    const base = row < 0 ? -1 : t.base(row, best)
    const estimate = base < 0 ? this.initialQ : this.cellQ(base)
    const confidence = base < 0 ? 0 : this.confidenceAt(base, now)
    if (row >= 0) {
      t.touch(row, now)
      t.step(row)
    }
    if (reason === REASONS.GREEDY && confidence < this.threshold) reason = REASONS.LOW_CONFIDENCE
    return { next: slots[best], estimate, confidence, reason }
  }

  private echoAll(dest: Dest, ctx: RouteContext, now: number): void {
    const echo = ctx.echo!
    const q = ctx.queueTime ?? 0
    const slots = this.table.slots()
    for (let c = 0; c < slots.length; c++) {
      const n = slots[c]
      if (n === undefined) continue
      const e = echo(n)
      if (!e) continue
      const s = ctx.sendTime ? ctx.sendTime(n) : 1
      const row = this.table.ensureRow(dest, now)
      const base = this.table.base(row, c)
      this.update(base, q + s + e.value, e.confidence, now)
    }
  }

  /** Row of a cell, from its storage offset. */
  protected rowOfBase(base: number): number {
    return Math.floor(base / (this.table.width * this.table.fields))
  }

  /** Q value of a cell (field 0 in every subclass). */
  protected cellQ(base: number): number {
    return this.table.cells[base]!
  }

  estimate(dest: Dest): Estimate {
    if (this.isLocal(dest)) return { value: 0, confidence: 1 }
    const t = this.table
    const row = t.rowOf(dest)
    if (row < 0) return { value: this.initialQ, confidence: 0 }
    const now = this.clock.now()
    const slots = t.slots()
    let best = -1
    let bestQ = Number.POSITIVE_INFINITY
    for (let c = 0; c < slots.length; c++) {
      if (slots[c] === undefined) continue
      const q = this.cellQ(t.base(row, c))
      if (q < bestQ) {
        bestQ = q
        best = c
      }
    }
    if (best < 0) return { value: this.initialQ, confidence: 0 }
    return { value: bestQ, confidence: this.confidenceAt(t.base(row, best), now) }
  }

  feedback(dest: Dest, via: NeighbourId, q: number, s: number, t: number, confidence: number): void {
    const c = this.table.col(via)
    if (c < 0) return
    const now = this.clock.now()
    const base = this.table.base(this.table.ensureRow(dest, now), c)
    this.update(base, q + s + t, confidence, now)
    this.table.cells[base + this.visitsField]! += 1
  }

  backward(src: Dest, from: NeighbourId, q: number, s: number, t: number, confidence: number): void {
    if (this.dual) this.feedback(src, from, q, s, t, confidence)
  }

  reward(dest: Dest, via: NeighbourId, total: number, success: boolean): void {
    const c = this.table.col(via)
    const row = this.table.rowOf(dest)
    if (c < 0 || row < 0) return
    const base = this.table.base(row, c)
    const cells = this.table.cells
    const target = success ? total : Math.max(this.failurePenalty, 2 * cells[base]!, total)
    cells[base] = cells[base]! + this.rewardRate * (target - cells[base]!)
  }

  seed(dest: Dest, via: NeighbourId, value: number, confidence: number): void {
    let c = this.table.col(via)
    if (c < 0) c = this.table.addNeighbour(via)
    const now = this.clock.now()
    this.set(this.table.base(this.table.ensureRow(dest, now), c), value, confidence, now)
  }

  addNeighbour(n: NeighbourId): void {
    this.table.addNeighbour(n)
  }

  removeNeighbour(n: NeighbourId): void {
    this.table.removeNeighbour(n)
  }

  neighbours(): readonly NeighbourId[] {
    return this.table.neighbourList()
  }

  entries(dest?: Dest): EntryView[] {
    const t = this.table
    const now = this.clock.now()
    const out: EntryView[] = []
    const slots = t.slots()
    for (let r = 0; r < t.rows(); r++) {
      const d = t.destOf(r)
      if (d === undefined || (dest !== undefined && d !== dest)) continue
      for (let c = 0; c < slots.length; c++) {
        const n = slots[c]
        if (n === undefined) continue
        const b = t.base(r, c)
        out.push({
          dest: d,
          neighbour: n,
          q: this.cellQ(b),
          confidence: this.confidenceAt(b, now),
          visits: t.cells[b + this.visitsField]!,
          score: this.score(b, now),
        })
      }
    }
    return out
  }

  snapshot(): RouterSnapshot {
    const t = this.table
    const slots = t.slots()
    const rows: RouterSnapshot['rows'] = []
    for (let r = 0; r < t.rows(); r++) {
      const d = t.destOf(r)
      if (d === undefined) continue
      const cells = slots.map((n, c) => {
        if (n === undefined) return null
        const b = t.base(r, c)
        return Array.from(t.cells.subarray(b, b + t.fields))
      })
      rows.push({ dest: d, lastUsed: t.lastUsed(r), cells })
    }
    return {
      kind: this.kind,
      version: 1,
      neighbours: slots.map((n) => n ?? null),
      fields: [...this.fieldNames()],
      rows,
    }
  }

  restore(s: RouterSnapshot): void {
    if (s.version !== 1) throw new RangeError(`unknown routing snapshot version ${String(s.version)}`)
    if (s.fields.join(',') !== this.fieldNames().join(',')) {
      throw new RangeError(`snapshot of a ${s.kind} router cannot be restored into ${this.kind}`)
    }
    const t = this.table
    t.clearRows()
    for (const n of t.neighbourList()) t.removeNeighbour(n)
    const cols = s.neighbours.map((n) => (n === null ? -1 : t.addNeighbour(n)))
    const rows = [...s.rows].sort((a, b) => a.lastUsed - b.lastUsed)
    for (const row of rows) {
      const r = t.ensureRow(row.dest, row.lastUsed)
      row.cells.forEach((cell, i) => {
        const c = cols[i] ?? -1
        if (cell && c >= 0) t.cells.set(cell.slice(0, t.fields), t.base(r, c))
      })
    }
  }
}
