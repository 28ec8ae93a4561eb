/**
 * The shape of one opcode as data: name, operand shape, base gas, an optional
 * dynamic-gas function that only peeks, sync or async, and the handler.
 */
import type { Machine } from '../interp.ts'
import type { Value } from '../values.ts'

/** `value`: any expression; `label`: a jump target; `lvalue`: a register or register path written back. */
export type ParamKind = 'value' | 'label' | 'lvalue'

/** Static type of a parameter, checked by the verifier when the operand is a constant. */
export type ParamType = 'number' | 'string' | 'list' | 'map' | 'boolean'

export interface ParamSpec {
  name: string
  kind: ParamKind
  optional?: boolean
  type?: ParamType
}

/** A compiled operand: k=0 constant, k=1 register slot, k=2 expression closure. */
export interface Operand {
  k: 0 | 1 | 2
  s: number
  c: Value
  f: ((regs: Value[]) => Value) | null
  /** For lvalues: register slot and constant path below it. */
  path: (string | number)[] | null
  /** Source text of the operand (for errors and the trace). */
  src: string
}

/** One pre-decoded instruction. */
export interface Ins {
  op: number
  /** Index of this instruction in the program. */
  pc: number
  /** The handler (sync returns the next-pc code; async returns a promise of it). */
  run: SyncHandler | AsyncHandler
  /** Dynamic gas (peeks only) or null. */
  dyn: ((m: Machine, ins: Ins) => number) | null
  name: string
  line: number
  col: number
  gas: number
  async: boolean
  /** Positional parameters in spec order (missing optional ones are constant null, `given` false). */
  args: Operand[]
  given: boolean[]
  /** Extra keyword operands (plugin opcodes accept any). */
  kw: Record<string, Operand>
  /** Extra positional operands (variadic opcodes). */
  rest: Operand[]
  /** Result register slot (0 = the implicit result register `_`). */
  dst: number
  /** Resolved jump target or -1. */
  target: number
  /** For plugin-defined opcodes: the plugin that implements it. */
  plugin: string
  /** Fast copies of operand 0 and 1 for pure ops. */
  k0: number
  s0: number
  c0: Value
  k1: number
  s1: number
  c1: Value
}

/** Handler return: -1 = continue at the next instruction, >= 0 = jump there, -2 = halted or suspended. */
export type SyncHandler = (m: Machine, ins: Ins) => number
export type AsyncHandler = (m: Machine, ins: Ins) => Promise<number>

export interface OpSpecBase {
  name: string
  params: ParamSpec[]
  /** Accepts extra positional operands. */
  variadic?: boolean
  /** Accepts keyword operands not named in params (passed in `ins.kw`). */
  anyKeywords?: boolean
  /** Whether `-> R` / `out=R` is accepted. */
  result: boolean
  /** Base gas, charged before the handler runs. */
  gas: number
  /** Extra gas computed from operands; must only peek. */
  dynGas?: (m: Machine, ins: Ins) => number
  /** One line for docs/avm.md. */
  doc: string
  /** The gas rule in words, for docs/avm.md. */
  gasDoc?: string
  /** Params whose literal value names a plugin (checked by the verifier against the registry). */
  pluginParam?: string
}
export interface SyncOpSpec extends OpSpecBase {
  async?: false
  run: SyncHandler
}
export interface AsyncOpSpec extends OpSpecBase {
  async: true
  run: AsyncHandler
}
export type OpSpec = SyncOpSpec | AsyncOpSpec

/** A value parameter (the common case of `ParamSpec`). */
export const valueParam = (name: string, optional = false, type?: ParamType): ParamSpec => ({
  name,
  kind: 'value',
  optional,
  type,
})

/** The longest a waiting opcode (RECV_SWARM_MSG, WAIT_FOR_*, AUCTION_SETTLE) waits in one go. */
export const MAX_WAIT_MS = 10 * 60 * 1000

export const CONTINUE = -1
export const STOP = -2

/** Read an operand's current value. */
export function val(m: Machine, o: Operand): Value {
  return o.k === 1 ? (m.regs[o.s] as Value) : o.k === 0 ? o.c : (o.f as (r: Value[]) => Value)(m.regs)
}
export function arg(m: Machine, ins: Ins, i: number): Value {
  const o = ins.args[i]
  return o === undefined ? null : val(m, o)
}
/** Keyword or positional parameter by index, with a fallback for absent optional ones. */
export function argOr(m: Machine, ins: Ins, i: number, dflt: Value): Value {
  return ins.given[i] ? arg(m, ins, i) : dflt
}
