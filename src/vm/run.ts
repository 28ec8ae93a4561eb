/** Offline runs (no daemon): a complete in-process host, trace export and replay. */
import { type KvStore, ManualClock, MemoryKv, seededRandom } from '../common/index.ts'
import { type AsmOptions, assemble } from './asm/assemble.ts'
import { formatDiagnostic } from './asm/parse.ts'
import { LocalBus } from './bus.ts'
import type { RunResult } from './halts.ts'
import type { Host, PluginHost } from './host.ts'
import { Machine } from './interp.ts'
import { defaultRegistry, type PluginRegistry } from './plugins/builtin.ts'
import type { HostRecord } from './gate.ts'
import { restoreMachine } from './state.ts'
import { parseTrace, type StepRecord, TraceRecorder } from './trace.ts'
import { canonical } from './trace-util.ts'
import type { Value } from './values.ts'
import { KvWallet } from './wallet.ts'

export interface OfflineHostInit {
  agentId?: string
  store?: KvStore
  plugins?: PluginRegistry
  /** @default 0 */
  startMs?: number
  /** @default 1 */
  seed?: number
}

/** A host with a manual clock (WAIT advances it), seeded randomness, KvWallet and a local bus. */
export function offlineHost(
  init: OfflineHostInit = {},
): Host & { clock: ManualClock; wallet: KvWallet; bus: LocalBus } {
  const clock = new ManualClock(init.startMs ?? 0)
  const rng = seededRandom(init.seed ?? 1)
  const store = init.store ?? new MemoryKv()
  const bus = new LocalBus()
  bus.sleep = async (ms) => {
    clock.advance(ms)
  }
  return {
    agentId: init.agentId ?? '0'.repeat(64),
    now: () => clock.now(),
    random: () => rng.next(),
    sleep: async (ms) => {
      clock.advance(ms)
    },
    store,
    wallet: new KvWallet(store),
    messenger: bus,
    plugins: init.plugins ?? defaultRegistry(),
    policy: {
      checkPermission: () => true,
      securityCheck: () => ({ ok: true }),
      authorize: () => ({ decision: 'allow' }),
    },
    clock,
    bus,
  }
}

export interface RunOptions {
  file?: string
  gas: number
  host?: Host
  inputs?: Record<string, Value>
  trace?: boolean
  asm?: AsmOptions
}

/** Assemble and run; throws an Error listing file:line:col diagnostics if the program does not verify. */
export async function runSource(
  source: string,
  opts: RunOptions,
): Promise<{ result: RunResult; machine: Machine }> {
  const host = opts.host ?? offlineHost()
  const asm = { ...((host.plugins as PluginRegistry).asmOptions?.() ?? {}), ...(opts.asm ?? {}) }
  const r = assemble(source, { ...asm, file: opts.file })
  if (!r.program) throw new Error(r.errors.map(formatDiagnostic).join('\n'))
  const machine = new Machine({
    program: r.program,
    host,
    gasLimit: opts.gas,
    inputs: opts.inputs,
    trace: opts.trace,
    asm,
  })
  const result = await machine.run()
  return { result, machine }
}

type GasRules = Record<string, { base: number; perKb?: number }>

/**
 * A host for replay: every answer comes from the recording, so nothing here is
 * ever called. Plugin gas rules are kept: prices must match the live run.
 */
function replayHost(agentId: string, gas: GasRules): Host {
  const no = () => {
    throw new Error('replay host called')
  }
  return {
    agentId,
    now: no,
    random: no,
    sleep: no,
    store: new MemoryKv(),
    wallet: { balance: no, transfer: no },
    messenger: {
      connect: no,
      broadcast: no,
      send: no,
      reply: no,
      fetch: no,
      waitResponse: no,
      receive: no,
      fork: no,
    },
    plugins: {
      get: (name) => (gas[name] ? { name, gas: gas[name], call: no } : undefined),
      list: () => [],
      allowed: () => true,
    },
    policy: { checkPermission: no, securityCheck: no, authorize: no },
  }
}

/** Gas rules of the named plugins (recorded in the trace header; 10 gas when a plugin sets none). */
export function gasRules(plugins: Pick<PluginHost, 'get'>, names: Iterable<string>): GasRules {
  const out: GasRules = {}
  for (const n of names) {
    const p = plugins.get(n)
    if (p) out[n] = p.gas ?? { base: 10 }
  }
  return out
}

export interface TraceSource {
  file: string
  source: string
  agentId: string
  gasLimit: number
  inputs: Record<string, Value>
  asm?: AsmOptions
}

/** A machine for re-execution: fresh from the source, or from the state the traced run started from. */
function replayMachine(
  src: { file: string; source: string; gasLimit: number; inputs: Record<string, Value>; start?: string },
  host: Host,
  asm: AsmOptions,
): Machine {
  let m: Machine
  if (src.start) {
    m = restoreMachine(Buffer.from(src.start, 'base64'), host, { asm })
  } else {
    const r = assemble(src.source, { ...asm, file: src.file })
    if (!r.program)
      throw new Error(`trace program does not assemble: ${r.errors.map(formatDiagnostic).join('; ')}`)
    m = new Machine({ program: r.program, host, gasLimit: src.gasLimit, inputs: src.inputs, asm })
  }
  const rec = new TraceRecorder(true)
  rec.programs.push({ from: 0, program: m.program })
  m.trace = rec
  m.gate.counter = () => rec.steps - 1
  return m
}

/**
 * The JSONL trace of a finished live run: re-executes it in full-record mode
 * against its recorded host answers and checks the digest equals the live one.
 */
export async function exportTrace(m: Machine, source: TraceSource): Promise<string> {
  // The file name is part of the program (and so of checkpointed state): take the
  // machine's own, so a trace can never name another file than the run it records.
  const src: TraceSource = { ...source, file: m.program.file }
  const live = m.trace
  if (!live) throw new Error('the run was not traced (pass trace: true)')
  if (m.pending) throw new Error('cannot export a trace while the agent waits on a host call')
  const names = new Set([
    ...(src.asm?.plugins ?? []),
    ...Object.values(src.asm?.pluginOpcodes ?? {}).map((d) => d.plugin),
  ])
  const pluginGas = { ...gasRules(m.host.plugins, names) }
  for (const [n, rule] of Object.entries(m.pluginPrices)) if (rule) pluginGas[n] = rule
  const start = m.traceStart ?? undefined
  const rm = replayMachine(
    { ...src, ...(start ? { start } : {}) },
    replayHost(src.agentId, pluginGas),
    src.asm ?? {},
  )
  rm.gate.replayFrom(live.host)
  const partial = !m.done && m.halt === null
  if (partial) (rm.trace as TraceRecorder).limit = live.steps
  await rm.run()
  const full = rm.trace as TraceRecorder
  if (full.steps !== live.steps || full.digest !== live.digest) {
    throw new Error(`trace export diverged from the live run (${full.steps} vs ${live.steps} steps)`)
  }
  full.host = live.host
  full.changes.push(...live.changes.filter((c) => !full.changes.some((x) => x.at === c.at)))
  return full.toJsonl({
    trace: 1,
    steps: live.steps,
    digest: live.digest,
    ...src,
    pluginGas,
    ...(partial ? { partial: true } : {}),
    ...(start ? { start } : {}),
  })
}

/**
 * The JSONL trace of a hosted agent whose host answers were kept across
 * restarts (`records`, in call order): re-executes the program from its start
 * against them in full-record mode. Returns the trace and the machine it
 * ended in, so the caller can check it equals the live agent.
 */
export async function traceFromRecords(
  src: TraceSource,
  records: HostRecord[],
  pluginGas: Record<string, { base: number; perKb?: number }>,
): Promise<{ jsonl: string; machine: Machine }> {
  const r = assemble(src.source, { ...(src.asm ?? {}), file: src.file })
  if (!r.program) throw new Error('trace source does not assemble')
  const rm = new Machine({
    program: r.program,
    host: replayHost(src.agentId, pluginGas),
    gasLimit: src.gasLimit,
    inputs: src.inputs,
    asm: src.asm,
  })
  const full = new TraceRecorder(true)
  rm.trace = full
  full.programs.push({ from: 0, program: r.program })
  rm.gate.counter = () => full.steps - 1
  const at = records.map((x) => ({ ...x }))
  const stamp = () => {
    const rec = at[rm.gate.calls]
    if (rec) rec.at = rm.gate.counter()
  }
  const call = rm.gate.call.bind(rm.gate)
  const callSync = rm.gate.callSync.bind(rm.gate)
  rm.gate.call = (k, a, live) => {
    stamp()
    return call(k, a, live)
  }
  rm.gate.callSync = (k, a, live) => {
    stamp()
    return callSync(k, a, live)
  }
  rm.gate.replayFrom(at)
  // an approval hold suspends the live run; the recorded answers carry on past it
  let res = await rm.run()
  while (res.status === 'suspended' && rm.suspend?.kind === 'approval') res = await rm.run()
  full.host = at
  const jsonl = full.toJsonl({ trace: 1, steps: full.steps, digest: full.digest, ...src, pluginGas })
  return { jsonl, machine: rm }
}

export interface ReplayReport {
  ok: boolean
  steps: number
  result: RunResult
  divergence: {
    index: number
    pc: number
    line: number
    field: string
    expected: Value
    actual: Value
  } | null
}

/** Re-execute a JSONL trace against its recorded host answers and report the first divergence. */
export async function replayTrace(text: string, asm: AsmOptions = {}): Promise<ReplayReport> {
  const t = parseTrace(text)
  asm = { ...(t.header.asm ?? {}), ...asm }
  const m = replayMachine(t.header, replayHost(t.header.agentId, t.header.pluginGas ?? {}), asm)
  m.gate.replayFrom(t.host)
  if (t.header.partial) (m.trace as TraceRecorder).limit = t.header.steps
  let result = await m.run()
  // an approval hold suspended the live run; the recorded answers carry on past it
  while (result.status === 'suspended' && m.suspend?.kind === 'approval') result = await m.run()
  const got = (m.trace as TraceRecorder).stepRecords()
  const n = Math.max(got.length, t.steps.length)
  for (let i = 0; i < n; i++) {
    const a = t.steps[i]
    const b = got[i]
    if (!a || !b) {
      const s = (a ?? b) as StepRecord
      return {
        ok: false,
        steps: got.length,
        result,
        divergence: {
          index: i,
          pc: s.pc,
          line: s.line,
          field: 'length',
          expected: t.steps.length,
          actual: got.length,
        },
      }
    }
    for (const f of ['pc', 'gas', 'out'] as const) {
      if (canonical(a[f] as Value) !== canonical(b[f] as Value)) {
        return {
          ok: false,
          steps: got.length,
          result,
          divergence: {
            index: i,
            pc: a.pc,
            line: a.line,
            field: f,
            expected: a[f] as Value,
            actual: b[f] as Value,
          },
        }
      }
    }
  }
  if (result.halt?.reason === 'REPLAY_DIVERGED') {
    return {
      ok: false,
      steps: got.length,
      result,
      divergence: {
        index: got.length - 1,
        pc: result.halt.pc,
        line: result.halt.line,
        field: 'host',
        expected: null,
        actual: result.halt.message,
      },
    }
  }
  return { ok: true, steps: got.length, result, divergence: null }
}
