/**
 * Stake on the node's credit ledger. `LedgerFunds` is the `Funds` adapter the
 * pure `StakeLedger` moves credits through: bonding transfers credits from the
 * agent's ledger account to the `stake:pool` account, releasing transfers
 * them back, a slash credits the victim from the pool and moves the burned
 * part to `stake:burned` (so the ledger's audit still balances and burned
 * credits are visible, never spendable).
 *
 * `NodeStake` runs every stake operation inside `ledger.atomic`, i.e. in ONE
 * `KvTransaction` over the node's root store that holds both the ledger
 * records (`ledger/`) and the stake records (`rep/stake/`), serialised with
 * every other write of the same `Ledger`.
 */
import type { Clock, KvStore, KvTransaction } from '../../common/index.ts'
import type { Ledger } from '../../market/index.ts'
import {
  type AwardBody,
  type DisputeVerdict,
  type Funds,
  type SignedEnvelope,
  type SlashRecord,
  type StakeAccount,
  StakeLedger,
} from '../../reputation/index.ts'

/** Ledger account holding every bond (and unbonding amount). */
export const STAKE_POOL_ACCOUNT = 'stake:pool'
/** Ledger account receiving the burned part of slashes. */
export const STAKE_BURNED_ACCOUNT = 'stake:burned'
/** Key prefix of stake records in the node's root store (inside the `rep/` prefix). */
export const STAKE_PREFIX = 'rep/stake/'

export class LedgerFunds implements Funds {
  private readonly ledger: Ledger
  constructor(ledger: Ledger) {
    this.ledger = ledger
  }
  async debit(agent: string, amount: number, tx: KvTransaction): Promise<void> {
    await this.ledger.pay(agent, STAKE_POOL_ACCOUNT, amount, { tx, memo: 'stake bond' })
  }
  async credit(agent: string, amount: number, tx: KvTransaction): Promise<void> {
    await this.ledger.pay(STAKE_POOL_ACCOUNT, agent, amount, { tx, memo: 'stake release' })
  }
}

export interface NodeStakeParams {
  minimumStake: number
  stakeFreeValue: number
  stakePerValueBps: number
  unbondingDelayMs: number
  deadlineGraceMs: number
}

/** The state `swarmd stake ...` reports. */
export interface StakeState {
  agentId: string
  balance: number
  bonded: number
  unbonding: { amount: number; releaseAt: number }[]
  blacklisted: boolean
  slashedTotal: number
}

export class NodeStake {
  readonly ledger: Ledger
  readonly stake: StakeLedger

  constructor(init: { ledger: Ledger; store: KvStore; clock: Clock; params: NodeStakeParams }) {
    this.ledger = init.ledger
    this.stake = new StakeLedger({
      store: init.store,
      funds: new LedgerFunds(init.ledger),
      clock: init.clock,
      prefix: STAKE_PREFIX,
      ...init.params,
    })
  }

  async state(agent: string): Promise<StakeState> {
    const a: StakeAccount = await this.stake.account(agent)
    return {
      agentId: agent,
      balance: await this.ledger.balance(agent),
      bonded: a.bonded,
      unbonding: a.unbonding,
      blacklisted: a.blacklisted,
      slashedTotal: a.slashedTotal,
    }
  }

  /**
   * STAKE_LOCK: move `amount` from the agent's balance into its bond. With
   * `opId`, applied at most once for that id (in the same batch): the AVM's
   * STAKE_LOCK re-executed after a crash.
   */
  async bond(agent: string, amount: number, opId?: string): Promise<StakeState> {
    await this.ledger.atomic(async (tx) => {
      if (opId !== undefined) {
        const k = `${STAKE_PREFIX}op/${opId}`
        if ((await tx.get(k)) !== undefined) return
        tx.put(k, new Uint8Array([1]))
      }
      await this.stake.bond(agent, amount, tx)
    })
    return this.state(agent)
  }

  /**
   * STAKE_RELEASE: start unbonding `amount` (if given) and pay back every
   * unbonding entry whose delay has passed, in one atomic write.
   */
  async release(
    agent: string,
    amount?: number,
  ): Promise<{ state: StakeState; unbonded: number; releaseAt?: number; released: number }> {
    const r = await this.ledger.atomic(async (tx) => {
      const u = amount === undefined ? undefined : await this.stake.unbond(agent, amount, tx)
      const released = await this.stake.release(agent, tx)
      return { releaseAt: u?.releaseAt, released }
    })
    return {
      state: await this.state(agent),
      unbonded: amount ?? 0,
      ...(r.releaseAt === undefined ? {} : { releaseAt: r.releaseAt }),
      released: r.released,
    }
  }

  /** Slash the provider of a signed award whose deadline (+ grace) passed without a result. */
  async slashMissedDeadline(award: SignedEnvelope<AwardBody>): Promise<SlashRecord> {
    return this.ledger.atomic(async (tx) => this.burn(await this.stake.slashMissedDeadline(award, tx), tx))
  }

  /** Slash the defendant of a dispute the complainant won. */
  async slashLostDispute(verdict: DisputeVerdict): Promise<SlashRecord> {
    return this.ledger.atomic(async (tx) => this.burn(await this.stake.slashLostDispute(verdict, tx), tx))
  }

  slashes(agent?: string): Promise<SlashRecord[]> {
    return this.stake.slashes(agent)
  }

  private async burn(record: SlashRecord, tx: KvTransaction): Promise<SlashRecord> {
    if (record.burned > 0)
      await this.ledger.pay(STAKE_POOL_ACCOUNT, STAKE_BURNED_ACCOUNT, record.burned, {
        tx,
        memo: `slash ${record.id}`,
      })
    return record
  }
}
