/**
 * Stake across nodes. An agent's stake is bonded on the ledger of the node
 * that hosts it, so two pieces of signed evidence travel with the market's
 * messages:
 *
 *  - a **stake attestation**, signed by the bidder's node key (its peer id),
 *    rides along with every bid: `{ agent, node, bonded, bondedSince,
 *    blacklisted, at }`. The requester checks that the node is the one named
 *    in the bidder's signed agent card and that the signature is that peer
 *    id's, and the auction's reputation rule (stake required for valuable
 *    CFPs, blacklist) reads it as the bidder's standing.
 *  - a **slash claim**: when an award's result deadline (plus
 *    `reputation.stake.deadlineGraceMs`) passes without a result, the
 *    requester signs the award in the reputation module's evidence format
 *    (`swarmd/award/v1` envelope: task = escrow id, provider = winner,
 *    price = payment, deadline = result deadline) and sends it to the
 *    winner's node, which slashes the bond unless its own records hold a
 *    signed result dated before the deadline. The SlashRecord names the
 *    evidence, so any third party can check it (`swarmd rep verify-slash`).
 *
 * Trust in the provider's node is needed for both (it holds the bond): a
 * node that lies about its agent's stake or refuses a valid slash is caught
 * only through reputation (the requester's failure report still gossips).
 */
import { nodeKeyOf } from '../wire/envelope.ts'
import { fromB64, sign, toB64, verify } from '../../common/index.ts'
import { type Award, MarketError, MarketErrorCode } from '../../market/index.ts'
import {
  AWARD_DOMAIN as EVIDENCE_AWARD_DOMAIN,
  type AwardBody as EvidenceAwardBody,
  type SignedEnvelope,
  signEnvelope,
} from '../../reputation/index.ts'

export const STAKE_ATTEST_DOMAIN = 'swarmd/stake-attest/v1'
/** Attestations older (or further in the future) than this are refused. */
export const ATTEST_MAX_AGE_MS = 5 * 60_000

export interface StakeAttestationBody {
  agent: string
  /** Peer id of the node holding the bond (it signs). */
  node: string
  bonded: number
  /** When the current bond started (absent: none). */
  bondedSince?: number
  blacklisted: boolean
  at: number
}
export interface StakeAttestation extends StakeAttestationBody {
  signature: string
}

const body = (a: StakeAttestationBody): StakeAttestationBody => {
  const { agent, node, bonded, bondedSince, blacklisted, at } = a
  return bondedSince === undefined
    ? { agent, node, bonded, blacklisted, at }
    : { agent, node, bonded, bondedSince, blacklisted, at }
}

/** Sign an attestation with the node's Ed25519 key (32-byte seed). */
export function signAttestation(b: StakeAttestationBody, nodeSecretKey: Uint8Array): StakeAttestation {
  const x = body(b)
  return { ...x, signature: toB64(sign(STAKE_ATTEST_DOMAIN, x, nodeSecretKey)) }
}

const bad = (msg: string): never => {
  throw new MarketError(MarketErrorCode.BAD_MESSAGE, `stake attestation: ${msg}`, { action: 'penalise' })
}

/** Check an attestation received with a bid: shape, signer = `node`, subject = `agent`, freshness. */
export function verifyAttestation(
  raw: unknown,
  expect: { agent: string; node: string; now: number },
): StakeAttestation {
  if (typeof raw !== 'object' || raw === null) return bad('not an object')
  const a = raw as StakeAttestation
  if (a.agent !== expect.agent) bad('is about another agent')
  if (a.node !== expect.node) bad("is not signed by the node of the bidder's card")
  if (!Number.isSafeInteger(a.bonded) || a.bonded < 0) bad('bonded is not a whole number')
  if (a.bondedSince !== undefined && typeof a.bondedSince !== 'number') bad('bondedSince is not a number')
  if (typeof a.blacklisted !== 'boolean') bad('blacklisted is not a boolean')
  if (typeof a.at !== 'number' || Math.abs(expect.now - a.at) > ATTEST_MAX_AGE_MS) bad('is stale')
  if (typeof a.signature !== 'string') bad('is not signed')
  const key = nodeKeyOf(a.node)
  if (!key) return bad('the node id carries no Ed25519 public key')
  let sig: Uint8Array
  try {
    sig = fromB64(a.signature)
  } catch {
    return bad('signature is not base64')
  }
  if (!verify(STAKE_ATTEST_DOMAIN, body(a), sig, key)) bad('signature does not verify')
  return a
}

/** The requester's signed evidence that `award` was made (for a missed-deadline slash). */
export function awardEvidence(
  award: Award,
  requesterSecretKey: Uint8Array,
): SignedEnvelope<EvidenceAwardBody> {
  return signEnvelope<EvidenceAwardBody>(
    EVIDENCE_AWARD_DOMAIN,
    {
      taskId: award.escrowId,
      requester: award.requester,
      provider: award.winner,
      price: award.payment,
      deadline: award.resultDeadline,
      cfpId: award.cfpId,
    },
    requesterSecretKey,
  )
}

/** A slash claim the requester still has to deliver (persisted: `slash/<escrowId>`). */
export interface PendingSlash {
  evidence: SignedEnvelope<EvidenceAwardBody>
  winner: string
  dueAt: number
  tries: number
}

export const SLASH_MAX_TRIES = 6
