/**
 * The per-agent safety constitution (seed 001): spend and gas per day,
 * denied opcodes, actions held for operator approval, and an anomaly stop on
 * an abnormal gas rate. The usage counters are plain data so the runtime can
 * persist them with the agent (a restart does not reset the day's budget).
 */
import type { Decision, GatedAction } from './host.ts'

const DAY_MS = 24 * 3600 * 1000
const MINUTE_MS = 60_000
/** Action kinds that spend credits (counted against `spendPerDay`; a CFP counts its whole budget). */
const SPENDS = new Set(['pay', 'reward', 'cfp', 'escrow', 'stake'])

export interface Constitution {
  /** Credits an agent may pay (payments, rewards, CFP budgets, escrow, stake) per day. @default Infinity */
  spendPerDay?: number
  /** Gas an agent may use per day. @default Infinity */
  gasPerDay?: number
  /** Opcodes the agent may not execute (they halt with PERMISSION_DENIED). */
  deniedOpcodes?: string[]
  /** Action kinds (pay, fork, self_modify, tool_write, reward, cfp, escrow, stake) held for operator approval. */
  approvalRequired?: string[]
  /** Anomaly stop: more than this much gas within one minute of clock time. @default Infinity */
  maxGasPerMinute?: number
}

export interface Usage {
  dayStart: number
  spent: number
  gas: number
  minuteStart: number
  minuteGas: number
}

export class ConstitutionGuard {
  readonly rules: Constitution
  usage: Usage
  /** Actions the operator approved (consumed when they run). */
  readonly approved = new Set<string>()
  held: { actionId: string; action: string } | null = null

  constructor(rules: Constitution, now: number, usage?: Usage) {
    this.rules = rules
    this.usage = usage ?? { dayStart: now, spent: 0, gas: 0, minuteStart: now, minuteGas: 0 }
  }

  private roll(now: number): void {
    const u = this.usage
    if (now - u.dayStart >= DAY_MS) Object.assign(u, { dayStart: now, spent: 0, gas: 0 })
    if (now - u.minuteStart >= MINUTE_MS) Object.assign(u, { minuteStart: now, minuteGas: 0 })
  }

  static key(action: GatedAction): string {
    return `${action.kind}:${JSON.stringify(action.detail ?? null)}:${action.amount ?? 0}`
  }

  /** Decide on a gated action; `nextId` names a new held action. */
  authorize(action: GatedAction, now: number, nextId: () => string): Decision {
    this.roll(now)
    const key = ConstitutionGuard.key(action)
    const spends = SPENDS.has(action.kind)
    const amount = action.amount ?? 0
    if (spends && this.usage.spent + amount > (this.rules.spendPerDay ?? Number.POSITIVE_INFINITY)) {
      return { decision: 'deny', reason: `spend limit ${this.rules.spendPerDay} per day` }
    }
    if ((this.rules.approvalRequired ?? []).includes(action.kind) && !this.approved.has(key)) {
      const actionId = nextId()
      this.held = { actionId, action: key }
      return { decision: 'hold', actionId }
    }
    this.approved.delete(key)
    if (spends) this.usage.spent += amount
    return { decision: 'allow' }
  }

  /** Release the held action if `actionId` matches. */
  approve(actionId: string): boolean {
    if (!this.held || this.held.actionId !== actionId) return false
    this.approved.add(this.held.action)
    this.held = null
    return true
  }

  /** Account gas used in a slice; returns why the agent must stop, or null. */
  recordGas(used: number, now: number): string | null {
    this.roll(now)
    this.usage.gas += used
    this.usage.minuteGas += used
    if (this.usage.gas > (this.rules.gasPerDay ?? Number.POSITIVE_INFINITY)) {
      return `gas per day limit ${this.rules.gasPerDay} reached`
    }
    if (this.usage.minuteGas > (this.rules.maxGasPerMinute ?? Number.POSITIVE_INFINITY)) {
      return `anomaly stop: ${this.usage.minuteGas} gas within a minute`
    }
    return null
  }

  /** Start a fresh minute window (after an operator resume). */
  resetRate(now: number): void {
    this.usage.minuteStart = now
    this.usage.minuteGas = 0
  }
}
