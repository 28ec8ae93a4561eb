import { type KvOp, type KvStore, MemoryKv } from '../../../src/common/index.ts'

/**
 * A KvStore that crashes on its Nth batch: `before` throws without applying
 * anything (the process died before the write), `after` applies the batch and
 * then throws (the write reached the disk, the caller never heard back).
 */
export class FailingKv implements KvStore {
  readonly inner: MemoryKv
  readonly map: Map<string, Uint8Array>
  batches = 0
  failAt: number
  mode: 'before' | 'after'

  constructor(
    failAt = Number.POSITIVE_INFINITY,
    mode: 'before' | 'after' = 'before',
    map = new Map<string, Uint8Array>(),
  ) {
    this.map = map
    this.inner = new MemoryKv(map)
    this.failAt = failAt
    this.mode = mode
  }
  get(key: string) {
    return this.inner.get(key)
  }
  put(key: string, value: Uint8Array) {
    return this.batch([{ type: 'put', key, value }])
  }
  del(key: string) {
    return this.batch([{ type: 'del', key }])
  }
  async batch(ops: KvOp[]): Promise<void> {
    this.batches++
    if (this.batches === this.failAt && this.mode === 'before')
      throw new Error(`injected crash before batch ${this.batches}`)
    await this.inner.batch(ops)
    if (this.batches === this.failAt) throw new Error(`injected crash after batch ${this.batches}`)
  }
  entries(prefix: string) {
    return this.inner.entries(prefix)
  }
  sublevel(_prefix: string): KvStore {
    throw new Error('not used')
  }
  snapshot(): Map<string, string> {
    return new Map([...this.map].map(([k, v]) => [k, Buffer.from(v).toString('hex')]))
  }
}
