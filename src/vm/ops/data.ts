/** Data: SET, arithmetic, comparison, logic, strings, lists, maps, LOG. All pure, never await. */
import { asNumber, binop, invalid } from '../fault.ts'
import { getMember, sizeOf, toText, truthy } from '../values.ts'
import { a0, a1, v } from './operands.ts'
import { CONTINUE, type OpSpec, val } from './types.ts'

function arith(name: string, op: string, doc: string, fast: (a: number, b: number) => number): OpSpec {
  return {
    name,
    params: [v('a'), v('b')],
    result: true,
    gas: 1,
    doc,
    run: (m, ins) => {
      const a = a0(m, ins)
      const b = a1(m, ins)
      if (typeof a === 'number' && typeof b === 'number') {
        const r = fast(a, b)
        if (Number.isFinite(r)) {
          m.regs[ins.dst] = r
          return CONTINUE
        }
      }
      return m.set(ins.dst, binop(op, a, b))
    },
  }
}

function compare(name: string, op: string, fast: (a: number, b: number) => boolean): OpSpec {
  return {
    name,
    params: [v('a'), v('b')],
    result: true,
    gas: 1,
    doc: `\`a ${op} b\` → boolean (numbers or strings; == and != compare any values structurally).`,
    run: (m, ins) => {
      const a = a0(m, ins)
      const b = a1(m, ins)
      m.regs[ins.dst] = typeof a === 'number' && typeof b === 'number' ? fast(a, b) : binop(op, a, b)
      return CONTINUE
    },
  }
}

export const dataOps: OpSpec[] = [
  {
    name: 'SET',
    params: [v('value')],
    result: true,
    gas: 1,
    dynGas: (_m, ins) => (ins.k0 === 2 ? 1 : 0),
    gasDoc: '1 (+1 when the value is a computed expression)',
    doc: '`SET R = expr` or `SET R, expr`: evaluate and store.',
    run: (m, ins) => {
      const x = a0(m, ins)
      if (typeof x === 'number') {
        m.regs[ins.dst] = x
        return CONTINUE
      }
      return m.set(ins.dst, x)
    },
  },
  arith('ADD', '+', '`a + b` (numbers add, strings concatenate, lists concatenate).', (a, b) => a + b),
  arith('SUB', '-', '`a - b`.', (a, b) => a - b),
  arith('MUL', '*', '`a * b`.', (a, b) => a * b),
  arith('DIV', '/', '`a / b`; division by zero halts with INVALID_OPERAND.', (a, b) => a / b),
  arith('MOD', '%', '`a % b`; modulo by zero halts with INVALID_OPERAND.', (a, b) => a % b),
  {
    name: 'NEG',
    params: [v('a')],
    result: true,
    gas: 1,
    doc: '`-a`.',
    run: (m, ins) => {
      m.regs[ins.dst] = -asNumber(a0(m, ins), 'NEG operand')
      return CONTINUE
    },
  },
  {
    name: 'INC',
    params: [{ name: 'reg', kind: 'lvalue' }],
    result: false,
    gas: 1,
    doc: 'Add 1 to a register holding a number.',
    run: (m, ins) => {
      const x = m.regs[ins.s0]
      if (typeof x !== 'number') throw invalid('INC needs a number')
      m.regs[ins.s0] = x + 1
      return CONTINUE
    },
  },
  {
    name: 'DEC',
    params: [{ name: 'reg', kind: 'lvalue' }],
    result: false,
    gas: 1,
    doc: 'Subtract 1 from a register holding a number.',
    run: (m, ins) => {
      const x = m.regs[ins.s0]
      if (typeof x !== 'number') throw invalid('DEC needs a number')
      m.regs[ins.s0] = x - 1
      return CONTINUE
    },
  },
  {
    name: 'MIN',
    params: [v('a'), v('b')],
    result: true,
    gas: 1,
    doc: 'Smaller of two numbers.',
    run: (m, ins) => {
      m.regs[ins.dst] = Math.min(asNumber(a0(m, ins), 'a'), asNumber(a1(m, ins), 'b'))
      return CONTINUE
    },
  },
  {
    name: 'MAX',
    params: [v('a'), v('b')],
    result: true,
    gas: 1,
    doc: 'Larger of two numbers.',
    run: (m, ins) => {
      m.regs[ins.dst] = Math.max(asNumber(a0(m, ins), 'a'), asNumber(a1(m, ins), 'b'))
      return CONTINUE
    },
  },
  compare('EQ', '==', (a, b) => a === b),
  compare('NE', '!=', (a, b) => a !== b),
  compare('LT', '<', (a, b) => a < b),
  compare('LE', '<=', (a, b) => a <= b),
  compare('GT', '>', (a, b) => a > b),
  compare('GE', '>=', (a, b) => a >= b),
  {
    name: 'AND',
    params: [v('a'), v('b')],
    result: true,
    gas: 1,
    doc: 'Logical and of truthiness → boolean.',
    run: (m, ins) => {
      m.regs[ins.dst] = truthy(a0(m, ins)) && truthy(a1(m, ins))
      return CONTINUE
    },
  },
  {
    name: 'OR',
    params: [v('a'), v('b')],
    result: true,
    gas: 1,
    doc: 'Logical or of truthiness → boolean.',
    run: (m, ins) => {
      m.regs[ins.dst] = truthy(a0(m, ins)) || truthy(a1(m, ins))
      return CONTINUE
    },
  },
  {
    name: 'NOT',
    params: [v('a')],
    result: true,
    gas: 1,
    doc: 'Logical not → boolean.',
    run: (m, ins) => {
      m.regs[ins.dst] = !truthy(a0(m, ins))
      return CONTINUE
    },
  },
  {
    name: 'GET',
    params: [v('value'), v('key')],
    result: true,
    gas: 1,
    doc: 'Member access (`list[i]`, `map.key`, `.length`, `.empty`) with a computed key.',
    run: (m, ins) => {
      const k = a1(m, ins)
      return m.set(ins.dst, getMember(a0(m, ins), typeof k === 'number' ? k : toText(k)))
    },
  },
  {
    name: 'LOG',
    params: [v('message')],
    variadic: true,
    result: false,
    gas: 1,
    dynGas: (m, ins) => sizeOf(a0(m, ins)) >>> 7,
    gasDoc: '1 + bytes/128',
    doc: 'Append a line to the agent log (kept in the trace and readable with SELF_INTROSPECT "logs").',
    run: (m, ins) => {
      const parts = [toText(a0(m, ins)), ...ins.rest.map((o) => toText(val(m, o)))]
      m.log(parts.join(' '))
      return CONTINUE
    },
  },
]
