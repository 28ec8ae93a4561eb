/**
 * The provider side's local bid handlers: who on this node bids for which
 * capability, and the config-driven JS providers (`market.providers`) with
 * their deterministic built-in tasks. The agent host registers AVM programs
 * through the same `BidHandler` / `TaskRunner` pair.
 */
import type { Award, Cfp, NegotiationAct, NegotiationState, Offer, Terms } from '../../market/index.ts'
import { MAX_OFFERS_PER_BID } from '../../market/index.ts'
import type { MarketProviderConfig, MarketTask, ProviderNegotiationStrategyName } from '../config.ts'

/** Called for each CFP of the capability: offers (XOR) to bid, or `undefined` to decline. */
export type BidHandler = (cfp: Cfp) => Promise<{ offers: Offer[] } | undefined>
/**
 * Called when the bid won: do the work for `payload` (the CFP's payload).
 * `undefined`: the agent returns the result later itself (`MarketService.completeJob`, the AVM's TASK_RESULT).
 */
export type TaskRunner = (
  award: Award,
  payload: unknown,
) => Promise<{ ok: boolean; output: unknown } | undefined>

/** One message of a negotiation as the winning bidder's agent sees it (negotiate.ts). */
export interface NegotiationNotice {
  cfpId: string
  negotiationId: string
  round: number
  act: NegotiationAct
  /** The requester's proposal (propose), or the terms agreed (accept). */
  terms?: Terms
  /** The requester agent. */
  from: string
  /** Units the bidder won (provisionally) and its asking price for them. */
  units: number
  ask: number
  /** The most the requester can pay for these units (reserve × units). */
  budget: number
  maxRounds: number
  /** Nothing is agreed after this time (ms since the epoch). */
  deadline: number
  /** The negotiation's state after this message. */
  state: NegotiationState
}

/**
 * How a bidder negotiates after a CFP with `negotiation: true` clears (negotiate.ts):
 * `auto` answers with a concession strategy between the CFP's budget and its
 * floor (`minUnitPrice × units`, default its own asking price); `inbox` hands
 * every message to the agent, which answers with `MarketService.negotiateAs`
 * (the AVM's NEGOTIATE). A handler without one accepts at or above its ask.
 */
export type NegotiationPolicy =
  | {
      kind: 'auto'
      strategy: ProviderNegotiationStrategyName
      minUnitPrice?: number
      /** Weight of a later result deadline against price (1). @default 0 */
      deadlineWeight?: number
    }
  | { kind: 'inbox'; notify: (n: NegotiationNotice) => void }

export interface BidHandlerEntry {
  capability: string
  agentId: string
  bid: BidHandler
  run: TaskRunner
  negotiate?: NegotiationPolicy
}

/** Run one of the built-in deterministic tasks on a CFP payload. */
export function runBuiltinTask(task: MarketTask, payload: unknown): { ok: boolean; output: unknown } {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload ?? null)
  switch (task) {
    case 'echo':
      return { ok: true, output: payload ?? null }
    case 'uppercase':
      return { ok: true, output: text.toUpperCase() }
    case 'word-count':
      return { ok: true, output: text.split(/\s+/).filter((w) => w.length > 0).length }
  }
}

/**
 * The offers of a JS provider for a CFP: one XOR offer per quantity
 * 1..min(units, cfp.units) (at most MAX_OFFERS_PER_BID, the largest ones),
 * each priced `ceil(cost × (1 + markup) × u)`. Declines when even one unit
 * costs more than the reserve (it could not win).
 */
export function jsProviderOffers(p: MarketProviderConfig, cfp: Cfp): { offers: Offer[] } | undefined {
  const unitPrice = p.cost * (1 + p.markup)
  if (Math.ceil(unitPrice) > cfp.reserve) return undefined
  const max = Math.min(p.units, cfp.units)
  const offers: Offer[] = []
  for (let u = Math.max(1, max - MAX_OFFERS_PER_BID + 1); u <= max; u++)
    offers.push({ units: u, price: Math.ceil(unitPrice * u) })
  return { offers }
}

export function jsProvider(p: MarketProviderConfig, agentId: string): BidHandlerEntry {
  return {
    capability: p.capability,
    agentId,
    bid: async (cfp) => jsProviderOffers(p, cfp),
    run: async (_award, payload) => runBuiltinTask(p.task ?? 'echo', payload),
    negotiate: {
      kind: 'auto',
      strategy: p.negotiation?.strategy ?? 'accept',
      minUnitPrice: p.negotiation?.minPrice,
      deadlineWeight: p.negotiation?.deadlineWeight,
    },
  }
}
