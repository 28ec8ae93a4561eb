/**
 * Stake: credits an agent bonds as collateral. Bonded credits leave the
 * agent's spendable balance (through `Funds`, which the market ledger
 * implements) and can only come back after an unbonding delay, during which
 * they stay slashable. CFPs above `stakeFreeValue` require a bond of
 * `requiredStake(value)`. A proven failure slashes the bond:
 *
 *   amount   = min(slashable, claim + slashPenalty)
 *   toVictim = min(amount, claim)   → credited to the harmed requester
 *   burned   = amount − toVictim    → credited to nobody, recorded in the SlashRecord
 *
 * where `claim` is the award price (missed deadline) or the refund the
 * arbitrators granted (lost dispute). An agent whose bond falls below
 * `minimumStake` after a slash is blacklisted for good (its identity is
 * burnt; re-entering means a new identity and a new bond).
 *
 * Every operation is atomic: it writes through one `KvTransaction`, either
 * its own (committed at the end) or the caller's (`tx`), which then must be
 * a transaction over the same root `KvStore` that `Funds` writes to.
 */
import type { Clock, KvStore } from '../common/index.ts'
import { KvTransaction, SwarmdError } from '../common/index.ts'
import { type DisputeVerdict, verdictProblem } from './dispute.ts'
import { type AwardBody, awardProblem, hashOf, type SignedEnvelope } from './evidence.ts'

/** Money movements; the market ledger satisfies this. Both write into `tx` and throw if impossible. */
export interface Funds {
  debit(agent: string, amount: number, tx: KvTransaction): Promise<void>
  credit(agent: string, amount: number, tx: KvTransaction): Promise<void>
}

export interface StakeInit {
  /** The root store shared with `Funds` (keys are written under `prefix`). */
  store: KvStore
  funds: Funds
  clock: Clock
  /** @default 'stake/' */
  prefix?: string
  /** Bond below which an agent may not bid on staked CFPs; falling below it by a slash blacklists. @default 100 */
  minimumStake?: number
  /** CFPs worth at most this need no stake. @default 100 */
  stakeFreeValue?: number
  /** Required bond per credit of CFP value, in basis points. @default 1000 (10 %) */
  stakePerValueBps?: number
  /** @default 7 days */
  unbondingDelayMs?: number
  /** Credits a slash burns on top of the claim. @default minimumStake / 2 (the seed's "up to 50 %") */
  slashPenalty?: number
  /** Time after a deadline before a missing result is slashable. @default 60 s */
  deadlineGraceMs?: number
}

export const DEFAULT_MINIMUM_STAKE = 100
export const DEFAULT_STAKE_FREE_VALUE = 100
export const DEFAULT_STAKE_PER_VALUE_BPS = 1000
export const DEFAULT_UNBONDING_DELAY_MS = 7 * 24 * 3600_000
export const DEFAULT_DEADLINE_GRACE_MS = 60_000

export interface StakeAccount {
  bonded: number
  /** When the current bond started (the last time it went up from 0); its age seasons a newcomer. */
  bondedSince?: number
  unbonding: { amount: number; releaseAt: number }[]
  blacklisted: boolean
  slashedTotal: number
}

export type SlashEvidence =
  | { kind: 'missed-deadline'; award: SignedEnvelope<AwardBody>; graceMs: number }
  | { kind: 'lost-dispute'; verdict: DisputeVerdict }

/** Everything a third party needs to re-check a slash (`verifySlash`). */
export interface SlashRecord {
  id: string
  agent: string
  evidence: SlashEvidence
  /** Who was harmed (the requester / complainant). */
  victim: string
  claim: number
  amount: number
  toVictim: number
  burned: number
  slashedAt: number
  bondedBefore: number
  bondedAfter: number
  blacklisted: boolean
}

const EMPTY: StakeAccount = { bonded: 0, unbonding: [], blacklisted: false, slashedTotal: 0 }
const enc = new TextEncoder()
const dec = new TextDecoder()

export class StakeLedger {
  private readonly store: KvStore
  private readonly funds: Funds
  private readonly clock: Clock
  private readonly prefix: string
  readonly minimumStake: number
  readonly stakeFreeValue: number
  private readonly perValueBps: number
  readonly unbondingDelayMs: number
  readonly slashPenalty: number
  private readonly graceMs: number

  constructor(init: StakeInit) {
    this.store = init.store
    this.funds = init.funds
    this.clock = init.clock
    this.prefix = init.prefix ?? 'stake/'
    this.minimumStake = init.minimumStake ?? DEFAULT_MINIMUM_STAKE
    this.stakeFreeValue = init.stakeFreeValue ?? DEFAULT_STAKE_FREE_VALUE
    this.perValueBps = init.stakePerValueBps ?? DEFAULT_STAKE_PER_VALUE_BPS
    this.unbondingDelayMs = init.unbondingDelayMs ?? DEFAULT_UNBONDING_DELAY_MS
    this.slashPenalty = init.slashPenalty ?? Math.ceil(this.minimumStake / 2)
    this.graceMs = init.deadlineGraceMs ?? DEFAULT_DEADLINE_GRACE_MS
  }

  /** The bond a bidder needs for a CFP worth `cfpValue` credits (0 for small CFPs). */
  requiredStake(cfpValue: number): number {
    if (cfpValue <= this.stakeFreeValue) return 0
    return Math.max(this.minimumStake, Math.ceil((cfpValue * this.perValueBps) / 10_000))
  }

  async account(agent: string, tx?: KvTransaction): Promise<StakeAccount> {
    const v = await (tx ?? this.store).get(this.key('a', agent))
    return v === undefined ? { ...EMPTY, unbonding: [] } : (JSON.parse(dec.decode(v)) as StakeAccount)
  }

  async bonded(agent: string): Promise<number> {
    return (await this.account(agent)).bonded
  }

  /** May `agent` bid on a CFP worth `cfpValue`? */
  async eligibility(
    agent: string,
    cfpValue: number,
  ): Promise<{ ok: boolean; reason: string; bonded: number }> {
    const a = await this.account(agent)
    if (a.blacklisted) return { ok: false, reason: 'blacklisted', bonded: a.bonded }
    const need = this.requiredStake(cfpValue)
    if (a.bonded < need)
      return { ok: false, reason: `needs stake ${need}, has ${a.bonded}`, bonded: a.bonded }
    return { ok: true, reason: 'ok', bonded: a.bonded }
  }

  /** Move `amount` credits from the agent's funds into its bond (STAKE_LOCK). */
  async bond(agent: string, amount: number, tx?: KvTransaction): Promise<StakeAccount> {
    positive(amount)
    return this.atomic(tx, async (t) => {
      const a = await this.account(agent, t)
      if (a.blacklisted) throw new SwarmdError('STAKE_BLACKLISTED', `agent ${short(agent)} is blacklisted`)
      await this.funds.debit(agent, amount, t)
      if (a.bonded === 0) a.bondedSince = this.clock.now()
      a.bonded += amount
      this.write(t, agent, a)
      return a
    })
  }

  /** Start unbonding (STAKE_RELEASE): the credits stay slashable until `releaseAt`. */
  async unbond(agent: string, amount: number, tx?: KvTransaction): Promise<{ releaseAt: number }> {
    positive(amount)
    return this.atomic(tx, async (t) => {
      const a = await this.account(agent, t)
      if (a.bonded < amount)
        throw new SwarmdError('STAKE_INSUFFICIENT', `bonded ${a.bonded} < ${amount}`, { payload: a })
      const releaseAt = this.clock.now() + this.unbondingDelayMs
      a.bonded -= amount
      a.unbonding.push({ amount, releaseAt })
      this.write(t, agent, a)
      return { releaseAt }
    })
  }

  /** Pay back every unbonding entry whose delay has passed; returns the amount credited. */
  async release(agent: string, tx?: KvTransaction): Promise<number> {
    return this.atomic(tx, async (t) => {
      const a = await this.account(agent, t)
      const now = this.clock.now()
      const due = a.unbonding.filter((u) => u.releaseAt <= now)
      const amount = due.reduce((s, u) => s + u.amount, 0)
      if (amount === 0) return 0
      a.unbonding = a.unbonding.filter((u) => u.releaseAt > now)
      await this.funds.credit(agent, amount, t)
      this.write(t, agent, a)
      return amount
    })
  }

  /**
   * Slash the provider of a signed award whose deadline (+ grace) passed
   * without a signed result. The caller asserts the absence (it is the party
   * that would have received the result); the provider can rebut with a
   * signed result dated before the deadline (`verifySlash(record, { result })`).
   */
  async slashMissedDeadline(award: SignedEnvelope<AwardBody>, tx?: KvTransaction): Promise<SlashRecord> {
    const evidence: SlashEvidence = { kind: 'missed-deadline', award, graceMs: this.graceMs }
    const problem = missedDeadlineProblem(evidence, this.clock.now())
    if (problem) throw new SwarmdError('SLASH_EVIDENCE_INVALID', problem, { action: 'reject' })
    return this.slash(award.body.provider, award.body.requester, award.body.price, evidence, tx)
  }

  /** Slash the defendant of a dispute the complainant won; the granted refund is the claim. */
  async slashLostDispute(verdict: DisputeVerdict, tx?: KvTransaction): Promise<SlashRecord> {
    const problem = verdictProblem(verdict)
    if (problem) throw new SwarmdError('SLASH_EVIDENCE_INVALID', problem, { action: 'reject' })
    if (verdict.winner !== 'complainant')
      throw new SwarmdError('SLASH_EVIDENCE_INVALID', 'the defendant won this dispute', { action: 'reject' })
    const ev = verdict.dispute.evidence
    return this.slash(ev.defendant, ev.complainant, ev.refund, { kind: 'lost-dispute', verdict }, tx)
  }

  /** Every slash of `agent` (or of everyone), oldest key first. */
  async slashes(agent?: string): Promise<SlashRecord[]> {
    const out: SlashRecord[] = []
    for await (const [, v] of this.store.entries(this.key('s', agent ? `${agent}/` : ''))) {
      out.push(JSON.parse(dec.decode(v)) as SlashRecord)
    }
    return out
  }

  private async slash(
    agent: string,
    victim: string,
    claim: number,
    evidence: SlashEvidence,
    tx?: KvTransaction,
  ): Promise<SlashRecord> {
    const id = hashOf(evidence)
    return this.atomic(tx, async (t) => {
      if ((await t.get(this.key('e', id))) !== undefined)
        throw new SwarmdError('SLASH_DUPLICATE', 'this evidence was already used for a slash', {
          action: 'ignore',
        })
      const a = await this.account(agent, t)
      const unbondingTotal = a.unbonding.reduce((s, u) => s + u.amount, 0)
      const slashable = a.bonded + unbondingTotal
      const amount = Math.min(slashable, claim + this.slashPenalty)
      const toVictim = Math.min(amount, claim)
      const bondedBefore = a.bonded
      // take from the bond first, then from unbonding entries (latest first)
      let rest = amount
      const fromBond = Math.min(rest, a.bonded)
      a.bonded -= fromBond
      rest -= fromBond
      for (let k = a.unbonding.length - 1; k >= 0 && rest > 0; k--) {
        const u = a.unbonding[k]!
        const take = Math.min(rest, u.amount)
        u.amount -= take
        rest -= take
      }
      a.unbonding = a.unbonding.filter((u) => u.amount > 0)
      a.slashedTotal += amount
      if (a.bonded < this.minimumStake) a.blacklisted = true
      if (toVictim > 0) await this.funds.credit(victim, toVictim, t)
      const record: SlashRecord = {
        id,
        agent,
        evidence,
        victim,
        claim,
        amount,
        toVictim,
        burned: amount - toVictim,
        slashedAt: this.clock.now(),
        bondedBefore,
        bondedAfter: a.bonded,
        blacklisted: a.blacklisted,
      }
      this.write(t, agent, a)
      t.put(this.key('e', id), enc.encode(agent))
      t.put(this.key('s', `${agent}/${id}`), enc.encode(JSON.stringify(record)))
      return record
    })
  }

  private key(kind: string, rest: string): string {
    return `${this.prefix}${kind}/${rest}`
  }

  private write(t: KvTransaction, agent: string, a: StakeAccount): void {
    t.put(this.key('a', agent), enc.encode(JSON.stringify(a)))
  }

  private async atomic<T>(
    outer: KvTransaction | undefined,
    fn: (t: KvTransaction) => Promise<T>,
  ): Promise<T> {
    if (outer) return fn(outer)
    const t = new KvTransaction(this.store)
    try {
      const out = await fn(t)
      await t.commit()
      return out
    } catch (err) {
      t.abort()
      throw err
    }
  }
}

export function missedDeadlineProblem(
  ev: Extract<SlashEvidence, { kind: 'missed-deadline' }>,
  at: number,
): string | undefined {
  const p = awardProblem(ev.award)
  if (p) return p
  if (at <= ev.award.body.deadline + ev.graceMs) return 'the deadline (plus grace) has not passed'
  return undefined
}

function positive(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw new SwarmdError('STAKE_BAD_AMOUNT', `amount must be a positive integer, got ${amount}`)
}

function short(id: string): string {
  return id.slice(0, 12)
}
