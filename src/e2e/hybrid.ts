/**
 * The opt-in post-quantum hybrid mode: an ML-KEM-768 (FIPS 203) shared secret
 * mixed into the Noise chaining key, so a session stays confidential unless
 * both X25519 and ML-KEM-768 are broken. The initiator sends a fresh ML-KEM
 * encapsulation key in its first handshake payload; the responder
 * encapsulates to it and returns the ciphertext in its (encrypted) reply
 * payload; right after that message both sides call `MixKey(ss_kem)` on the
 * HandshakeState, before any later message and before Split().
 */
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js'
import { E2E_ERRORS, E2eError } from './errors.ts'

export const KEM_PUBLIC_KEY_BYTES = 1184
export const KEM_CIPHERTEXT_BYTES = 1088

export interface KemKeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

export function kemKeygen(): KemKeyPair {
  return ml_kem768.keygen()
}

export function kemEncapsulate(publicKey: Uint8Array | undefined): {
  cipherText: Uint8Array
  sharedSecret: Uint8Array
} {
  if (!publicKey || publicKey.length !== KEM_PUBLIC_KEY_BYTES) {
    throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'hybrid handshake without a valid ML-KEM-768 public key')
  }
  try {
    return ml_kem768.encapsulate(publicKey)
  } catch (cause) {
    throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'invalid ML-KEM-768 public key', { cause })
  }
}

export function kemDecapsulate(cipherText: Uint8Array | undefined, secretKey: Uint8Array): Uint8Array {
  if (!cipherText || cipherText.length !== KEM_CIPHERTEXT_BYTES) {
    throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'hybrid handshake reply without a valid ML-KEM-768 ciphertext')
  }
  try {
    return ml_kem768.decapsulate(cipherText, secretKey)
  } catch (cause) {
    throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'invalid ML-KEM-768 ciphertext', { cause })
  }
}
