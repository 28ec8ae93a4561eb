/**
 * The interpreter. One tight loop over pre-decoded instructions with gas and
 * pc as locals. Per instruction, strictly: price (base + dynamic peek) →
 * trace hook (only when tracing) → check → useGas → advance → execute.
 * Pure opcodes run inline; an async opcode suspends the loop, awaits its host
 * call and resumes. Halts are data; a VmFault becomes a halt; any other JS
 * error is a bug and is rethrown.
 */
import type { KvTransaction } from '../common/index.ts'
import type { AsmOptions, Program } from './asm/assemble.ts'
import { VmFault } from './fault.ts'
import { HostGate } from './gate.ts'
import { HALT, type Halt, type HaltReason, type RunResult } from './halts.ts'
import type { Host } from './host.ts'
import type { AsyncHandler, Ins, SyncHandler } from './ops/types.ts'
import { assertPriced } from './table.ts'
import { TraceRecorder } from './trace.ts'
import { sizeOf, type Value } from './values.ts'

export interface MachineLimits {
  /** Bytes held in registers (approximate). @default 16 MiB */
  maxMemoryBytes: number
  /** @default 256 */
  maxCallDepth: number
  /** Largest single value. @default 4 MiB */
  maxValueBytes: number
  /** Log lines kept for SELF_INTROSPECT. @default 1000 */
  maxLogLines: number
}

export const DEFAULT_LIMITS: MachineLimits = {
  maxMemoryBytes: 16 * 1024 * 1024,
  maxCallDepth: 256,
  maxValueBytes: 4 * 1024 * 1024,
  maxLogLines: 1000,
}

export interface MachineInit {
  program: Program
  host: Host
  gasLimit: number
  inputs?: Record<string, Value>
  limits?: Partial<MachineLimits>
  /** Record a trace (per-instruction records + host answers). */
  trace?: boolean
  /** Options used to re-assemble code on SELF_MODIFY (plugin registry...). */
  asm?: AsmOptions
  /** Opcodes this agent may not execute (constitution); they halt with PERMISSION_DENIED. */
  deniedOpcodes?: Iterable<string>
}

export interface CodeSnapshot {
  id: number
  region: string
  source: string
}

/** Handler codes: -1 continue, >= 0 jump, -2 stop. */
const CONTINUE = -1

export class Machine {
  program: Program
  code: Ins[]
  regs: Value[]
  sizes: number[]
  mem = 0
  pc = 0
  gasLeft: number
  readonly gasLimit: number
  callStack: number[] = []
  pluginFailed = false
  taskFailed = false
  observer = false
  halt: Halt | null = null
  done = false
  output: Value = null
  logs: string[] = []
  snapshots: CodeSnapshot[] = []
  /** Default swarm channel (set by SWARM_CONNECT). */
  channel = ''
  /** Open TX_BEGIN transaction. */
  tx: KvTransaction | null = null
  /** Rewards promised per broadcast handle (paid to the first responder). */
  rewards: Record<string, number> = {}
  /** The async instruction in flight (for introspection and checkpoints). */
  pending: { op: string; pc: number } | null = null
  /** Set when an opcode asks to suspend (approval hold): the run returns `suspended`. */
  suspend: { kind: string; detail: Value } | null = null
  readonly host: Host
  readonly gate = new HostGate()
  readonly limits: MachineLimits
  readonly asm: AsmOptions
  trace: TraceRecorder | null
  /** Plugin gas rules used so far (see `pluginPrice`). */
  pluginPrices: Record<string, { base: number; perKb?: number } | null> = {}
  /** Source the machine was created with (before any self-modification). */
  readonly startSource: string
  /** Saved state (base64) the traced run started from, when it did not start fresh. */
  traceStart: string | null = null
  private readonly denied: Set<string>
  /** Instruction count (only maintained when tracing or introspecting). */
  counters = { hostCalls: 0, selfModifications: 0, plugins: 0, pluginFailures: 0 }

  constructor(init: MachineInit) {
    assertPriced()
    this.host = init.host
    this.gasLimit = init.gasLimit
    this.gasLeft = init.gasLimit
    this.limits = { ...DEFAULT_LIMITS, ...(init.limits ?? {}) }
    this.asm = init.asm ?? {}
    this.denied = new Set(init.deniedOpcodes ?? [])
    this.trace = init.trace ? new TraceRecorder() : null
    this.gate.record(init.trace === true)
    this.gate.counter = () => (this.trace ? this.trace.steps - 1 : 0)
    if (this.trace) this.trace.host = this.gate.records ?? []
    this.program = init.program
    this.startSource = init.program.source
    this.code = this.prepare(init.program)
    this.regs = new Array(init.program.regNames.length).fill(null)
    this.sizes = new Array(init.program.regNames.length).fill(0)
    this.trace?.programs.push({ from: 0, program: init.program })
    for (const [k, v] of Object.entries(init.inputs ?? {})) this.setNamed(k, v)
  }

  /** Per-machine code: denied opcodes are replaced by a PERMISSION_DENIED handler (zero cost otherwise). */
  private prepare(p: Program): Ins[] {
    if (this.denied.size === 0) return p.code
    return p.code.map((ins) =>
      this.denied.has(ins.name)
        ? {
            ...ins,
            gas: 0,
            dyn: null,
            async: false,
            run: () => {
              throw new VmFault(HALT.PERMISSION_DENIED, `opcode ${ins.name} is not allowed for this agent`)
            },
          }
        : ins,
    )
  }

  /**
   * Gas rule of a plugin (null when unknown). Prices come from the host's
   * registry, so each one used is remembered: a trace carries them and replay
   * charges exactly what the live run charged.
   */
  pluginPrice(name: string): { base: number; perKb?: number } | null {
    const known = this.pluginPrices[name]
    if (known !== undefined) return known
    const p = this.host.plugins?.get(name)
    const rule = p ? (p.gas ?? { base: 10 }) : null
    this.pluginPrices[name] = rule
    return rule
  }

  agentId(): string {
    return this.host.agentId
  }

  /** Write a named register (inputs, restore); unknown names are ignored. */
  setNamed(name: string, v: Value): void {
    const s = this.program.regNames.indexOf(name)
    if (s >= 0) this.set(s, v)
  }

  getNamed(name: string): Value {
    const s = this.program.regNames.indexOf(name)
    return s >= 0 ? (this.regs[s] ?? null) : null
  }

  /** Store into a register with memory and value-size accounting. Returns CONTINUE. */
  set(slot: number, v: Value): number {
    if (typeof v === 'string' || (v !== null && typeof v === 'object')) {
      const sz = sizeOf(v)
      if (sz > this.limits.maxValueBytes) {
        throw new VmFault(
          HALT.VALUE_TOO_LARGE,
          `value of ${sz} bytes exceeds the ${this.limits.maxValueBytes}-byte value cap`,
        )
      }
      const nm = this.mem - (this.sizes[slot] ?? 0) + sz
      if (nm > this.limits.maxMemoryBytes) {
        throw new VmFault(
          HALT.MEMORY_LIMIT,
          `registers would hold ${nm} bytes, over the ${this.limits.maxMemoryBytes}-byte cap`,
        )
      }
      this.mem = nm
      this.sizes[slot] = sz
    }
    this.regs[slot] = v
    return CONTINUE
  }

  /** Normal end of the program. */
  finish(out: Value): number {
    this.done = true
    this.output = out
    this.halt = null
    return -2
  }

  log(text: string): void {
    this.logs.push(text)
    if (this.logs.length > this.limits.maxLogLines) this.logs.shift()
  }

  /** Spend gas after a host answer (size-based charges). The only other place gas is spent is the loop's useGas. */
  useGas(n: number): void {
    const c = Math.ceil(n)
    if (c <= 0) return
    if (c > this.gasLeft) {
      this.gasLeft = 0
      throw new VmFault(HALT.OUT_OF_GAS, `out of gas (needed ${c} more)`)
    }
    this.gasLeft -= c
  }

  get gasUsed(): number {
    return this.gasLimit - this.gasLeft
  }

  /** Replace the running program (SELF_MODIFY / REVERT_CODE / restore): registers move by name. */
  swapProgram(p: Program, pcMap: (pc: number) => number): void {
    const oldNames = this.program.regNames
    const regs: Value[] = new Array(p.regNames.length).fill(null)
    const sizes: number[] = new Array(p.regNames.length).fill(0)
    oldNames.forEach((n, i) => {
      const j = p.regNames.indexOf(n)
      if (j >= 0) {
        regs[j] = this.regs[i] ?? null
        sizes[j] = this.sizes[i] ?? 0
      }
    })
    this.mem = sizes.reduce((a, b) => a + b, 0)
    this.regs = regs
    this.sizes = sizes
    this.pc = pcMap(this.pc)
    this.callStack = this.callStack.map(pcMap)
    this.program = p
    this.code = this.prepare(p)
    this.trace?.programs.push({ from: this.trace.steps, program: p })
  }

  result(): RunResult {
    const status = this.done ? 'ok' : this.halt ? 'error' : 'suspended'
    return { status, gasUsed: this.gasUsed, output: this.output, halt: this.halt }
  }

  private haltWith(reason: HaltReason, pc: number, message: string): void {
    const ins = this.code[pc]
    this.halt = { reason, pc, line: ins?.line ?? 0, message }
  }

  /**
   * Run until the program ends, faults, suspends, or (with `sliceGas`) has
   * spent that much gas in this call. Never throws for program faults.
   */
  /**
   * Run until done, halted, suspended, or `sliceGas` is used. `yieldNow`, asked
   * after each async (host) instruction, ends the slice early when it says so
   * (the runtime ends slices that have lasted long, so that an agent that
   * mostly waits for messages is still checkpointed between them).
   */
  async run(sliceGas = Number.POSITIVE_INFINITY, yieldNow?: () => boolean): Promise<RunResult> {
    if (this.done || this.halt) return this.result()
    this.suspend = null
    const stopAt = this.gasLeft - sliceGas
    for (;;) {
      const p = this.runSync(stopAt)
      if (p === null) return this.result()
      const cur = this.pc - 1
      const ins = this.code[cur] as Ins
      this.pending = { op: ins.name, pc: cur }
      let r: number
      try {
        r = await p
      } catch (e) {
        this.pending = null
        if (e instanceof VmFault) {
          this.haltWith(e.reason, cur, e.message)
          return this.result()
        }
        throw e
      }
      this.pending = null
      if (this.trace) this.trace.end(this.regs[ins.dst] ?? null)
      if (r >= 0) this.pc = r
      else if (r !== CONTINUE) return this.result()
      if (this.suspend) return this.result()
      if (yieldNow?.()) return this.result()
    }
  }

  /** The hot loop. Returns the promise of an async handler, or null when the run stops. */
  private runSync(stopAt: number): Promise<number> | null {
    const code = this.code
    let pc = this.pc
    let gas = this.gasLeft
    const tr = this.trace
    let cur = pc
    try {
      while (gas > stopAt) {
        cur = pc
        const ins = code[pc]
        if (ins === undefined) {
          this.pc = pc
          this.gasLeft = gas
          this.finish(this.regs[0] ?? null)
          return null
        }
        // price
        let cost = ins.gas
        if (ins.dyn !== null) cost += ins.dyn(this, ins)
        // trace hook
        if (tr !== null) {
          if (!tr.begin(pc, gas, ins, this.regs)) break
        }
        // check + useGas (the single place the loop spends gas)
        if (cost > gas) {
          this.pc = pc
          this.gasLeft = gas
          this.haltWith(HALT.OUT_OF_GAS, pc, `out of gas at ${ins.name} (needs ${cost}, ${gas} left)`)
          return null
        }
        gas -= cost
        // advance
        pc++
        // execute
        if (ins.async) {
          this.pc = pc
          this.gasLeft = gas
          return (ins.run as AsyncHandler)(this, ins)
        }
        const r = (ins.run as SyncHandler)(this, ins)
        if (r !== CONTINUE) {
          if (r >= 0) pc = r
          else {
            this.pc = pc
            this.gasLeft = gas
            return null
          }
        }
        if (tr !== null) tr.end(this.regs[ins.dst] as Value)
      }
      this.pc = pc
      this.gasLeft = gas
      return null
    } catch (e) {
      if (e instanceof VmFault) {
        this.pc = pc
        this.gasLeft = gas
        this.haltWith(e.reason, cur, e.message)
        return null
      }
      throw e
    }
  }
}
