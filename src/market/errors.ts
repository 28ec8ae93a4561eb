/**
 * Typed market errors. Every failure carries a machine-readable `code` from
 * `MarketErrorCode`; errors caused by a remote message (a bad bid, a forged
 * receipt) also say how to treat the peer that sent it.
 */
import { type PeerAction, SwarmdError } from '../common/index.ts'

export const MarketErrorCode = {
  BAD_INPUT: 'MARKET_BAD_INPUT',
  BAD_BID: 'MARKET_BAD_BID',
  TOO_LARGE: 'MARKET_TOO_LARGE',
  UNKNOWN_MECHANISM: 'MARKET_UNKNOWN_MECHANISM',
  INSUFFICIENT_FUNDS: 'LEDGER_INSUFFICIENT_FUNDS',
  BAD_AMOUNT: 'LEDGER_BAD_AMOUNT',
  BAD_ACCOUNT: 'LEDGER_BAD_ACCOUNT',
  UNKNOWN_ESCROW: 'LEDGER_UNKNOWN_ESCROW',
  ESCROW_CONFLICT: 'LEDGER_ESCROW_CONFLICT',
  OP_CONFLICT: 'LEDGER_OP_CONFLICT',
  BAD_RECEIPT: 'LEDGER_BAD_RECEIPT',
  RECEIPT_REPLAY: 'LEDGER_RECEIPT_REPLAY',
  BAD_STATE: 'MARKET_BAD_STATE',
  UNKNOWN_AUCTION: 'MARKET_UNKNOWN_AUCTION',
  /** Protocol message errors (validators in protocol.ts). */
  BAD_MESSAGE: 'MARKET_BAD_MESSAGE',
  BAD_SIGNATURE: 'MARKET_BAD_SIGNATURE',
  EXPIRED: 'MARKET_EXPIRED',
  CFP_MISMATCH: 'MARKET_CFP_MISMATCH',
  OVER_UNITS: 'MARKET_OVER_UNITS',
  NOT_AWARDED: 'MARKET_NOT_AWARDED',
  /** Negotiation errors (negotiation.ts). */
  OUT_OF_ORDER: 'MARKET_OUT_OF_ORDER',
  NEGOTIATION_CLOSED: 'MARKET_NEGOTIATION_CLOSED',
} as const
export type MarketErrorCode = (typeof MarketErrorCode)[keyof typeof MarketErrorCode]

export class MarketError extends SwarmdError<MarketErrorCode> {
  constructor(code: MarketErrorCode, message: string, opts: { action?: PeerAction; payload?: unknown } = {}) {
    super(code, message, opts)
    this.name = 'MarketError'
  }
}
