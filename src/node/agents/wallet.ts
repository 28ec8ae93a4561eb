/**
 * The agents' wallet: the node's `Ledger`, made safe for concurrent agents.
 *
 * A VM payment stages its ledger writes in the agent's transaction and the VM
 * commits that transaction later (with the agent's checkpoint). Two agents
 * paying the same account at the same time would both read the old balance
 * and one payment would be lost. So the writes staged at `transfer` time are
 * only a preview (they give the program its overdraft answer); at commit,
 * serialised with every other write of the node's ledger (`Ledger.exclusive`:
 * the market's escrow locks and settlements too), the transfers of
 * that transaction are recomputed against the committed balances and written
 * in the same atomic batch as the rest of the transaction. A transfer that no
 * longer fits (the balance was spent meanwhile) fails the commit: the payment
 * reports failure, nothing is written.
 */
import { type KvStore, KvTransaction } from '../../common/index.ts'
import type { Ledger } from '../../market/index.ts'
import type { Wallet } from '../../vm/index.ts'

interface Transfer {
  from: string
  to: string
  amount: number
}

export class SerialWallet implements Wallet {
  private readonly ledger: Ledger
  private readonly store: KvStore
  private readonly prefix: string
  private readonly staged = new WeakMap<KvTransaction, Transfer[]>()

  /** `store`: the store the VM's transactions run over (ledger keys under `prefix` reach the ledger's records). */
  constructor(ledger: Ledger, store: KvStore, prefix = 'ledger/') {
    this.ledger = ledger
    this.store = store
    this.prefix = prefix
  }

  balance(agent: string): Promise<number> {
    return this.ledger.balance(agent)
  }

  async transfer(from: string, to: string, amount: number, tx: KvTransaction): Promise<void> {
    await this.ledger.transfer(from, to, amount, tx) // preview: validates and answers overdrafts now
    let list = this.staged.get(tx)
    if (!list) {
      list = []
      this.staged.set(tx, list)
      this.hookCommit(tx, list)
    }
    list.push({ from, to, amount })
  }

  /** Mint (serialised with payments by the ledger itself). */
  mint(account: string, amount: number, reason: string, opId?: string): Promise<unknown> {
    return this.ledger.mint(account, amount, reason, opId ? { opId } : undefined)
  }

  private hookCommit(tx: KvTransaction, transfers: Transfer[]): void {
    tx.commit = () =>
      this.ledger.exclusive(async () => {
        const fresh = new KvTransaction(this.store)
        for (const t of transfers) await this.ledger.transfer(t.from, t.to, t.amount, fresh)
        const rest = tx.ops().filter((o) => !o.key.startsWith(this.prefix))
        tx.abort() // closes it: its preview of the ledger writes is dropped
        await this.store.batch([...rest, ...fresh.ops()])
      })
  }
}
