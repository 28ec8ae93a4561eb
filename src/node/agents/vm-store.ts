/**
 * The VM's store: the `vm/` sublevel of the node's LevelDB, except that keys
 * under `ledger/` go to the root, where the node's `Ledger` keeps its records.
 * One store for both means a VM transaction (TX_BEGIN..TX_COMMIT, PAY_AGENT)
 * stages ledger writes and the agent's checkpoint in ONE atomic LevelDB batch:
 * after a `kill -9` either the payment and the checkpoint are both there, or
 * neither is.
 */
import type { KvOp, KvStore } from '../../common/index.ts'

export class VmStore implements KvStore {
  private readonly root: KvStore
  private readonly prefix: string
  private readonly passthrough: string[]

  /** `root`: the node's root store; keys are stored under `prefix` unless they start with a passthrough prefix. */
  constructor(root: KvStore, prefix = 'vm/', passthrough: string[] = ['ledger/']) {
    this.root = root
    this.prefix = prefix
    this.passthrough = passthrough
  }

  private map(key: string): string {
    return this.passthrough.some((p) => key.startsWith(p)) ? key : this.prefix + key
  }
  get(key: string): Promise<Uint8Array | undefined> {
    return this.root.get(this.map(key))
  }
  put(key: string, value: Uint8Array): Promise<void> {
    return this.root.put(this.map(key), value)
  }
  del(key: string): Promise<void> {
    return this.root.del(this.map(key))
  }
  batch(ops: KvOp[]): Promise<void> {
    return this.root.batch(ops.map((o) => ({ ...o, key: this.map(o.key) })))
  }
  async *entries(prefix: string): AsyncIterable<[string, Uint8Array]> {
    const mapped = this.map(prefix)
    const strip = mapped.length - prefix.length
    for await (const [k, v] of this.root.entries(mapped)) yield [k.slice(strip), v]
  }
  sublevel(prefix: string): KvStore {
    return this.root.sublevel(this.map(prefix))
  }
}
