/** Operand helpers shared by the data and collection opcode families. */
import { invalid } from '../fault.ts'
import type { Machine } from '../interp.ts'
import { isMap, setIn, type Value } from '../values.ts'
import { arg, type Ins, type OpSpec, type ParamSpec } from './types.ts'

export const v = (name: string, optional = false): ParamSpec => ({ name, kind: 'value', optional })

export function a0(m: Machine, ins: Ins): Value {
  return ins.k0 === 1 ? (m.regs[ins.s0] as Value) : ins.k0 === 0 ? ins.c0 : arg(m, ins, 0)
}

export function a1(m: Machine, ins: Ins): Value {
  return ins.k1 === 1 ? (m.regs[ins.s1] as Value) : ins.k1 === 0 ? ins.c1 : arg(m, ins, 1)
}

/** Per-element gas for operations that copy a collection. */
export function lenGas(x: Value): number {
  if (typeof x === 'string') return x.length >>> 6
  if (Array.isArray(x)) return x.length >>> 3
  if (isMap(x)) return Object.keys(x).length >>> 3
  return 0
}

export function strOp(
  name: string,
  params: ParamSpec[],
  doc: string,
  f: (m: Machine, ins: Ins) => Value,
): OpSpec {
  return {
    name,
    params,
    result: true,
    gas: 2,
    dynGas: (m, ins) => lenGas(a0(m, ins)),
    gasDoc: '2 + length/64',
    doc,
    run: (m, ins) => m.set(ins.dst, f(m, ins)),
  }
}

export function writeBack(m: Machine, ins: Ins, i: number, value: Value): number {
  const o = ins.args[i]
  if (!o || o.path === null) throw invalid('expected a register or register path to write to')
  const root = m.regs[o.s] ?? null
  return m.set(o.s, o.path && o.path.length > 0 ? setIn(root, o.path, value) : value)
}
