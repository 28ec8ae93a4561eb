/**
 * Validation of an inbound routed CFP, before any routing work. Pure: the
 * caller supplies its own id, the sender (the envelope signer, i.e. the
 * connected peer) and a way to get an origin's public key. A message that
 * fails is dropped and its sender penalised (`DROP_PENALTY`).
 */
import { checkCapabilityName } from '../discovery.ts'
import { MAX_PATH, type RouteCfp, verifyOrigin } from './messages.ts'

/** The largest TTL (plus hops already taken) any swarmd node accepts; `routing.ttl` is at most this. */
export const MAX_TTL = 64

export const DROP_REASONS = {
  MALFORMED: 'malformed',
  BAD_TTL: 'bad-ttl',
  LOOP: 'loop',
  FORGED_ORIGIN: 'forged-origin',
} as const
export type DropReason = (typeof DROP_REASONS)[keyof typeof DROP_REASONS]

/** Peer score points lost per dropped message. */
export const DROP_PENALTY: Record<DropReason, number> = {
  malformed: 25,
  'bad-ttl': 25,
  loop: 25,
  'forged-origin': 50,
}

export interface CfpCheck {
  /** This node's peer id. */
  self: string
  /** The peer that sent the message (the envelope signer). */
  sender: string
  /** The origin's Ed25519 public key (from its peer id), or undefined when it has none. */
  originKey: (origin: string) => Uint8Array | undefined
  /** @default MAX_TTL */
  maxTtl?: number
}

export interface Invalid {
  reason: DropReason
  detail: string
}

const CFP_ID_RE = /^[0-9a-f]{32}$/

/** Returns why the message must be dropped, or undefined when it is acceptable. */
export function checkCfp(c: RouteCfp, o: CfpCheck): Invalid | undefined {
  const maxTtl = o.maxTtl ?? MAX_TTL
  if (!CFP_ID_RE.test(c.cfpId)) return { reason: 'malformed', detail: 'cfpId must be 32 hex chars' }
  try {
    checkCapabilityName(c.capability)
  } catch {
    return { reason: 'malformed', detail: 'invalid capability name' }
  }
  if (c.path.length === 0 || c.path.length > MAX_PATH)
    return { reason: 'malformed', detail: `path of ${c.path.length} peers` }
  if (c.hopTimes.length !== c.path.length)
    return { reason: 'malformed', detail: 'hop times do not match the path' }
  if (c.hops.length > c.path.length) return { reason: 'malformed', detail: 'more decisions than hops' }
  if (!Number.isInteger(c.ttl) || c.ttl <= 0) return { reason: 'bad-ttl', detail: `ttl ${c.ttl}` }
  if (c.ttl + c.path.length - 1 > maxTtl)
    return { reason: 'bad-ttl', detail: `ttl ${c.ttl} after ${c.path.length - 1} hops exceeds ${maxTtl}` }
  if (c.path[0] !== c.origin) return { reason: 'forged-origin', detail: 'path does not start at the origin' }
  if (c.path[c.path.length - 1] !== o.sender)
    return { reason: 'forged-origin', detail: 'the sender is not the last node on the path' }
  if (c.path.includes(o.self)) return { reason: 'loop', detail: 'this node is already on the path' }
  if (new Set(c.path).size !== c.path.length)
    return { reason: 'loop', detail: 'a peer appears twice on the path' }
  const key = o.originKey(c.origin)
  if (!key || !verifyOrigin(c, key))
    return { reason: 'forged-origin', detail: 'origin signature does not verify' }
  return undefined
}
