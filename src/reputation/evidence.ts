/**
 * Signed records used as evidence for slashing and disputes. They are
 * self-contained: a third party checks them from the agent ids alone
 * (agent id = hex Ed25519 public key). The market signs awards and results;
 * reputation only needs the fields below, and accepts any extra fields the
 * market puts in the signed body.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalJson, fromHex, sign, toHex, verify } from '../common/index.ts'

export const AWARD_DOMAIN = 'swarmd/award/v1'
export const RESULT_DOMAIN = 'swarmd/result/v1'

/** A body signed under `domain`; `signature` is hex. */
export interface SignedEnvelope<B> {
  domain: string
  body: B
  signature: string
}

/** The part of a market award reputation relies on (signed by the requester). */
export interface AwardBody {
  taskId: string
  requester: string
  provider: string
  /** Credits the requester pays on success. */
  price: number
  /** Ms on the shared clock by which a signed result is due. */
  deadline: number
  [extra: string]: unknown
}

/** The part of a task result reputation relies on (signed by the provider). */
export interface ResultBody {
  taskId: string
  provider: string
  /** Hex sha256 of the output bytes. */
  outputHash: string
  issuedAt: number
  [extra: string]: unknown
}

export function signEnvelope<B>(domain: string, body: B, secretKey: Uint8Array): SignedEnvelope<B> {
  return { domain, body, signature: toHex(sign(domain, body, secretKey)) }
}

function sigOk(env: SignedEnvelope<unknown>, signer: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(signer) || !/^[0-9a-f]{128}$/.test(env.signature)) return false
  return verify(env.domain, env.body, fromHex(env.signature), fromHex(signer))
}

/** Why an award is not valid evidence, or undefined when it is. */
export function awardProblem(award: SignedEnvelope<AwardBody>): string | undefined {
  if (award.domain !== AWARD_DOMAIN) return 'award has the wrong signing domain'
  const b = award.body
  if (typeof b?.taskId !== 'string' || typeof b.requester !== 'string' || typeof b.provider !== 'string')
    return 'award lacks task or parties'
  if (!Number.isSafeInteger(b.price) || b.price < 0 || typeof b.deadline !== 'number')
    return 'award lacks price or deadline'
  if (!sigOk(award, b.requester)) return 'award signature is not the requester’s'
  return undefined
}

/** Why a result is not a valid signed result for `award`, or undefined when it is. */
export function resultProblem(
  result: SignedEnvelope<ResultBody>,
  award: SignedEnvelope<AwardBody>,
): string | undefined {
  if (result.domain !== RESULT_DOMAIN) return 'result has the wrong signing domain'
  const b = result.body
  if (b?.taskId !== award.body.taskId) return 'result is for another task'
  if (b.provider !== award.body.provider) return 'result is not from the awarded provider'
  if (typeof b.outputHash !== 'string' || typeof b.issuedAt !== 'number') return 'result lacks output hash'
  if (!sigOk(result, award.body.provider)) return 'result signature is not the provider’s'
  return undefined
}

/** Content address of any canonical-JSON value. */
export function hashOf(value: unknown): string {
  return toHex(sha256(new TextEncoder().encode(canonicalJson(value))))
}

export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes))
}
