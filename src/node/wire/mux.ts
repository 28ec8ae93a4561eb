/**
 * The wire's multiplexed session: one long-lived libp2p stream per peer and
 * direction (`/swarmd/mux/1.0.0`) carries every request, one-way message and
 * reply of every swarmd protocol, as length-prefixed frames tagged with the
 * protocol and a request id.
 *
 * Why: a libp2p stream per message costs a yamux open and close, a
 * multistream-select negotiation and a peer-store read (and sometimes write)
 * on both sides: about 2.2 ms of CPU per request/response pair on loopback,
 * against well under 1 ms on a stream that stays open (docs/benchmarks.md,
 * `wire` section). Frames are the same signed envelopes as on a stream per
 * message; only the framing around them is new.
 *
 * Frame (inside the length prefix): `kind:u8 id:u32be` then
 * - request / one-way: `protocolLength:u8 protocol envelope`
 * - reply: `envelope`; no-reply: nothing; error: a UTF-8 reason
 *   (`reset`, `busy`, `unsupported-protocol`, `rejected:<wire reject reason>`).
 */
import type { LengthPrefixedStream } from '@libp2p/utils'
import { SwarmdError } from '../../common/index.ts'
import { WireError } from './envelope.ts'

export const MUX_PROTOCOL = '/swarmd/mux/1.0.0'

export const FRAME = {
  REQUEST: 1,
  ONEWAY: 2,
  REPLY: 3,
  NO_REPLY: 4,
  ERROR: 5,
} as const
export type FrameKind = (typeof FRAME)[keyof typeof FRAME]

/** Bytes a frame adds around an envelope (kind, id, protocol length, and a protocol of up to 255 bytes). */
export const MAX_FRAME_OVERHEAD = 1 + 4 + 1 + 255

export interface MuxFrame {
  kind: FrameKind
  id: number
  /** Request and one-way frames only. */
  protocol?: string
  /** The envelope (request, one-way, reply) or the error reason's bytes (error); empty for no-reply. */
  body: Uint8Array
}

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

export function encodeFrame(f: MuxFrame): Uint8Array {
  const proto = f.protocol === undefined ? undefined : enc.encode(f.protocol)
  if (proto && proto.length > 255) throw new RangeError('protocol names are at most 255 bytes')
  const head = 5 + (proto ? 1 + proto.length : 0)
  const out = new Uint8Array(head + f.body.length)
  out[0] = f.kind
  new DataView(out.buffer).setUint32(1, f.id >>> 0)
  if (proto) {
    out[5] = proto.length
    out.set(proto, 6)
  }
  out.set(f.body, head)
  return out
}

/** Parse a frame; throws a `malformed` WireError on anything that is not one. */
export function decodeFrame(bytes: Uint8Array): MuxFrame {
  if (bytes.length < 5) throw new WireError('malformed', `mux frame of ${bytes.length} bytes`)
  const kind = bytes[0]!
  if (kind < FRAME.REQUEST || kind > FRAME.ERROR) throw new WireError('malformed', `mux frame kind ${kind}`)
  const id = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1)
  if (kind === FRAME.REQUEST || kind === FRAME.ONEWAY) {
    const len = bytes[5]
    if (len === undefined || len === 0 || bytes.length < 6 + len)
      throw new WireError('malformed', 'mux frame with a truncated protocol name')
    let protocol: string
    try {
      protocol = dec.decode(bytes.subarray(6, 6 + len))
    } catch {
      throw new WireError('malformed', 'mux frame protocol is not UTF-8')
    }
    return { kind: kind as FrameKind, id, protocol, body: bytes.subarray(6 + len) }
  }
  return { kind: kind as FrameKind, id, body: bytes.subarray(5) }
}

export function errorFrame(id: number, reason: string): Uint8Array {
  return encodeFrame({ kind: FRAME.ERROR, id, body: enc.encode(reason.slice(0, 200)) })
}

/** The caller's error for an error frame from `peer` on `protocol`. */
export function remoteError(peer: string, protocol: string, body: Uint8Array): SwarmdError {
  let reason: string
  try {
    reason = dec.decode(body)
  } catch {
    reason = 'unknown'
  }
  if (reason === 'busy')
    return new SwarmdError('WIRE_BUSY', `${peer} is too busy to take more ${protocol} requests`)
  if (reason === 'unsupported-protocol')
    return new SwarmdError('WIRE_UNSUPPORTED', `${peer} does not speak ${protocol}`)
  const why = reason.startsWith('rejected:')
    ? `refused the message (${reason.slice(9)})`
    : 'its handler failed'
  return new SwarmdError('WIRE_RESET', `${peer} reset the request on ${protocol} (${why})`)
}

/** The session was already closed when a message was to be sent: nothing reached the peer, so a retry is safe. */
export class SessionClosedError extends SwarmdError<'WIRE_RESET'> {
  constructor(peer: string) {
    super('WIRE_RESET', `the session with ${peer} is closed`)
    this.name = 'SessionClosedError'
  }
}

interface Pending {
  resolve(frame: MuxFrame): void
  reject(err: Error): void
}

export interface SessionHooks {
  /** Reset the underlying stream. */
  abort(err: Error): void
  onClose(): void
  /** A frame that is not a reply to us: the peer misbehaves. */
  onMalformed(err: WireError): void
}

/**
 * The caller's side of one mux stream: numbers requests, writes their frames
 * and matches the replies read back. When the stream ends every pending
 * request fails with `WIRE_RESET` and `onClose` runs (the wire then opens a
 * new session on the next request).
 */
export class MuxSession {
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private closed = false

  private readonly lp: LengthPrefixedStream
  private readonly peer: string
  private readonly hooks: SessionHooks

  constructor(lp: LengthPrefixedStream, peer: string, hooks: SessionHooks) {
    this.lp = lp
    this.peer = peer
    this.hooks = hooks
    void this.readLoop()
  }

  private async readLoop(): Promise<void> {
    try {
      for (;;) {
        const frame = decodeFrame((await this.lp.read()).subarray())
        if (frame.kind === FRAME.REQUEST || frame.kind === FRAME.ONEWAY)
          throw new WireError('malformed', 'a request frame on the caller side of a mux stream')
        const p = this.pending.get(frame.id)
        if (!p) continue // answered after the caller gave up
        this.pending.delete(frame.id)
        p.resolve(frame)
      }
    } catch (err) {
      if (err instanceof WireError && !this.closed) this.hooks.onMalformed(err)
      this.close(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** End the session: fail what is pending, reset the stream. Idempotent. */
  close(err: Error = new Error('session closed')): void {
    if (this.closed) return
    this.closed = true
    for (const p of this.pending.values())
      p.reject(new SwarmdError('WIRE_RESET', `the session with ${this.peer} ended: ${err.message}`))
    this.pending.clear()
    try {
      this.hooks.abort(err)
    } catch {
      // already closed
    }
    this.hooks.onClose()
  }

  private async send(bytes: Uint8Array, signal: AbortSignal): Promise<void> {
    try {
      await this.lp.write(bytes, { signal })
    } catch (err) {
      if (signal.aborted) throw err
      // The stream is gone (its end not yet seen by the read loop): nothing was sent.
      this.close(err instanceof Error ? err : new Error(String(err)))
      throw new SessionClosedError(this.peer)
    }
  }

  /** Send one envelope on `protocol`; resolves with the answer frame, or at once for a one-way message. */
  async call(
    protocol: string,
    envelope: Uint8Array,
    expectReply: boolean,
    signal: AbortSignal,
  ): Promise<MuxFrame | undefined> {
    if (this.closed) throw new SessionClosedError(this.peer)
    const id = this.nextId
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1
    const bytes = encodeFrame({
      kind: expectReply ? FRAME.REQUEST : FRAME.ONEWAY,
      id,
      protocol,
      body: envelope,
    })
    if (!expectReply) {
      await this.send(bytes, signal)
      return undefined
    }
    const answer = Promise.withResolvers<MuxFrame>()
    answer.promise.catch(() => {}) // rejected while the write is still pending: handled below
    this.pending.set(id, answer)
    const onAbort = () => {
      this.pending.delete(id)
      answer.reject(new SwarmdError('WIRE_TIMEOUT', `no reply from ${this.peer} on ${protocol} in time`))
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    try {
      await this.send(bytes, signal)
      return await answer.promise
    } finally {
      signal.removeEventListener('abort', onAbort)
      this.pending.delete(id)
    }
  }
}
