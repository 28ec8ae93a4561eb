/**
 * SymmetricState of the Noise specification (revision 34, section 5.2):
 * the chaining key `ck`, the handshake hash `h` and a CipherState.
 */
import { CipherState } from './cipher-state.ts'
import type { HashFn } from './primitives.ts'
import { concat, hkdf } from './primitives.ts'

const enc = new TextEncoder()

export class SymmetricState {
  readonly hash: HashFn
  private ck: Uint8Array
  private h: Uint8Array
  readonly cs = new CipherState()

  constructor(protocolName: string, hash: HashFn) {
    this.hash = hash
    const name = enc.encode(protocolName)
    if (name.length <= hash.hashLen) {
      this.h = new Uint8Array(hash.hashLen)
      this.h.set(name)
    } else {
      this.h = hash.hash(name)
    }
    this.ck = Uint8Array.from(this.h)
  }

  private truncKey(k: Uint8Array): Uint8Array {
    return k.subarray(0, 32)
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = hkdf(this.hash, this.ck, ikm, 2) as [Uint8Array, Uint8Array]
    this.ck = ck
    this.cs.initializeKey(this.truncKey(tempK))
  }

  mixHash(data: Uint8Array): void {
    this.h = this.hash.hash(concat(this.h, data))
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, tempH, tempK] = hkdf(this.hash, this.ck, ikm, 3) as [Uint8Array, Uint8Array, Uint8Array]
    this.ck = ck
    this.mixHash(tempH)
    this.cs.initializeKey(this.truncKey(tempK))
  }

  getHandshakeHash(): Uint8Array {
    return Uint8Array.from(this.h)
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ct = this.cs.encryptWithAd(this.h, plaintext)
    this.mixHash(ct)
    return ct
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const pt = this.cs.decryptWithAd(this.h, ciphertext)
    this.mixHash(ciphertext)
    return pt
  }

  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf(this.hash, this.ck, new Uint8Array(0), 2) as [Uint8Array, Uint8Array]
    return [new CipherState(this.truncKey(k1)), new CipherState(this.truncKey(k2))]
  }
}
