/**
 * Execution trace. Two modes share one hook:
 * - `digest` (live runs): every host answer is recorded in full; per
 *   instruction only a step count and a rolling digest of (pc, gas, output)
 *   are kept, so tracing costs a few multiplications per instruction.
 * - `full` (export and replay): per-instruction records (pc, gas before, the
 *   first two inputs, output) in chunked typed arrays.
 * The JSONL file is produced by re-executing the run in `full` mode against
 * the recorded host answers; the digest proves the records equal the live run.
 * When tracing is off the interpreter tests one local per instruction.
 */

import type { AsmOptions, Program } from './asm/assemble.ts'
import type { HostRecord } from './gate.ts'
import type { Ins } from './ops/types.ts'
import type { Value } from './values.ts'

export interface TraceHeader {
  trace: 1
  /** Number of instructions and digest of the live run. */
  steps: number
  digest: number
  /** Serialised machine state at trace start (base64), when the run did not start fresh. */
  start?: string
  file: string
  source: string
  agentId: string
  gasLimit: number
  inputs: Record<string, Value>
  /** Assembler options of the run (plugin names and plugin opcodes). */
  asm?: AsmOptions
  /** True when the run had not finished at export: replay stops after `steps` instructions. */
  partial?: boolean
  /** Gas rules of the plugins (prices must be identical on replay). */
  pluginGas?: Record<string, { base: number; perKb?: number }>
}

export interface StepRecord {
  i: number
  pc: number
  op: string
  line: number
  gas: number
  in: Value[]
  out: Value
}

export interface CodeChange {
  at: number
  region: string
  before: string
  after: string
  ok: boolean
  reason?: string
}

/** Steps per chunk. */
const CHUNK = 1 << 15

interface Chunk {
  /** [pc, gasBefore, in0, in1, out] per step; a value slot holds the number or an index into `objs`. */
  nums: Float64Array
  /** Per value slot: 0 = number, 1 = index into objs. */
  tags: Uint8Array
}

function mixValue(h: number, v: Value): number {
  if (typeof v === 'number') {
    h = Math.imul(h ^ (v | 0), 0x85ebca6b)
    return Math.imul(h ^ ((v * 4096) | 0), 0xc2b2ae35)
  }
  if (v === null) return Math.imul(h ^ 0x51, 0x85ebca6b)
  if (typeof v === 'string') return Math.imul(h ^ (v.length + 0x1000), 0x85ebca6b)
  if (typeof v === 'boolean') return Math.imul(h ^ (v ? 0x71 : 0x70), 0x85ebca6b)
  return Math.imul(h ^ (Array.isArray(v) ? v.length + 0x2000 : 0x3000), 0x85ebca6b)
}

function operandValue(ins: Ins, i: number, regs: Value[]): Value {
  const o = ins.args[i]
  if (!o) return null
  if (o.k === 1) return regs[o.s] ?? null
  if (o.k === 0) return o.c
  try {
    return (o.f as (r: Value[]) => Value)(regs)
  } catch {
    return null
  }
}

export class TraceRecorder {
  /** Full per-instruction records (export/replay) or digest only (live). */
  readonly full: boolean
  /** Rolling digest of (pc, gas, output) over all steps. */
  digest = 0x811c9dc5
  /** Stop the run before this many steps (replay of a run exported mid-way). */
  limit = Number.POSITIVE_INFINITY
  private count = 0
  private chunks: Chunk[] = []
  private nums: Float64Array
  private tags: Uint8Array
  private n = 0
  private readonly objs: Value[] = []
  /** Program active from a step on (self-modification swaps it). */
  readonly programs: { from: number; program: Program }[] = []
  readonly changes: CodeChange[] = []
  host: HostRecord[] = []

  constructor(full = false) {
    this.full = full
    this.nums = new Float64Array(full ? CHUNK * 5 : 0)
    this.tags = new Uint8Array(full ? CHUNK * 3 : 0)
  }

  get steps(): number {
    return this.count
  }

  private put(slot: number, v: Value): void {
    const b = this.n * 5 + 2 + slot
    if (typeof v === 'number') {
      this.nums[b] = v
      this.tags[this.n * 3 + slot] = 0
    } else {
      this.nums[b] = this.objs.length
      this.tags[this.n * 3 + slot] = 1
      this.objs.push(v)
    }
  }

  /** Trace hook: called before the check, with the gas left before the instruction. */
  begin(pc: number, gas: number, ins: Ins, regs: Value[]): boolean {
    if (this.count >= this.limit) return false
    this.count++
    this.digest = Math.imul(this.digest ^ pc ^ (gas << 7), 0x9e3779b1)
    if (!this.full) return true
    const in0 = operandValue(ins, 0, regs)
    const in1 = operandValue(ins, 1, regs)
    if (this.n === CHUNK) {
      this.chunks.push({ nums: this.nums, tags: this.tags })
      this.nums = new Float64Array(CHUNK * 5)
      this.tags = new Uint8Array(CHUNK * 3)
      this.n = 0
    }
    const b = this.n * 5
    this.nums[b] = pc
    this.nums[b + 1] = gas
    this.put(0, in0)
    this.put(1, in1)
    this.nums[b + 4] = 0
    this.tags[this.n * 3 + 2] = 2
    this.n++
    return true
  }

  /** Output of the step begun last. */
  end(v: Value): void {
    this.digest =
      typeof v === 'number' ? Math.imul(this.digest ^ (v | 0), 0x85ebca6b) : mixValue(this.digest, v)
    if (!this.full) return
    this.n--
    this.put(2, v)
    this.n++
  }

  private value(c: Chunk, i: number, slot: number): Value {
    const t = c.tags[i * 3 + slot]
    const x = c.nums[i * 5 + 2 + slot] as number
    if (t === 0) return x
    if (t === 2) return null
    return this.objs[x] ?? null
  }

  stepRecords(): StepRecord[] {
    const out: StepRecord[] = []
    const all = [...this.chunks, { nums: this.nums, tags: this.tags }]
    let pi = 0
    let i = 0
    for (let ci = 0; ci < all.length; ci++) {
      const c = all[ci] as Chunk
      const n = ci === all.length - 1 ? this.n : CHUNK
      for (let k = 0; k < n; k++, i++) {
        while (pi + 1 < this.programs.length && (this.programs[pi + 1] as { from: number }).from <= i) pi++
        const prog = this.programs[pi]?.program
        const pc = c.nums[k * 5] as number
        const ins = prog?.code[pc]
        out.push({
          i,
          pc,
          op: ins?.name ?? '?',
          line: ins?.line ?? 0,
          gas: c.nums[k * 5 + 1] as number,
          in: [this.value(c, k, 0), this.value(c, k, 1)],
          out: this.value(c, k, 2),
        })
      }
    }
    return out
  }

  toJsonl(header: TraceHeader): string {
    if (!this.full) throw new Error('toJsonl needs a full-mode recorder (use exportTrace)')
    const lines = [JSON.stringify(header)]
    const steps = this.stepRecords()
    let h = 0
    let c = 0
    for (const s of steps) {
      lines.push(JSON.stringify(s))
      while (h < this.host.length && (this.host[h] as HostRecord).at <= s.i)
        lines.push(JSON.stringify({ host: this.host[h++] }))
      while (c < this.changes.length && (this.changes[c] as CodeChange).at <= s.i)
        lines.push(JSON.stringify({ change: this.changes[c++] }))
    }
    while (h < this.host.length) lines.push(JSON.stringify({ host: this.host[h++] }))
    while (c < this.changes.length) lines.push(JSON.stringify({ change: this.changes[c++] }))
    return `${lines.join('\n')}\n`
  }
}

export interface ParsedTrace {
  header: TraceHeader
  steps: StepRecord[]
  host: HostRecord[]
  changes: CodeChange[]
}

export function parseTrace(text: string): ParsedTrace {
  const lines = text.split('\n').filter((l) => l.trim().length > 0)
  if (lines.length === 0) throw new Error('empty trace')
  const header = JSON.parse(lines[0] as string) as TraceHeader
  if (header.trace !== 1 || typeof header.source !== 'string')
    throw new Error('not an AVM trace (bad header line)')
  const steps: StepRecord[] = []
  const host: HostRecord[] = []
  const changes: CodeChange[] = []
  for (let i = 1; i < lines.length; i++) {
    const o = JSON.parse(lines[i] as string) as { host?: HostRecord; change?: CodeChange } & StepRecord
    if (o.host) host.push(o.host)
    else if (o.change) changes.push(o.change)
    else steps.push(o)
  }
  return { header, steps, host, changes }
}
