/**
 * Assembler + verifier: statements → a compact pre-decoded program
 * (registers resolved to integer slots, operands pre-resolved, labels to
 * instruction indexes). Every problem is collected as a `file:line:col`
 * diagnostic; nothing executes unless the error list is empty.
 */
import type { Ins, Operand, OpSpec } from '../ops/types.ts'
import { OPCODES, opcodeIndex, PLUGIN_OP } from '../table.ts'
import { typeName, type Value } from '../values.ts'
import { compileExpr, evalConst, lvaluePath, readsOf } from './compile.ts'
import type { Expr } from './expr.ts'
import { type ArgNode, type Diagnostic, parseSource, type Stmt } from './parse.ts'

export interface Region {
  name: string
  mode: 'editable' | 'locked'
  /** Line of the `.region` directive and of its `.end` (1-based). */
  line: number
  endLine: number
  startPc: number
  endPc: number
}

/** An opcode provided by a plugin (e.g. `SEPARATE_PROMPT`), for the assembler. */
export interface PluginOpcodeDecl {
  plugin: string
  minArgs?: number
  maxArgs?: number
  gas?: number
  doc?: string
}

export interface AsmOptions {
  file?: string
  /** Names of plugins the verifier accepts in plugin positions (CALL_PLUGIN, READ_FROM_TOOL, ...). */
  plugins?: Iterable<string>
  /** Extra opcodes implemented by plugins. */
  pluginOpcodes?: Record<string, PluginOpcodeDecl>
  /** Registers provided as inputs (no "read but never written" warning). */
  inputs?: Iterable<string>
}

export interface Program {
  file: string
  source: string
  code: Ins[]
  labels: Record<string, number>
  /** Register slot → name; slot 0 is `_`, the implicit result register. */
  regNames: string[]
  regions: Region[]
  capabilities: string[]
  /** Labels declared with `.test` (entry points for SELF_MODIFY_SANDBOX). */
  tests: string[]
}

export interface AsmResult {
  program: Program | null
  diags: Diagnostic[]
  errors: Diagnostic[]
}

const KEYWORD_RESULT = new Set(['out', 'OUT', 'output'])

/** Registers some opcodes write implicitly (seed listing names). */
const IMPLICIT_WRITES: Record<string, string> = {
  SELF_MODIFY: 'lastRewriteFailed',
  SELF_MODIFY_SANDBOX: 'RtestResult',
}

export function assemble(source: string, opts: AsmOptions = {}): AsmResult {
  const file = opts.file ?? '<input>'
  const { stmts, diags } = parseSource(source, file)
  const err = (line: number, col: number, message: string) =>
    diags.push({ file, line, col, message, severity: 'error' })
  const warn = (line: number, col: number, message: string) =>
    diags.push({ file, line, col, message, severity: 'warning' })
  const plugins = opts.plugins ? new Set(opts.plugins) : null
  const pluginOps = opts.pluginOpcodes ?? {}

  // 1. defines
  const defines = new Map<string, Value>()
  for (const s of stmts) {
    if (s.kind !== 'define') continue
    if (defines.has(s.name)) err(s.line, s.col, `#define ${s.name} defined twice`)
    const v = evalConst(s.expr, defines)
    if (v === undefined) err(s.line, s.col, `#define ${s.name} must be a constant`)
    else defines.set(s.name, v)
  }

  // 2. desugar IF/ELSE/ENDIF, collect labels and regions
  type Pending = {
    st: Extract<Stmt, { kind: 'ins' }>
    synthetic?: { cond?: Expr; label: string }
    region: number
  }
  const pend: Pending[] = []
  const labels: Record<string, number> = {}
  const labelLines: Record<string, number> = {}
  const regions: Region[] = []
  const capabilities: string[] = []
  const tests: { label: string; line: number; col: number }[] = []
  const ifStack: { id: number; line: number; col: number; hasElse: boolean }[] = []
  let ifCounter = 0
  let openRegion = -1
  const defineLabel = (name: string, line: number, col: number) => {
    if (Object.hasOwn(labels, name))
      err(line, col, `label '${name}' already defined on line ${labelLines[name]}`)
    labels[name] = pend.length
    labelLines[name] = line
  }
  const synth = (st: Stmt, op: string, label: string, cond?: Expr) =>
    pend.push({
      st: { kind: 'ins', op, args: [], dst: null, line: st.line, col: st.col },
      synthetic: cond === undefined ? { label } : { cond, label },
      region: openRegion,
    })
  for (const s of stmts) {
    switch (s.kind) {
      case 'define':
        break
      case 'label':
        defineLabel(s.name, s.line, s.col)
        break
      case 'region':
        if (openRegion >= 0) {
          err(
            s.line,
            s.col,
            `.region ${s.name} inside region ${regions[openRegion]?.name}: regions do not nest`,
          )
          break
        }
        if (regions.some((r) => r.name === s.name)) err(s.line, s.col, `region '${s.name}' defined twice`)
        regions.push({
          name: s.name,
          mode: s.mode as 'editable' | 'locked',
          line: s.line,
          endLine: -1,
          startPc: pend.length,
          endPc: -1,
        })
        openRegion = regions.length - 1
        break
      case 'end': {
        const r = regions[openRegion]
        if (!r) {
          err(s.line, s.col, '.end without .region')
          break
        }
        r.endLine = s.line
        r.endPc = pend.length
        openRegion = -1
        break
      }
      case 'capability':
        capabilities.push(...s.names)
        break
      case 'test':
        tests.push({ label: s.label, line: s.line, col: s.col })
        break
      case 'if': {
        const id = ifCounter++
        ifStack.push({ id, line: s.line, col: s.col, hasElse: false })
        synth(s, 'JUMP_IF_FALSE', `__else_${id}`, s.cond)
        break
      }
      case 'else': {
        const top = ifStack[ifStack.length - 1]
        if (!top) {
          err(s.line, s.col, 'ELSE without IF')
          break
        }
        if (top.hasElse) err(s.line, s.col, 'second ELSE for the same IF')
        top.hasElse = true
        synth(s, 'JUMP', `__endif_${top.id}`)
        defineLabel(`__else_${top.id}`, s.line, s.col)
        break
      }
      case 'endif': {
        const top = ifStack.pop()
        if (!top) {
          err(s.line, s.col, 'ENDIF without IF')
          break
        }
        if (!top.hasElse) defineLabel(`__else_${top.id}`, s.line, s.col)
        defineLabel(`__endif_${top.id}`, s.line, s.col)
        break
      }
      case 'ins':
        pend.push({ st: s, region: openRegion })
        break
    }
  }
  for (const i of ifStack) err(i.line, i.col, 'IF without ENDIF')
  if (openRegion >= 0) {
    const r = regions[openRegion] as Region
    err(r.line, 1, `.region ${r.name} is not closed with .end`)
    r.endLine = source.split('\n').length + 1
    r.endPc = pend.length
  }
  for (const t of tests)
    if (!Object.hasOwn(labels, t.label)) err(t.line, t.col, `.test names undefined label '${t.label}'`)

  // 3. registers
  const regNames: string[] = ['_']
  const regSlots = new Map<string, number>([['_', 0]])
  const slot = (name: string) => {
    let s = regSlots.get(name)
    if (s === undefined) {
      s = regNames.length
      regNames.push(name)
      regSlots.set(name, s)
    }
    return s
  }
  const written = new Set<string>(['_', ...(opts.inputs ?? [])])
  const reads: { name: string; line: number; col: number }[] = []

  // 4. compile each instruction
  const pendingLabels: { ins: Ins; label: string; line: number; col: number }[] = []
  const code: Ins[] = []
  for (const p of pend) {
    const st = p.st
    const idx = opcodeIndex(st.op)
    const pdecl = pluginOps[st.op]
    const spec: OpSpec | undefined = idx >= 0 ? OPCODES[idx] : pdecl ? OPCODES[PLUGIN_OP] : undefined
    const ins: Ins = {
      op: idx >= 0 ? idx : PLUGIN_OP,
      pc: code.length,
      name: st.op,
      line: st.line,
      col: st.col,
      gas: spec?.gas ?? 0,
      async: spec?.async === true,
      run: spec ? spec.run : unknownOp,
      dyn: spec?.dynGas ?? null,
      args: [],
      given: [],
      kw: {},
      rest: [],
      dst: 0,
      target: -1,
      plugin: pdecl?.plugin ?? '',
      k0: 0,
      s0: 0,
      c0: null,
      k1: 0,
      s1: 0,
      c1: null,
    }
    code.push(ins)
    if (!spec) {
      err(st.line, st.col, `unknown opcode '${st.op}'`)
      continue
    }
    if (pdecl?.gas !== undefined) ins.gas = pdecl.gas
    if (p.synthetic) {
      // desugared IF/ELSE
      if (p.synthetic.cond) {
        ins.args = [compileExpr(p.synthetic.cond, slot, defines), constOp(null)]
        ins.given = [true, true]
        const rs = new Set<string>()
        readsOf(p.synthetic.cond, rs)
        for (const n of rs) if (!defines.has(n)) reads.push({ name: n, line: st.line, col: st.col })
      } else {
        ins.args = [constOp(null)]
        ins.given = [true]
      }
      pendingLabels.push({ ins, label: p.synthetic.label, line: st.line, col: st.col })
      fast(ins)
      continue
    }
    const params = spec.params
    const slots: (ArgNode | undefined)[] = new Array(params.length).fill(undefined)
    let pos = 0
    for (const a of st.args) {
      if (a.key !== null) {
        const lk = a.key.toLowerCase()
        if (KEYWORD_RESULT.has(a.key) && spec.result) {
          const tgt = lvaluePath(a.expr, defines)
          if (!tgt || tgt.path.length > 0) err(st.line, a.col, `${a.key}= needs a register name`)
          else setDst(tgt.name, st.line, a.col)
          continue
        }
        const pi = params.findIndex((x) => x.name.toLowerCase() === lk)
        if (pi >= 0) {
          if (slots[pi]) err(st.line, a.col, `${st.op}: operand '${params[pi]?.name}' given twice`)
          slots[pi] = a
        } else if (spec.anyKeywords) {
          ins.kw[a.key] = compileArg(a, 'value')
        } else
          err(
            st.line,
            a.col,
            `${st.op} has no operand named '${a.key}' (operands: ${params.map((x) => x.name).join(', ') || 'none'})`,
          )
        continue
      }
      while (pos < params.length && slots[pos]) pos++
      if (pos < params.length) slots[pos++] = a
      else if (spec.variadic) ins.rest.push(compileArg(a, 'value'))
      else {
        err(
          st.line,
          a.col,
          `${st.op} takes ${maxArgs(spec)} operand${maxArgs(spec) === 1 ? '' : 's'}, got more`,
        )
        break
      }
    }
    // JUMP_IF_x with a single operand: it is the label
    if ((st.op === 'JUMP_IF_TRUE' || st.op === 'JUMP_IF_FALSE') && slots[0] && !slots[1]) {
      slots[1] = slots[0]
      slots[0] = undefined
      ins.args[0] = constOp(null)
    }
    for (let i = 0; i < params.length; i++) {
      const ps = params[i] as (typeof params)[number]
      const a = slots[i]
      if (!a) {
        ins.given[i] = false
        ins.args[i] = constOp(null)
        if (!ps.optional && !(i === 0 && (st.op === 'JUMP_IF_TRUE' || st.op === 'JUMP_IF_FALSE'))) {
          err(st.line, st.col, `${st.op} is missing operand '${ps.name}' (expects ${describe(spec)})`)
        }
        continue
      }
      ins.given[i] = true
      if (ps.kind === 'label') {
        ins.args[i] = constOp(null)
        if (a.expr.t !== 'id') err(st.line, a.col, `${st.op}: operand '${ps.name}' must be a label name`)
        else pendingLabels.push({ ins, label: a.expr.name, line: st.line, col: a.col })
      } else if (ps.kind === 'lvalue') {
        const lv = lvaluePath(a.expr, defines)
        if (!lv) {
          err(st.line, a.col, `${st.op}: operand '${ps.name}' must be a register or register path`)
          ins.args[i] = constOp(null)
        } else {
          const o = compileArg(a, 'value')
          ins.args[i] = { k: 1, s: slot(lv.name), c: null, f: o.f ?? null, path: lv.path, src: a.src }
          if (lv.path.length > 0) ins.args[i] = { ...o, s: slot(lv.name), path: lv.path }
          written.add(lv.name)
        }
      } else {
        ins.args[i] = compileArg(a, 'value')
        const o = ins.args[i] as Operand
        if (ps.type && o.k === 0 && o.c !== null && typeName(o.c) !== ps.type) {
          err(
            st.line,
            a.col,
            `${st.op}: operand '${ps.name}' must be a ${ps.type}, got ${typeName(o.c)} ${JSON.stringify(o.c)}`,
          )
        }
        if (
          spec.pluginParam === ps.name &&
          plugins &&
          a.expr.t === 'lit' &&
          typeof a.expr.v === 'string' &&
          !plugins.has(a.expr.v)
        ) {
          err(st.line, a.col, `${st.op}: unknown plugin '${a.expr.v}' (not registered on this node)`)
        }
      }
    }
    if (pdecl) {
      const n = ins.rest.length
      if (pdecl.minArgs !== undefined && n < pdecl.minArgs)
        err(st.line, st.col, `${st.op} needs at least ${pdecl.minArgs} operands`)
      if (pdecl.maxArgs !== undefined && n > pdecl.maxArgs)
        err(st.line, st.col, `${st.op} takes at most ${pdecl.maxArgs} operands`)
      if (plugins && !plugins.has(pdecl.plugin))
        err(st.line, st.col, `${st.op}: plugin '${pdecl.plugin}' is not registered`)
    }
    if (st.dst) {
      if (!spec.result) err(st.line, st.dst.col, `${st.op} produces no result (remove '-> ${st.dst.name}')`)
      else setDst(st.dst.name, st.line, st.dst.col)
    }
    const implicit = IMPLICIT_WRITES[st.op]
    if (implicit) written.add(implicit)
    if (
      st.op === 'SELF_MODIFY' ||
      st.op === 'SELF_MODIFY_SANDBOX' ||
      st.op === 'SELF_READ' ||
      st.op === 'REVERT_CODE'
    ) {
      checkRegionOperand(ins, st.op, st.line)
    }
    fast(ins)

    function setDst(name: string, line: number, col: number) {
      if (defines.has(name)) err(line, col, `cannot write to constant '${name}'`)
      ins.dst = slot(name)
      written.add(name)
    }
    function compileArg(a: ArgNode, _k: 'value'): Operand {
      const rs = new Set<string>()
      readsOf(a.expr, rs)
      for (const n of rs) if (!defines.has(n)) reads.push({ name: n, line: st.line, col: a.col })
      const o = compileExpr(a.expr, slot, defines)
      o.src = a.src
      return o
    }
  }

  // 5. resolve labels
  for (const pl of pendingLabels.splice(0)) {
    const t = labels[pl.label]
    if (t === undefined) err(pl.line, pl.col, `undefined label '${pl.label}'`)
    else pl.ins.target = t
  }
  // 6. warnings: registers read but never written
  const seen = new Set<string>()
  for (const r of reads) {
    if (written.has(r.name) || seen.has(r.name) || Object.hasOwn(labels, r.name)) continue
    seen.add(r.name)
    warn(r.line, r.col, `register '${r.name}' is read but never written (null unless given as input)`)
  }
  diags.sort((a, b) => a.line - b.line || a.col - b.col)
  const errors = diags.filter((d) => d.severity === 'error')
  const program: Program | null =
    errors.length > 0
      ? null
      : { file, source, code, labels, regNames, regions, capabilities, tests: tests.map((t) => t.label) }
  return { program, diags, errors }

  function checkRegionOperand(ins: Ins, op: string, line: number): void {
    const o = ins.args[0]
    if (o?.k !== 0) return
    const name = o.c
    const r = regions.find((x) => x.name === name)
    // a missing region is a warning: at run time the opcode fails with a status the program branches on
    if (!r)
      warn(
        line,
        ins.col,
        `${op}: no region named ${JSON.stringify(name)} in this program (the call will fail at run time)`,
      )
    else if (r.mode === 'locked' && op !== 'SELF_READ')
      err(line, ins.col, `${op}: region '${r.name}' is locked (write into a locked region)`)
  }
}

const unknownOp = (): number => -1

function constOp(c: Value): Operand {
  return { k: 0, s: 0, c, f: null, path: null, src: '' }
}

function fast(ins: Ins): void {
  const a = ins.args[0]
  const b = ins.args[1]
  if (a) {
    ins.k0 = a.k
    ins.s0 = a.s
    ins.c0 = a.c
  }
  if (b) {
    ins.k1 = b.k
    ins.s1 = b.s
    ins.c1 = b.c
  }
}

function maxArgs(spec: OpSpec): number {
  return spec.params.length
}

function describe(spec: OpSpec): string {
  return `${spec.name} ${spec.params.map((p) => (p.optional ? `[${p.name}]` : p.name)).join(', ')}${spec.result ? ' [-> R]' : ''}`
}

/** Verify only: the diagnostics (errors and warnings) of `source`. */
export function verify(source: string, opts: AsmOptions = {}): Diagnostic[] {
  return assemble(source, opts).diags
}
