/** `KvWallet`: integer credit balances in a KvStore; transfers are staged in the caller's transaction. */
import type { KvStore, KvTransaction } from '../common/index.ts'
import type { Wallet } from './host.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()
const num = (b: Uint8Array | undefined) => (b === undefined ? 0 : Number(dec.decode(b)))

export class KvWallet implements Wallet {
  private readonly store: KvStore
  private readonly prefix: string
  /** `store` must be the same store the VM's transactions run over (the host's `store`). */
  constructor(store: KvStore, prefix = 'w/') {
    this.store = store
    this.prefix = prefix
  }
  async balance(agent: string): Promise<number> {
    return num(await this.store.get(this.prefix + agent))
  }
  /** Credit an agent (operator funding). */
  async mint(agent: string, amount: number): Promise<void> {
    if (!Number.isSafeInteger(amount) || amount < 0)
      throw new Error('mint amount must be a non-negative integer')
    await this.store.put(this.prefix + agent, enc.encode(String((await this.balance(agent)) + amount)))
  }
  async transfer(from: string, to: string, amount: number, tx: KvTransaction): Promise<void> {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new Error(`bad amount ${amount}`)
    if (from === to) throw new Error('cannot pay yourself')
    const fb = num(await tx.get(this.prefix + from))
    if (fb < amount) throw new Error(`insufficient credits: balance ${fb}, need ${amount}`)
    const tb = num(await tx.get(this.prefix + to))
    tx.put(this.prefix + from, enc.encode(String(fb - amount)))
    tx.put(this.prefix + to, enc.encode(String(tb + amount)))
  }
}
