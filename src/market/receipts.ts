/**
 * Cross-node settlement by signed receipts. A payment from an agent on node A
 * to an agent on node B:
 *
 *  1. A calls `issueReceipt`: one atomic batch debits the payer and stores an
 *     outbound settlement record holding the receipt, signed by the payer
 *     agent's key (`swarmd/receipt/v1`). Re-issuing the same id returns the
 *     stored receipt and debits nothing.
 *  2. The receipt travels to B (end-to-end encrypted, by the node layer).
 *  3. B calls `acceptReceipt`: the signature must verify against the payer's
 *     agent id (its public key), the amount and parties must match what B
 *     expects, and the id must not have been credited before; then one atomic
 *     batch credits the payee.
 *
 * Each node's `audit()` lists the receipt ids it debited and credited;
 * `auditAcross` (audit.ts) matches them devnet-wide.
 */
import { fromB64, fromHex, sign, signingKeyFromSeed, toB64, toHex, verify } from '../common/index.ts'
import { MarketError, MarketErrorCode } from './errors.ts'
import { checkAccount, checkAmount, checkId, type Ledger } from './ledger.ts'
import type { EscrowResult, OpContext, OpResult } from './ledger-types.ts'

export const RECEIPT_DOMAIN = 'swarmd/receipt/v1'

export interface ReceiptBody {
  id: string
  /** Payer agent id (hex Ed25519 public key): the receipt is signed by this key. */
  from: string
  /** Payee agent id. */
  to: string
  amount: number
  issuedAt: number
  fromNode?: string
  toNode?: string
  /** What the payment is for (escrow id, CFP id). */
  ref?: string
}

export interface Receipt extends ReceiptBody {
  /** Base64 Ed25519 signature over `canonicalJson(body)` under RECEIPT_DOMAIN. */
  signature: string
}

const AGENT_ID_RE = /^[0-9a-f]{64}$/

function bad(msg: string): never {
  throw new MarketError(MarketErrorCode.BAD_RECEIPT, msg, { action: 'penalise' })
}

export function receiptBody(r: ReceiptBody): ReceiptBody {
  const { id, from, to, amount, issuedAt, fromNode, toNode, ref } = r
  return { id, from, to, amount, issuedAt, fromNode, toNode, ref }
}

export function signReceipt(body: ReceiptBody, secretKey: Uint8Array): Receipt {
  const b = receiptBody(body)
  return { ...b, signature: toB64(sign(RECEIPT_DOMAIN, b, secretKey)) }
}

/** What the receiving node expects the receipt to say; any field given must match. */
export interface ReceiptExpectation {
  from?: string
  to?: string
  amount?: number
  ref?: string
}

/** Check shape, signature and expectations; throws `LEDGER_BAD_RECEIPT` (penalise the sender). */
export function verifyReceipt(raw: unknown, expect: ReceiptExpectation = {}): Receipt {
  if (typeof raw !== 'object' || raw === null) bad('receipt is not an object')
  const r = raw as Receipt
  if (typeof r.id !== 'string' || r.id.length === 0) bad('receipt has no id')
  if (typeof r.from !== 'string' || !AGENT_ID_RE.test(r.from)) bad('receipt payer is not an agent id')
  if (typeof r.to !== 'string' || r.to.length === 0) bad('receipt has no payee')
  if (typeof r.amount !== 'number' || !Number.isSafeInteger(r.amount) || r.amount < 1)
    bad(`receipt amount ${String(r.amount)} is not a positive whole number`)
  if (typeof r.issuedAt !== 'number') bad('receipt has no issuedAt')
  if (typeof r.signature !== 'string') bad('receipt is not signed')
  if (!verify(RECEIPT_DOMAIN, receiptBody(r), fromB64(r.signature), fromHex(r.from)))
    bad(`receipt ${r.id}: signature does not verify for payer ${r.from.slice(0, 12)}…`)
  for (const k of ['from', 'to', 'amount', 'ref'] as const) {
    if (expect[k] !== undefined && expect[k] !== r[k])
      bad(`receipt ${r.id}: ${k} is ${String(r[k])}, expected ${String(expect[k])}`)
  }
  return r
}

/**
 * On the payer's node: debit `body.from` and produce the signed receipt, in
 * one atomic batch. `payerSecretKey` must be the key of `body.from`.
 */
export async function issueReceipt(
  ledger: Ledger,
  body: ReceiptBody,
  payerSecretKey: Uint8Array,
  ctx?: OpContext,
): Promise<{ status: OpResult['status']; receipt: Receipt }> {
  checkId(body.id, 'receipt id')
  checkAccount(body.to, 'to')
  checkAmount(body.amount)
  if (toHex(signingKeyFromSeed(payerSecretKey).publicKey) !== body.from)
    throw new MarketError(MarketErrorCode.BAD_RECEIPT, 'the signing key is not the payer agent key')
  const receipt = signReceipt(body, payerSecretKey)
  const r = await ledger.settleOut(body.id, body.from, body.amount, receipt, ctx)
  return { status: r.status, receipt: r.record }
}

/**
 * On the payee's node: verify the receipt and credit its payee once.
 * Throws `LEDGER_BAD_RECEIPT` for a forged or unexpected receipt and
 * `LEDGER_RECEIPT_REPLAY` for an id already credited.
 */
export async function acceptReceipt(
  ledger: Ledger,
  raw: unknown,
  expect: ReceiptExpectation = {},
  ctx?: OpContext,
): Promise<OpResult> {
  const r = verifyReceipt(raw, expect)
  return ledger.settleIn(r.id, r.to, r.amount, r, ctx)
}

/**
 * On the payer's node, when a remote winner's result is accepted: pay
 * `body.amount` out of escrow `escrowId` by a signed receipt (remainder
 * refunded to the payer), in one atomic batch. `body.from` must be the
 * escrow's payer and `payerSecretKey` its key.
 */
export async function releaseByReceipt(
  ledger: Ledger,
  escrowId: string,
  body: ReceiptBody,
  payerSecretKey: Uint8Array,
  ctx?: OpContext,
): Promise<{ status: EscrowResult['status']; receipt: Receipt }> {
  checkAccount(body.to, 'to')
  if (toHex(signingKeyFromSeed(payerSecretKey).publicKey) !== body.from)
    throw new MarketError(MarketErrorCode.BAD_RECEIPT, 'the signing key is not the payer agent key')
  const receipt = signReceipt(body, payerSecretKey)
  const r = await ledger.releaseOut(escrowId, body.from, body.amount, body.id, receipt, ctx)
  return { status: r.status, receipt }
}
