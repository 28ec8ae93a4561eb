/**
 * Test-only adapter for the standard Noise vectors runner
 * (../shared/test-vectors/noise/check-noise-vectors.mjs). It is the ONLY place
 * that injects fixed ephemeral keys: it subclasses HandshakeState and overrides
 * the protected `generateEphemeral()`. Nothing under src/ imports this file
 * (test/unit/e2e/test-hook-guard.test.ts checks it).
 */
import { E2E_ERRORS, E2eError } from '../../src/e2e/errors.ts'
import { HandshakeState } from '../../src/e2e/noise/handshake-state.ts'
import type { KeyPair } from '../../src/e2e/noise/primitives.ts'
import { keyPairFromSecret } from '../../src/e2e/noise/primitives.ts'

class FixedEphemeralHandshake extends HandshakeState {
  private readonly fixedE: Uint8Array | undefined
  constructor(init: ConstructorParameters<typeof HandshakeState>[0], e: Uint8Array | undefined) {
    super(init)
    this.fixedE = e
  }
  protected override generateEphemeral(): KeyPair {
    if (!this.fixedE) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'vector has no ephemeral key')
    return keyPairFromSecret(this.fixedE)
  }
}

export interface VectorSide {
  protocolName: string
  initiator: boolean
  prologue: Uint8Array
  s?: Uint8Array
  e?: Uint8Array
  rs?: Uint8Array
  psks: Uint8Array[]
}

export default function factory(opts: VectorSide): HandshakeState {
  const init = {
    protocolName: opts.protocolName,
    initiator: opts.initiator,
    prologue: opts.prologue,
    psks: opts.psks,
    ...(opts.s ? { s: opts.s } : {}),
    ...(opts.rs ? { rs: opts.rs } : {}),
  }
  return new FixedEphemeralHandshake(init, opts.e)
}
