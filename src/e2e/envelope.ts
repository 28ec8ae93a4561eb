/**
 * The envelope a node forwards or stores. In clear it carries only what
 * delivery needs: the recipient agent id, a message id (for deduplication
 * and mailbox bookkeeping), hop information (TTL and the peers it crossed, for
 * loop prevention) and, for session frames only, the sender agent id to reply
 * to. The body is a SessionManager frame or a sealed (Noise X) message: relays
 * and mailboxes see ciphertext only.
 *
 * Wire form: `u16 headerLength || header (JSON) || body`.
 */
import { E2E_ERRORS, E2eError } from './errors.ts'

export const ENVELOPE_KIND = { SESSION: 'session', SEALED: 'sealed' } as const
export type EnvelopeKind = (typeof ENVELOPE_KIND)[keyof typeof ENVELOPE_KIND]
/** @default 8 hops */
export const DEFAULT_ENVELOPE_TTL = 8
const MAX_HEADER = 4096

export interface Envelope {
  v: 1
  /** 32 hex chars, random per message. */
  id: string
  /** Recipient agent id. */
  to: string
  kind: EnvelopeKind
  /** Sender agent id for replies (session frames); absent for sealed messages. */
  replyTo?: string
  /** Remaining hops. */
  ttl: number
  /** Peer ids of the nodes that forwarded it so far. */
  path: string[]
  body: Uint8Array
}

type Header = Omit<Envelope, 'body'>

const HEX64 = /^[0-9a-f]{64}$/

export function newEnvelope(init: {
  id: Uint8Array
  to: string
  kind: EnvelopeKind
  body: Uint8Array
  replyTo?: string
  ttl?: number
}): Envelope {
  if (init.id.length !== 16) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'envelope id has 16 bytes')
  return {
    v: 1,
    id: Buffer.from(init.id).toString('hex'),
    to: init.to,
    kind: init.kind,
    ...(init.replyTo === undefined ? {} : { replyTo: init.replyTo }),
    ttl: init.ttl ?? DEFAULT_ENVELOPE_TTL,
    path: [],
    body: init.body,
  }
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  const { body, ...header } = e
  const h = new TextEncoder().encode(JSON.stringify(header))
  if (h.length > MAX_HEADER) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'envelope header too large')
  const out = new Uint8Array(2 + h.length + body.length)
  new DataView(out.buffer).setUint16(0, h.length)
  out.set(h, 2)
  out.set(body, 2 + h.length)
  return out
}

export function decodeEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.length < 2) throw new E2eError(E2E_ERRORS.TRUNCATED, 'envelope too short')
  const hl = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0)
  if (2 + hl > bytes.length) throw new E2eError(E2E_ERRORS.TRUNCATED, 'envelope header truncated')
  let h: Partial<Header>
  try {
    h = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(2, 2 + hl)),
    ) as Partial<Header>
  } catch (cause) {
    throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'envelope header is not JSON', { cause })
  }
  const ok =
    h !== null &&
    typeof h === 'object' &&
    h.v === 1 &&
    typeof h.id === 'string' &&
    /^[0-9a-f]{32}$/.test(h.id) &&
    typeof h.to === 'string' &&
    HEX64.test(h.to) &&
    (h.kind === 'session' || h.kind === 'sealed') &&
    (h.replyTo === undefined || (typeof h.replyTo === 'string' && HEX64.test(h.replyTo))) &&
    Number.isSafeInteger(h.ttl) &&
    Array.isArray(h.path) &&
    h.path.every((p) => typeof p === 'string')
  if (!ok) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'malformed envelope header')
  return { ...(h as Header), body: bytes.slice(2 + hl) }
}

/**
 * The envelope as the next hop should receive it from `self`: TTL decremented,
 * `self` appended to the path. Throws `E2E_BAD_MESSAGE` when the TTL is spent
 * or the envelope already crossed `self` (a loop).
 */
export function forwardEnvelope(e: Envelope, self: string): Envelope {
  if (e.ttl <= 0) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'envelope TTL exhausted', { action: 'ignore' })
  if (e.path.includes(self)) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'envelope loop', { action: 'ignore' })
  return { ...e, ttl: e.ttl - 1, path: [...e.path, self] }
}
