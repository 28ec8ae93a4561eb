/**
 * What the market service puts on the network, and the defensive decoders
 * for what comes back. Two carriers:
 *
 *  - the **routed CFP** (the payload of a `/swarmd/route/1.0.0` CFP): JSON
 *    `{ v: 1, cfp, card }`, the CFP signed by the requester agent and the
 *    requester's agent card (signed by the same key), which tells providers
 *    where to send bids (card.body.node, card.body.addresses) and which Noise
 *    key to seal them to;
 *  - **`/swarmd/market/1.0.0`** wire requests, one per message. The payload is
 *    JSON `{ to, sealed }`: `to` the recipient agent id, `sealed` (base64) a
 *    Noise X sealed message from the sending agent to `to` (src/e2e `seal`)
 *    whose plaintext is the JSON body below. Reply: `market.ack` `{ ok, code?, reason? }`.
 *
 *   type            sender → recipient     sealed body
 *   market.bid      bidder → requester     { bid, card }          card: the bidder's card (to seal the award)
 *   market.award    requester → winner     { award, card }        card: the requester's current card
 *   market.result   winner → requester     { result }
 *   market.receipt  requester → winner     { receipt }            cross-node payment of a remote winner
 *   market.negotiate requester ↔ winner    { message, units?, ask?, budget?, maxRounds?, deadline? }
 *                                          a signed NegotiationMessage (negotiate.ts); the context fields
 *                                          come from the requester
 */
import { fromB64, toB64 } from '../../common/index.ts'
import type { AgentCard } from '../../e2e/index.ts'
import { verifyAgentCard } from '../../e2e/index.ts'
import { type Cfp, MarketError, MarketErrorCode } from '../../market/index.ts'

export const MARKET_PROTOCOL = '/swarmd/market/1.0.0'

export const MARKET_MSG = {
  BID: 'market.bid',
  AWARD: 'market.award',
  RESULT: 'market.result',
  RECEIPT: 'market.receipt',
  NEGOTIATE: 'market.negotiate',
  /** A slash claim: the requester's signed award whose result deadline passed (slashing.ts). */
  SLASH: 'market.slash',
  ACK: 'market.ack',
} as const
export type MarketMsgType = (typeof MARKET_MSG)[Exclude<keyof typeof MARKET_MSG, 'ACK'>]
export const MARKET_MSG_TYPES: MarketMsgType[] = [
  MARKET_MSG.BID,
  MARKET_MSG.AWARD,
  MARKET_MSG.RESULT,
  MARKET_MSG.RECEIPT,
  MARKET_MSG.NEGOTIATE,
  MARKET_MSG.SLASH,
]

export interface MarketAck {
  ok: boolean
  code?: string
  reason?: string
}

export interface RoutedCfp {
  v: 1
  cfp: Cfp
  card: AgentCard
}

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })
const AGENT_ID = /^[0-9a-f]{64}$/

const bad = (msg: string, action: 'ignore' | 'reject' | 'penalise' = 'reject'): never => {
  throw new MarketError(MarketErrorCode.BAD_MESSAGE, msg, { action })
}

export const encodeJson = (x: unknown): Uint8Array => enc.encode(JSON.stringify(x))

/** Parse JSON bytes within `maxBytes`; any failure is a typed, penalising `MARKET_BAD_MESSAGE`. */
export function decodeJson(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (bytes.length > maxBytes) bad(`${what}: ${bytes.length} bytes exceeds ${maxBytes}`)
  try {
    return JSON.parse(dec.decode(bytes))
  } catch {
    return bad(`${what} is not valid JSON`)
  }
}

function obj(x: unknown, what: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) bad(`${what} is not an object`)
  return x as Record<string, unknown>
}

/** A valid agent card for `agentId` (signature checked), or a penalising error. */
export function checkCard(raw: unknown, agentId: string, what: string): AgentCard {
  if (!verifyAgentCard(raw)) return bad(`${what}: agent card is malformed or not signed`, 'penalise')
  if (raw.body.agentId !== agentId) bad(`${what}: agent card is for another agent`, 'penalise')
  if (typeof raw.body.node !== 'string') bad(`${what}: agent card names no node`)
  return raw
}

export function encodeRoutedCfp(cfp: Cfp, card: AgentCard): Uint8Array {
  return encodeJson({ v: 1, cfp, card } satisfies RoutedCfp)
}

/** Shape of a routed CFP (signatures are checked by the caller with `verifyCfp` and `checkCard`). */
export function decodeRoutedCfp(bytes: Uint8Array, maxBytes: number): { cfp: unknown; card: unknown } {
  const o = obj(decodeJson(bytes, maxBytes, 'routed CFP'), 'routed CFP')
  if (o.v !== 1) bad(`routed CFP version ${String(o.v)} is not supported`)
  return { cfp: o.cfp, card: o.card }
}

export function encodeSealed(to: string, sealed: Uint8Array): Uint8Array {
  return encodeJson({ to, sealed: toB64(sealed) })
}

/** The outer `{ to, sealed }` of a market wire message. */
export function decodeSealed(bytes: Uint8Array, maxBytes: number): { to: string; sealed: Uint8Array } {
  const o = obj(decodeJson(bytes, maxBytes, 'market message'), 'market message')
  if (typeof o.to !== 'string' || !AGENT_ID.test(o.to)) bad('market message: "to" is not an agent id')
  if (typeof o.sealed !== 'string' || o.sealed.length === 0) bad('market message has no sealed body')
  let sealed: Uint8Array
  try {
    sealed = fromB64(o.sealed as string)
  } catch {
    return bad('market message: sealed body is not base64')
  }
  return { to: o.to as string, sealed }
}

/** The plaintext JSON object inside a sealed message. */
export function decodeBody(bytes: Uint8Array, maxBytes: number, what: string): Record<string, unknown> {
  return obj(decodeJson(bytes, maxBytes, what), what)
}

export function encodeAck(ack: MarketAck): Uint8Array {
  return encodeJson(ack)
}

export function decodeAck(bytes: Uint8Array): MarketAck {
  try {
    const o = JSON.parse(dec.decode(bytes)) as MarketAck
    if (typeof o?.ok !== 'boolean') return { ok: false, reason: 'malformed acknowledgement' }
    return o
  } catch {
    return { ok: false, reason: 'malformed acknowledgement' }
  }
}
