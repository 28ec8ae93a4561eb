/**
 * Per-CFP traces for `swarmd route explain`: the decisions this node took for
 * a CFP (as origin, relay or provider) and, at the origin, the whole path the
 * delivering node returned in its acknowledgement. Bounded twice: an LRU in
 * memory and at most `cap` records under `trace/` in the routing sublevel
 * (the oldest are deleted). Writes are best effort (logged, never thrown).
 */
import { getJson, type KvStore, type Logger, putJson } from '../../common/index.ts'
import type { Candidate, Hop } from './messages.ts'

export interface Decision {
  cfpId: string
  capability: string
  at: number
  /** The previous hop ('' at the origin). */
  from: string
  choice: { next: string; reason: string; estimate: number; confidence: number }
  /** The best few table entries for the capability when deciding. */
  candidates: Candidate[]
  note: string
}

export type TraceStatus = 'pending' | 'delivered' | 'failed' | 'relayed'

export interface CfpTrace {
  cfpId: string
  capability: string
  origin: string
  mode: 'cq' | 'flood'
  /** First time this node saw the CFP (ms since the epoch). */
  seenAt: number
  status: TraceStatus
  /** Decisions taken here. */
  decisions: Decision[]
  /** At the origin, from the acknowledgement: the full path and every hop's decision. */
  path?: string[]
  hops?: Hop[]
  deliveredBy?: string
  latencyMs?: number
  error?: string
}

export const TRACE_PREFIX = 'trace/'

export class TraceStore {
  private readonly kv: KvStore
  private readonly cap: number
  private readonly log: Logger
  private readonly mem = new Map<string, CfpTrace>()
  /** Persisted ids, oldest first. */
  private readonly stored = new Map<string, number>()

  constructor(kv: KvStore, cap: number, log: Logger) {
    this.kv = kv
    this.cap = cap
    this.log = log
  }

  /** Index the persisted traces (oldest first) so the bound holds across restarts. */
  async load(): Promise<void> {
    const found: [string, number][] = []
    for await (const [key, value] of this.kv.entries(TRACE_PREFIX)) {
      try {
        const t = JSON.parse(new TextDecoder().decode(value)) as CfpTrace
        found.push([key.slice(TRACE_PREFIX.length), t.seenAt])
      } catch {
        found.push([key.slice(TRACE_PREFIX.length), 0])
      }
    }
    found.sort((a, b) => a[1] - b[1])
    for (const [id, at] of found) this.stored.set(id, at)
    await this.trim()
  }

  async get(cfpId: string): Promise<CfpTrace | undefined> {
    const m = this.mem.get(cfpId)
    if (m) return m
    return getJson<CfpTrace>(this.kv, TRACE_PREFIX + cfpId)
  }

  /** Create or change a trace, then persist it. */
  update(cfpId: string, init: () => CfpTrace, change: (t: CfpTrace) => void): CfpTrace {
    let t = this.mem.get(cfpId)
    if (t) this.mem.delete(cfpId)
    else t = init()
    change(t)
    this.mem.set(cfpId, t)
    while (this.mem.size > this.cap) {
      const oldest = this.mem.keys().next().value
      if (oldest === undefined) break
      this.mem.delete(oldest)
    }
    this.persist(t)
    return t
  }

  /** The newest traces in memory (for listings). */
  recent(limit: number): CfpTrace[] {
    return [...this.mem.values()].slice(-limit).reverse()
  }

  private persist(t: CfpTrace): void {
    if (!this.stored.has(t.cfpId)) this.stored.set(t.cfpId, t.seenAt)
    putJson(this.kv, TRACE_PREFIX + t.cfpId, t)
      .then(() => this.trim())
      .catch((err: unknown) => this.log.debug('trace not saved', { cfpId: t.cfpId, error: err }))
  }

  private async trim(): Promise<void> {
    while (this.stored.size > this.cap) {
      const oldest = this.stored.keys().next().value
      if (oldest === undefined) break
      this.stored.delete(oldest)
      await this.kv.del(TRACE_PREFIX + oldest)
    }
  }
}
