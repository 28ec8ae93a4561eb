/**
 * Agent cards in the DHT. There is one card format in swarmd, the one of
 * src/e2e (`AgentCard = { body, sig }`, signed by the agent under
 * `swarmd/agent-card/v1`): the card a node stores under
 * `/swarmd-card/<agentId>` is byte for byte the card an agent presents inside
 * its Noise handshakes, so a handshake can be checked against the DHT.
 *
 * A card in the DHT must in addition name its hosting node (`node`,
 * `addresses`), a `seq` and an `expiresAt` (a bounded lifetime). The DHT
 * validator refuses unsigned, forged, expired, over-long or mis-keyed cards;
 * the selector keeps the newest (`seq`, then `issuedAt`).
 */
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'
import type { Clock } from '../common/index.ts'
import { canonicalJson, SwarmdError } from '../common/index.ts'
import { AGENT_CARD_DOMAIN, type AgentCard, verifyAgentCard } from '../e2e/index.ts'

export type { AgentCard, AgentCardBody } from '../e2e/index.ts'

export const CARD_DOMAIN = AGENT_CARD_DOMAIN
/** The DHT key namespace (the kad-dht validator/selector prefix). */
export const CARD_NAMESPACE = 'swarmd-card'
/** Longest accepted card lifetime. */
export const MAX_CARD_LIFETIME_MS = 7 * 24 * 3600_000
/** Cards issued further than this in the future are refused. */
export const CARD_CLOCK_SKEW_MS = 5 * 60_000
const MAX_CARD_BYTES = 16 * 1024
const BODY_KEYS = new Set([
  'v',
  'agentId',
  'signingKey',
  'noiseKey',
  'caps',
  'priceHints',
  'node',
  'addresses',
  'seq',
  'issuedAt',
  'expiresAt',
  'pq',
])

export function cardKey(agentId: string): Uint8Array {
  return new TextEncoder().encode(`/${CARD_NAMESPACE}/${agentId}`)
}

export function encodeCard(card: AgentCard): Uint8Array {
  return new TextEncoder().encode(canonicalJson(card))
}

const bad = (msg: string) =>
  new SwarmdError('CARD_INVALID', `agent card rejected: ${msg}`, { action: 'reject' })

/**
 * The checks a card must pass to live in the DHT, beyond `verifyAgentCard`
 * (signature and shapes): the hosting node, a seq, and a bounded, current
 * lifetime. Throws `CARD_INVALID`.
 */
export function checkDhtCard(card: unknown, now: number, expectedAgentId?: string): AgentCard {
  if (typeof card !== 'object' || card === null || Array.isArray(card)) throw bad('not an object')
  const c = card as Record<string, unknown>
  for (const k of Object.keys(c)) if (k !== 'body' && k !== 'sig') throw bad(`unknown field ${k}`)
  const body = c.body as Record<string, unknown> | undefined
  if (typeof body === 'object' && body !== null)
    for (const k of Object.keys(body)) if (!BODY_KEYS.has(k)) throw bad(`unknown field body.${k}`)
  if (!verifyAgentCard(card)) throw bad('malformed or signature does not verify')
  const b = card.body
  if (expectedAgentId !== undefined && b.agentId !== expectedAgentId)
    throw bad('stored under another agent id')
  if (b.signingKey !== b.agentId) throw bad('signingKey must equal agentId')
  if (typeof b.node !== 'string' || b.node.length === 0) throw bad('node must be a peer id')
  if (b.addresses === undefined) throw bad('addresses missing')
  if (b.seq === undefined) throw bad('seq missing')
  if (b.expiresAt === undefined) throw bad('expiresAt missing')
  if (b.expiresAt <= now) throw bad('expired')
  if (b.issuedAt > now + CARD_CLOCK_SKEW_MS) throw bad('issued in the future')
  if (b.expiresAt - b.issuedAt > MAX_CARD_LIFETIME_MS) throw bad('lifetime too long')
  return card
}

/** Parse and fully check a DHT card (size, JSON, signature, fields, lifetime). Throws `CARD_INVALID`. */
export function decodeCard(bytes: Uint8Array, now: number, expectedAgentId?: string): AgentCard {
  if (bytes.length > MAX_CARD_BYTES) throw bad(`${bytes.length} bytes > ${MAX_CARD_BYTES}`)
  let c: unknown
  try {
    c = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw bad('not JSON')
  }
  return checkDhtCard(c, now, expectedAgentId)
}

/** True when `a` supersedes `b` (higher seq, then later issuedAt). */
export function newerCard(a: AgentCard, b: AgentCard | undefined): boolean {
  if (!b) return true
  const sa = a.body.seq ?? 0
  const sb = b.body.seq ?? 0
  return sa > sb || (sa === sb && a.body.issuedAt > b.body.issuedAt)
}

function agentIdOfKey(key: Uint8Array): string {
  const s = new TextDecoder().decode(key)
  const prefix = `/${CARD_NAMESPACE}/`
  if (!s.startsWith(prefix)) throw bad(`wrong key ${s.slice(0, 80)}`)
  return s.slice(prefix.length)
}

/** kad-dht validator for `/swarmd-card/<agentId>`. */
export function cardValidator(clock: Clock): ValidateFn {
  return (key, value) => {
    decodeCard(value, clock.now(), agentIdOfKey(key))
  }
}

/** kad-dht selector: the valid card with the highest seq (then the latest issuedAt) wins. */
export function cardSelector(clock: Clock): SelectFn {
  return (key, records) => {
    let best = 0
    let bestCard: AgentCard | undefined
    const agentId = agentIdOfKey(key)
    records.forEach((r, i) => {
      let card: AgentCard
      try {
        card = decodeCard(r, clock.now(), agentId)
      } catch {
        return
      }
      if (newerCard(card, bestCard)) {
        best = i
        bestCard = card
      }
    })
    return best
  }
}
