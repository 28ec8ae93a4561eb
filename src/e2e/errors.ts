/**
 * Typed errors of the end-to-end messaging layer. Every rejection of bad
 * input (tampered ciphertext, a replay, a truncated handshake, a card that
 * does not match the handshake key, a mailbox flood) is an `E2eError` with a
 * code from `E2E_ERRORS`, so callers can react without string matching.
 */

import type { PeerAction } from '../common/index.ts'
import { SwarmdError } from '../common/index.ts'

export const E2E_ERRORS = {
  /** The protocol name, pattern or primitive is not implemented. */
  UNSUPPORTED: 'UNSUPPORTED',
  /** AEAD authentication failed: tampered or wrongly keyed ciphertext. */
  DECRYPT_FAILED: 'E2E_DECRYPT_FAILED',
  /** A transport nonce already seen (or too old for the replay window). */
  REPLAY: 'E2E_REPLAY',
  /** A message shorter than its pattern or framing requires. */
  TRUNCATED: 'E2E_TRUNCATED',
  /** A message that is malformed in some other way (bad frame, bad key, wrong state). */
  BAD_MESSAGE: 'E2E_BAD_MESSAGE',
  /** The 64-bit nonce space of a cipher state is used up (2^64-1 is reserved). */
  NONCE_EXHAUSTED: 'E2E_NONCE_EXHAUSTED',
  /** The agent card in a handshake is badly signed or does not match the handshake static key. */
  CARD_MISMATCH: 'E2E_CARD_MISMATCH',
  /** A message or envelope addressed to another agent or key. */
  WRONG_RECIPIENT: 'E2E_WRONG_RECIPIENT',
  /** The handshake object is used out of order (write when it should read, after completion...). */
  HANDSHAKE_STATE: 'E2E_HANDSHAKE_STATE',
  /** The mailbox refuses a message: per-sender quota or size bound. */
  MAILBOX_FULL: 'E2E_MAILBOX_FULL',
  /** The stored agent keys cannot be read (wrong repository secret, corrupted record). */
  KEYS_LOCKED: 'E2E_KEYS_LOCKED',
  /** No session with that peer and the message is not a handshake. */
  NO_SESSION: 'E2E_NO_SESSION',
} as const

export type E2eErrorCode = (typeof E2E_ERRORS)[keyof typeof E2E_ERRORS]

export class E2eError extends SwarmdError<E2eErrorCode> {
  constructor(code: E2eErrorCode, message: string, opts: { action?: PeerAction; cause?: unknown } = {}) {
    super(code, message, {
      action: opts.action ?? 'reject',
      ...(opts.cause === undefined ? {} : { cause: opts.cause }),
    })
    this.name = 'E2eError'
  }
}

export function isE2eError(err: unknown): err is E2eError {
  return err instanceof E2eError
}
