/**
 * Plugins and tools: dispatched to operator-registered plugins with their own
 * gas rule and per-agent allow-list. A missing, forbidden or failing plugin
 * sets the plugin-failed status (JUMP_IF_PLUGIN_FAILED) and yields null; it
 * never halts the agent.
 */
import { asList } from '../fault.ts'
import type { Machine } from '../interp.ts'
import { REDUCERS } from '../plugins/builtin.ts'
import { sizeOf, toText, type Value } from '../values.ts'
import { arg, argOr, CONTINUE, type Ins, type OpSpec, val, valueParam } from './types.ts'
import { put } from './util.ts'

/** Gas of one call to `name` with `bytes` of arguments (peek only). */
export function pluginGas(m: Machine, name: string, bytes: number): number {
  const g = m.pluginPrice(name)
  if (!g) return 0
  return g.base + (g.perKb ?? 1) * Math.ceil(bytes / 1024)
}

/** Call a plugin through the gate. Returns null and sets pluginFailed on any failure. */
export async function callPlugin(
  m: Machine,
  opcode: string,
  name: string,
  func: string,
  args: Value[],
  kwargs: Record<string, Value> = {},
): Promise<Value> {
  m.counters.plugins++
  const a = await m.gate.call('plugin', { name, func, opcode, args, kwargs }, async () => {
    const p = m.host.plugins.get(name)
    if (!p) throw new Error(`plugin '${name}' is not registered`)
    if (!m.host.plugins.allowed(m.agentId(), name))
      throw new Error(`plugin '${name}' is not allowed for this agent`)
    return await p.call({ agentId: m.agentId(), opcode, func, args, kwargs })
  })
  if (!a.ok) {
    m.pluginFailed = true
    m.taskFailed = true
    m.counters.pluginFailures++
    m.log(`plugin ${name}.${func} failed: ${a.error}`)
    return null
  }
  m.pluginFailed = false
  m.taskFailed = false
  return a.value
}

const p = valueParam
const argBytes = (m: Machine, ins: Ins) => ins.args.reduce((s, o) => s + sizeOf(val(m, o)), 0)
const nameOf = (m: Machine, ins: Ins, i: number) => toText(arg(m, ins, i))

export const pluginOps: OpSpec[] = [
  {
    name: 'GET_TOOLS_LIST',
    params: [],
    result: true,
    gas: 2,
    async: true,
    doc: 'Names of the plugins this agent may call.',
    run: async (m, ins) => {
      const a = await m.gate.call('plugins.list', null, () => m.host.plugins.list(m.agentId()))
      return put(m, ins, a.ok ? a.value : [])
    },
  },
  {
    name: 'CALL_PLUGIN',
    params: [p('plugin', false, 'string'), p('func', false, 'string'), p('args', true)],
    result: true,
    gas: 5,
    pluginParam: 'plugin',
    dynGas: (m, ins) => pluginGas(m, nameOf(m, ins, 0), argBytes(m, ins)),
    gasDoc: '5 + plugin base + plugin perKb × KiB of arguments',
    async: true,
    doc: 'Call `func` of `plugin` with `args` (a list, or one value).',
    run: async (m, ins) => {
      const a = argOr(m, ins, 2, [])
      return put(
        m,
        ins,
        await callPlugin(m, ins.name, nameOf(m, ins, 0), toText(arg(m, ins, 1)), Array.isArray(a) ? a : [a]),
      )
    },
  },
  {
    name: 'READ_FROM_TOOL',
    params: [p('tool', false, 'string'), p('args', true)],
    result: true,
    gas: 2,
    pluginParam: 'tool',
    dynGas: (m, ins) => pluginGas(m, nameOf(m, ins, 0), argBytes(m, ins)),
    gasDoc: '2 + plugin gas, then 1 per KiB of response',
    async: true,
    doc: 'Read data from a tool (e.g. `READ_FROM_TOOL "http", "http://…" -> R`).',
    run: async (m, ins) => {
      const r = await callPlugin(m, ins.name, nameOf(m, ins, 0), 'read', [argOr(m, ins, 1, null)])
      m.useGas(sizeOf(r) / 1024)
      return put(m, ins, r)
    },
  },
  {
    name: 'WRITE_TO_TOOL',
    params: [p('tool', false, 'string'), p('data')],
    result: true,
    gas: 2,
    pluginParam: 'tool',
    dynGas: (m, ins) =>
      pluginGas(m, nameOf(m, ins, 0), argBytes(m, ins)) + Math.ceil((2 * sizeOf(arg(m, ins, 1))) / 1024),
    gasDoc: '2 + plugin gas + 2 per KiB of data',
    async: true,
    doc: 'Send data to a tool; the constitution may hold it for operator approval.',
    run: async (m, ins) => {
      const tool = nameOf(m, ins, 0)
      const held = await gated(m, ins, { kind: 'tool_write', detail: tool })
      if (held !== null) return held
      return put(m, ins, await callPlugin(m, ins.name, tool, 'write', [arg(m, ins, 1)]))
    },
  },
  {
    name: 'MAP_MODEL_CALL',
    params: [p('model', false, 'string'), p('dataset')],
    result: true,
    gas: 2,
    pluginParam: 'model',
    dynGas: (m, ins) => {
      const d = arg(m, ins, 1)
      const n = Array.isArray(d) ? d.length : 1
      return n * pluginGas(m, nameOf(m, ins, 0), sizeOf(d) / Math.max(1, n))
    },
    gasDoc: '2 + items × plugin gas per item',
    async: true,
    doc: 'Run `model` on every item of `dataset` → list of results (fails as a whole if any item fails).',
    run: async (m, ins) => {
      const model = nameOf(m, ins, 0)
      const d = arg(m, ins, 1)
      const items = Array.isArray(d) ? d : [d]
      const out: Value[] = []
      for (const it of items) {
        const r = await callPlugin(m, ins.name, model, 'map', [it])
        if (m.pluginFailed) return put(m, ins, null)
        out.push(r)
      }
      m.pluginFailed = false
      return put(m, ins, out)
    },
  },
  {
    name: 'REDUCE_MODEL_CALL',
    params: [p('reducer', false, 'string'), p('results')],
    result: true,
    gas: 2,
    dynGas: (m, ins) => {
      const r = arg(m, ins, 1)
      return (
        (Array.isArray(r) ? r.length >>> 4 : 0) +
        (REDUCERS[nameOf(m, ins, 0)] ? 0 : pluginGas(m, nameOf(m, ins, 0), sizeOf(r)))
      )
    },
    gasDoc: '2 + results/16 (+ plugin gas for plugin reducers)',
    async: true,
    doc: 'Aggregate results: built-in `average`, `sum`, `concat`, `min`, `max`, `vote`, or a reducer plugin.',
    run: async (m, ins) => {
      const name = nameOf(m, ins, 0)
      const r = arg(m, ins, 1)
      const f = REDUCERS[name]
      if (f) {
        const out = f(Array.isArray(r) ? r : r === null ? [] : [r])
        m.pluginFailed = out === null
        return put(m, ins, out)
      }
      return put(m, ins, await callPlugin(m, ins.name, name, 'reduce', [Array.isArray(r) ? r : [r]]))
    },
  },
  {
    name: 'GPU_INFER',
    params: [p('model', false, 'string'), p('input'), p('gas_limit', true, 'number')],
    result: true,
    gas: 5,
    pluginParam: 'model',
    dynGas: (m, ins) => {
      const g = pluginGas(m, nameOf(m, ins, 0), sizeOf(arg(m, ins, 1)))
      const lim = arg(m, ins, 2)
      return typeof lim === 'number' ? Math.min(g, lim) : g
    },
    gasDoc: '5 + plugin gas (capped by gas_limit; a model costing more than gas_limit fails instead)',
    async: true,
    doc: 'Inference on a model plugin; fails (plugin status) when its price exceeds `gas_limit`.',
    run: async (m, ins) => {
      const model = nameOf(m, ins, 0)
      const lim = arg(m, ins, 2)
      if (typeof lim === 'number' && pluginGas(m, model, sizeOf(arg(m, ins, 1))) > lim) {
        m.pluginFailed = true
        m.log(`GPU_INFER ${model}: price above gas_limit ${lim}`)
        return put(m, ins, null)
      }
      return put(m, ins, await callPlugin(m, ins.name, model, 'infer', [arg(m, ins, 1)]))
    },
  },
  {
    name: 'PLUGIN_OPCODE',
    params: [],
    variadic: true,
    anyKeywords: true,
    result: true,
    gas: 10,
    dynGas: (m, ins) =>
      pluginGas(
        m,
        ins.plugin,
        ins.rest.reduce((s, o) => s + sizeOf(val(m, o)), 0),
      ),
    gasDoc: "the declaring plugin's gas rule (default 10)",
    async: true,
    doc: 'An opcode declared by a plugin (e.g. SEPARATE_PROMPT): positional and keyword operands are passed to the plugin.',
    run: async (m, ins) => {
      const kw: Record<string, Value> = {}
      for (const [k, o] of Object.entries(ins.kw)) kw[k] = val(m, o)
      return put(
        m,
        ins,
        await callPlugin(
          m,
          ins.name,
          ins.plugin,
          ins.name,
          ins.rest.map((o) => val(m, o)),
          kw,
        ),
      )
    },
  },
]

/** Constitution gate for an action. Returns null to proceed, or a handler code when denied/held. */
export async function gated(
  m: Machine,
  ins: Ins,
  action: { kind: string; amount?: number; detail?: Value },
): Promise<number | null> {
  const a = await m.gate.call(
    'policy.authorize',
    { kind: action.kind, amount: action.amount ?? 0, detail: action.detail ?? null },
    () => m.host.policy.authorize(m.agentId(), action),
  )
  const d = a.ok
    ? (a.value as { decision: string; reason?: string; actionId?: string })
    : { decision: 'deny', reason: a.ok ? '' : a.error }
  if (d.decision === 'allow') return null
  if (d.decision === 'hold') {
    // re-run this instruction after approval; refund nothing (the gas was for the attempt)
    m.suspend = { kind: 'approval', detail: { actionId: d.actionId ?? '', action: action.kind } }
    m.pc = ins.pc
    m.log(`${ins.name}: held for operator approval (action ${d.actionId ?? ''})`)
    return -2
  }
  m.log(`${ins.name}: denied by policy: ${d.reason ?? ''}`)
  m.set(ins.dst, false)
  return CONTINUE
}

export { asList }
