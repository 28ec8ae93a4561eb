/**
 * Small binary codecs shared by handshake payloads and frames. Decoders throw
 * only `E2eError` (TRUNCATED / BAD_MESSAGE), never a bare exception.
 */
import { E2E_ERRORS, E2eError } from './errors.ts'
import type { AgentCard } from './keys.ts'

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

export interface HandshakePayload {
  card?: AgentCard
  /** ML-KEM public key or ciphertext in the hybrid mode. */
  kem?: Uint8Array
  data: Uint8Array
}

/** `u32 cardLen || card JSON || u32 kemLen || kem || data`. */
export function encodePayload(p: HandshakePayload): Uint8Array {
  const card = p.card ? enc.encode(JSON.stringify(p.card)) : new Uint8Array(0)
  const kem = p.kem ?? new Uint8Array(0)
  const out = new Uint8Array(8 + card.length + kem.length + p.data.length)
  const dv = new DataView(out.buffer)
  dv.setUint32(0, card.length)
  out.set(card, 4)
  dv.setUint32(4 + card.length, kem.length)
  out.set(kem, 8 + card.length)
  out.set(p.data, 8 + card.length + kem.length)
  return out
}

export function decodePayload(b: Uint8Array): HandshakePayload {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  if (b.length < 8) throw new E2eError(E2E_ERRORS.TRUNCATED, 'handshake payload too short')
  const cardLen = dv.getUint32(0)
  if (4 + cardLen + 4 > b.length)
    throw new E2eError(E2E_ERRORS.TRUNCATED, 'handshake payload: card truncated')
  const kemLen = dv.getUint32(4 + cardLen)
  const kemOff = 8 + cardLen
  if (kemOff + kemLen > b.length)
    throw new E2eError(E2E_ERRORS.TRUNCATED, 'handshake payload: KEM field truncated')
  let card: AgentCard | undefined
  if (cardLen > 0) {
    try {
      card = JSON.parse(dec.decode(b.subarray(4, 4 + cardLen))) as AgentCard
    } catch (cause) {
      throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'handshake payload: card is not JSON', { cause })
    }
  }
  const out: HandshakePayload = { data: b.slice(kemOff + kemLen) }
  if (card !== undefined) out.card = card
  if (kemLen > 0) out.kem = b.slice(kemOff, kemOff + kemLen)
  return out
}
