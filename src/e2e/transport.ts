/**
 * Transport encryption after a Noise handshake, for a message path that may
 * drop, duplicate or reorder messages (relays, mailboxes):
 *
 * - every frame carries its 64-bit nonce in clear (`nonce u64 BE || ciphertext`),
 *   and the AEAD uses that nonce, so the receiver need not see every message;
 * - a sliding replay window (default 1024 nonces, a bitmap as in IPsec/WireGuard)
 *   accepts out-of-order frames once and rejects duplicates and frames older
 *   than the window with `E2E_REPLAY`; a nonce is marked seen only after its tag
 *   verified, so forged frames cannot poison the window;
 * - the key is rotated with the spec's REKEY function every `rekeyInterval`
 *   nonces: the key for nonce n is REKEY^(floor(n / interval))(k). The receiver
 *   keeps the previous epoch's key for late frames still inside the window;
 * - nonce 2^64-1 is reserved (spec section 5.1): a sender that reaches it gets
 *   `E2E_NONCE_EXHAUSTED` and must start a new session;
 * - a tampered frame is rejected with `E2E_DECRYPT_FAILED` and the state is
 *   unchanged: the session survives.
 */
import { E2E_ERRORS, E2eError } from './errors.ts'
import { aeadDecrypt, aeadEncrypt, MAX_NONCE, rekey, TAGLEN } from './noise/primitives.ts'

export const NONCE_BYTES = 8
/** @default 1024 */
export const DEFAULT_REPLAY_WINDOW = 1024
/** @default 65536 messages per key epoch */
export const DEFAULT_REKEY_INTERVAL = 65_536
/** How many epochs ahead a receiver will rekey to follow a jump in nonces. */
const MAX_EPOCH_SKIP = 4n

export interface TransportInit {
  /** @default DEFAULT_REKEY_INTERVAL; must be >= replayWindow. */
  rekeyInterval?: number
  /** @default DEFAULT_REPLAY_WINDOW; a multiple of 32. */
  replayWindow?: number
  /** First nonce to send (restoring persisted state). @default 0 */
  startNonce?: bigint
}

function epochKey(k0: Uint8Array, epochs: bigint): Uint8Array {
  let k = k0
  for (let i = 0n; i < epochs; i++) k = rekey(k)
  return k
}

/** The sending half: encrypts with increasing explicit nonces. */
export class TransportSender {
  private readonly interval: bigint
  private key: Uint8Array
  private epoch: bigint
  private n: bigint

  constructor(k: Uint8Array, init: TransportInit = {}) {
    this.interval = BigInt(init.rekeyInterval ?? DEFAULT_REKEY_INTERVAL)
    this.n = init.startNonce ?? 0n
    if (this.n < 0n || this.n > MAX_NONCE)
      throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'start nonce out of range')
    this.epoch = this.n / this.interval
    this.key = epochKey(k, this.epoch)
  }

  get nextNonce(): bigint {
    return this.n
  }

  /** `nonce u64 BE || AEAD(k_epoch, nonce, ad, plaintext)`. */
  encrypt(plaintext: Uint8Array, ad: Uint8Array = new Uint8Array(0)): Uint8Array {
    if (this.n >= MAX_NONCE) {
      throw new E2eError(
        E2E_ERRORS.NONCE_EXHAUSTED,
        'transport nonce space exhausted; a new session is needed',
        {
          action: 'ignore',
        },
      )
    }
    const e = this.n / this.interval
    while (this.epoch < e) {
      this.key = rekey(this.key)
      this.epoch++
    }
    const ct = aeadEncrypt(this.key, this.n, ad, plaintext)
    const out = new Uint8Array(NONCE_BYTES + ct.length)
    new DataView(out.buffer).setBigUint64(0, this.n, false)
    out.set(ct, NONCE_BYTES)
    this.n++
    return out
  }
}

/** The receiving half: decrypts frames in any order, each at most once. */
export class TransportReceiver {
  private readonly interval: bigint
  private readonly window: bigint
  private readonly bits: Uint32Array
  /** Highest nonce accepted so far, -1 before the first. */
  private top = -1n
  private epoch = 0n
  private key: Uint8Array
  private prevKey: Uint8Array | undefined

  constructor(k: Uint8Array, init: TransportInit = {}) {
    const w = init.replayWindow ?? DEFAULT_REPLAY_WINDOW
    const r = init.rekeyInterval ?? DEFAULT_REKEY_INTERVAL
    if (w % 32 !== 0 || w <= 0)
      throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'replay window must be a positive multiple of 32')
    if (r < w) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'rekey interval must be at least the replay window')
    this.interval = BigInt(r)
    this.window = BigInt(w)
    this.bits = new Uint32Array(w / 32)
    this.key = k
    const start = init.startNonce ?? 0n
    if (start > 0n) {
      this.epoch = start / this.interval
      this.key = epochKey(k, this.epoch)
      this.top = start - 1n
    }
  }

  private keyFor(e: bigint): Uint8Array | undefined {
    if (e === this.epoch) return this.key
    if (e === this.epoch - 1n) return this.prevKey
    if (e > this.epoch && e - this.epoch <= MAX_EPOCH_SKIP) {
      // Look ahead without committing: state changes only after the tag verifies.
      let k = this.key
      for (let i = this.epoch; i < e; i++) k = rekey(k)
      return k
    }
    return undefined
  }

  private seen(n: bigint): boolean {
    const i = Number(n % this.window)
    return ((this.bits[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0
  }

  private mark(n: bigint): void {
    if (n > this.top) {
      // Clear the slots of the nonces that slide into the window.
      const gap = n - this.top
      if (gap >= this.window) this.bits.fill(0)
      else for (let m = this.top + 1n; m <= n; m++) this.clear(m)
      this.top = n
    }
    const i = Number(n % this.window)
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) | (1 << (i & 31))
  }

  private clear(n: bigint): void {
    const i = Number(n % this.window)
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) & ~(1 << (i & 31))
  }

  /** Decrypt one frame. Throws `E2eError` (TRUNCATED, REPLAY, DECRYPT_FAILED, BAD_MESSAGE); never changes state then. */
  decrypt(frame: Uint8Array, ad: Uint8Array = new Uint8Array(0)): Uint8Array {
    if (frame.length < NONCE_BYTES + TAGLEN)
      throw new E2eError(E2E_ERRORS.TRUNCATED, 'transport frame too short')
    const n = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(0, false)
    if (n >= MAX_NONCE)
      throw new E2eError(E2E_ERRORS.BAD_MESSAGE, 'reserved nonce 2^64-1 in a transport frame')
    if (this.top >= 0n && n + this.window <= this.top) {
      throw new E2eError(E2E_ERRORS.REPLAY, `nonce ${n} is older than the replay window`, {
        action: 'ignore',
      })
    }
    if (n <= this.top && this.seen(n))
      throw new E2eError(E2E_ERRORS.REPLAY, `nonce ${n} already received`, { action: 'ignore' })
    const e = n / this.interval
    const k = this.keyFor(e)
    if (!k) throw new E2eError(E2E_ERRORS.BAD_MESSAGE, `nonce ${n} is too far ahead of the session`)
    const pt = aeadDecrypt(k, n, ad, frame.subarray(NONCE_BYTES))
    if (e > this.epoch) {
      this.prevKey = e === this.epoch + 1n ? this.key : undefined
      this.key = k
      this.epoch = e
    }
    this.mark(n)
    return pt
  }
}
