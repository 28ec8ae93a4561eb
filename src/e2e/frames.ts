/**
 * Session frames: `type u8 || session id (8) || body`. INIT carries a mode
 * byte (bit0 IK, bit1 hybrid) before the Noise message; the mode is also in the
 * handshake prologue, so changing it in transit breaks the handshake.
 */
export const FRAME = { INIT: 1, RESP: 2, FINAL: 3, DATA: 4 } as const
export const MODE_IK = 1
export const MODE_HYBRID = 2
export const SID_BYTES = 8
export const HEADER = 1 + SID_BYTES

/** The Noise prologue of a session handshake in `mode`. */
export function prologue(mode: number): Uint8Array {
  return new TextEncoder().encode(`swarmd/e2e/v1/mode=${mode}`)
}

export function frame(type: number, sid: Uint8Array, body: Uint8Array, mode?: number): Uint8Array {
  const extra = mode === undefined ? 0 : 1
  const out = new Uint8Array(HEADER + extra + body.length)
  out[0] = type
  out.set(sid, 1)
  if (mode !== undefined) out[HEADER] = mode
  out.set(body, HEADER + extra)
  return out
}
