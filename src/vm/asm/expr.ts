/**
 * Operand expressions: literals (numbers, strings, lists, maps), names
 * (registers, #define constants, labels), paths (`R.a[-1].b`), arithmetic,
 * comparison and logic (`+ - * / % == != < <= > >= AND OR NOT`).
 */
import type { Value } from '../values.ts'

export type Expr =
  | { t: 'lit'; v: Value; col: number }
  | { t: 'id'; name: string; col: number }
  | { t: 'mem'; obj: Expr; key: Expr; col: number }
  | { t: 'bin'; op: string; l: Expr; r: Expr; col: number }
  | { t: 'un'; op: string; e: Expr; col: number }
  | { t: 'list'; items: Expr[]; col: number }
  | { t: 'map'; entries: [string, Expr][]; col: number }

export interface Tok {
  k: 'num' | 'str' | 'id' | 'op' | 'end'
  v: string
  n?: number
  col: number
}

export class ExprError extends Error {
  readonly col: number
  constructor(message: string, col: number) {
    super(message)
    this.col = col
  }
}

const OPS = [
  '->',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '!',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  '.',
  ':',
  '=',
]

/** Tokenise `text`; `col0` is the 1-based column of text[0] in the source line. */
export function tokenize(text: string, col0: number): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === ' ' || c === '\t' || c === '\r') {
      i++
      continue
    }
    const col = col0 + i
    if (c === '"' || c === "'") {
      let j = i + 1
      let s = ''
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) {
          const e = text[j + 1] as string
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e
          j += 2
        } else {
          s += text[j]
          j++
        }
      }
      if (j >= text.length) throw new ExprError('unterminated string', col)
      out.push({ k: 'str', v: s, col })
      i = j + 1
      continue
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i))
      const lit = m?.[0] ?? c
      // `x.5` style member access never occurs on numbers; a trailing '.' followed by a letter is a member access
      let num = lit
      if (num.endsWith('.') && /[A-Za-z_]/.test(text[i + num.length] ?? '')) num = num.slice(0, -1)
      out.push({ k: 'num', v: num, n: Number(num), col })
      i += num.length
      continue
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))
      const id = m?.[0] ?? c
      out.push({ k: 'id', v: id, col })
      i += id.length
      continue
    }
    const op = OPS.find((o) => text.startsWith(o, i))
    if (!op) throw new ExprError(`unexpected character '${c}'`, col)
    out.push({ k: 'op', v: op, col })
    i += op.length
  }
  out.push({ k: 'end', v: '', col: col0 + text.length })
  return out
}

const KEYWORD_LITS: Record<string, Value> = {
  true: true,
  TRUE: true,
  True: true,
  false: false,
  FALSE: false,
  False: false,
  null: null,
  NULL: null,
  None: null,
}

export class ExprParser {
  private readonly toks: Tok[]
  private p = 0
  constructor(toks: Tok[]) {
    this.toks = toks
  }
  peek(): Tok {
    return this.toks[this.p] as Tok
  }
  next(): Tok {
    const t = this.toks[this.p] as Tok
    if (t.k !== 'end') this.p++
    return t
  }
  isOp(v: string): boolean {
    const t = this.peek()
    return t.k === 'op' && t.v === v
  }
  isWord(...ws: string[]): boolean {
    const t = this.peek()
    return t.k === 'id' && ws.includes(t.v)
  }
  expectOp(v: string): void {
    const t = this.next()
    if (t.k !== 'op' || t.v !== v)
      throw new ExprError(`expected '${v}' but found '${t.v || 'end of line'}'`, t.col)
  }
  /** Step back one token (used to undo a one-token lookahead). */
  back(): void {
    if (this.p > 0) this.p--
  }
  atEnd(): boolean {
    return this.peek().k === 'end'
  }

  expr(): Expr {
    return this.or()
  }
  private or(): Expr {
    let l = this.and()
    while (this.isWord('OR', 'or') || this.isOp('||')) {
      const col = this.next().col
      l = { t: 'bin', op: 'OR', l, r: this.and(), col }
    }
    return l
  }
  private and(): Expr {
    let l = this.not()
    while (this.isWord('AND', 'and') || this.isOp('&&')) {
      const col = this.next().col
      l = { t: 'bin', op: 'AND', l, r: this.not(), col }
    }
    return l
  }
  private not(): Expr {
    if (this.isWord('NOT', 'not') || this.isOp('!')) {
      const col = this.next().col
      return { t: 'un', op: 'NOT', e: this.not(), col }
    }
    return this.cmp()
  }
  private cmp(): Expr {
    const l = this.add()
    const t = this.peek()
    if (t.k === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) {
      this.next()
      return { t: 'bin', op: t.v, l, r: this.add(), col: t.col }
    }
    return l
  }
  private add(): Expr {
    let l = this.mul()
    while (this.isOp('+') || this.isOp('-')) {
      const t = this.next()
      l = { t: 'bin', op: t.v, l, r: this.mul(), col: t.col }
    }
    return l
  }
  private mul(): Expr {
    let l = this.unary()
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const t = this.next()
      l = { t: 'bin', op: t.v, l, r: this.unary(), col: t.col }
    }
    return l
  }
  private unary(): Expr {
    if (this.isOp('-')) {
      const col = this.next().col
      const e = this.unary()
      if (e.t === 'lit' && typeof e.v === 'number') return { t: 'lit', v: -e.v, col }
      return { t: 'un', op: 'NEG', e, col }
    }
    return this.postfix()
  }
  private postfix(): Expr {
    let e = this.primary()
    for (;;) {
      if (this.isOp('.')) {
        const dot = this.next()
        const t = this.next()
        if (t.k !== 'id' && t.k !== 'num') throw new ExprError('expected a field name after "."', dot.col)
        e = {
          t: 'mem',
          obj: e,
          key: { t: 'lit', v: t.k === 'num' ? (t.n as number) : t.v, col: t.col },
          col: dot.col,
        }
      } else if (this.isOp('[')) {
        const b = this.next()
        const key = this.expr()
        this.expectOp(']')
        e = { t: 'mem', obj: e, key, col: b.col }
      } else return e
    }
  }
  private primary(): Expr {
    const t = this.next()
    if (t.k === 'num') {
      if (!Number.isFinite(t.n)) throw new ExprError(`bad number '${t.v}'`, t.col)
      return { t: 'lit', v: t.n as number, col: t.col }
    }
    if (t.k === 'str') return { t: 'lit', v: t.v, col: t.col }
    if (t.k === 'id') {
      if (Object.hasOwn(KEYWORD_LITS, t.v)) return { t: 'lit', v: KEYWORD_LITS[t.v] as Value, col: t.col }
      return { t: 'id', name: t.v, col: t.col }
    }
    if (t.k === 'op' && t.v === '(') {
      const e = this.expr()
      this.expectOp(')')
      return e
    }
    if (t.k === 'op' && t.v === '[') {
      const items: Expr[] = []
      while (!this.isOp(']')) {
        items.push(this.expr())
        if (!this.isOp(']')) this.expectOp(',')
      }
      this.next()
      return { t: 'list', items, col: t.col }
    }
    if (t.k === 'op' && t.v === '{') {
      const entries: [string, Expr][] = []
      while (!this.isOp('}')) {
        const k = this.next()
        if (k.k !== 'id' && k.k !== 'str' && k.k !== 'num') throw new ExprError('expected a map key', k.col)
        if (this.isOp(':') || this.isOp('=')) this.next()
        else throw new ExprError(`expected ':' after map key`, this.peek().col)
        entries.push([k.v, this.expr()])
        if (!this.isOp('}')) this.expectOp(',')
      }
      this.next()
      return { t: 'map', entries, col: t.col }
    }
    throw new ExprError(t.k === 'end' ? 'expected a value but the line ended' : `unexpected '${t.v}'`, t.col)
  }
}

/** Fold a constant expression (only literals); returns undefined if not constant. */
export function constValue(e: Expr): Value | undefined {
  if (e.t === 'lit') return e.v
  if (e.t === 'list') {
    const out: Value[] = []
    for (const i of e.items) {
      const v = constValue(i)
      if (v === undefined) return undefined
      out.push(v)
    }
    return out
  }
  if (e.t === 'map') {
    const out: { [k: string]: Value } = {}
    for (const [k, x] of e.entries) {
      const v = constValue(x)
      if (v === undefined) return undefined
      out[k] = v
    }
    return out
  }
  return undefined
}
