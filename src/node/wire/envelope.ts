/**
 * The signed, versioned envelope every swarmd stream protocol carries (see
 * proto/envelope.proto and docs/wire.md). Pure functions: seal, encode,
 * decode defensively, validate. Every failure is a `WireError` whose `reason`
 * says how the peer should be scored.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { SwarmdError, sign, toHex, verify } from '../../common/index.ts'
import { decodeMessage, encodeMessage, protoType } from './codec.ts'

export const ENVELOPE_VERSION = 1
export const ENVELOPE_DOMAIN = 'swarmd/envelope/v1'
export const NONCE_BYTES = 16
const TYPE_RE = /^[a-z0-9][a-z0-9._/-]{0,63}$/

export interface Envelope {
  version: number
  type: string
  payload: Uint8Array
  /** 32-byte Ed25519 public key of the sending node. */
  sender: Uint8Array
  /** Milliseconds since the Unix epoch. */
  timestamp: number
  nonce: Uint8Array
  signature: Uint8Array
}

/** What a protocol sends: the wire seals it into an `Envelope`. */
export interface OutboundMessage {
  type: string
  payload: Uint8Array
}

export const WIRE_REJECT = {
  MALFORMED: 'malformed',
  OVERSIZED: 'oversized',
  TRUNCATED: 'truncated',
  UNSUPPORTED: 'unsupported',
  BAD_SIGNATURE: 'bad-signature',
  WRONG_SENDER: 'wrong-sender',
  STALE: 'stale',
  REPLAY: 'replay',
} as const
export type WireRejectReason = (typeof WIRE_REJECT)[keyof typeof WIRE_REJECT]

export class WireError extends SwarmdError<'WIRE_REJECTED', { reason: WireRejectReason }> {
  readonly reason: WireRejectReason
  constructor(reason: WireRejectReason, message: string, cause?: unknown) {
    super('WIRE_REJECTED', `${reason}: ${message}`, { payload: { reason }, action: 'penalise', cause })
    this.name = 'WireError'
    this.reason = reason
  }
}

const envelopeType = () => protoType('envelope.proto', 'swarmd.wire.Envelope')

function signedBody(env: Omit<Envelope, 'signature'>): Record<string, unknown> {
  return {
    version: env.version,
    type: env.type,
    payload: env.payload,
    sender: env.sender,
    timestamp: env.timestamp,
    nonce: env.nonce,
  }
}

export interface Signer {
  /** 32-byte Ed25519 public key. */
  publicKey: Uint8Array
  /** 32-byte Ed25519 secret seed. */
  secretKey: Uint8Array
}

/**
 * Seal `msg` as `signer`. `signed: false` leaves the signature empty: only for
 * the mux session, whose Noise channel already authenticates the sending node
 * (see docs/wire.md, "Signatures").
 */
export function sealEnvelope(
  msg: OutboundMessage,
  signer: Signer,
  now: number,
  nonce: Uint8Array,
  signed = true,
): Envelope {
  if (!TYPE_RE.test(msg.type))
    throw new SwarmdError('WIRE_BAD_TYPE', `invalid envelope type ${JSON.stringify(msg.type)}`)
  const body = {
    version: ENVELOPE_VERSION,
    type: msg.type,
    payload: msg.payload,
    sender: signer.publicKey,
    timestamp: now,
    nonce,
  }
  if (!signed) return { ...body, signature: new Uint8Array(0) }
  return { ...body, signature: sign(ENVELOPE_DOMAIN, signedBody(body), signer.secretKey) }
}

export function encodeEnvelope(env: Envelope): Uint8Array {
  return encodeMessage(envelopeType(), { ...env })
}

const asBytes = (v: unknown): Uint8Array =>
  v instanceof Uint8Array ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array()

/** Decode one frame. Structural checks only (no signature): throws `WireError`. */
export function decodeEnvelope(bytes: Uint8Array, maxBytes = 1024 * 1024, allowUnsigned = false): Envelope {
  if (bytes.length > maxBytes)
    throw new WireError('oversized', `frame of ${bytes.length} bytes > ${maxBytes}`)
  if (bytes.length === 0) throw new WireError('malformed', 'empty frame')
  let raw: Record<string, unknown>
  try {
    raw = decodeMessage(envelopeType(), bytes)
  } catch (err) {
    throw new WireError('malformed', `undecodable envelope (${(err as Error).message})`, err)
  }
  const env: Envelope = {
    version: Number(raw.version),
    type: String(raw.type ?? ''),
    payload: asBytes(raw.payload),
    sender: asBytes(raw.sender),
    timestamp: Number(raw.timestamp),
    nonce: asBytes(raw.nonce),
    signature: asBytes(raw.signature),
  }
  if (env.version !== ENVELOPE_VERSION) {
    throw new WireError(
      'unsupported',
      `envelope version ${env.version} (this node speaks ${ENVELOPE_VERSION})`,
    )
  }
  if (!TYPE_RE.test(env.type))
    throw new WireError('malformed', `invalid type ${JSON.stringify(env.type.slice(0, 80))}`)
  if (env.sender.length !== 32) throw new WireError('malformed', `sender key of ${env.sender.length} bytes`)
  if (env.nonce.length !== NONCE_BYTES) throw new WireError('malformed', `nonce of ${env.nonce.length} bytes`)
  if (env.signature.length !== 64 && !(allowUnsigned && env.signature.length === 0))
    throw new WireError('malformed', `signature of ${env.signature.length} bytes`)
  if (!Number.isSafeInteger(env.timestamp) || env.timestamp <= 0)
    throw new WireError('malformed', 'bad timestamp')
  return env
}

export interface ValidateOptions {
  now: number
  maxClockSkewMs: number
  /** When set, the sender key must equal this (the remote peer's key). */
  expectedSender?: Uint8Array
  /** Accepted message types; absent = any. */
  types?: ReadonlySet<string>
  /** Replay guard: returns false when the nonce was already seen. */
  checkNonce?: (nonceHex: string, timestamp: number) => boolean
  /**
   * The transport authenticated the sender (a Noise session with the peer
   * whose key is `expectedSender`): an envelope without a signature is
   * accepted. One that carries a signature is still verified.
   */
  channelAuthenticated?: boolean
}

/** Semantic checks of a decoded envelope, in order: type, sender, timestamp skew, signature, replay. */
export function validateEnvelope(env: Envelope, opts: ValidateOptions): void {
  if (opts.types && !opts.types.has(env.type))
    throw new WireError('unsupported', `unexpected type ${env.type}`)
  if (opts.expectedSender && !bytesEqual(opts.expectedSender, env.sender)) {
    throw new WireError('wrong-sender', 'envelope sender is not the connected peer')
  }
  if (Math.abs(env.timestamp - opts.now) > opts.maxClockSkewMs) {
    throw new WireError('stale', `timestamp ${env.timestamp} is ${env.timestamp - opts.now} ms off`)
  }
  const { signature, ...body } = env
  const unsignedOk = opts.channelAuthenticated === true && opts.expectedSender !== undefined
  if (signature.length === 0 && !unsignedOk) throw new WireError('bad-signature', 'envelope is not signed')
  if (signature.length > 0 && !verify(ENVELOPE_DOMAIN, signedBody(body), signature, env.sender)) {
    throw new WireError('bad-signature', 'envelope signature does not verify')
  }
  if (opts.checkNonce && !opts.checkNonce(toHex(env.nonce), env.timestamp)) {
    throw new WireError('replay', 'nonce already seen')
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Bounded replay guard: remembers nonces for `windowMs` (at most `max` of them). */
export function nonceGuard(windowMs: number, max = 100_000): (nonceHex: string, ts: number) => boolean {
  const seen = new Map<string, number>()
  return (nonceHex, ts) => {
    if (seen.has(nonceHex)) return false
    if (seen.size >= max) {
      for (const [k, t] of seen) {
        if (seen.size < max * 0.9 && t > ts - windowMs) break
        seen.delete(k)
      }
    }
    seen.set(nonceHex, ts)
    return true
  }
}

/** The Ed25519 public key a libp2p peer id carries (a node's identity key), or undefined. */
export function nodeKeyOf(peerId: string): Uint8Array | undefined {
  try {
    const key = peerIdFromString(peerId).publicKey
    return key?.type === 'Ed25519' ? key.raw : undefined
  } catch {
    return undefined
  }
}
