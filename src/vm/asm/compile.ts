/** Compile operand expressions to pre-resolved operands and closures; constant folding for #define. */
import { asNumber, binop } from '../fault.ts'
import type { Operand } from '../ops/types.ts'
import { getMember, toText, truthy, type Value } from '../values.ts'
import { constValue, type Expr } from './expr.ts'

export function compileExpr(e: Expr, slot: (name: string) => number, defines: Map<string, Value>): Operand {
  const c = constValue(e)
  if (c !== undefined) return { k: 0, s: 0, c, f: null, path: null, src: '' }
  if (e.t === 'id') {
    if (defines.has(e.name))
      return { k: 0, s: 0, c: defines.get(e.name) as Value, f: null, path: null, src: '' }
    return { k: 1, s: slot(e.name), c: null, f: null, path: null, src: '' }
  }
  return { k: 2, s: 0, c: null, f: closure(e, slot, defines), path: null, src: '' }
}

function closure(
  e: Expr,
  slot: (name: string) => number,
  defines: Map<string, Value>,
): (r: Value[]) => Value {
  switch (e.t) {
    case 'lit': {
      const v = e.v
      return () => v
    }
    case 'id': {
      if (defines.has(e.name)) {
        const v = defines.get(e.name) as Value
        return () => v
      }
      const s = slot(e.name)
      return (r) => r[s] as Value
    }
    case 'mem': {
      const o = closure(e.obj, slot, defines)
      const k = closure(e.key, slot, defines)
      return (r) => {
        const key = k(r)
        return getMember(o(r), typeof key === 'number' ? key : toText(key))
      }
    }
    case 'bin': {
      const l = closure(e.l, slot, defines)
      const rr = closure(e.r, slot, defines)
      const op = e.op
      if (op === 'AND') return (r) => truthy(l(r)) && truthy(rr(r))
      if (op === 'OR') return (r) => truthy(l(r)) || truthy(rr(r))
      return (r) => binop(op, l(r), rr(r))
    }
    case 'un': {
      const x = closure(e.e, slot, defines)
      if (e.op === 'NOT') return (r) => !truthy(x(r))
      return (r) => -asNumber(x(r), 'negation operand')
    }
    case 'list': {
      const items = e.items.map((i) => closure(i, slot, defines))
      return (r) => items.map((f) => f(r))
    }
    case 'map': {
      const ents = e.entries.map(([k, x]) => [k, closure(x, slot, defines)] as const)
      return (r) => {
        const o: { [k: string]: Value } = {}
        for (const [k, f] of ents) o[k] = f(r)
        return o
      }
    }
  }
}

/** `R`, `R.a`, `R[0].b` with constant keys → register name + path. */
export function lvaluePath(
  e: Expr,
  defines: Map<string, Value>,
): { name: string; path: (string | number)[] } | null {
  if (e.t === 'id') return defines.has(e.name) ? null : { name: e.name, path: [] }
  if (e.t === 'mem') {
    const base = lvaluePath(e.obj, defines)
    const k = e.key.t === 'id' && defines.has(e.key.name) ? defines.get(e.key.name) : constValue(e.key)
    if (!base || (typeof k !== 'string' && typeof k !== 'number')) return null
    return { name: base.name, path: [...base.path, k] }
  }
  return null
}

export function readsOf(e: Expr, out: Set<string>): void {
  if (e.t === 'id') out.add(e.name)
  else if (e.t === 'mem') {
    readsOf(e.obj, out)
    readsOf(e.key, out)
  } else if (e.t === 'bin') {
    readsOf(e.l, out)
    readsOf(e.r, out)
  } else if (e.t === 'un') readsOf(e.e, out)
  else if (e.t === 'list') for (const i of e.items) readsOf(i, out)
  else if (e.t === 'map') for (const [, x] of e.entries) readsOf(x, out)
}

export function evalConst(e: Expr, defines: Map<string, Value>): Value | undefined {
  const c = constValue(e)
  if (c !== undefined) return c
  if (e.t === 'id') return defines.get(e.name)
  if (e.t === 'un' && e.op === 'NEG') {
    const x = evalConst(e.e, defines)
    return typeof x === 'number' ? -x : undefined
  }
  if (e.t === 'bin' && ['+', '-', '*', '/'].includes(e.op)) {
    const l = evalConst(e.l, defines)
    const r = evalConst(e.r, defines)
    if (l === undefined || r === undefined) return undefined
    try {
      return binop(e.op, l, r)
    } catch {
      return undefined
    }
  }
  return undefined
}
