/**
 * Line parser: AVM source text → statements. One statement per line; `;`
 * starts a comment; an optional `N.` line number is ignored.
 */
import { type Expr, ExprError, ExprParser, tokenize } from './expr.ts'

export interface Diagnostic {
  file: string
  line: number
  col: number
  message: string
  severity: 'error' | 'warning'
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col} ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`
}

export interface ArgNode {
  key: string | null
  expr: Expr
  col: number
  src: string
}

export type Stmt = { line: number; col: number } & (
  | { kind: 'label'; name: string }
  | { kind: 'define'; name: string; expr: Expr }
  | { kind: 'region'; name: string; mode: string }
  | { kind: 'end' }
  | { kind: 'capability'; names: string[] }
  | { kind: 'test'; label: string }
  | { kind: 'if'; cond: Expr }
  | { kind: 'else' }
  | { kind: 'endif' }
  | { kind: 'ins'; op: string; args: ArgNode[]; dst: { name: string; col: number } | null }
)

/** Index of the first `;` outside a string literal, or -1. */
function commentStart(line: string): number {
  let q: string | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (q) {
      if (c === '\\') i++
      else if (c === q) q = null
    } else if (c === '"' || c === "'") q = c
    else if (c === ';') return i
  }
  return -1
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/

export function parseSource(source: string, file: string): { stmts: Stmt[]; diags: Diagnostic[] } {
  const stmts: Stmt[] = []
  const diags: Diagnostic[] = []
  const lines = source.split('\n')
  const err = (line: number, col: number, message: string) =>
    diags.push({ file, line, col, message, severity: 'error' })
  for (let li = 0; li < lines.length; li++) {
    const lineNo = li + 1
    let raw = lines[li] as string
    const cs = commentStart(raw)
    if (cs >= 0) raw = raw.slice(0, cs)
    let start = raw.search(/\S/)
    if (start < 0) continue
    let text = raw.slice(start).trimEnd()
    const num = /^\d+\.\s+/.exec(text)
    if (num) {
      start += num[0].length
      text = text.slice(num[0].length)
    } else if (/^\d+\.$/.test(text)) continue
    const col = start + 1
    try {
      const st = parseLine(text, lineNo, col)
      if (st) stmts.push(st)
    } catch (e) {
      if (e instanceof ExprError) err(lineNo, e.col, e.message)
      else throw e
    }
  }
  return { stmts, diags }
}

function parseLine(text: string, line: number, col: number): Stmt | null {
  if (text.startsWith(':')) {
    const name = text.slice(1).trim()
    if (!IDENT.test(name)) throw new ExprError(`bad label name '${name}'`, col)
    return { kind: 'label', name, line, col }
  }
  if (/^[A-Za-z_][A-Za-z0-9_]*:$/.test(text)) return { kind: 'label', name: text.slice(0, -1), line, col }
  if (text.startsWith('#define')) {
    const m = /^#define\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.+)$/.exec(text)
    if (!m) throw new ExprError('expected #define NAME value', col)
    const valueText = m[2] as string
    const p = new ExprParser(tokenize(valueText, col + text.indexOf(valueText, 8)))
    const expr = p.expr()
    if (!p.atEnd()) throw new ExprError(`unexpected '${p.peek().v}' after #define value`, p.peek().col)
    return { kind: 'define', name: m[1] as string, expr, line, col }
  }
  if (text.startsWith('.')) {
    const parts = text.split(/\s+/)
    const d = parts[0]
    if (d === '.region') {
      const name = parts[1] ?? ''
      const mode = (parts[2] ?? 'locked').toLowerCase()
      if (!IDENT.test(name)) throw new ExprError('expected .region NAME editable|locked', col)
      if (mode !== 'editable' && mode !== 'locked')
        throw new ExprError(`region mode must be editable or locked, got '${mode}'`, col)
      return { kind: 'region', name, mode, line, col }
    }
    if (d === '.end') return { kind: 'end', line, col }
    if (d === '.capability') {
      const names = parts
        .slice(1)
        .flatMap((p) => p.split(','))
        .filter((p) => p.length > 0)
      if (names.length === 0) throw new ExprError('expected .capability NAME', col)
      return { kind: 'capability', names, line, col }
    }
    if (d === '.test') {
      const label = parts[1] ?? ''
      if (!IDENT.test(label)) throw new ExprError('expected .test LABEL', col)
      return { kind: 'test', label, line, col }
    }
    throw new ExprError(`unknown directive '${d}'`, col)
  }
  const m = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(text)
  if (!m) throw new ExprError(`expected an instruction, got '${text.slice(0, 20)}'`, col)
  const op = (m[1] as string).toUpperCase()
  const restText = text.slice((m[1] as string).length)
  const restCol = col + (m[1] as string).length
  if (op === 'ENDIF' || op === 'END_IF') return { kind: 'endif', line, col }
  if (op === 'ELSE') return { kind: 'else', line, col }
  const p = new ExprParser(tokenize(restText, restCol))
  if (op === 'IF') {
    const cond = p.expr()
    if (p.isWord('THEN', 'then')) p.next()
    if (!p.atEnd())
      throw new ExprError(
        `unexpected '${p.peek().v}' after IF condition (put the body on the next lines)`,
        p.peek().col,
      )
    return { kind: 'if', cond, line, col }
  }
  const args: ArgNode[] = []
  let dst: { name: string; col: number } | null = null
  while (!p.atEnd()) {
    if (p.isOp('->')) {
      p.next()
      const t = p.next()
      if (t.k !== 'id') throw new ExprError('expected a register name after ->', t.col)
      dst = { name: t.v, col: t.col }
      if (!p.atEnd())
        throw new ExprError(`unexpected '${p.peek().v}' after the result register`, p.peek().col)
      break
    }
    const t = p.peek()
    let key: string | null = null
    if (t.k === 'id') {
      // keyword operand: NAME = expr (but not NAME == expr)
      const idTok = p.next()
      if (p.isOp('=')) {
        p.next()
        key = idTok.v
      } else p.back()
    }
    const startCol = t.col
    const expr = p.expr()
    const endCol = p.peek().col
    args.push({ key, expr, col: startCol, src: text.slice(startCol - col, endCol - col).trim() })
    if (p.isOp(',')) {
      p.next()
      if (p.atEnd()) throw new ExprError('expected an operand after ","', p.peek().col)
    } else if (!p.atEnd() && !p.isOp('->'))
      throw new ExprError(`expected ',' between operands, found '${p.peek().v}'`, p.peek().col)
  }
  if (op === 'SET' && dst === null) {
    // SET R = expr  |  SET R, expr
    const a = args[0]
    if (a && a.key !== null && args.length === 1) {
      dst = { name: a.key, col: a.col }
      a.key = null
    } else if (a && a.key === null && a.expr.t === 'id' && args.length === 2) {
      dst = { name: a.expr.name, col: a.col }
      args.shift()
    }
  }
  return { kind: 'ins', op, args, dst, line, col }
}
