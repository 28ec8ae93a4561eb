/**
 * A per-node routing table over flat storage: rows are destinations
 * (capabilities or node ids), columns are neighbour slots, each cell holds a
 * fixed number of float64 fields (Q, confidence, ...). The simulator hands
 * every node a view into one big Float64Array, so 10^5 nodes cost one
 * allocation instead of millions of objects; the daemon lets the table
 * allocate (and grow) its own. Rows are capped; when full, the least
 * recently used destination is evicted.
 */
import type { Dest, NeighbourId } from './types.ts'

export interface TableInit {
  /** Float64 fields per cell. */
  fields: number
  /** Initial value of each field of a fresh cell. @default all 0 */
  defaults?: readonly number[]
  /** Maximum number of destinations kept. @default 1024 */
  maxRows?: number
  /** Neighbour slots (grows on demand unless storage was supplied). @default 8 */
  width?: number
  /** Pre-allocated cell storage, `maxRows * width * fields` long (the simulator's flat slab). */
  cells?: Float64Array
}

export const DEFAULT_MAX_ROWS = 1024

export class RouterTable {
  readonly fields: number
  readonly maxRows: number
  width: number
  cells: Float64Array
  private readonly defaults: Float64Array
  private readonly fixed: boolean
  private readonly nbrs: (NeighbourId | undefined)[] = []
  private nbrIndex: Map<NeighbourId, number> | undefined
  private readonly rowDest: (Dest | undefined)[] = []
  private readonly rowIndex = new Map<Dest, number>()
  private rowUsed: Float64Array
  private rowSteps: Float64Array
  private rowCount = 0
  /** Rows evicted so far (cold destinations). */
  evictions = 0

  constructor(init: TableInit) {
    this.fields = init.fields
    this.maxRows = init.maxRows ?? DEFAULT_MAX_ROWS
    this.width = init.width ?? 8
    this.defaults = new Float64Array(this.fields)
    if (init.defaults) this.defaults.set(init.defaults)
    this.fixed = init.cells !== undefined
    const need = this.maxRows * this.width * this.fields
    if (init.cells && init.cells.length < need) throw new RangeError('table storage too small')
    // Daemon tables start small and grow by rows; simulator tables are fixed views.
    this.cells = init.cells ?? new Float64Array(Math.min(this.maxRows, 16) * this.width * this.fields)
    this.rowUsed = new Float64Array(this.fixed ? this.maxRows : Math.min(this.maxRows, 16))
    this.rowSteps = new Float64Array(this.rowUsed.length)
  }

  // ---- neighbours -------------------------------------------------------

  neighbourList(): NeighbourId[] {
    return this.nbrs.filter((n): n is NeighbourId => n !== undefined)
  }

  /** Slot array (holes are undefined); index = column. */
  slots(): readonly (NeighbourId | undefined)[] {
    return this.nbrs
  }

  col(n: NeighbourId): number {
    if (this.nbrIndex) return this.nbrIndex.get(n) ?? -1
    return this.nbrs.indexOf(n)
  }

  addNeighbour(n: NeighbourId): number {
    const existing = this.col(n)
    if (existing >= 0) return existing
    let c = this.nbrs.indexOf(undefined)
    if (c < 0) {
      c = this.nbrs.length
      if (c >= this.width) this.growWidth(Math.max(this.width * 2, 4))
      this.nbrs.push(n)
    } else this.nbrs[c] = n
    if (!this.nbrIndex && this.nbrs.length > 16) this.nbrIndex = new Map()
    if (this.nbrIndex) {
      this.nbrIndex.clear()
      this.nbrs.forEach((x, i) => {
        if (x !== undefined) this.nbrIndex!.set(x, i)
      })
    }
    for (let r = 0; r < this.rowCount; r++) this.resetCell(r, c)
    return c
  }

  removeNeighbour(n: NeighbourId): void {
    const c = this.col(n)
    if (c < 0) return
    this.nbrs[c] = undefined
    this.nbrIndex?.delete(n)
    for (let r = 0; r < this.rowCount; r++) this.resetCell(r, c)
  }

  private growWidth(w: number): void {
    if (this.fixed) throw new RangeError(`table width ${this.width} exhausted (fixed storage)`)
    const rows = this.cells.length / (this.width * this.fields)
    const next = new Float64Array(rows * w * this.fields)
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < w; c++) {
        const dst = (r * w + c) * this.fields
        if (c < this.width) {
          const src = (r * this.width + c) * this.fields
          next.set(this.cells.subarray(src, src + this.fields), dst)
        } else next.set(this.defaults, dst)
      }
    }
    this.cells = next
    this.width = w
  }

  // ---- rows ---------------------------------------------------------------

  rowOf(dest: Dest): number {
    return this.rowIndex.get(dest) ?? -1
  }

  destOf(row: number): Dest | undefined {
    return this.rowDest[row]
  }

  rows(): number {
    return this.rowCount
  }

  touch(row: number, now: number): void {
    this.rowUsed[row] = now
  }

  /** Decisions taken for this row's destination (drives per-step confidence decay). */
  steps(row: number): number {
    return this.rowSteps[row] ?? 0
  }

  step(row: number): void {
    this.rowSteps[row]!++
  }

  lastUsed(row: number): number {
    return this.rowUsed[row] ?? 0
  }

  /** The row for `dest`, created (evicting the coldest row if full) when absent. */
  ensureRow(dest: Dest, now: number): number {
    const r = this.rowIndex.get(dest)
    if (r !== undefined) {
      this.rowUsed[r] = now
      return r
    }
    let row: number
    if (this.rowCount < this.maxRows) {
      row = this.rowCount++
      this.ensureCapacity(this.rowCount)
    } else {
      row = 0
      let oldest = this.rowUsed[0]!
      for (let i = 1; i < this.rowCount; i++) {
        const u = this.rowUsed[i]!
        if (u < oldest) {
          oldest = u
          row = i
        }
      }
      const old = this.rowDest[row]
      if (old !== undefined) this.rowIndex.delete(old)
      this.evictions++
    }
    this.rowDest[row] = dest
    this.rowIndex.set(dest, row)
    this.rowUsed[row] = now
    this.rowSteps[row] = 0
    for (let c = 0; c < this.width; c++) this.resetCell(row, c)
    return row
  }

  private ensureCapacity(rows: number): void {
    const per = this.width * this.fields
    if (rows * per <= this.cells.length) return
    const cap = Math.min(this.maxRows, Math.max(rows, (this.cells.length / per) * 2))
    const next = new Float64Array(cap * per)
    next.set(this.cells)
    this.cells = next
    const used = new Float64Array(cap)
    used.set(this.rowUsed)
    this.rowUsed = used
    const steps = new Float64Array(cap)
    steps.set(this.rowSteps)
    this.rowSteps = steps
  }

  base(row: number, col: number): number {
    return (row * this.width + col) * this.fields
  }

  private resetCell(row: number, col: number): void {
    const b = this.base(row, col)
    const f = this.fields
    const cells = this.cells
    const d = this.defaults
    for (let i = 0; i < f; i++) cells[b + i] = d[i]!
  }

  /** Remove every row (neighbours are kept). */
  clearRows(): void {
    this.rowIndex.clear()
    this.rowDest.length = 0
    this.rowCount = 0
  }
}
