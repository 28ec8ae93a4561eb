/**
 * End-to-end encrypted agent messaging (pure: no libp2p, no clock or storage
 * of its own). A Noise (revision 34) implementation, agent keys sealed at rest
 * and published in signed agent cards, sessions (IK / XX, optional ML-KEM-768
 * hybrid) over an injected `send`, one-way sealed messages (Noise X),
 * envelopes that show relays only the recipient and hop data, and a
 * store-and-forward mailbox. See docs/e2e.md.
 *
 * @example
 * ```ts
 * import { SessionManager, generateAgentKeys, agentCardBody, signAgentCard } from '../e2e/index.ts'
 * const keys = generateAgentKeys()
 * const card = signAgentCard(keys, agentCardBody(keys, ['chat'], { issuedAt: clock.now() }))
 * const mgr = new SessionManager({ keys, card, clock, send: (to, bytes) => wire.send(to, bytes),
 *   lookupCard: (id) => discovery.card(id) })
 * await mgr.encrypt(otherAgentId, new TextEncoder().encode('hello'))
 * // on the receiving side: for (const m of await mgr.onMessage(fromAgentId, bytes)) use(m.plaintext)
 * ```
 */

export type { Envelope, EnvelopeKind } from './envelope.ts'
export {
  DEFAULT_ENVELOPE_TTL,
  decodeEnvelope,
  ENVELOPE_KIND,
  encodeEnvelope,
  forwardEnvelope,
  newEnvelope,
} from './envelope.ts'
export type { E2eErrorCode } from './errors.ts'
export { E2E_ERRORS, E2eError, isE2eError } from './errors.ts'
export type { AgentCard, AgentCardBody, AgentCardOptions, AgentKeys } from './keys.ts'
export {
  AGENT_CARD_DOMAIN,
  AgentKeyStore,
  agentCardBody,
  agentKeysFromSeed,
  cardMatchesKey,
  checkHandshakeCard,
  generateAgentKeys,
  signAgentCard,
  verifyAgentCard,
} from './keys.ts'
export type { MailboxInit, MailItem } from './mailbox.ts'
export { Mailbox } from './mailbox.ts'
export type { Opened } from './sealed.ts'
export { keyFingerprint, open, SEALED_PROTOCOL, seal } from './sealed.ts'
export type { Received, SessionInfo, SessionManagerInit } from './session.ts'
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_QUEUED,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_TTL_MS,
  FRAME,
  IK_PROTOCOL,
  SessionManager,
  XX_PROTOCOL,
} from './session.ts'
export type { TransportInit } from './transport.ts'
export {
  DEFAULT_REKEY_INTERVAL,
  DEFAULT_REPLAY_WINDOW,
  TransportReceiver,
  TransportSender,
} from './transport.ts'
