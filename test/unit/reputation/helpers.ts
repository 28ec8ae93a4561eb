import type { ReportBody } from '../../../src/reputation/index.ts'
import { signingKeyFromSeed, toHex } from '../../../src/common/index.ts'

/** A deterministic agent: id = hex of the Ed25519 public key. */
export function agentKey(n: number): { id: string; sk: Uint8Array } {
  const k = signingKeyFromSeed(new Uint8Array(32).fill(n))
  return { id: toHex(k.publicKey), sk: k.secretKey }
}

/** A valid report body between two agents (successful, rated 1, price 10), with overrides. */
export function reportBody(
  requester: string,
  provider: string,
  taskId: string,
  extra: Partial<ReportBody> = {},
): ReportBody {
  return {
    taskId,
    requester,
    provider,
    outcome: 'success',
    latencyMs: 50,
    rating: 1,
    price: 10,
    issuedAt: 10_000,
    ...extra,
  }
}
