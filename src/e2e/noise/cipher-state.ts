/**
 * CipherState of the Noise specification (revision 34, section 5.1): a key
 * `k` (or none) and a 64-bit nonce `n`. `decryptWithAd` does not advance `n`
 * when authentication fails, so a forged message cannot desynchronise the
 * session. Nonce 2^64-1 is reserved: reaching it is `E2E_NONCE_EXHAUSTED`.
 */
import { E2E_ERRORS, E2eError } from '../errors.ts'
import { aeadDecrypt, aeadEncrypt, MAX_NONCE, rekey } from './primitives.ts'

export class CipherState {
  private k: Uint8Array | undefined
  private n = 0n

  constructor(k?: Uint8Array) {
    if (k !== undefined) this.initializeKey(k)
  }

  initializeKey(k: Uint8Array | undefined): void {
    this.k = k === undefined ? undefined : Uint8Array.from(k)
    this.n = 0n
  }

  hasKey(): boolean {
    return this.k !== undefined
  }

  setNonce(n: bigint): void {
    if (n < 0n || n > MAX_NONCE) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'nonce out of range')
    this.n = n
  }

  get nonce(): bigint {
    return this.n
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.k === undefined) return Uint8Array.from(plaintext)
    if (this.n >= MAX_NONCE)
      throw new E2eError(E2E_ERRORS.NONCE_EXHAUSTED, 'nonce space exhausted: rekey or start a new session')
    const ct = aeadEncrypt(this.k, this.n, ad, plaintext)
    this.n++
    return ct
  }

  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.k === undefined) return Uint8Array.from(ciphertext)
    if (this.n >= MAX_NONCE)
      throw new E2eError(E2E_ERRORS.NONCE_EXHAUSTED, 'nonce space exhausted: rekey or start a new session')
    const pt = aeadDecrypt(this.k, this.n, ad, ciphertext)
    this.n++
    return pt
  }

  /** The spec's Rekey(): k = REKEY(k); the nonce is left as it is. */
  rekey(): void {
    if (this.k === undefined)
      throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'cannot rekey an empty cipher state')
    this.k = rekey(this.k)
  }

  /** The raw key, for building a `TransportCipher` with explicit nonces. Internal to src/e2e. */
  keyBytes(): Uint8Array {
    if (this.k === undefined) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'cipher state has no key')
    return this.k
  }
}
