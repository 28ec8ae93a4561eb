import { ed25519 } from '@noble/curves/ed25519.js'
import { describe, expect, it } from 'vitest'
import { canonicalJson, generateSigningKey, sign, signingBytes, verify } from '../../../src/common/index.ts'

describe('Ed25519 signing over canonical JSON', () => {
  const key = generateSigningKey()
  const body = { b: [1, 'x', { z: true }], a: new Uint8Array([1, 2, 3]), n: undefined }

  it('writes canonical JSON with sorted keys, bytes as base64 and undefined dropped', () => {
    expect(canonicalJson(body)).toBe('{"a":{"$bytes":"AQID"},"b":[1,"x",{"z":true}]}')
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/non-finite/)
  })

  it('signs exactly as RFC 8032 (byte-identical to @noble/curves) and verifies both ways', () => {
    const sig = sign('swarmd/test/v1', body, key.secretKey)
    const noble = ed25519.sign(signingBytes('swarmd/test/v1', body), key.secretKey)
    expect(Buffer.from(sig).equals(Buffer.from(noble))).toBe(true)
    expect(verify('swarmd/test/v1', body, sig, key.publicKey)).toBe(true)
    expect(ed25519.verify(sig, signingBytes('swarmd/test/v1', body), key.publicKey)).toBe(true)
  })

  it('rejects another domain, a changed body, another key and malformed input without throwing', () => {
    const sig = sign('swarmd/test/v1', body, key.secretKey)
    expect(verify('swarmd/other/v1', body, sig, key.publicKey)).toBe(false)
    expect(verify('swarmd/test/v1', { ...body, b: [2] }, sig, key.publicKey)).toBe(false)
    expect(verify('swarmd/test/v1', body, sig, generateSigningKey().publicKey)).toBe(false)
    const flipped = sig.slice()
    flipped[10] = flipped[10]! ^ 1
    expect(verify('swarmd/test/v1', body, flipped, key.publicKey)).toBe(false)
    expect(verify('swarmd/test/v1', body, sig.slice(0, 63), key.publicKey)).toBe(false)
    expect(verify('swarmd/test/v1', body, sig, new Uint8Array(32))).toBe(false)
    expect(() => sign('swarmd/test/v1', body, new Uint8Array(31))).toThrow(/32 bytes/)
  })
})
