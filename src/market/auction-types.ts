/** Records, events and options of the auction state machine (auction.ts). */
import type { Clock } from '../common/index.ts'
import type { Ledger } from './ledger.ts'
import type { Award, Cfp } from './protocol.ts'
import type { Receipt } from './receipts.ts'
import type { BidScorer } from './scoring.ts'

export const AuctionPhase = {
  OPEN: 'open',
  /** Cleared, winners known, terms being negotiated (CFPs with `negotiation: true`); no escrow yet. */
  CLEARED: 'cleared',
  AWARDED: 'awarded',
  DONE: 'done',
  CANCELLED: 'cancelled',
} as const
export type AuctionPhase = (typeof AuctionPhase)[keyof typeof AuctionPhase]

export interface AwardState {
  award: Award
  /** Credits locked in escrow `award.escrowId` (reserve × units, at least the payment). */
  locked: number
  status: 'locked' | 'paid' | 'refunded'
  reason?: string
  settledAt?: number
  /** The worker's output when paid. */
  output?: unknown
  /** For a winner on another node: the receipt to deliver to it. */
  receipt?: Receipt
}

/** A winner as cleared, before the award (and before any negotiation). */
export interface ProvisionalAward {
  winner: string
  units: number
  price: number
  payment: number
}

export interface AuctionRecord {
  v: 1
  cfp: Cfp
  phase: AuctionPhase
  openedAt: number
  closedAt?: number
  bidCount: number
  welfare?: number
  totalPayment?: number
  /** Bids the scorer or expiry removed before clearing. */
  dropped?: { bidder: string; reason: string }[]
  awards: AwardState[]
  /** Phase `cleared`: the winners awaiting their award, and when the VCG terms apply by default. */
  provisional?: ProvisionalAward[]
  negotiateUntil?: number
  reason?: string
}

export type AuctionEvent =
  | { type: 'cleared'; cfpId: string; winners: ProvisionalAward[]; negotiateUntil: number }
  | { type: 'awarded'; cfpId: string; awards: Award[] }
  | { type: 'no-winner'; cfpId: string; reason: string }
  | { type: 'paid'; cfpId: string; escrowId: string; winner: string; amount: number; receipt?: Receipt }
  | { type: 'refunded'; cfpId: string; escrowId: string; winner: string; reason: string }
  | { type: 'cancelled'; cfpId: string; reason: string }
  /** A domain error while `tick()` advanced this auction; it is retried on the next tick. */
  | { type: 'error'; cfpId: string; code: string; message: string }

export interface AuctionHouseInit {
  /** The ledger; auction records share its store so each step is one batch. */
  ledger: Ledger
  clock: Clock
  /** Secret key of a local requester agent (to sign awards and receipts). */
  keyFor: (agentId: string) => Uint8Array | undefined
  /** Whether an agent lives on this node (paid on this ledger) or elsewhere (paid by receipt). */
  isLocal: (agentId: string) => boolean
  /** Reputation hook applied before clearing. @default identityScorer */
  scorer?: BidScorer
  /** Key prefix of auction records. @default 'auction/' */
  prefix?: string
  /** Node name written into receipts. */
  node?: string
  /** Bids accepted per auction. @default 1000 */
  maxBids?: number
  /** For CFPs that allow negotiation: time after clearing to agree terms before the VCG terms are awarded. @default 5000 */
  negotiationWindowMs?: number
}

export const DEFAULT_NEGOTIATION_WINDOW_MS = 5_000

export const DEFAULT_MAX_BIDS = 1_000
