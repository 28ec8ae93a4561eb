import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { E2E_ERRORS, E2eError } from '../../../src/e2e/errors.ts'
import { MAX_NONCE } from '../../../src/e2e/noise/primitives.ts'
import { TransportReceiver, TransportSender } from '../../../src/e2e/transport.ts'

const key = new Uint8Array(32).fill(7)
const enc = new TextEncoder()
const dec = new TextDecoder()

function code(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof E2eError) return err.code
    throw err
  }
  return undefined
}

describe('transport', () => {
  it('delivers out-of-order frames once each, rejects replays and too-old frames', () => {
    const tx = new TransportSender(key, { rekeyInterval: 64 })
    const rx = new TransportReceiver(key, { replayWindow: 64, rekeyInterval: 64 })
    const frames = Array.from({ length: 200 }, (_, i) => tx.encrypt(enc.encode(`m${i}`)))
    // deliver in a shuffled order inside windows of 32
    const order = frames
      .map((_, i) => i)
      .sort((a, b) => (a >> 5) - (b >> 5) || ((b * 7) % 32) - ((a * 7) % 32))
    for (const i of order) expect(dec.decode(rx.decrypt(frames[i] as Uint8Array))).toBe(`m${i}`)
    expect(code(() => rx.decrypt(frames[199] as Uint8Array))).toBe(E2E_ERRORS.REPLAY)
    expect(code(() => rx.decrypt(frames[10] as Uint8Array))).toBe(E2E_ERRORS.REPLAY)
  })

  it('rotates keys every rekeyInterval nonces and both sides agree (frames across epochs)', () => {
    const tx = new TransportSender(key, { rekeyInterval: 32 })
    const rx = new TransportReceiver(key, { rekeyInterval: 32, replayWindow: 32 })
    const frames = Array.from({ length: 100 }, (_, i) => tx.encrypt(enc.encode(`x${i}`)))
    // a late frame from the previous epoch is still accepted
    for (let i = 0; i < 100; i++) if (i !== 60) rx.decrypt(frames[i] as Uint8Array)
    expect(code(() => rx.decrypt(frames[60] as Uint8Array))).toBe(E2E_ERRORS.REPLAY) // 60 + 32 <= 99
    const tx2 = new TransportSender(key, { rekeyInterval: 32 })
    const rx2 = new TransportReceiver(key, { rekeyInterval: 32, replayWindow: 32 })
    const f2 = Array.from({ length: 40 }, () => tx2.encrypt(enc.encode('y')))
    rx2.decrypt(f2[33] as Uint8Array)
    expect(dec.decode(rx2.decrypt(f2[31] as Uint8Array))).toBe('y') // previous epoch key kept
    // same key different epoch => ciphertexts differ from an un-rekeyed cipher
    const plain = new TransportSender(key, { rekeyInterval: 1 << 30 })
    for (let i = 0; i < 33; i++) plain.encrypt(enc.encode('y'))
    expect(plain.encrypt(enc.encode('y'))).not.toEqual(f2[33])
  })

  it('rejects a tampered frame with a reason and keeps the session usable', () => {
    const tx = new TransportSender(key)
    const rx = new TransportReceiver(key)
    const f = tx.encrypt(enc.encode('hello'))
    const bad = Uint8Array.from(f)
    bad[bad.length - 3] = (bad[bad.length - 3] ?? 0) ^ 1
    expect(code(() => rx.decrypt(bad))).toBe(E2E_ERRORS.DECRYPT_FAILED)
    expect(dec.decode(rx.decrypt(f))).toBe('hello')
    expect(code(() => rx.decrypt(f.subarray(0, 10)))).toBe(E2E_ERRORS.TRUNCATED)
  })

  it('refuses to send at the reserved nonce 2^64-1 and the receiver refuses it too', () => {
    const tx = new TransportSender(key, { startNonce: MAX_NONCE - 1n, rekeyInterval: 2 ** 52 })
    const rx = new TransportReceiver(key, { startNonce: MAX_NONCE - 1n, rekeyInterval: 2 ** 52 })
    const last = tx.encrypt(enc.encode('last'))
    expect(dec.decode(rx.decrypt(last))).toBe('last')
    expect(code(() => tx.encrypt(enc.encode('one more')))).toBe(E2E_ERRORS.NONCE_EXHAUSTED)
    const forged = Uint8Array.from(last)
    forged.fill(0xff, 0, 8)
    expect(code(() => rx.decrypt(forged))).toBe(E2E_ERRORS.BAD_MESSAGE)
  })

  it('property: random bytes into decrypt only ever raise an E2eError', () => {
    const rx = new TransportReceiver(key)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          rx.decrypt(bytes)
        } catch (err) {
          expect(err).toBeInstanceOf(E2eError)
        }
      }),
      { numRuns: 300 },
    )
  })
})
