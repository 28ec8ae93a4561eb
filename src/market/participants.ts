/**
 * Helpers for the two sides of a CFP, shaped for the AVM opcodes and the
 * agent host: a requester agent builds a signed CFP (`createCfp`, the CFP
 * opcode); a provider agent's bid handler turns a CFP into a signed bid or
 * declines (`answerCfp`); a winner turns its work into a signed result
 * (`resultFor`).
 */
import { MarketError, MarketErrorCode } from './errors.ts'
import type { MechanismName, Offer } from './mechanisms/index.ts'
import {
  type Award,
  type Bid,
  type Cfp,
  cfpCloseAt,
  DEFAULT_BID_WINDOW_MS,
  MAX_OFFERS_PER_BID,
  type Result,
  signBid,
  signCfp,
  signResult,
  verifyAward,
  verifyCfp,
} from './protocol.ts'

/** An agent able to sign: its id (hex public key) and secret key. */
export interface AgentSigner {
  id: string
  secretKey: Uint8Array
}

/** How long after the CFP closes a bid stays valid (the requester clears at its next tick). @default 60000 */
export const DEFAULT_BID_GRACE_MS = 60_000

export interface CfpParams {
  id: string
  capability: string
  payload: unknown
  units: number
  reserve: number
  /** Bid window. @default DEFAULT_BID_WINDOW_MS */
  deadlineMs?: number
  /** @default 'vcg' */
  mechanism?: MechanismName
  /** @default false */
  negotiation?: boolean
  resultTimeoutMs?: number
}

/** Build and sign a CFP for `requester`, validated as a receiver would. */
export function createCfp(requester: AgentSigner, p: CfpParams, now: number): Cfp {
  const cfp = signCfp(
    {
      id: p.id,
      requester: requester.id,
      capability: p.capability,
      payload: p.payload,
      units: p.units,
      reserve: p.reserve,
      deadlineMs: p.deadlineMs ?? DEFAULT_BID_WINDOW_MS,
      mechanism: p.mechanism ?? 'vcg',
      negotiation: p.negotiation ?? false,
      issuedAt: now,
      resultTimeoutMs: p.resultTimeoutMs,
    },
    requester.secretKey,
  )
  return verifyCfp(cfp, now)
}

/** A provider's decision for a CFP: the offers to bid, or `undefined` to decline. */
export type BidHandler = (cfp: Cfp) => Offer[] | undefined | Promise<Offer[] | undefined>

/**
 * Validate an incoming CFP, ask the handler, and sign its offers as a bid.
 * Returns `undefined` when the handler declines (or the CFP is the bidder's
 * own). Throws the CFP's validation error, or `MARKET_BAD_BID` when the
 * handler returns offers the CFP would refuse.
 */
export async function answerCfp(
  raw: unknown,
  bidder: AgentSigner,
  handler: BidHandler,
  now: number,
  graceMs = DEFAULT_BID_GRACE_MS,
): Promise<Bid | undefined> {
  const cfp = verifyCfp(raw, now)
  if (cfp.requester === bidder.id) return undefined
  const offers = await handler(cfp)
  if (!offers || offers.length === 0) return undefined
  if (offers.length > MAX_OFFERS_PER_BID)
    throw new MarketError(MarketErrorCode.BAD_BID, `at most ${MAX_OFFERS_PER_BID} offers per bid`)
  for (const o of offers) {
    if (!Number.isSafeInteger(o.units) || o.units < 1 || o.units > cfp.units)
      throw new MarketError(MarketErrorCode.BAD_BID, `offer units must be 1..${cfp.units}, got ${o.units}`)
    if (!Number.isSafeInteger(o.price) || o.price < 0)
      throw new MarketError(
        MarketErrorCode.BAD_BID,
        `offer price must be a whole number >= 0, got ${o.price}`,
      )
  }
  return signBid(
    { cfpId: cfp.id, bidder: bidder.id, offers, expiresAt: cfpCloseAt(cfp) + graceMs },
    bidder.secretKey,
  )
}

/** Sign the outcome of an awarded task (checks the award is genuine and addressed to `worker`). */
export function resultFor(
  rawAward: unknown,
  worker: AgentSigner,
  outcome: { ok: boolean; output: unknown },
  now: number,
): Result {
  const award: Award = verifyAward(rawAward, { winner: worker.id })
  return signResult(
    {
      cfpId: award.cfpId,
      worker: worker.id,
      requester: award.requester,
      escrowId: award.escrowId,
      ok: outcome.ok,
      output: outcome.output,
      issuedAt: now,
    },
    worker.secretKey,
  )
}
