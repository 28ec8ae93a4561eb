/**
 * libp2p's datastore with a write-behind cache for the peer store.
 *
 * libp2p's peer store reads the peer's record from the datastore and writes
 * it back (with a fresh `updated` time) on every merge: on every stream
 * opened or accepted, every gossipsub graft and prune, every DHT routing
 * table touch. On a busy node that was 9-13 % of its CPU in LevelDB (the
 * market-devnet benchmark's profiles). Here the `/peers/` records live in
 * memory: reads never reach LevelDB after the first, and writes are
 * coalesced and flushed in one batch every `flushMs` (and before a query
 * and on close). A `kill -9` loses at most `flushMs` of peer-store updates,
 * which libp2p learns again (identify, the DHT) after the restart. Every
 * other key (DHT records, provider records) goes straight to LevelDB.
 */
import { NotFoundError } from '@libp2p/interface'
import { LevelDatastore } from 'datastore-level'
import type { Key, Pair, Query, KeyQuery } from 'interface-datastore'
import type { AbortOptions } from '@libp2p/interface'

const PEERS = '/peers/'
/** Clean entries kept at most; dirty ones are always kept until flushed. */
const MAX_CLEAN = 10_000

interface Entry {
  key: Key
  /** undefined: the record does not exist (deleted, or never written). */
  value: Uint8Array | undefined
}

export class PeerCachedDatastore extends LevelDatastore {
  private readonly peers = new Map<string, Entry>()
  /** Keys written or deleted since the last flush. */
  private readonly dirty = new Set<string>()
  private readonly flushMs: number
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()

  constructor(path: string, flushMs = 2000) {
    super(path)
    this.flushMs = flushMs
  }

  override async open(): Promise<void> {
    await super.open()
    this.timer = setInterval(() => void this.flush().catch(() => {}), this.flushMs)
    this.timer.unref()
  }

  override async close(): Promise<void> {
    clearInterval(this.timer)
    await this.flush()
    await super.close()
  }

  override async get(key: Key, options?: AbortOptions): Promise<Uint8Array> {
    const k = key.toString()
    if (!k.startsWith(PEERS)) return super.get(key, options)
    let e = this.peers.get(k)
    if (!e) {
      let value: Uint8Array | undefined
      try {
        value = await super.get(key, options)
      } catch (err) {
        if ((err as Error).name !== 'NotFoundError') throw err
      }
      // A write that raced the read wins.
      e = this.peers.get(k)
      if (!e) {
        e = { key, value }
        this.remember(k, e, false)
      }
    }
    if (e.value === undefined) throw new NotFoundError(`no record for ${k}`)
    return e.value
  }

  override async has(key: Key, options?: AbortOptions): Promise<boolean> {
    const k = key.toString()
    if (!k.startsWith(PEERS)) return super.has(key, options)
    const e = this.peers.get(k)
    if (e) return e.value !== undefined
    return super.has(key, options)
  }

  override async put(key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    const k = key.toString()
    if (!k.startsWith(PEERS)) return super.put(key, value, options)
    this.remember(k, { key, value }, true)
    return key
  }

  override async delete(key: Key, options?: AbortOptions): Promise<void> {
    const k = key.toString()
    if (!k.startsWith(PEERS)) return super.delete(key, options)
    this.remember(k, { key, value: undefined }, true)
  }

  override async *query(q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    await this.flush()
    yield* super.query(q, options)
  }

  override async *queryKeys(q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    await this.flush()
    yield* super.queryKeys(q, options)
  }

  /** Write the dirty peer records to LevelDB in one batch. */
  flush(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.dirty.size === 0) return
      const keys = [...this.dirty]
      this.dirty.clear()
      const batch = super.batch()
      for (const k of keys) {
        const e = this.peers.get(k)!
        if (e.value === undefined) batch.delete(e.key)
        else batch.put(e.key, e.value)
      }
      try {
        await batch.commit()
      } catch (err) {
        for (const k of keys) this.dirty.add(k) // for the next flush
        throw err
      }
    }
    this.flushing = this.flushing.then(run, run)
    return this.flushing
  }

  private remember(k: string, e: Entry, dirty: boolean): void {
    this.peers.delete(k) // re-insert: the map's order is the eviction order
    this.peers.set(k, e)
    if (dirty) this.dirty.add(k)
    if (this.peers.size <= MAX_CLEAN) return
    for (const key of this.peers.keys()) {
      if (this.peers.size <= MAX_CLEAN) break
      if (!this.dirty.has(key)) this.peers.delete(key)
    }
  }
}
