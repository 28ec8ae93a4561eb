import { signingKeyFromSeed, toHex } from '../../../src/common/index.ts'

/** A deterministic agent: id = hex of the Ed25519 public key. */
export function agentKey(n: number): { id: string; sk: Uint8Array } {
  const k = signingKeyFromSeed(new Uint8Array(32).fill(n))
  return { id: toHex(k.publicKey), sk: k.secretKey }
}
