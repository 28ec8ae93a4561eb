/**
 * The Noise primitives (spec revision 34, sections 4 and 12) on audited
 * implementations: X25519 from Node's crypto (OpenSSL; about 25× faster than
 * @noble/curves, identical results: the standard vectors pass), ChaChaPoly (RFC 8439) from
 * @noble/ciphers, SHA256 / BLAKE2s / BLAKE2b from @noble/hashes, with HMAC and
 * HKDF exactly as section 4.3 defines them (not RFC 5869's HKDF, whose info
 * and salt handling differ).
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject, randomBytes } from 'node:crypto'
import { blake2b, blake2s } from '@noble/hashes/blake2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { E2E_ERRORS, E2eError } from '../errors.ts'

export const DHLEN = 32
export const TAGLEN = 16
/** 2^64 - 1: reserved by the spec for REKEY, never used as a message nonce. */
export const MAX_NONCE = (1n << 64n) - 1n

export interface KeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')
/** KeyObjects of recent static keys (an agent's key is used for every sealed message). */
const privateKeys = new Map<string, KeyObject>()
const MAX_CACHED = 256

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  const id = Buffer.from(secretKey).toString('base64')
  let k = privateKeys.get(id)
  if (!k) {
    k = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' })
    if (privateKeys.size >= MAX_CACHED) privateKeys.delete(privateKeys.keys().next().value as string)
    privateKeys.set(id, k)
  }
  return k
}

function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  const der = createPublicKey(privateKeyObject(secretKey)).export({ format: 'der', type: 'spki' })
  return new Uint8Array(der.subarray(der.length - DHLEN))
}

export function generateKeyPair(): KeyPair {
  const secretKey = new Uint8Array(randomBytes(DHLEN))
  return { secretKey, publicKey: publicKeyOf(secretKey) }
}

export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  if (secretKey.length !== DHLEN)
    throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'an X25519 secret key has 32 bytes')
  return { secretKey, publicKey: publicKeyOf(secretKey) }
}

/** DH(kp, pk). A low-order or otherwise invalid public key is rejected (all-zero output). */
export function dh(kp: KeyPair, publicKey: Uint8Array): Uint8Array {
  let out: Uint8Array
  try {
    if (publicKey.length !== DHLEN) throw new Error(`${publicKey.length} bytes`)
    const pub = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
    out = new Uint8Array(diffieHellman({ privateKey: privateKeyObject(kp.secretKey), publicKey: pub }))
  } catch (cause) {
    throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'invalid X25519 public key in handshake', { cause })
  }
  // OpenSSL refuses an all-zero result already; keep the check explicit (low-order points).
  if (out.every((b) => b === 0))
    throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'invalid X25519 public key in handshake (low order)')
  return out
}

/** ChaChaPoly nonce: 32 bits of zeros followed by the little-endian 64-bit counter. */
function nonceBytes(n: bigint): Uint8Array {
  const out = new Uint8Array(12)
  new DataView(out.buffer).setBigUint64(4, n, true)
  return out
}

export function aeadEncrypt(k: Uint8Array, n: bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return chacha20poly1305(k, nonceBytes(n), ad).encrypt(plaintext)
}

export function aeadDecrypt(k: Uint8Array, n: bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length < TAGLEN) throw new E2eError(E2E_ERRORS.TRUNCATED, 'ciphertext shorter than its tag')
  try {
    return chacha20poly1305(k, nonceBytes(n), ad).decrypt(ciphertext)
  } catch (cause) {
    throw new E2eError(E2E_ERRORS.DECRYPT_FAILED, 'authentication tag mismatch', { cause })
  }
}

/** REKEY(k) = first 32 bytes of ENCRYPT(k, maxnonce, zerolen, zeros). */
export function rekey(k: Uint8Array): Uint8Array {
  return aeadEncrypt(k, MAX_NONCE, new Uint8Array(0), new Uint8Array(32)).subarray(0, 32)
}

export interface HashFn {
  name: 'SHA256' | 'SHA512' | 'BLAKE2s' | 'BLAKE2b'
  hashLen: number
  hash(data: Uint8Array): Uint8Array
  hmac(key: Uint8Array, data: Uint8Array): Uint8Array
}

export const HASHES: Record<string, HashFn> = {
  SHA256: { name: 'SHA256', hashLen: 32, hash: (d) => sha256(d), hmac: (k, d) => hmac(sha256, k, d) },
  SHA512: { name: 'SHA512', hashLen: 64, hash: (d) => sha512(d), hmac: (k, d) => hmac(sha512, k, d) },
  BLAKE2s: { name: 'BLAKE2s', hashLen: 32, hash: (d) => blake2s(d), hmac: (k, d) => hmac(blake2s, k, d) },
  BLAKE2b: { name: 'BLAKE2b', hashLen: 64, hash: (d) => blake2b(d), hmac: (k, d) => hmac(blake2b, k, d) },
}

/** HKDF(chaining_key, input_key_material, num_outputs) of spec section 4.3. */
export function hkdf(h: HashFn, ck: Uint8Array, ikm: Uint8Array, n: 2 | 3): Uint8Array[] {
  const tempKey = h.hmac(ck, ikm)
  const o1 = h.hmac(tempKey, Uint8Array.of(1))
  const o2 = h.hmac(tempKey, concat(o1, Uint8Array.of(2)))
  if (n === 2) return [o1, o2]
  const o3 = h.hmac(tempKey, concat(o2, Uint8Array.of(3)))
  return [o1, o2, o3]
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0
  for (const p of parts) len += p.length
  const out = new Uint8Array(len)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return d === 0
}
