/**
 * Signed agent cards: what a node publishes about an agent it hosts, stored
 * in the DHT under `/swarmd-card/<agentId>`. The agent id is the hex Ed25519
 * public key of the agent, so a card verifies from its key alone. The DHT
 * validator refuses unsigned, forged, expired or mis-keyed cards; the
 * selector keeps the newest (`seq`, then `issuedAt`).
 */
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'
import type { Clock } from '../common/index.ts'
import { canonicalJson, fromHex, SwarmdError, sign, toHex, verify } from '../common/index.ts'

export const CARD_DOMAIN = 'swarmd/agent-card/v1'
/** The DHT key namespace (the kad-dht validator/selector prefix). */
export const CARD_NAMESPACE = 'swarmd-card'
/** Longest accepted card lifetime. */
export const MAX_CARD_LIFETIME_MS = 7 * 24 * 3600_000
/** Cards issued further than this in the future are refused. */
export const CARD_CLOCK_SKEW_MS = 5 * 60_000
const MAX_CARD_BYTES = 16 * 1024
const HEX64 = /^[0-9a-f]{64}$/

export interface AgentCardBody {
  /** Lowercase hex of the agent's 32-byte Ed25519 public key. */
  agentId: string
  /** Hex Ed25519 public key that signs the card (must equal agentId). */
  signingKey: string
  /** Hex X25519 public key for Noise end-to-end sessions with the agent. */
  noiseKey: string
  capabilities: string[]
  /** Indicative prices by capability, in credits. */
  priceHints: Record<string, number>
  /** Peer id of the hosting node. */
  node: string
  /** Multiaddrs of the hosting node. */
  addresses: string[]
  /** Monotonic sequence number; the highest wins. */
  seq: number
  issuedAt: number
  expiresAt: number
}

export interface AgentCard extends AgentCardBody {
  /** Hex Ed25519 signature over `swarmd/agent-card/v1 \0 canonicalJson(body)`. */
  signature: string
}

export function cardKey(agentId: string): Uint8Array {
  return new TextEncoder().encode(`/${CARD_NAMESPACE}/${agentId}`)
}

export function signCard(body: AgentCardBody, secretKey: Uint8Array): AgentCard {
  return { ...body, signature: toHex(sign(CARD_DOMAIN, body, secretKey)) }
}

export function encodeCard(card: AgentCard): Uint8Array {
  return new TextEncoder().encode(canonicalJson(card))
}

const bad = (msg: string) =>
  new SwarmdError('CARD_INVALID', `agent card rejected: ${msg}`, { action: 'reject' })

/** Parse and fully check a card (structure, key, signature, lifetime). Throws `CARD_INVALID`. */
export function decodeCard(bytes: Uint8Array, now: number, expectedAgentId?: string): AgentCard {
  if (bytes.length > MAX_CARD_BYTES) throw bad(`${bytes.length} bytes > ${MAX_CARD_BYTES}`)
  let c: Record<string, unknown>
  try {
    c = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>
  } catch {
    throw bad('not JSON')
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad('not an object')
  const str = (k: string) => typeof c[k] === 'string'
  const int = (k: string) => Number.isSafeInteger(c[k])
  if (!str('agentId') || !HEX64.test(c.agentId as string)) throw bad('agentId must be 64 lowercase hex chars')
  if (c.signingKey !== c.agentId) throw bad('signingKey must equal agentId')
  if (!str('noiseKey') || !HEX64.test(c.noiseKey as string))
    throw bad('noiseKey must be 64 lowercase hex chars')
  if (!Array.isArray(c.capabilities) || !c.capabilities.every((x) => typeof x === 'string'))
    throw bad('capabilities must be a list of strings')
  const ph = c.priceHints
  if (
    typeof ph !== 'object' ||
    ph === null ||
    Array.isArray(ph) ||
    !Object.values(ph).every(Number.isSafeInteger)
  )
    throw bad('priceHints must map names to integers')
  if (!str('node')) throw bad('node must be a peer id')
  if (!Array.isArray(c.addresses) || !c.addresses.every((x) => typeof x === 'string')) throw bad('addresses')
  if (!int('seq') || (c.seq as number) < 0) throw bad('seq must be a non-negative integer')
  if (!int('issuedAt') || !int('expiresAt')) throw bad('issuedAt/expiresAt must be integers')
  if (!str('signature') || !/^[0-9a-f]{128}$/.test(c.signature as string)) throw bad('unsigned')
  const known = new Set([
    'agentId',
    'signingKey',
    'noiseKey',
    'capabilities',
    'priceHints',
    'node',
    'addresses',
    'seq',
    'issuedAt',
    'expiresAt',
    'signature',
  ])
  for (const k of Object.keys(c)) if (!known.has(k)) throw bad(`unknown field ${k}`)
  const card = c as unknown as AgentCard
  if (expectedAgentId !== undefined && card.agentId !== expectedAgentId)
    throw bad('stored under another agent id')
  const { signature, ...body } = card
  if (!verify(CARD_DOMAIN, body, fromHex(signature), fromHex(card.agentId)))
    throw bad('signature does not verify')
  if (card.expiresAt <= now) throw bad('expired')
  if (card.issuedAt > now + CARD_CLOCK_SKEW_MS) throw bad('issued in the future')
  if (card.expiresAt - card.issuedAt > MAX_CARD_LIFETIME_MS) throw bad('lifetime too long')
  return card
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
      if (
        !bestCard ||
        card.seq > bestCard.seq ||
        (card.seq === bestCard.seq && card.issuedAt > bestCard.issuedAt)
      ) {
        best = i
        bestCard = card
      }
    })
    return best
  }
}
