/**
 * Evolution ("Matreshka"): a child program from two parents. Editable regions
 * present in both are crossed over (each taken from A or B by a seeded coin);
 * then a bounded mutation nudges numeric literals in editable regions by at
 * most ±20 %. The child goes through the same assembler/verifier; locked
 * regions always come from parent A.
 */
import type { Random } from '../common/index.ts'
import { type AsmOptions, assemble, type Program } from './asm/assemble.ts'
import type { Diagnostic } from './asm/parse.ts'
import { patchSource } from './ops/self.ts'

export interface BreedOptions {
  random: Random
  /** Probability that a numeric literal in an editable region mutates. @default 0.2 */
  mutationRate?: number
  asm?: AsmOptions
  /** Operator policy run on the verified child (e.g. forbid opcodes); a refusal fails the breed. */
  policy?: (child: Program) => { ok: boolean; reason?: string }
}

export interface BreedResult {
  ok: boolean
  source: string
  errors: Diagnostic[]
  /** Region → parent it came from. */
  origin: Record<string, 'A' | 'B'>
  mutations: number
}

function body(source: string, line: number, endLine: number): string {
  return source
    .split('\n')
    .slice(line, endLine - 1)
    .join('\n')
}

export function breed(a: string, b: string, opts: BreedOptions): BreedResult {
  const pa = assemble(a, opts.asm)
  const pb = assemble(b, opts.asm)
  if (!pa.program) return { ok: false, source: '', errors: pa.errors, origin: {}, mutations: 0 }
  if (!pb.program) return { ok: false, source: '', errors: pb.errors, origin: {}, mutations: 0 }
  const rate = opts.mutationRate ?? 0.2
  let child = pa.program
  let source = a
  const origin: Record<string, 'A' | 'B'> = {}
  let mutations = 0
  for (const r of pa.program.regions) {
    if (r.mode !== 'editable') continue
    const rb = pb.program.regions.find((x) => x.name === r.name && x.mode === 'editable')
    const fromB = rb !== undefined && opts.random.next() < 0.5
    origin[r.name] = fromB ? 'B' : 'A'
    const cur = child.regions.find((x) => x.name === r.name)
    if (!cur) continue
    let text = fromB && rb ? body(b, rb.line, rb.endLine) : body(source, cur.line, cur.endLine)
    text = text.replace(/(?<![\w."])(-?\d+(?:\.\d+)?)(?![\w"])/g, (m) => {
      if (opts.random.next() >= rate) return m
      mutations++
      const x = Number(m)
      const f = 1 + (opts.random.next() * 0.4 - 0.2)
      return Number.isInteger(x) ? String(Math.round(x * f)) : String(Math.round(x * f * 1000) / 1000)
    })
    source = patchSource(child, r.name, text)
    const next = assemble(source, opts.asm)
    if (!next.program) return { ok: false, source, errors: next.errors, origin, mutations }
    child = next.program
  }
  const verdict = opts.policy?.(child) ?? { ok: true }
  if (!verdict.ok) {
    const error: Diagnostic = {
      file: child.file,
      line: 1,
      col: 1,
      message: `policy: ${verdict.reason ?? 'refused'}`,
      severity: 'error',
    }
    return { ok: false, source, errors: [error], origin, mutations }
  }
  return { ok: true, source, errors: [], origin, mutations }
}
