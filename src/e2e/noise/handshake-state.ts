/**
 * HandshakeState of the Noise specification (revision 34, section 5.3) for
 * every fundamental pattern and the pskN modifiers, over 25519, ChaChaPoly and
 * SHA256 / SHA512 / BLAKE2s / BLAKE2b.
 *
 * Ephemeral keys always come from the operating system's CSPRNG: there is no
 * option to pass one in. The standard test vectors need fixed ephemerals; the
 * adapter under test/ subclasses this class and overrides the protected
 * `generateEphemeral()` (see docs/e2e.md, "Test hook"). A guard test fails if
 * any file under src/ overrides it or extends this class.
 *
 * Any error during `writeMessage`/`readMessage` kills the handshake (the spec
 * says the HandshakeState is then deleted): later calls throw
 * `E2E_HANDSHAKE_STATE`.
 */
import { E2E_ERRORS, E2eError } from '../errors.ts'
import type { CipherState } from './cipher-state.ts'
import type { HandshakePattern, Token } from './patterns.ts'
import { parseProtocolName } from './patterns.ts'
import type { KeyPair } from './primitives.ts'
import { concat, DHLEN, dh, generateKeyPair, HASHES, keyPairFromSecret, TAGLEN } from './primitives.ts'
import { SymmetricState } from './symmetric-state.ts'

export interface HandshakeInit {
  /** Full protocol name, e.g. "Noise_IK_25519_ChaChaPoly_SHA256". */
  protocolName: string
  initiator: boolean
  prologue?: Uint8Array
  /** The local static key pair (or its 32-byte secret). */
  s?: KeyPair | Uint8Array
  /** The remote static public key known in advance (pre-message "<- s" / "-> s"). */
  rs?: Uint8Array
  /** PSKs in the order the pskN modifiers appear in the name. */
  psks?: Uint8Array[]
}

export class HandshakeState {
  readonly protocolName: string
  readonly initiator: boolean
  readonly pattern: HandshakePattern
  private readonly ss: SymmetricState
  private s: KeyPair | undefined
  private e: KeyPair | undefined
  private rs: Uint8Array | undefined
  private re: Uint8Array | undefined
  private readonly psks: Uint8Array[]
  private readonly pskMode: boolean
  private step = 0
  private dead = false
  private ciphers: [CipherState, CipherState] | undefined

  constructor(init: HandshakeInit) {
    const proto = parseProtocolName(init.protocolName)
    const hash = HASHES[proto.hash]
    if (!hash) throw new E2eError(E2E_ERRORS.UNSUPPORTED, `unsupported hash ${proto.hash}`)
    this.protocolName = init.protocolName
    this.initiator = init.initiator
    this.pattern = proto.pattern
    this.ss = new SymmetricState(init.protocolName, hash)
    this.s = init.s instanceof Uint8Array ? keyPairFromSecret(init.s) : init.s
    this.rs = init.rs
    this.psks = (init.psks ?? []).map((p) => {
      if (p.length !== 32) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'a PSK has 32 bytes')
      return p
    })
    this.pskMode = proto.pskCount > 0
    if (this.psks.length !== proto.pskCount) {
      throw new E2eError(E2E_ERRORS.BAD_MESSAGE, `${init.protocolName} needs ${proto.pskCount} PSKs`)
    }
    this.ss.mixHash(init.prologue ?? new Uint8Array(0))
    this.premessage(this.pattern.preInitiator, this.initiator)
    this.premessage(this.pattern.preResponder, !this.initiator)
  }

  /** The ephemeral key pair for an "e" token. Overridden only by the test-vector adapter under test/. */
  protected generateEphemeral(): KeyPair {
    return generateKeyPair()
  }

  private premessage(tokens: Token[], local: boolean): void {
    for (const t of tokens) {
      if (t !== 's') throw new E2eError(E2E_ERRORS.UNSUPPORTED, `pre-message token ${t}`)
      const pk = local ? this.s?.publicKey : this.rs
      if (!pk) {
        throw new E2eError(
          E2E_ERRORS.BAD_MESSAGE,
          `${this.protocolName} needs the ${local ? 'local' : 'remote'} static key in advance`,
        )
      }
      this.ss.mixHash(pk)
    }
  }

  isHandshakeComplete(): boolean {
    return this.step >= this.pattern.messages.length
  }

  /** True when the next handshake message is ours to write. */
  isMyTurn(): boolean {
    const mp = this.pattern.messages[this.step]
    return mp !== undefined && mp.fromInitiator === this.initiator
  }

  getHandshakeHash(): Uint8Array {
    return this.ss.getHandshakeHash()
  }

  /** The peer's static public key, once received (or known in advance). */
  getRemoteStatic(): Uint8Array | undefined {
    return this.rs
  }

  getLocalEphemeral(): Uint8Array | undefined {
    return this.e?.publicKey
  }

  /**
   * Mix extra key material into the chaining key between messages (used by the
   * hybrid post-quantum mode for the ML-KEM shared secret; see docs/e2e.md).
   */
  mixKey(ikm: Uint8Array): void {
    this.assertAlive()
    if (this.ciphers) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'handshake already split')
    this.ss.mixKey(ikm)
  }

  private assertAlive(): void {
    if (this.dead) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'handshake failed earlier and is closed')
  }

  private current(writing: boolean) {
    this.assertAlive()
    const mp = this.pattern.messages[this.step]
    if (!mp) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'handshake already complete')
    if ((mp.fromInitiator === this.initiator) !== writing) {
      throw new E2eError(
        E2E_ERRORS.HANDSHAKE_STATE,
        writing ? 'not our turn to write' : 'not our turn to read',
      )
    }
    return mp
  }

  private dhToken(t: 'ee' | 'es' | 'se' | 'ss'): Uint8Array {
    // es: initiator DH(e, rs), responder DH(s, re); se is the mirror.
    const [localKind, remoteKind] =
      t === 'ee'
        ? ['e', 'e']
        : t === 'ss'
          ? ['s', 's']
          : (t === 'es') === this.initiator
            ? ['e', 's']
            : ['s', 'e']
    const local = localKind === 'e' ? this.e : this.s
    const remote = remoteKind === 'e' ? this.re : this.rs
    if (!local || !remote) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, `missing key for ${t}`)
    return dh(local, remote)
  }

  private nextPsk(): Uint8Array {
    const psk = this.psks.shift()
    if (!psk) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'not enough PSKs')
    return psk
  }

  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    const mp = this.current(true)
    try {
      const parts: Uint8Array[] = []
      for (const t of mp.tokens) {
        if (t === 'e') {
          if (this.e === undefined) this.e = this.generateEphemeral()
          parts.push(this.e.publicKey)
          this.ss.mixHash(this.e.publicKey)
          if (this.pskMode) this.ss.mixKey(this.e.publicKey)
        } else if (t === 's') {
          if (!this.s) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'no local static key')
          parts.push(this.ss.encryptAndHash(this.s.publicKey))
        } else if (t === 'psk') {
          this.ss.mixKeyAndHash(this.nextPsk())
        } else {
          this.ss.mixKey(this.dhToken(t))
        }
      }
      parts.push(this.ss.encryptAndHash(payload))
      this.advance()
      return concat(...parts)
    } catch (err) {
      this.dead = true
      throw err
    }
  }

  readMessage(message: Uint8Array): Uint8Array {
    const mp = this.current(false)
    try {
      let off = 0
      const take = (n: number, what: string): Uint8Array => {
        if (off + n > message.length) {
          throw new E2eError(E2E_ERRORS.TRUNCATED, `handshake message truncated: missing ${what}`)
        }
        const out = message.subarray(off, off + n)
        off += n
        return out
      }
      for (const t of mp.tokens) {
        if (t === 'e') {
          if (this.re !== undefined) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'remote ephemeral sent twice')
          this.re = Uint8Array.from(take(DHLEN, 'ephemeral key'))
          this.ss.mixHash(this.re)
          if (this.pskMode) this.ss.mixKey(this.re)
        } else if (t === 's') {
          if (this.rs !== undefined)
            throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'remote static key sent twice')
          const n = this.ss.cs.hasKey() ? DHLEN + TAGLEN : DHLEN
          this.rs = this.ss.decryptAndHash(take(n, 'static key'))
        } else if (t === 'psk') {
          this.ss.mixKeyAndHash(this.nextPsk())
        } else {
          this.ss.mixKey(this.dhToken(t))
        }
      }
      const rest = message.subarray(off)
      if (this.ss.cs.hasKey() && rest.length < TAGLEN) {
        throw new E2eError(E2E_ERRORS.TRUNCATED, 'handshake message truncated: missing payload tag')
      }
      const payload = this.ss.decryptAndHash(rest)
      this.advance()
      return payload
    } catch (err) {
      this.dead = true
      throw err
    }
  }

  private advance(): void {
    this.step++
  }

  /**
   * Split() after the last handshake message: [c1, c2] where c1 carries
   * initiator -> responder traffic. Idempotent.
   */
  split(): [CipherState, CipherState] {
    this.assertAlive()
    if (!this.isHandshakeComplete()) throw new E2eError(E2E_ERRORS.HANDSHAKE_STATE, 'handshake not complete')
    if (!this.ciphers) this.ciphers = this.ss.split()
    return this.ciphers
  }
}
