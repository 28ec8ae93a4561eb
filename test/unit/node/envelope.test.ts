import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { generateSigningKey } from '../../../src/common/index.ts'
import {
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  nonceGuard,
  sealEnvelope,
  validateEnvelope,
  WireError,
} from '../../../src/node/wire/envelope.ts'
import { classifyReadError } from '../../../src/node/wire/wire.ts'

const key = generateSigningKey()
const signer = { publicKey: key.publicKey, secretKey: key.secretKey }
const NOW = 1_800_000_000_000
const nonce = (i: number) => new Uint8Array(16).fill(i)
const msg = { type: 'route.cfp', payload: new TextEncoder().encode('hello') }

function reason(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof WireError) return err.reason
    throw err
  }
  return 'accepted'
}

describe('wire envelope', () => {
  it('round-trips a sealed envelope and validates it', () => {
    const env = sealEnvelope(msg, signer, NOW, nonce(1))
    const bytes = encodeEnvelope(env)
    const back = decodeEnvelope(bytes)
    expect(back).toEqual(env)
    expect(() =>
      validateEnvelope(back, { now: NOW + 1000, maxClockSkewMs: 60_000, expectedSender: key.publicKey }),
    ).not.toThrow()
  })

  it('rejects garbage, empty and truncated bytes as malformed', () => {
    const bytes = encodeEnvelope(sealEnvelope(msg, signer, NOW, nonce(2)))
    expect(reason(() => decodeEnvelope(new Uint8Array()))).toBe('malformed')
    expect(reason(() => decodeEnvelope(new Uint8Array([0xff, 0xff, 0xff, 0xff])))).toBe('malformed')
    for (const cut of [1, 5, 20, bytes.length - 70, bytes.length - 1]) {
      expect(reason(() => decodeEnvelope(bytes.subarray(0, cut)))).toBe('malformed')
    }
  })

  it('rejects an oversized frame before decoding it', () => {
    const big = sealEnvelope({ type: 'x', payload: new Uint8Array(2048) }, signer, NOW, nonce(3))
    expect(reason(() => decodeEnvelope(encodeEnvelope(big), 1024))).toBe('oversized')
  })

  it('never throws anything but WireError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = reason(() => decodeEnvelope(bytes))
        expect(['malformed', 'unsupported', 'accepted']).toContain(r)
      }),
      { numRuns: 500 },
    )
  })

  it('rejects a tampered payload, a foreign sender, a wrong version, a stale timestamp and a replay', () => {
    const env = sealEnvelope(msg, signer, NOW, nonce(4))
    const opts = { now: NOW, maxClockSkewMs: 60_000 }
    const tampered: Envelope = { ...env, payload: new TextEncoder().encode('hellO') }
    expect(reason(() => validateEnvelope(tampered, opts))).toBe('bad-signature')
    const other = generateSigningKey()
    expect(reason(() => validateEnvelope(env, { ...opts, expectedSender: other.publicKey }))).toBe(
      'wrong-sender',
    )
    expect(reason(() => validateEnvelope(env, { ...opts, now: NOW + 120_000 }))).toBe('stale')
    expect(reason(() => validateEnvelope(env, { ...opts, types: new Set(['other']) }))).toBe('unsupported')
    const v2 = encodeEnvelope({ ...env, version: 2 })
    expect(reason(() => decodeEnvelope(v2))).toBe('unsupported')
    const guard = nonceGuard(60_000)
    expect(reason(() => validateEnvelope(env, { ...opts, checkNonce: guard }))).toBe('accepted')
    expect(reason(() => validateEnvelope(env, { ...opts, checkNonce: guard }))).toBe('replay')
  })

  it('accepts an unsigned envelope only where the channel authenticated its sender', () => {
    const env = sealEnvelope(msg, signer, NOW, nonce(3), false)
    expect(env.signature).toHaveLength(0)
    const bytes = encodeEnvelope(env)
    // A stream per message (and every decoder by default) requires the signature.
    expect(reason(() => decodeEnvelope(bytes))).toBe('malformed')
    const back = decodeEnvelope(bytes, 1024, true)
    const opts = { now: NOW, maxClockSkewMs: 60_000, expectedSender: key.publicKey }
    expect(reason(() => validateEnvelope(back, opts))).toBe('bad-signature')
    // Channel-authenticated without a known peer key is not enough.
    expect(
      reason(() => validateEnvelope(back, { now: NOW, maxClockSkewMs: 60_000, channelAuthenticated: true })),
    ).toBe('bad-signature')
    expect(reason(() => validateEnvelope(back, { ...opts, channelAuthenticated: true }))).toBe('accepted')
    // The sender must still be the connected peer, and a signature that is present must verify.
    const other = generateSigningKey()
    expect(
      reason(() =>
        validateEnvelope(back, { ...opts, expectedSender: other.publicKey, channelAuthenticated: true }),
      ),
    ).toBe('wrong-sender')
    const signed = sealEnvelope(msg, signer, NOW, nonce(4))
    const tampered = { ...signed, payload: new TextEncoder().encode('hellO') }
    expect(reason(() => validateEnvelope(tampered, { ...opts, channelAuthenticated: true }))).toBe(
      'bad-signature',
    )
  })

  it('refuses to seal an invalid type', () => {
    expect(() =>
      sealEnvelope({ type: 'Bad Type', payload: new Uint8Array() }, signer, NOW, nonce(5)),
    ).toThrow('invalid envelope type')
  })

  it('maps framing errors from the stream to reasons', () => {
    const named = (name: string) => Object.assign(new Error(name), { name })
    expect(classifyReadError(named('InvalidDataLengthError')).reason).toBe('oversized')
    expect(classifyReadError(named('UnexpectedEOFError')).reason).toBe('truncated')
    expect(classifyReadError(named('InvalidMessageLengthError')).reason).toBe('malformed')
    expect(classifyReadError(new Error('weird')).reason).toBe('malformed')
  })
})
