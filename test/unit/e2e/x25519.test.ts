/** X25519 through Node's crypto: agrees with @noble/curves, and refuses low-order public keys. */
import { x25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import { dh, generateKeyPair, keyPairFromSecret } from '../../../src/e2e/noise/primitives.ts'

describe('X25519', () => {
  it('agrees with @noble/curves on public keys and shared secrets', () => {
    for (let i = 0; i < 20; i++) {
      const a = generateKeyPair()
      const b = generateKeyPair()
      expect(a.publicKey).toEqual(x25519.getPublicKey(a.secretKey))
      expect(keyPairFromSecret(a.secretKey).publicKey).toEqual(a.publicKey)
      expect(dh(a, b.publicKey)).toEqual(x25519.getSharedSecret(a.secretKey, b.publicKey))
      expect(dh(a, b.publicKey)).toEqual(dh(b, a.publicKey))
    }
  })

  it('refuses low-order and malformed public keys', () => {
    const a = generateKeyPair()
    const zero = new Uint8Array(32)
    const one = new Uint8Array(32)
    one[0] = 1
    for (const bad of [zero, one, new Uint8Array(31)]) expect(() => dh(a, bad)).toThrow(/X25519/)
  })
})
