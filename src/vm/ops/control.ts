/** Control flow: jumps, calls, halts, status branches. */
import { VmFault } from '../fault.ts'
import type { Machine } from '../interp.ts'
import { truthy } from '../values.ts'
import { CONTINUE, type Ins, type OpSpec, STOP, val } from './types.ts'

const label = { name: 'label', kind: 'label' } as const

/** `JUMP_IF_FALSE label` tests the implicit result register `_`; `JUMP_IF_FALSE cond, label` tests `cond`. */
function cond(m: Machine, ins: Ins): boolean {
  return ins.given[1] ? truthy(val(m, ins.args[0] as never)) : truthy(m.regs[0] ?? null)
}

function ret(m: Machine): number {
  const to = m.callStack.pop()
  if (to === undefined) return m.finish(m.regs[0] ?? null)
  return to
}

export const controlOps: OpSpec[] = [
  { name: 'NOP', params: [], result: false, gas: 1, doc: 'Do nothing.', run: () => CONTINUE },
  {
    name: 'JUMP',
    params: [label],
    result: false,
    gas: 1,
    doc: 'Continue at `label`.',
    run: (_m, ins) => ins.target,
  },
  {
    name: 'JUMP_IF_TRUE',
    params: [
      { name: 'cond', kind: 'value' },
      { name: 'label', kind: 'label', optional: true },
    ],
    result: false,
    gas: 1,
    doc: 'Jump when `cond` (or, with one operand, the last result `_`) is truthy.',
    run: (m, ins) => {
      if (ins.k0 === 1 && ins.given[1]) return truthy(m.regs[ins.s0] as never) ? ins.target : CONTINUE
      return cond(m, ins) ? ins.target : CONTINUE
    },
  },
  {
    name: 'JUMP_IF_FALSE',
    params: [
      { name: 'cond', kind: 'value' },
      { name: 'label', kind: 'label', optional: true },
    ],
    result: false,
    gas: 1,
    doc: 'Jump when `cond` (or, with one operand, the last result `_`) is falsy (null, false, 0, "", []).',
    run: (m, ins) => {
      if (ins.k0 === 1 && ins.given[1]) return truthy(m.regs[ins.s0] as never) ? CONTINUE : ins.target
      return cond(m, ins) ? CONTINUE : ins.target
    },
  },
  {
    name: 'JUMP_IF_PLUGIN_FAILED',
    params: [label],
    result: false,
    gas: 1,
    doc: 'Jump when the last plugin/tool/model call failed or the plugin is missing or not allowed.',
    run: (m, ins) => (m.pluginFailed ? ins.target : CONTINUE),
  },
  {
    name: 'JUMP_IF_TASK_FAILED',
    params: [label],
    result: false,
    gas: 1,
    doc: 'Jump when the last task (plugin opcode, WAIT_FOR_TASK, SWARM_FETCH) failed or timed out.',
    run: (m, ins) => (m.taskFailed ? ins.target : CONTINUE),
  },
  {
    name: 'CALL',
    params: [label],
    result: false,
    gas: 2,
    doc: 'Push the return address and jump to `label`; RET comes back.',
    run: (m, ins) => {
      if (m.callStack.length >= m.limits.maxCallDepth) {
        throw new VmFault('CALL_DEPTH', `call depth limit ${m.limits.maxCallDepth} reached`)
      }
      m.callStack.push(ins.pc + 1)
      return ins.target
    },
  },
  {
    name: 'RET',
    params: [],
    result: false,
    gas: 2,
    doc: 'Return to the instruction after the matching CALL; at top level, halt with output `_`.',
    run: (m) => ret(m),
  },
  {
    name: 'RETURN',
    params: [],
    result: false,
    gas: 2,
    doc: 'Alias of RET (the seed listings use it).',
    run: (m) => ret(m),
  },
  {
    name: 'HALT',
    params: [{ name: 'output', kind: 'value', optional: true }],
    result: false,
    gas: 0,
    doc: 'Stop with status ok; the run output is `output` (default: the last result `_`).',
    run: (m, ins) => {
      const out = ins.given[0] ? val(m, ins.args[0] as never) : (m.regs[0] ?? null)
      m.finish(out)
      return STOP
    },
  },
]
