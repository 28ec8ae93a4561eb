/**
 * Whole-machine snapshots: pc, registers (by name), call stack, code (the
 * current source, regions included), gas, flags, logs, code snapshots and the
 * pending wait. Bytes = "AVM1" + sha256(payload) + payload (JSON), so a
 * corrupted snapshot is detected and reported, never half-loaded.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { SwarmdError } from '../common/index.ts'
import { type AsmOptions, assemble } from './asm/assemble.ts'
import type { Halt } from './halts.ts'
import type { Host } from './host.ts'
import { type CodeSnapshot, Machine, type MachineLimits } from './interp.ts'
import type { Value } from './values.ts'

const MAGIC = [0x41, 0x56, 0x4d, 0x31] // "AVM1"

export class VmStateError extends SwarmdError<'CORRUPT_STATE' | 'BAD_STATE'> {}

export interface SavedState {
  v: 1
  file: string
  source: string
  pc: number
  regs: Record<string, Value>
  gasLeft: number
  gasLimit: number
  callStack: number[]
  pluginFailed: boolean
  taskFailed: boolean
  observer: boolean
  done: boolean
  halt: Halt | null
  output: Value
  logs: string[]
  snapshots: CodeSnapshot[]
  rewards: Record<string, number>
  pending: { op: string; pc: number } | null
  limits: MachineLimits
}

/**
 * Snapshot a machine. While an async instruction is in flight its pc is saved so
 * that a restore re-executes it; `afterPending` saves the state as if it had
 * completed (used by commit hooks that write the checkpoint in the same batch).
 */
export function captureState(m: Machine, afterPending = false): SavedState {
  if (m.tx)
    throw new VmStateError(
      'BAD_STATE',
      'cannot snapshot inside an open transaction (TX_BEGIN without TX_COMMIT/TX_ABORT)',
    )
  const regs: Record<string, Value> = {}
  m.program.regNames.forEach((n, i) => {
    const v = m.regs[i] ?? null
    if (v !== null) regs[n] = v
  })
  return {
    v: 1,
    file: m.program.file,
    source: m.program.source,
    // an async op in flight is re-executed on restore
    pc: m.pending && !afterPending ? m.pending.pc : m.pc,
    regs,
    gasLeft: m.gasLeft,
    gasLimit: m.gasLimit,
    callStack: [...m.callStack],
    pluginFailed: m.pluginFailed,
    taskFailed: m.taskFailed,
    observer: m.observer,
    done: m.done,
    halt: m.halt,
    output: m.output,
    logs: [...m.logs],
    snapshots: [...m.snapshots],
    rewards: { ...m.rewards },
    pending: afterPending ? null : m.pending,
    limits: m.limits,
  }
}

export function serializeState(m: Machine, afterPending = false): Uint8Array {
  return encodeState(captureState(m, afterPending))
}

export function encodeState(s: SavedState): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(s))
  const out = new Uint8Array(4 + 32 + body.length)
  out.set(MAGIC, 0)
  out.set(sha256(body), 4)
  out.set(body, 36)
  return out
}

export function decodeState(bytes: Uint8Array): SavedState {
  if (bytes.length < 36 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new VmStateError('CORRUPT_STATE', 'saved state is corrupted: missing AVM1 header')
  }
  const body = bytes.subarray(36)
  const sum = sha256(body)
  for (let i = 0; i < 32; i++) {
    if (sum[i] !== bytes[4 + i])
      throw new VmStateError('CORRUPT_STATE', 'saved state is corrupted: checksum mismatch')
  }
  let s: SavedState
  try {
    s = JSON.parse(new TextDecoder().decode(body)) as SavedState
  } catch {
    throw new VmStateError('CORRUPT_STATE', 'saved state is corrupted: payload is not JSON')
  }
  if (s.v !== 1) throw new VmStateError('BAD_STATE', `unsupported saved state version ${String(s.v)}`)
  return s
}

export interface RestoreOptions {
  asm?: AsmOptions
  trace?: boolean
  deniedOpcodes?: Iterable<string>
}

/** Rebuild a machine from a saved state (bytes or decoded). */
export function restoreMachine(
  state: Uint8Array | SavedState,
  host: Host,
  opts: RestoreOptions = {},
): Machine {
  const s = state instanceof Uint8Array ? decodeState(state) : state
  const r = assemble(s.source, { ...(opts.asm ?? {}), file: s.file })
  if (!r.program) {
    throw new VmStateError(
      'BAD_STATE',
      `saved program no longer assembles: ${r.errors[0]?.message ?? 'unknown error'}`,
    )
  }
  const m = new Machine({
    program: r.program,
    host,
    gasLimit: s.gasLimit,
    limits: s.limits,
    trace: opts.trace,
    asm: opts.asm,
    deniedOpcodes: opts.deniedOpcodes,
  })
  for (const [k, v] of Object.entries(s.regs)) m.setNamed(k, v)
  m.pc = s.pc
  m.gasLeft = s.gasLeft
  m.callStack = [...s.callStack]
  m.pluginFailed = s.pluginFailed
  m.taskFailed = s.taskFailed
  m.observer = s.observer
  m.done = s.done
  m.halt = s.halt
  m.output = s.output
  m.logs = [...s.logs]
  m.snapshots = [...s.snapshots]
  m.rewards = { ...s.rewards }
  if (opts.trace)
    m.traceStart = Buffer.from(state instanceof Uint8Array ? state : encodeState(s)).toString('base64')
  return m
}
