/**
 * The card directory of the E2E service: local agents' own cards, and other
 * agents' cards fetched from the DHT and cached until `cardCacheMs` (or the
 * card's own expiry, whichever is first). Concurrent lookups of one agent
 * share one DHT query. A lookup that finds nothing in the DHT falls back to a
 * cached card that has not expired yet.
 */
import type { Clock } from '../../common/index.ts'
import type { AgentCard } from '../../e2e/index.ts'
import { newerCard } from '../agent-card.ts'

export interface CardSource {
  getCard(agentId: string, opts: { timeoutMs?: number }): Promise<AgentCard | undefined>
}

export class CardDirectory {
  private readonly source: CardSource
  private readonly clock: Clock
  private readonly cacheMs: number
  private readonly timeoutMs: number
  private readonly local = new Map<string, AgentCard>()
  private readonly cache = new Map<string, { card: AgentCard; until: number }>()
  private readonly inflight = new Map<string, Promise<AgentCard | undefined>>()

  constructor(source: CardSource, clock: Clock, cacheMs: number, timeoutMs: number) {
    this.source = source
    this.clock = clock
    this.cacheMs = cacheMs
    this.timeoutMs = timeoutMs
  }

  setLocal(card: AgentCard): void {
    this.local.set(card.body.agentId, card)
  }
  removeLocal(agentId: string): void {
    this.local.delete(agentId)
  }
  getLocal(agentId: string): AgentCard | undefined {
    return this.local.get(agentId)
  }

  /** The agent's card: local, cached, or from the DHT (`fresh` skips the cache). */
  async lookup(agentId: string, opts: { fresh?: boolean } = {}): Promise<AgentCard | undefined> {
    const own = this.local.get(agentId)
    if (own) return own
    const now = this.clock.now()
    const hit = this.cache.get(agentId)
    if (hit && hit.until > now && !opts.fresh) return hit.card
    let p = this.inflight.get(agentId)
    if (!p) {
      p = this.fetch(agentId).finally(() => this.inflight.delete(agentId))
      this.inflight.set(agentId, p)
    }
    const card = await p
    if (card) return card
    const stale = this.cache.get(agentId)
    return stale && (stale.card.body.expiresAt ?? 0) > this.clock.now() ? stale.card : undefined
  }

  private async fetch(agentId: string): Promise<AgentCard | undefined> {
    let card: AgentCard | undefined
    try {
      card = await this.source.getCard(agentId, { timeoutMs: this.timeoutMs })
    } catch {
      card = undefined
    }
    if (!card) return undefined
    const prev = this.cache.get(agentId)?.card
    if (prev && !newerCard(card, prev) && prev.sig !== card.sig) card = prev
    const until = Math.min(card.body.expiresAt ?? 0, this.clock.now() + this.cacheMs)
    this.cache.set(agentId, { card, until })
    return card
  }
}
