/**
 * Ed25519 signatures over canonical JSON. Every signed object in swarmd
 * (agent cards, CFPs, bids, awards, receipts, reputation reports) is signed
 * the same way: the signer signs `domain || 0x00 || canonicalJson(body)`,
 * where `domain` names the record kind (`swarmd/cfp/v1`) so a signature for
 * one kind can never be replayed as another.
 *
 * Canonical JSON: object keys sorted by code unit, no whitespace, numbers in
 * JavaScript's shortest round-trip form; `undefined` fields are dropped;
 * `Uint8Array` values are written as `{"$bytes":"<base64>"}`; non-finite
 * numbers and bigints are refused.
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { SwarmdError } from './errors.ts'

// Signing and verification use Node's built-in Ed25519 (OpenSSL): the same
// deterministic RFC 8032 signatures as @noble/curves, about ten times faster,
// which matters because every wire envelope is signed and verified. Keys are
// raw 32-byte values; they are wrapped in DER once and the KeyObjects cached.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const MAX_CACHED_KEYS = 4096
const privateKeys = new Map<string, KeyObject>()
const publicKeys = new Map<string, KeyObject>()

function cached(map: Map<string, KeyObject>, raw: Uint8Array, make: () => KeyObject): KeyObject {
  const id = Buffer.from(raw).toString('base64')
  let key = map.get(id)
  if (!key) {
    if (map.size >= MAX_CACHED_KEYS) map.clear()
    key = make()
    map.set(id, key)
  }
  return key
}

const privateKeyObject = (secretKey: Uint8Array): KeyObject =>
  cached(privateKeys, secretKey, () =>
    createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' }),
  )

const publicKeyObject = (publicKey: Uint8Array): KeyObject =>
  cached(publicKeys, publicKey, () =>
    createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' }),
  )

const enc = new TextEncoder()

export function canonicalJson(value: unknown): string {
  return write(value)
}

function write(v: unknown): string {
  if (v === null) return 'null'
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(v)) throw new SwarmdError('NOT_CANONICAL', 'cannot sign a non-finite number')
      return JSON.stringify(v)
    case 'string':
      return JSON.stringify(v)
    case 'object': {
      if (v instanceof Uint8Array) return `{"$bytes":${JSON.stringify(Buffer.from(v).toString('base64'))}}`
      if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : write(x))).join(',')}]`
      const obj = v as Record<string, unknown>
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort()
      return `{${keys.map((k) => `${JSON.stringify(k)}:${write(obj[k])}`).join(',')}}`
    }
    default:
      throw new SwarmdError('NOT_CANONICAL', `cannot sign a value of type ${typeof v}`)
  }
}

/** The exact bytes that are signed for `body` under `domain`. */
export function signingBytes(domain: string, body: unknown): Uint8Array {
  return enc.encode(`${domain}\u0000${canonicalJson(body)}`)
}

export interface Ed25519KeyPair {
  secretKey: Uint8Array
  publicKey: Uint8Array
}

export function generateSigningKey(): Ed25519KeyPair {
  const secretKey = ed25519.utils.randomSecretKey()
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) }
}

/** Derive the key pair of a 32-byte Ed25519 seed (for deterministic tests and stored keys). */
export function signingKeyFromSeed(seed: Uint8Array): Ed25519KeyPair {
  return { secretKey: seed, publicKey: ed25519.getPublicKey(seed) }
}

export function sign(domain: string, body: unknown, secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 32) throw new SwarmdError('BAD_KEY', 'an Ed25519 secret key is 32 bytes')
  return new Uint8Array(nodeSign(null, signingBytes(domain, body), privateKeyObject(secretKey)))
}

/** True only for a valid signature; never throws on malformed input. */
export function verify(domain: string, body: unknown, signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    if (signature.length !== 64 || publicKey.length !== 32) return false
    return nodeVerify(null, signingBytes(domain, body), publicKeyObject(publicKey), signature)
  } catch {
    return false
  }
}

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
export const toB64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')
export const fromB64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))
