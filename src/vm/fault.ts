/** A fault raised inside an instruction; the interpreter turns it into a halt (data). */
import type { HaltReason } from './halts.ts'
import type { Value } from './values.ts'
import { toText, typeName, valueEquals } from './values.ts'

export class VmFault extends Error {
  readonly reason: HaltReason
  constructor(reason: HaltReason, message: string) {
    super(message)
    this.name = 'VmFault'
    this.reason = reason
  }
}

export function invalid(message: string): VmFault {
  return new VmFault('INVALID_OPERAND', message)
}

function num(v: Value, op: string): number {
  if (typeof v === 'number') return v
  if (typeof v === 'boolean') return v ? 1 : 0
  throw invalid(`${op} needs numbers, got ${typeName(v)}`)
}

function finite(x: number, op: string): number {
  if (!Number.isFinite(x)) throw invalid(`${op} produced a non-finite number`)
  return x
}

function cmp(a: Value, b: Value, op: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  throw invalid(`${op} compares numbers or strings, got ${typeName(a)} and ${typeName(b)}`)
}

/** Binary operators shared by expressions and the arithmetic/comparison opcodes. */
export function binop(op: string, a: Value, b: Value): Value {
  switch (op) {
    case '+':
      if (typeof a === 'number' && typeof b === 'number') return finite(a + b, '+')
      if (Array.isArray(a) && Array.isArray(b)) return a.concat(b)
      if (typeof a === 'string' || typeof b === 'string') return toText(a) + toText(b)
      if (Array.isArray(a)) return [...a, b]
      return finite(num(a, '+') + num(b, '+'), '+')
    case '-':
      return finite(num(a, '-') - num(b, '-'), '-')
    case '*':
      return finite(num(a, '*') * num(b, '*'), '*')
    case '/': {
      const d = num(b, '/')
      if (d === 0) throw invalid('division by zero')
      return finite(num(a, '/') / d, '/')
    }
    case '%': {
      const d = num(b, '%')
      if (d === 0) throw invalid('modulo by zero')
      return finite(num(a, '%') % d, '%')
    }
    case '==':
      return valueEquals(a, b)
    case '!=':
      return !valueEquals(a, b)
    case '<':
      return cmp(a, b, '<') < 0
    case '<=':
      return cmp(a, b, '<=') <= 0
    case '>':
      return cmp(a, b, '>') > 0
    case '>=':
      return cmp(a, b, '>=') >= 0
    default:
      throw invalid(`unknown operator ${op}`)
  }
}

export function asNumber(v: Value, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw invalid(`${what} must be a number, got ${typeName(v)}`)
  return v
}
export function asString(v: Value, what: string): string {
  if (typeof v !== 'string') throw invalid(`${what} must be a string, got ${typeName(v)}`)
  return v
}
export function asList(v: Value, what: string): Value[] {
  if (!Array.isArray(v)) throw invalid(`${what} must be a list, got ${typeName(v)}`)
  return v
}
