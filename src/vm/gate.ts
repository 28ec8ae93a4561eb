/**
 * The gate every host call passes: live calls are recorded (when tracing),
 * replayed calls are answered from the recording and checked against it.
 */
import { VmFault } from './fault.ts'
import { canonical } from './trace-util.ts'
import { toValue, type Value } from './values.ts'

export interface HostRecord {
  /** Instruction counter at the call. */
  at: number
  kind: string
  args: Value
  ok: boolean
  answer: Value
}

export type HostAnswer = { ok: true; value: Value } | { ok: false; error: string }

export class HostGate {
  records: HostRecord[] | null = null
  /** Number of host calls made (live or replayed). */
  calls = 0
  /** The live call in progress (its record is kept once it returns). */
  inflight: { kind: string; args: Value } | null = null
  private replay: HostRecord[] | null = null
  private cursor = 0
  /** Set by the machine: index of the current instruction in the trace. */
  counter: () => number = () => 0

  record(on: boolean): void {
    this.records = on ? [] : null
  }

  /** Answer every call from `records` instead of the host. */
  replayFrom(records: HostRecord[]): void {
    this.replay = records
    this.cursor = 0
  }

  get replaying(): boolean {
    return this.replay !== null
  }

  private fromReplay(kind: string, args: Value): HostAnswer {
    const r = (this.replay as HostRecord[])[this.cursor++]
    if (!r)
      throw new VmFault('REPLAY_DIVERGED', `host call ${kind} ${canonical(args)} has no recorded answer`)
    if (r.kind !== kind || canonical(r.args) !== canonical(args)) {
      throw new VmFault(
        'REPLAY_DIVERGED',
        `host call #${this.cursor - 1}: recorded ${r.kind} ${canonical(r.args)}, replay asked ${kind} ${canonical(args)}`,
      )
    }
    return r.ok ? { ok: true, value: r.answer } : { ok: false, error: String(r.answer) }
  }

  private keep(kind: string, args: Value, a: HostAnswer): HostAnswer {
    this.records?.push({ at: this.counter(), kind, args, ok: a.ok, answer: a.ok ? a.value : a.error })
    return a
  }

  async call(kind: string, args: Value, live: () => Promise<unknown> | unknown): Promise<HostAnswer> {
    this.calls++
    if (this.replay) return this.fromReplay(kind, args)
    let a: HostAnswer
    this.inflight = { kind, args }
    try {
      a = { ok: true, value: toValue(await live()) }
    } catch (e) {
      if (e instanceof VmFault) throw e
      a = { ok: false, error: e instanceof Error ? e.message : String(e) }
    } finally {
      this.inflight = null
    }
    return this.keep(kind, args, a)
  }

  callSync(kind: string, args: Value, live: () => unknown): HostAnswer {
    this.calls++
    if (this.replay) return this.fromReplay(kind, args)
    let a: HostAnswer
    try {
      a = { ok: true, value: toValue(live()) }
    } catch (e) {
      a = { ok: false, error: e instanceof Error ? e.message : String(e) }
    }
    return this.keep(kind, args, a)
  }
}

/** Unwrap an answer or halt with HOST_ERROR. */
export function must(a: HostAnswer, what: string): Value {
  if (!a.ok) throw new VmFault('HOST_ERROR', `${what}: ${a.error}`)
  return a.value
}
