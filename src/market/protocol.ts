/**
 * Market protocol messages as plain data, each signed by the agent that sends
 * it (Ed25519 over canonical JSON, one domain per kind), and validators that
 * return the message or throw a typed `MarketError` saying how to treat the
 * sender. Transport is not here: the node layer routes CFPs on the router,
 * seals bids to the requester's agent key and sends awards, results and
 * receipts end to end.
 *
 *   CFP     requester → providers   "who does `capability` for up to `units` × `reserve`?"
 *   Bid     provider → requester    XOR offers for the CFP, valid until `expiresAt`
 *   Award   requester → winner      units, asking price, VCG payment, escrow id
 *   Result  winner → requester      the task output (or a failure), for one award
 *   Receipt (receipts.ts)           cross-node payment
 */
import { fromB64, fromHex, sign, toB64, verify } from '../common/index.ts'
import { MarketError, MarketErrorCode } from './errors.ts'
import { MECHANISM_NAMES, type MechanismName, type Offer } from './mechanisms/index.ts'
import { type Terms, validTerms } from './terms.ts'

export const CFP_DOMAIN = 'swarmd/cfp/v1'
export const BID_DOMAIN = 'swarmd/bid/v1'
export const AWARD_DOMAIN = 'swarmd/award/v1'
export const RESULT_DOMAIN = 'swarmd/result/v1'

/** Bid window used when a CFP does not say otherwise (used by the CLI). @default 2000 */
export const DEFAULT_BID_WINDOW_MS = 2_000
/** Time a winner has to deliver its result after the award. @default 30000 */
export const DEFAULT_RESULT_TIMEOUT_MS = 30_000
/** Largest offer list accepted in one bid. */
export const MAX_OFFERS_PER_BID = 16

export interface CfpBody {
  id: string
  /** Agent id (hex Ed25519 public key) of the requester; it signs the CFP. */
  requester: string
  capability: string
  payload: unknown
  units: number
  /** Value of one unit to the requester (credits). */
  reserve: number
  /** Bids close at `issuedAt + deadlineMs`. */
  deadlineMs: number
  mechanism: MechanismName
  /** Whether the requester may negotiate terms with top bidders after clearing. */
  negotiation: boolean
  issuedAt: number
  /** A winner must deliver within this long after the award. @default DEFAULT_RESULT_TIMEOUT_MS */
  resultTimeoutMs?: number
}
export interface Cfp extends CfpBody {
  signature: string
}

export interface BidBody {
  cfpId: string
  /** Agent id of the bidder; it signs the bid. */
  bidder: string
  offers: Offer[]
  expiresAt: number
}
export interface Bid extends BidBody {
  signature: string
}

export interface AwardBody {
  cfpId: string
  requester: string
  winner: string
  units: number
  /** The winner's asking price for `units`. */
  price: number
  /** What the winner will be paid on an accepted result (VCG payment). */
  payment: number
  escrowId: string
  /** The result must arrive before this time or the escrow is refunded. */
  resultDeadline: number
  issuedAt: number
  /** Terms agreed by negotiation (then `payment` = `terms.price`); absent for a plain auction award. */
  terms?: Terms
}
export interface Award extends AwardBody {
  signature: string
}

export interface ResultBody {
  cfpId: string
  /** The winner that produced it; it signs the result. */
  worker: string
  requester: string
  escrowId: string
  /** `true`: the task was done and `output` holds the answer; `false`: the worker gives up. */
  ok: boolean
  output: unknown
  issuedAt: number
}
export interface Result extends ResultBody {
  signature: string
}

const AGENT_ID = /^[0-9a-f]{64}$/
/** CFP ids are short so that escrow (`cfpId/winner`) and receipt ids stay within the ledger's id limit. */
const CFP_ID = /^[A-Za-z0-9._:@-]{1,64}$/

const err = (
  code: MarketErrorCode,
  msg: string,
  action: 'ignore' | 'reject' | 'penalise' = 'reject',
): never => {
  throw new MarketError(code, msg, { action })
}
const shape = (msg: string): never => err(MarketErrorCode.BAD_MESSAGE, msg)
const whole = (x: unknown, min: number): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= min

function checkSig(domain: string, body: unknown, signature: unknown, signer: string, what: string): void {
  if (typeof signature !== 'string') shape(`${what} is not signed`)
  if (!verify(domain, body, fromB64(signature as string), fromHex(signer)))
    err(
      MarketErrorCode.BAD_SIGNATURE,
      `${what}: signature does not verify for ${signer.slice(0, 12)}…`,
      'penalise',
    )
}

function obj(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) shape(`${what} is not an object`)
  return raw as Record<string, unknown>
}

// --------------------------------------------------------------------- CFP

export const cfpBody = (c: CfpBody): CfpBody => {
  const { id, requester, capability, payload, units, reserve, deadlineMs, mechanism, negotiation, issuedAt } =
    c
  return {
    id,
    requester,
    capability,
    payload,
    units,
    reserve,
    deadlineMs,
    mechanism,
    negotiation,
    issuedAt,
    resultTimeoutMs: c.resultTimeoutMs,
  }
}
export function signCfp(body: CfpBody, secretKey: Uint8Array): Cfp {
  const b = cfpBody(body)
  return { ...b, signature: toB64(sign(CFP_DOMAIN, b, secretKey)) }
}
/** When bids close. */
export const cfpCloseAt = (c: CfpBody): number => c.issuedAt + c.deadlineMs

/** Validate a CFP; with `now`, also refuse one whose bid window has closed. */
export function verifyCfp(raw: unknown, now?: number): Cfp {
  const c = obj(raw, 'CFP')
  if (typeof c.id !== 'string' || !CFP_ID.test(c.id)) shape(`CFP id must match ${CFP_ID}`)
  if (typeof c.requester !== 'string' || !AGENT_ID.test(c.requester))
    shape('CFP requester is not an agent id')
  if (typeof c.capability !== 'string' || c.capability.length === 0 || c.capability.length > 200)
    shape('CFP capability must be a non-empty string')
  if (!whole(c.units, 1)) shape('CFP units must be a whole number >= 1')
  if (!whole(c.reserve, 0)) shape('CFP reserve must be a whole number of credits >= 0')
  if (!whole(c.deadlineMs, 1)) shape('CFP deadlineMs must be a whole number of ms >= 1')
  if (c.resultTimeoutMs !== undefined && !whole(c.resultTimeoutMs, 1))
    shape('CFP resultTimeoutMs must be >= 1')
  if (!(MECHANISM_NAMES as readonly unknown[]).includes(c.mechanism))
    shape(`CFP mechanism must be one of ${MECHANISM_NAMES.join(', ')}`)
  if (typeof c.negotiation !== 'boolean') shape('CFP negotiation must be true or false')
  if (!whole(c.issuedAt, 0)) shape('CFP issuedAt must be a time in ms')
  const cfp = c as unknown as Cfp
  checkSig(CFP_DOMAIN, cfpBody(cfp), c.signature, cfp.requester, `CFP ${cfp.id}`)
  if (now !== undefined && now >= cfpCloseAt(cfp))
    err(MarketErrorCode.EXPIRED, `CFP ${cfp.id} closed at ${cfpCloseAt(cfp)}`, 'ignore')
  return cfp
}

// --------------------------------------------------------------------- Bid

export const bidBody = (b: BidBody): BidBody => ({
  cfpId: b.cfpId,
  bidder: b.bidder,
  offers: b.offers.map((o) => ({ units: o.units, price: o.price })),
  expiresAt: b.expiresAt,
})
export function signBid(body: BidBody, secretKey: Uint8Array): Bid {
  const b = bidBody(body)
  return { ...b, signature: toB64(sign(BID_DOMAIN, b, secretKey)) }
}

/** A well-formed bid signed by its bidder (no CFP checks); throws a MarketError otherwise. */
function signedBid(raw: unknown): Bid {
  const b = obj(raw, 'bid')
  if (typeof b.bidder !== 'string' || !AGENT_ID.test(b.bidder)) shape('bid bidder is not an agent id')
  if (!Array.isArray(b.offers) || b.offers.length === 0 || b.offers.length > MAX_OFFERS_PER_BID)
    shape(`bid offers must be a list of 1..${MAX_OFFERS_PER_BID}`)
  for (const o of b.offers as unknown[]) {
    const x = obj(o, 'offer')
    if (!whole(x.units, 1)) shape('offer units must be a whole number >= 1')
    if (!whole(x.price, 0)) shape('offer price must be a whole number of credits >= 0')
  }
  if (!whole(b.expiresAt, 0)) shape('bid expiresAt must be a time in ms')
  if (typeof b.cfpId !== 'string') shape('bid has no cfpId')
  const bid = b as unknown as Bid
  checkSig(BID_DOMAIN, bidBody(bid), b.signature, bid.bidder, `bid of ${bid.bidder.slice(0, 12)}…`)
  return bid
}

/**
 * Why `raw` is not a bid signed by its bidder (shape and signature only, no
 * CFP needed), or undefined. Third parties use it to check that a provider
 * really bid on a CFP (task evidence that travels with failure reports).
 */
export function bidSignatureProblem(raw: unknown): string | undefined {
  try {
    signedBid(raw)
    return undefined
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
}

/** Validate a bid against its CFP at time `now`. */
export function verifyBid(raw: unknown, cfp: CfpBody, now: number): Bid {
  const bid = signedBid(raw)
  if (bid.cfpId !== cfp.id)
    err(MarketErrorCode.CFP_MISMATCH, `bid is for CFP ${bid.cfpId}, not ${cfp.id}`, 'ignore')
  if (bid.bidder === cfp.requester)
    err(MarketErrorCode.BAD_MESSAGE, 'the requester cannot bid on its own CFP')
  const over = bid.offers.find((o) => o.units > cfp.units)
  if (over) err(MarketErrorCode.OVER_UNITS, `offer of ${over.units} units exceeds the ${cfp.units} wanted`)
  if (now >= cfpCloseAt(cfp)) err(MarketErrorCode.EXPIRED, `bid arrived after CFP ${cfp.id} closed`, 'ignore')
  if (bid.expiresAt <= now) err(MarketErrorCode.EXPIRED, `bid expired at ${bid.expiresAt}`, 'ignore')
  return bid
}

// ------------------------------------------------------------------- Award

export const awardBody = (a: AwardBody): AwardBody => {
  const { cfpId, requester, winner, units, price, payment, escrowId, resultDeadline, issuedAt, terms } = a
  return { cfpId, requester, winner, units, price, payment, escrowId, resultDeadline, issuedAt, terms }
}
export function signAward(body: AwardBody, secretKey: Uint8Array): Award {
  const b = awardBody(body)
  return { ...b, signature: toB64(sign(AWARD_DOMAIN, b, secretKey)) }
}
/** Validate an award (on the winner's side); with `expect`, check it answers the given CFP and bid. */
export function verifyAward(raw: unknown, expect: { cfp?: CfpBody; winner?: string } = {}): Award {
  const a = obj(raw, 'award')
  for (const k of ['cfpId', 'requester', 'winner', 'escrowId'] as const)
    if (typeof a[k] !== 'string') shape(`award ${k} is missing`)
  if (!AGENT_ID.test(a.requester as string)) shape('award requester is not an agent id')
  for (const k of ['units', 'price', 'payment', 'resultDeadline', 'issuedAt'] as const)
    if (!whole(a[k], 0)) shape(`award ${k} must be a whole number`)
  const award = a as unknown as Award
  checkSig(AWARD_DOMAIN, awardBody(award), a.signature, award.requester, `award for ${award.cfpId}`)
  if (award.terms !== undefined) {
    if (!validTerms(award.terms) || award.terms.price !== award.payment)
      shape('award terms do not match its payment')
  } else if (award.payment < award.price) shape('award pays less than the asking price')
  if (expect.cfp && (award.cfpId !== expect.cfp.id || award.requester !== expect.cfp.requester))
    err(MarketErrorCode.CFP_MISMATCH, `award does not answer CFP ${expect.cfp.id}`)
  if (expect.winner && award.winner !== expect.winner)
    err(MarketErrorCode.NOT_AWARDED, `award is for ${award.winner.slice(0, 12)}…`, 'ignore')
  return award
}

// ------------------------------------------------------------------ Result

export const resultBody = (r: ResultBody): ResultBody => {
  const { cfpId, worker, requester, escrowId, ok, output, issuedAt } = r
  return { cfpId, worker, requester, escrowId, ok, output, issuedAt }
}
export function signResult(body: ResultBody, secretKey: Uint8Array): Result {
  const b = resultBody(body)
  return { ...b, signature: toB64(sign(RESULT_DOMAIN, b, secretKey)) }
}
/** Validate a result against the award it answers. */
export function verifyResult(raw: unknown, award: AwardBody): Result {
  const r = obj(raw, 'result')
  if (typeof r.worker !== 'string' || !AGENT_ID.test(r.worker)) shape('result worker is not an agent id')
  if (typeof r.ok !== 'boolean') shape('result ok must be true or false')
  if (!whole(r.issuedAt, 0)) shape('result issuedAt must be a time in ms')
  const res = r as unknown as Result
  checkSig(RESULT_DOMAIN, resultBody(res), r.signature, res.worker, `result for ${String(res.cfpId)}`)
  if (res.cfpId !== award.cfpId || res.escrowId !== award.escrowId || res.requester !== award.requester)
    err(MarketErrorCode.CFP_MISMATCH, `result does not answer award ${award.escrowId}`, 'ignore')
  if (res.worker !== award.winner)
    err(MarketErrorCode.NOT_AWARDED, 'result comes from an agent that was not awarded')
  return res
}
