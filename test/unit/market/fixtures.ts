import { signingKeyFromSeed, toHex } from '../../../src/common/index.ts'
import { type CfpBody, type Offer, signBid, signCfp } from '../../../src/market/index.ts'

export const agent = (n: number) => {
  const k = signingKeyFromSeed(new Uint8Array(32).fill(n))
  return { id: toHex(k.publicKey), sk: k.secretKey }
}
export const requester = agent(1)
export const providers = [agent(11), agent(12), agent(13), agent(14)]

export const cfpBody = (over: Partial<CfpBody> = {}): CfpBody => ({
  id: 'cfp-1',
  requester: requester.id,
  capability: 'image-ocr',
  payload: { url: 'https://example.org/a.png' },
  units: 1,
  reserve: 100,
  deadlineMs: 1_000,
  mechanism: 'vcg',
  negotiation: false,
  issuedAt: 10_000,
  resultTimeoutMs: 5_000,
  ...over,
})
export const makeCfp = (over: Partial<CfpBody> = {}) => signCfp(cfpBody(over), requester.sk)
export const makeBid = (
  p: { id: string; sk: Uint8Array },
  offers: Offer[],
  cfpId = 'cfp-1',
  expiresAt = 1e12,
) => signBid({ cfpId, bidder: p.id, offers, expiresAt }, p.sk)
