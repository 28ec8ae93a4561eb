/** Halt reasons and run results: halts are data, never exceptions. */
import type { Value } from './values.ts'

export const HALT = {
  /** HALT executed or the program ran off its end / RET from the top level. */
  DONE: 'DONE',
  OUT_OF_GAS: 'OUT_OF_GAS',
  MEMORY_LIMIT: 'MEMORY_LIMIT',
  VALUE_TOO_LARGE: 'VALUE_TOO_LARGE',
  CALL_DEPTH: 'CALL_DEPTH',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  INVALID_OPERAND: 'INVALID_OPERAND',
  HOST_ERROR: 'HOST_ERROR',
  APPROVAL_REQUIRED: 'APPROVAL_REQUIRED',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  ANOMALY: 'ANOMALY',
  REPLAY_DIVERGED: 'REPLAY_DIVERGED',
} as const
export type HaltReason = (typeof HALT)[keyof typeof HALT]

export interface Halt {
  reason: HaltReason
  pc: number
  line: number
  message: string
}

/** `ok`: halted normally; `error`: halted with a fault; `suspended`: waiting (resumable). */
export type RunStatus = 'ok' | 'error' | 'suspended'

export interface RunResult {
  status: RunStatus
  gasUsed: number
  output: Value
  halt: Halt | null
}
