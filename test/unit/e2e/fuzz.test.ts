import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../src/common/index.ts'
import { decodeEnvelope, E2eError, open, SessionManager } from '../../../src/e2e/index.ts'
import { HandshakeState } from '../../../src/e2e/noise/handshake-state.ts'
import { FUNDAMENTAL_PATTERNS, resolvePattern } from '../../../src/e2e/noise/patterns.ts'
import { agent } from './helpers.ts'

const B = agent(31)
const A = agent(32)
const protocols = [
  ...FUNDAMENTAL_PATTERNS.map((p) => `Noise_${p}_25519_ChaChaPoly_SHA256`),
  'Noise_IK_25519_ChaChaPoly_BLAKE2b',
  'Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s',
  'Noise_XXpsk3_25519_ChaChaPoly_SHA256',
]

function onlyTyped(f: () => unknown): void {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(E2eError)
  }
}

describe('random bytes never raise anything but a typed E2eError', () => {
  it('HandshakeState.readMessage (responder side, every fundamental pattern and some PSK variants)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...protocols), fc.uint8Array({ maxLength: 300 }), (protocolName, bytes) => {
        const pattern = resolvePattern(protocolName.split('_')[1] ?? '')
        const hs = new HandshakeState({
          protocolName,
          initiator: false,
          s: B.keys.noise,
          ...(pattern.preInitiator.includes('s') ? { rs: A.keys.noise.publicKey } : {}),
          ...(protocolName.includes('psk') ? { psks: [new Uint8Array(32)] } : {}),
        })
        onlyTyped(() => hs.readMessage(bytes))
      }),
      { numRuns: 500 },
    )
  })

  it('open() of sealed messages and decodeEnvelope()', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, prefix) => {
        const b = prefix ? Uint8Array.of(0x53, ...bytes) : bytes
        onlyTyped(() => open(B.keys, b))
        onlyTyped(() => decodeEnvelope(b))
      }),
      { numRuns: 300 },
    )
  })

  it('SessionManager.onMessage', async () => {
    const m = new SessionManager({ keys: B.keys, card: B.card, clock: new ManualClock(0), send: () => {} })
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.uint8Array({ maxLength: 300 }),
        async (type, bytes) => {
          try {
            await m.onMessage('aa'.repeat(32), Uint8Array.of(type, ...bytes))
          } catch (err) {
            expect(err).toBeInstanceOf(E2eError)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
