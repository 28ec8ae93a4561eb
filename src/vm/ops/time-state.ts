/** Time (through the host clock) and execution state (LOAD/SAVE/RESET, checkpoints). */

import { asNumber, VmFault } from '../fault.ts'
import { must } from '../gate.ts'
import type { Machine } from '../interp.ts'
import { serializeState } from '../state.ts'
import { toText, type Value } from '../values.ts'
import { arg, argOr, CONTINUE, type Ins, type OpSpec } from './types.ts'
import { agentPrefix, put, storeGet, storePut } from './util.ts'

/** Where state-loading ops write: `-> R` if given, else `R_state` if the program names it, else `_`. */
function stateSlot(m: Machine, ins: Ins): number {
  if (ins.dst !== 0) return ins.dst
  const s = m.program.regNames.indexOf('R_state')
  return Math.max(s, 0)
}

export const timeStateOps: OpSpec[] = [
  {
    name: 'GET_CURRENT_TIME',
    params: [],
    result: true,
    gas: 1,
    doc: 'Current AVM time in milliseconds (from the host clock, recorded for replay).',
    run: (m, ins) =>
      put(
        m,
        ins,
        must(
          m.gate.callSync('time.now', null, () => m.host.now()),
          'clock',
        ),
      ),
  },
  {
    name: 'RANDOM',
    params: [],
    result: true,
    gas: 1,
    doc: 'A float in [0, 1) from the host randomness (recorded for replay).',
    run: (m, ins) =>
      put(
        m,
        ins,
        must(
          m.gate.callSync('random', null, () => m.host.random()),
          'random',
        ),
      ),
  },
  {
    name: 'WAIT',
    params: [{ name: 'ms', kind: 'value', type: 'number' }],
    result: false,
    gas: 1,
    async: true,
    doc: 'Suspend for `ms` milliseconds of host time (the agent yields; others run).',
    run: async (m, ins) => {
      const ms = Math.max(0, Math.min(asNumber(arg(m, ins, 0), 'WAIT delay'), 7 * 24 * 3600 * 1000))
      must(await m.gate.call('sleep', [ms], () => m.host.sleep(ms)), 'WAIT')
      return CONTINUE
    },
  },
  {
    name: 'SCHEDULE_TASK',
    params: [
      { name: 'task', kind: 'value' },
      { name: 'interval', kind: 'value' },
    ],
    result: true,
    gas: 2,
    async: true,
    doc: 'Record a recurring task `{task, interval}` in agent storage (`tasks/<id>`) for the host scheduler; returns true.',
    run: async (m, ins) => {
      const id = toText(arg(m, ins, 0))
      await storePut(m, `${agentPrefix(m)}tasks/${id}`, { task: id, interval: arg(m, ins, 1) })
      return put(m, ins, true)
    },
  },
  {
    name: 'LOAD_EXECUTION_STATE',
    params: [],
    result: true,
    gas: 10,
    async: true,
    doc: 'Load the value saved by SAVE_EXECUTION_STATE into `-> R` (default `R_state` if used, else `_`).',
    run: async (m, ins) => {
      const v = await storeGet(m, `${agentPrefix(m)}state`)
      m.set(stateSlot(m, ins), v)
      return CONTINUE
    },
  },
  {
    name: 'SAVE_EXECUTION_STATE',
    params: [{ name: 'state', kind: 'value', optional: true }],
    result: false,
    gas: 15,
    async: true,
    doc: 'Persist `state` (default: register `R_state`) in agent storage.',
    run: async (m, ins) => {
      const v: Value = ins.given[0] ? arg(m, ins, 0) : m.getNamed('R_state')
      await storePut(m, `${agentPrefix(m)}state`, v)
      return CONTINUE
    },
  },
  {
    name: 'RESET_EXECUTION_STATE',
    params: [],
    result: false,
    gas: 5,
    async: true,
    doc: 'Delete the saved state and clear `R_state`.',
    run: async (m) => {
      await storePut(m, `${agentPrefix(m)}state`, undefined)
      m.setNamed('R_state', null)
      return CONTINUE
    },
  },
  {
    name: 'CREATE_SYSTEM_CHECKPOINT',
    params: [{ name: 'label', kind: 'value', optional: true }],
    result: true,
    gas: 20,
    async: true,
    doc: 'Save a full machine snapshot under `checkpoints/<label>` (base64); returns the label.',
    run: async (m, ins) => {
      const label = toText(argOr(m, ins, 0, 'default'))
      m.set(ins.dst, label)
      let bytes: Uint8Array
      try {
        bytes = serializeState(m)
      } catch (e) {
        throw new VmFault('INVALID_OPERAND', e instanceof Error ? e.message : String(e))
      }
      await storePut(m, `${agentPrefix(m)}checkpoints/${label}`, Buffer.from(bytes).toString('base64'))
      return CONTINUE
    },
  },
]
