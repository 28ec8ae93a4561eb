/**
 * The node's own LevelDB behind one small controller. `Db.open` maps
 * LevelDB's lock error to the clear "already in use" error; `LevelKv`
 * implements the `KvStore` seam of src/common over it (keys are strings,
 * values bytes, `sublevel(prefix)` scopes every key, `batch` is atomic,
 * `entries(prefix)` yields in key order). Not-found is `undefined`.
 *
 * Subsystems get their own prefix from the registry in docs/node.md
 * (`cfg/`, `caps/`, `route/`, `ledger/`, `market/`, `vm/`, `rep/`, `e2e/`);
 * a retired prefix is never reused.
 */
import { Level } from 'level'
import type { KvOp, KvStore } from '../common/index.ts'
import { SwarmdError } from '../common/index.ts'

/** Key prefixes owned by subsystems (see docs/node.md). */
export const KV_PREFIXES = {
  config: 'cfg/',
  capabilities: 'caps/',
  routing: 'route/',
  ledger: 'ledger/',
  market: 'market/',
  vm: 'vm/',
  reputation: 'rep/',
  e2e: 'e2e/',
} as const

type LevelDb = Level<string, Uint8Array>

/** LevelDB hands out Buffers; the KvStore contract is plain Uint8Array (same as MemoryKv). */
const plain = (v: Uint8Array): Uint8Array =>
  v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)

export class LevelKv implements KvStore {
  private readonly db: LevelDb
  private readonly prefix: string

  constructor(db: LevelDb, prefix = '') {
    this.db = db
    this.prefix = prefix
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = await this.db.get(this.prefix + key)
    return v === undefined ? undefined : plain(v)
  }
  async put(key: string, value: Uint8Array): Promise<void> {
    await this.db.put(this.prefix + key, value)
  }
  async del(key: string): Promise<void> {
    await this.db.del(this.prefix + key)
  }
  async batch(ops: KvOp[]): Promise<void> {
    if (ops.length === 0) return
    await this.db.batch(
      ops.map((op) =>
        op.type === 'put'
          ? { type: 'put' as const, key: this.prefix + op.key, value: op.value }
          : { type: 'del' as const, key: this.prefix + op.key },
      ),
    )
  }
  async *entries(prefix: string): AsyncIterable<[string, Uint8Array]> {
    const full = this.prefix + prefix
    for await (const [k, v] of this.db.iterator({ gte: full })) {
      if (!k.startsWith(full)) break
      yield [k.slice(this.prefix.length), plain(v)]
    }
  }
  sublevel(prefix: string): KvStore {
    return new LevelKv(this.db, this.prefix + prefix)
  }
}

/** One LevelDB, opened once, closed last. */
export class Db {
  readonly path: string
  readonly kv: LevelKv
  private readonly level: LevelDb

  private constructor(path: string, level: LevelDb) {
    this.path = path
    this.level = level
    this.kv = new LevelKv(level)
  }

  /** Open (creating if missing). A database held by another process fails with `REPO_LOCKED`. */
  static async open(path: string, opts: { inUse?: () => SwarmdError } = {}): Promise<Db> {
    const level: LevelDb = new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
    try {
      await level.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED' || (err as { code?: string }).code === 'LEVEL_LOCKED') {
        throw (
          opts.inUse?.() ??
          new SwarmdError('REPO_LOCKED', `database ${path} is already in use by another process`, {
            cause: err,
          })
        )
      }
      throw new SwarmdError('DB_OPEN_FAILED', `cannot open database ${path}: ${(err as Error).message}`, {
        cause: err,
      })
    }
    return new Db(path, level)
  }

  get status(): string {
    return this.level.status
  }

  async close(): Promise<void> {
    if (this.level.status === 'open' || this.level.status === 'opening') await this.level.close()
  }
}
