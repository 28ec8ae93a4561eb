/**
 * Self-observation and permissioned self-modification. SELF_MODIFY works only
 * in observer mode, only on editable regions; the patched program is
 * assembled and verified before the swap. A refused or invalid patch is not
 * a halt: the result is false, `lastRewriteFailed` is set, the trace records
 * the attempt (PERMISSION_DENIED or the verifier errors) and the program
 * continues down its error branch.
 */
import { MemoryKv } from '../../common/index.ts'
import { assemble, type Program } from '../asm/assemble.ts'
import { formatDiagnostic } from '../asm/parse.ts'
import { asNumber } from '../fault.ts'
import { must } from '../gate.ts'
import type { Host } from '../host.ts'
import { Machine } from '../interp.ts'
import { sizeOf, toText, truthy, type Value } from '../values.ts'
import { gated } from './plugins.ts'
import { regionBody } from './swarm-wallet.ts'
import { arg, argOr, CONTINUE, type Ins, type OpSpec, valueParam } from './types.ts'
import { put } from './util.ts'

const p = valueParam
const selfModGas = (m: Machine, ins: Ins) => Math.ceil(0.5 * toText(arg(m, ins, 1)).length)

/** Replace a region's body in `source`. */
export function patchSource(program: Program, region: string, body: string): string {
  const r = program.regions.find((x) => x.name === region)
  if (!r) return program.source
  const lines = program.source.split('\n')
  return [...lines.slice(0, r.line), ...body.split('\n'), ...lines.slice(r.endLine - 1)].join('\n')
}

type Outcome = { ok: true; program: Program } | { ok: false; reason: string }

function prepare(m: Machine, ins: Ins, region: string, patch: string): Outcome {
  const r = m.program.regions.find((x) => x.name === region)
  if (!r) return { ok: false, reason: `INVALID_OPERAND: no region '${region}'` }
  if (!m.observer) return { ok: false, reason: 'PERMISSION_DENIED: SELF_OBSERVER_MODE is off' }
  if (r.mode !== 'editable') return { ok: false, reason: `PERMISSION_DENIED: region '${region}' is locked` }
  if (ins.pc >= r.startPc && ins.pc < r.endPc)
    return { ok: false, reason: `PERMISSION_DENIED: region '${region}' contains the running SELF_MODIFY` }
  if (/^\s*\.(region|end)\b/m.test(patch))
    return { ok: false, reason: 'PERMISSION_DENIED: a patch may not declare regions' }
  const src = patchSource(m.program, region, patch)
  const res = assemble(src, { ...m.asm, file: m.program.file })
  if (!res.program)
    return { ok: false, reason: `INVALID_PATCH: ${res.errors.slice(0, 3).map(formatDiagnostic).join('; ')}` }
  return { ok: true, program: res.program }
}

function record(
  m: Machine,
  region: string,
  before: string,
  after: string,
  ok: boolean,
  reason?: string,
): void {
  m.trace?.changes.push({
    at: Math.max(0, m.trace.steps - 1),
    region,
    before,
    after,
    ok,
    ...(reason ? { reason } : {}),
  })
  m.log(ok ? `SELF_MODIFY ${region}: applied` : `SELF_MODIFY ${region}: ${reason}`)
}

function swap(m: Machine, old: Program, next: Program, region: string): void {
  const r = old.regions.find((x) => x.name === region)
  const nr = next.regions.find((x) => x.name === region)
  if (!r || !nr) return
  const delta = nr.endPc - r.endPc
  m.swapProgram(next, (pc) => (pc < r.startPc ? pc : pc >= r.endPc ? pc + delta : nr.startPc))
}

/** A deterministic, isolated host for sandbox tests: memory storage, no wallet, no swarm, no plugins. */
function sandboxHost(parent: Host, now: number): Host {
  const fail = async (): Promise<never> => {
    throw new Error('not available in the sandbox')
  }
  return {
    agentId: parent.agentId,
    now: () => now,
    random: () => 0.5,
    sleep: async () => {},
    store: new MemoryKv(),
    wallet: { balance: async () => 0, transfer: fail },
    messenger: {
      connect: fail,
      broadcast: fail,
      send: fail,
      reply: fail,
      fetch: fail,
      waitResponse: fail,
      receive: fail,
      fork: fail,
    },
    plugins: { get: () => undefined, list: () => [], allowed: () => false },
    policy: {
      checkPermission: () => false,
      securityCheck: () => ({ ok: false, reason: 'sandbox' }),
      authorize: () => ({ decision: 'deny', reason: 'sandbox' }),
    },
  }
}

export const selfOps: OpSpec[] = [
  {
    name: 'SELF_OBSERVER_MODE',
    params: [p('enable')],
    result: false,
    gas: 5,
    doc: 'Enter (true) or leave (false) observer mode, required by SELF_MODIFY.',
    run: (m, ins) => {
      m.observer = truthy(arg(m, ins, 0))
      return CONTINUE
    },
  },
  {
    name: 'SELF_INTROSPECT',
    params: [p('param', false, 'string')],
    result: true,
    gas: 10,
    dynGas: (m) => m.logs.length >>> 4,
    gasDoc: '10 + log lines/16',
    doc: 'Read own data: "logs"/"agent_logs" (log lines), "counters", "trace" (steps, changes), "code" (source), "regions".',
    run: (m, ins) => {
      const what = toText(arg(m, ins, 0))
      let v: Value
      if (what === 'logs' || what === 'agent_logs') v = [...m.logs]
      else if (what === 'counters' || what === 'performance')
        v = {
          gasUsed: m.gasUsed,
          gasLeft: m.gasLeft,
          pc: ins.pc,
          memoryBytes: m.mem,
          callDepth: m.callStack.length,
          ...m.counters,
        }
      else if (what === 'trace')
        v = {
          steps: m.trace?.steps ?? 0,
          changes: (m.trace?.changes ?? []).map((c) => ({ region: c.region, ok: c.ok })),
        }
      else if (what === 'code') v = m.program.source
      else if (what === 'regions') v = m.program.regions.map((r) => ({ name: r.name, mode: r.mode }))
      else v = null
      return put(m, ins, v)
    },
  },
  {
    name: 'SELF_READ',
    params: [p('region', false, 'string')],
    result: true,
    gas: 5,
    doc: 'Source text of a region.',
    run: (m, ins) => put(m, ins, regionBody(m, toText(arg(m, ins, 0)))),
  },
  {
    name: 'SELF_MODIFY',
    params: [p('region', false, 'string'), p('patch', false, 'string')],
    result: true,
    gas: 50,
    dynGas: selfModGas,
    gasDoc: '50 + 0.5 × patch size (characters)',
    async: true,
    doc: 'Replace an editable region (observer mode only) with verified new code. Result true/false; also sets `lastRewriteFailed`.',
    run: async (m, ins) => {
      const region = toText(arg(m, ins, 0))
      const patch = toText(arg(m, ins, 1))
      const before = regionBody(m, region)
      const flag = (failed: boolean) => {
        const s = m.program.regNames.indexOf('lastRewriteFailed')
        if (s >= 0) m.set(s, failed)
      }
      let out = prepare(m, ins, region, patch)
      if (out.ok) {
        const held = await gated(m, ins, { kind: 'self_modify', detail: region })
        if (held === -2) return held
        if (held !== null) out = { ok: false, reason: 'PERMISSION_DENIED: denied by policy' }
      }
      if (!out.ok) {
        record(m, region, before, patch, false, out.reason)
        flag(true)
        return put(m, ins, false)
      }
      const old = m.program
      m.snapshots.push({ id: m.snapshots.length + 1, region, source: before })
      swap(m, old, out.program, region)
      m.counters.selfModifications++
      record(m, region, before, patch, true)
      flag(false)
      m.set(ins.dst, true)
      return CONTINUE
    },
  },
  {
    name: 'SELF_MODIFY_SANDBOX',
    params: [p('region', false, 'string'), p('patch', false, 'string'), p('max_tests', true, 'number')],
    result: true,
    gas: 50,
    dynGas: selfModGas,
    gasDoc: '50 + 0.5 × patch size, then the gas the tests use',
    async: true,
    doc: 'Run the patched program from each `.test` label in an isolated sandbox → `{status: "PASS"|"FAIL", passed, failed, results}` (default target `RtestResult`).',
    run: async (m, ins) => {
      const region = toText(arg(m, ins, 0))
      const patch = toText(arg(m, ins, 1))
      const target = ins.dst !== 0 ? ins.dst : m.program.regNames.indexOf('RtestResult')
      const max = argOr(m, ins, 2, 5)
      const out = prepare(m, ins, region, patch)
      let result: Value
      if (!out.ok) result = { status: 'FAIL', passed: 0, failed: 0, reason: out.reason, results: [] }
      else {
        const now = must(
          m.gate.callSync('time.now', null, () => m.host.now()),
          'clock',
        ) as number
        const results: Value[] = []
        let passed = 0
        const tests = out.program.tests.slice(
          0,
          typeof max === 'number' ? Math.max(0, Math.floor(asNumber(max, 'max_tests'))) : 5,
        )
        for (const t of tests) {
          const sm = new Machine({
            program: out.program,
            host: sandboxHost(m.host, now),
            gasLimit: Math.min(100_000, m.gasLeft),
            limits: m.limits,
          })
          sm.pc = out.program.labels[t] ?? 0
          for (const [i, n] of m.program.regNames.entries()) if (i > 0) sm.setNamed(n, m.regs[i] ?? null)
          const r = await sm.run()
          m.useGas(r.gasUsed)
          const ok = r.status === 'ok' && truthy(r.output)
          if (ok) passed++
          results.push({ test: t, ok, output: r.output, halt: r.halt ? r.halt.reason : null })
        }
        result = {
          status: tests.length > 0 && passed === tests.length ? 'PASS' : 'FAIL',
          passed,
          failed: tests.length - passed,
          results,
        }
      }
      if (target >= 0) m.set(target, result)
      return CONTINUE
    },
  },
  {
    name: 'REVERT_CODE',
    params: [p('region', false, 'string'), p('snapshot', true, 'number')],
    result: true,
    gas: 10,
    async: true,
    doc: 'Restore a region from a snapshot taken by SELF_MODIFY (default: the latest for that region).',
    run: async (m, ins) => {
      const region = toText(arg(m, ins, 0))
      const id = argOr(m, ins, 1, null)
      const snap = [...m.snapshots].reverse().find((s) => s.region === region && (id === null || s.id === id))
      if (!snap) return put(m, ins, false)
      const before = regionBody(m, region)
      const res = assemble(patchSource(m.program, region, snap.source), { ...m.asm, file: m.program.file })
      if (!res.program) return put(m, ins, false)
      swap(m, m.program, res.program, region)
      record(m, region, before, snap.source, true)
      m.set(ins.dst, true)
      return CONTINUE
    },
  },
]

export { sizeOf }
