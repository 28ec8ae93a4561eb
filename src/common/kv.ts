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

export async function getJson<T>(kv: KvStore, key: string): Promise<T | undefined> {
  const v = await kv.get(key)
  return v === undefined ? undefined : (JSON.parse(dec.decode(v)) as T)
}

export function putJsonOp(key: string, value: unknown): KvOp {
  return { type: 'put', key, value: enc.encode(JSON.stringify(value)) }
}

export async function putJson(kv: KvStore, key: string, value: unknown): Promise<void> {
  await kv.put(key, enc.encode(JSON.stringify(value)))
}
