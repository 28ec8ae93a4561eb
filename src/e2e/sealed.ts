/**
 * One-way sealed messages (Noise pattern X): a single message that only the
 * holder of the recipient's Noise static key can open, authenticated by the
 * sender's static key, which the embedded signed agent card binds to the
 * sender's agent id. Used for bids sealed to a requester.
 *
 * Frame: `0x53 || fingerprint(8) || Noise_X message`, where the fingerprint is
 * the first 8 bytes of SHA-256 of the recipient's Noise key; it is also in the
 * prologue, so it is authenticated. A frame for another key is
 * `E2E_WRONG_RECIPIENT`.
 *
 * X gives no replay protection of its own: `open` returns `id` (the handshake
 * hash, unique per sealed message) for the caller to deduplicate.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { toHex } from '../common/index.ts'
import { decodePayload, encodePayload } from './codec.ts'
import { E2E_ERRORS, E2eError } from './errors.ts'
import type { AgentCard, AgentKeys } from './keys.ts'
import { checkHandshakeCard } from './keys.ts'
import { HandshakeState } from './noise/handshake-state.ts'
import { concat, equalBytes } from './noise/primitives.ts'

export const SEALED_PROTOCOL = 'Noise_X_25519_ChaChaPoly_SHA256'
const SEALED_TAG = 0x53
const PROLOGUE = new TextEncoder().encode('swarmd/e2e/sealed/v1')

export function keyFingerprint(noiseKey: Uint8Array): Uint8Array {
  return sha256(noiseKey).subarray(0, 8)
}

export function seal(
  recipientNoiseKey: Uint8Array,
  sender: AgentKeys,
  senderCard: AgentCard,
  plaintext: Uint8Array,
): Uint8Array {
  const fp = keyFingerprint(recipientNoiseKey)
  const hs = new HandshakeState({
    protocolName: SEALED_PROTOCOL,
    initiator: true,
    prologue: concat(PROLOGUE, fp),
    s: sender.noise,
    rs: recipientNoiseKey,
  })
  const msg = hs.writeMessage(encodePayload({ card: senderCard, data: plaintext }))
  return concat(Uint8Array.of(SEALED_TAG), fp, msg)
}

export interface Opened {
  plaintext: Uint8Array
  /** The sender's verified agent card. */
  sender: AgentCard
  /** Unique per sealed message (hex handshake hash): deduplicate on it. */
  id: string
}

export function open(recipient: AgentKeys, sealed: Uint8Array, expectedSender?: string): Opened {
  if (sealed.length < 9) throw new E2eError(E2E_ERRORS.TRUNCATED, 'sealed message too short')
  if (sealed[0] !== SEALED_TAG) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'not a sealed message')
  const fp = sealed.subarray(1, 9)
  if (!equalBytes(fp, keyFingerprint(recipient.noise.publicKey))) {
    throw new E2eError(E2E_ERRORS.WRONG_RECIPIENT, 'sealed message is for another recipient key', {
      action: 'ignore',
    })
  }
  const hs = new HandshakeState({
    protocolName: SEALED_PROTOCOL,
    initiator: false,
    prologue: concat(PROLOGUE, fp),
    s: recipient.noise,
  })
  const payload = decodePayload(hs.readMessage(sealed.subarray(9)))
  const card = checkHandshakeCard(payload.card, hs.getRemoteStatic(), expectedSender)
  return { plaintext: payload.data, sender: card, id: toHex(hs.getHandshakeHash()) }
}
