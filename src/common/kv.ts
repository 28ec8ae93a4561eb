/**
 * The storage seam between pure subsystems and the node's LevelDB. Routers,
 * the market ledger, reputation and the VM persist through `KvStore`; the
 * daemon passes a prefix-scoped view of its LevelDB (`src/node/db.ts`), unit
 * tests pass `MemoryKv`. Keys are strings; values are bytes.
 *
 * `batch` is atomic: either every operation is applied or none is. Code that
 * moves credits must use one batch per move.
 */
export type KvOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }

export interface KvStore {
  get(key: string): Promise<Uint8Array | undefined>
  put(key: string, value: Uint8Array): Promise<void>
  del(key: string): Promise<void>
  batch(ops: KvOp[]): Promise<void>
  /** Entries whose key starts with `prefix`, in key order. */
  entries(prefix: string): AsyncIterable<[string, Uint8Array]>
  /** A view in which every key is prefixed with `prefix`. */
  sublevel(prefix: string): KvStore
}

/** An in-memory `KvStore` for unit tests of pure logic. */
export class MemoryKv implements KvStore {
  private readonly map: Map<string, Uint8Array>
  private readonly prefix: string

  constructor(map: Map<string, Uint8Array> = new Map(), prefix = '') {
    this.map = map
    this.prefix = prefix
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.map.get(this.prefix + key)
  }
  async put(key: string, value: Uint8Array): Promise<void> {
    this.map.set(this.prefix + key, value)
  }
  async del(key: string): Promise<void> {
    this.map.delete(this.prefix + key)
  }
  async batch(ops: KvOp[]): Promise<void> {
    for (const op of ops) {
      if (op.type === 'put') this.map.set(this.prefix + op.key, op.value)
      else this.map.delete(this.prefix + op.key)
    }
  }
  async *entries(prefix: string): AsyncIterable<[string, Uint8Array]> {
    const full = this.prefix + prefix
    const keys = [...this.map.keys()].filter((k) => k.startsWith(full)).sort()
    for (const k of keys) {
      const v = this.map.get(k)
      if (v !== undefined) yield [k.slice(this.prefix.length), v]
    }
  }
  sublevel(prefix: string): KvStore {
    return new MemoryKv(this.map, this.prefix + prefix)
  }
}

const enc = new TextEncoder()
const dec = new TextDecoder()

/** A JSON record from a store or a transaction (which sees its own staged writes). */
export async function getJson<T>(kv: Pick<KvStore, 'get'>, key: string): Promise<T | undefined> {
  const v = await kv.get(key)
  return v === undefined ? undefined : (JSON.parse(dec.decode(v)) as T)
}

export async function putJson(kv: KvStore, key: string, value: unknown): Promise<void> {
  await kv.put(key, enc.encode(JSON.stringify(value)))
}

/**
 * A buffered transaction over a `KvStore`: reads see the transaction's own
 * writes, nothing reaches the store until `commit()`, which applies every
 * write in one atomic batch. Subsystems that must move several records at
 * once (a payment and the VM storage writes of one TX_BEGIN..TX_COMMIT, an
 * escrow lock) collect their writes here. `ops()` exposes the pending writes
 * so that an outer transaction can absorb an inner one.
 */
export class KvTransaction {
  private readonly store: KvStore
  private readonly pending = new Map<string, Uint8Array | null>()
  private done = false

  constructor(store: KvStore) {
    this.store = store
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    if (this.pending.has(key)) return this.pending.get(key) ?? undefined
    return this.store.get(key)
  }
  put(key: string, value: Uint8Array): void {
    this.assertOpen()
    this.pending.set(key, value)
  }
  del(key: string): void {
    this.assertOpen()
    this.pending.set(key, null)
  }
  ops(): KvOp[] {
    return [...this.pending].map(([key, value]) =>
      value === null ? { type: 'del' as const, key } : { type: 'put' as const, key, value },
    )
  }
  get size(): number {
    return this.pending.size
  }
  async commit(): Promise<void> {
    this.assertOpen()
    this.done = true
    if (this.pending.size > 0) await this.store.batch(this.ops())
  }
  abort(): void {
    this.done = true
    this.pending.clear()
  }
  private assertOpen(): void {
    if (this.done) throw new Error('transaction already committed or aborted')
  }
}
