/**
 * The outgoing report batch: reports this node publishes are queued (already
 * encoded) and sent together as one gossip message (`encodeReportBatch`) when
 * `maxBatch` reports are queued, when the next one would push the batch over
 * `maxBytes`, `batchMs` after the first queued report, or on `flush()` /
 * `close()`. Timers are injected so the policy can be tested without waiting.
 */
import { SwarmdError } from '../../common/index.ts'
import { encodeReportBatch, MAX_REPORT_BATCH_BYTES, reportBatchSize } from '../../reputation/index.ts'

/** setTimeout / clearTimeout, or a test's stand-in. */
export interface BatchTimers {
  set(fn: () => void, ms: number): unknown
  clear(handle: unknown): void
}

const realTimers: BatchTimers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
}

export interface ReportBatcherInit {
  /** Flush when this many reports are queued. */
  maxBatch: number
  /** Flush this long after the first report was queued (0: on the next timer tick). */
  batchMs: number
  /** Largest batch in bytes. @default MAX_REPORT_BATCH_BYTES */
  maxBytes?: number
  /** Send one encoded batch of `reports` reports; resolves to the number of peers it went to. */
  publish: (batch: Uint8Array, reports: number) => Promise<number>
  /** @default real, unref'd timers */
  timers?: BatchTimers
}

interface Queued {
  bytes: Uint8Array
  resolve: (recipients: number) => void
  reject: (err: unknown) => void
}

export class ReportBatcher {
  private readonly maxBatch: number
  private readonly batchMs: number
  private readonly maxBytes: number
  private readonly publish: ReportBatcherInit['publish']
  private readonly timers: BatchTimers
  private queue: Queued[] = []
  private queueBytes = 0
  private timer: unknown
  private closed = false
  private readonly inFlight = new Set<Promise<unknown>>()

  constructor(init: ReportBatcherInit) {
    if (!Number.isSafeInteger(init.maxBatch) || init.maxBatch < 1)
      throw new SwarmdError('BAD_ARGUMENT', `maxBatch must be a positive integer, got ${init.maxBatch}`)
    this.maxBatch = init.maxBatch
    this.batchMs = Math.max(0, init.batchMs)
    this.maxBytes = init.maxBytes ?? MAX_REPORT_BATCH_BYTES
    this.publish = init.publish
    this.timers = init.timers ?? realTimers
  }

  /** Reports waiting for the next batch. */
  get queued(): number {
    return this.queue.length
  }

  /**
   * Queue one encoded report (`encodeReport`). The promise settles when the
   * batch carrying it was published: the number of peers it went to, or the
   * publish error. Callers that do not wait for it need not catch it.
   */
  add(encodedReport: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new SwarmdError('UNAVAILABLE', 'the report batcher is closed'))
    const n = this.queue.length
    if (n > 0 && reportBatchSize(n + 1, this.queueBytes + encodedReport.length) > this.maxBytes)
      void this.flush()
    const sent = new Promise<number>((resolve, reject) => {
      this.queue.push({ bytes: encodedReport, resolve, reject })
    })
    sent.catch(() => {}) // the caller may not listen; the error is also logged by the publisher
    this.queueBytes += encodedReport.length
    if (this.queue.length >= this.maxBatch) void this.flush()
    else if (this.queue.length === 1) this.timer = this.timers.set(() => void this.flush(), this.batchMs)
    return sent
  }

  /** Publish what is queued now as one batch; resolves to its recipients (0 when nothing was queued). */
  flush(): Promise<number> {
    if (this.timer !== undefined) {
      this.timers.clear(this.timer)
      this.timer = undefined
    }
    const batch = this.queue
    if (batch.length === 0) return Promise.resolve(0)
    this.queue = []
    this.queueBytes = 0
    const run = async (): Promise<number> => {
      try {
        const recipients = await this.publish(encodeReportBatch(batch.map((q) => q.bytes)), batch.length)
        for (const q of batch) q.resolve(recipients)
        return recipients
      } catch (err) {
        for (const q of batch) q.reject(err)
        throw err
      }
    }
    const p = run()
    this.inFlight.add(p)
    void p.catch(() => {}).finally(() => this.inFlight.delete(p))
    return p
  }

  /** Flush the rest and refuse further reports; waits for batches in flight. Idempotent. */
  async close(): Promise<void> {
    this.closed = true
    await this.flush().catch(() => {})
    await Promise.allSettled([...this.inFlight])
  }
}
