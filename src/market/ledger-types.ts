/** Records kept by the ledger, and the results of its operations. */
import type { KvTransaction } from '../common/index.ts'

/** What the VM's payment opcodes need from the ledger. */
export interface Wallet {
  balance(agent: string): Promise<number>
  transfer(from: string, to: string, amount: number, tx: KvTransaction): Promise<void>
}

/**
 * Options of every ledger write. `tx`: fold the writes into this outer
 * transaction instead of committing a batch of our own (the caller commits).
 * `opId`: an idempotency key; repeating an operation with the same id is a
 * no-op that reports `duplicate`.
 */
export interface OpOptions {
  tx?: KvTransaction
  opId?: string
  memo?: string
}
/** A bare `KvTransaction` is accepted wherever `OpOptions` is (the `Wallet` signature). */
export type OpContext = KvTransaction | OpOptions

export type HistoryKind =
  | 'mint'
  | 'transfer-in'
  | 'transfer-out'
  | 'escrow-lock'
  | 'escrow-release'
  | 'escrow-payout'
  | 'escrow-refund'
  | 'settle-out'
  | 'settle-in'

/** One line of an account's append-only history. */
export interface HistoryEntry {
  seq: number
  at: number
  kind: HistoryKind
  /** Signed change of the balance. */
  delta: number
  /** Balance after the change. */
  balance: number
  /** Counterparty account, escrow id or receipt id. */
  ref?: string
  memo?: string
}

export type EscrowStatus = 'open' | 'released' | 'refunded'

export interface EscrowRecord {
  id: string
  payer: string
  amount: number
  /** Free-form terms (CFP id, deadline, ...) stored with the escrow. */
  terms: unknown
  status: EscrowStatus
  lockedAt: number
  closedAt?: number
  payee?: string
  /** Paid to the payee on release. */
  paid?: number
  /** Returned to the payer (remainder on release, everything on refund). */
  refunded?: number
  reason?: string
}

export interface OpResult {
  status: 'applied' | 'duplicate'
}

export interface EscrowResult {
  /** `applied`: this call changed the ledger. Otherwise it was a no-op and says why. */
  status: 'applied' | 'duplicate' | 'already-released' | 'already-refunded'
  escrow: EscrowRecord
}

export interface Totals {
  minted: number
  settledOut: number
  settledIn: number
}

/** What `Ledger.audit()` found. `ok` when `problems` is empty. */
export interface LedgerReport {
  node?: string
  at: number
  ok: boolean
  accounts: number
  /** Σ balances. */
  balances: number
  /** Σ amounts of open escrows. */
  openEscrows: number
  openEscrowCount: number
  /** Σ logged mints. */
  minted: number
  /** Σ credits sent to other nodes by receipt. */
  settledOut: number
  /** Σ credits received from other nodes by receipt. */
  settledIn: number
  /** Receipt ids issued here (debited) and accepted here (credited), for `auditAcross`. */
  outbound: { id: string; amount: number }[]
  inbound: { id: string; amount: number }[]
  problems: string[]
}
