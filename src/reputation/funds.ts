/**
 * `KvFunds`: a minimal `Funds` over a KvStore (integer balances under a key
 * prefix), used by the attack simulation, tests and the CLI until the market
 * ledger, which satisfies the same interface, is connected. It shows the
 * contract: writes go into the caller's transaction only; a debit beyond the
 * balance throws and so aborts the whole atomic operation.
 */
import type { KvStore, KvTransaction } from '../common/index.ts'
import { SwarmdError } from '../common/index.ts'
import type { Funds } from './stake.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

export class KvFunds implements Funds {
  private readonly store: KvStore
  private readonly prefix: string

  constructor(store: KvStore, prefix = 'funds/') {
    this.store = store
    this.prefix = prefix
  }

  async balance(agent: string, tx?: KvTransaction): Promise<number> {
    const v = await (tx ?? this.store).get(this.prefix + agent)
    return v === undefined ? 0 : Number(dec.decode(v))
  }

  async debit(agent: string, amount: number, tx: KvTransaction): Promise<void> {
    const b = await this.balance(agent, tx)
    if (b < amount)
      throw new SwarmdError('FUNDS_INSUFFICIENT', `balance ${b} < ${amount}`, {
        payload: { agent, b, amount },
      })
    tx.put(this.prefix + agent, enc.encode(String(b - amount)))
  }

  async credit(agent: string, amount: number, tx: KvTransaction): Promise<void> {
    const b = await this.balance(agent, tx)
    tx.put(this.prefix + agent, enc.encode(String(b + amount)))
  }
}
