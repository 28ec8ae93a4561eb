/**
 * Store-and-forward mailbox for offline agents, held by a peer over a
 * KvStore. It stores opaque encrypted blobs (encoded envelopes) for a
 * recipient, each with an expiry, bounded per depositing sender (count and
 * bytes) and per recipient; a flood is refused with `E2E_MAILBOX_FULL` and the
 * reason. `drain(recipient)` hands back everything still valid, oldest first,
 * and deletes it in one batch.
 *
 * Keys: `m/<recipient>/<storedAt, 15 digits>/<id>` -> JSON record.
 */
import type { Clock, KvOp, KvStore } from '../common/index.ts'
import { fromB64, toB64 } from '../common/index.ts'
import { E2E_ERRORS, E2eError } from './errors.ts'

export interface MailboxInit {
  kv: KvStore
  clock: Clock
  /** @default 100 messages held per (recipient, sender) */
  maxMessagesPerSender?: number
  /** @default 1 MiB held per (recipient, sender) */
  maxBytesPerSender?: number
  /** @default 1000 messages held per recipient */
  maxMessagesPerRecipient?: number
  /** @default 256 KiB per message */
  maxMessageBytes?: number
  /** @default 7 days */
  defaultTtlMs?: number
  /** @default 30 days */
  maxTtlMs?: number
}

export interface MailItem {
  id: string
  /** Who handed the blob in (a peer id or agent id: whatever the delivery layer authenticates). */
  sender: string
  storedAt: number
  expiresAt: number
  blob: Uint8Array
}

interface Rec {
  id: string
  sender: string
  storedAt: number
  expiresAt: number
  blob: string
}

const DAY_MS = 86_400_000
const enc = new TextEncoder()
const dec = new TextDecoder()

export class Mailbox {
  private readonly kv: KvStore
  private readonly clock: Clock
  private readonly maxPerSender: number
  private readonly maxBytesPerSender: number
  private readonly maxPerRecipient: number
  private readonly maxMessageBytes: number
  private readonly defaultTtl: number
  private readonly maxTtl: number

  constructor(init: MailboxInit) {
    this.kv = init.kv
    this.clock = init.clock
    this.maxPerSender = init.maxMessagesPerSender ?? 100
    this.maxBytesPerSender = init.maxBytesPerSender ?? 1 << 20
    this.maxPerRecipient = init.maxMessagesPerRecipient ?? 1000
    this.maxMessageBytes = init.maxMessageBytes ?? 256 << 10
    this.defaultTtl = init.defaultTtlMs ?? 7 * DAY_MS
    this.maxTtl = init.maxTtlMs ?? 30 * DAY_MS
  }

  private async *items(recipient: string): AsyncIterable<[string, Rec]> {
    for await (const [k, v] of this.kv.entries(`m/${recipient}/`)) {
      try {
        yield [k, JSON.parse(dec.decode(v)) as Rec]
      } catch {
        // a corrupted record is skipped (and removed by the next drain)
        yield [k, { id: '', sender: '', storedAt: 0, expiresAt: 0, blob: '' }]
      }
    }
  }

  /** Hold `blob` for `recipient`. Idempotent per id. Throws `E2E_MAILBOX_FULL` with the reason. */
  async deposit(m: {
    recipient: string
    sender: string
    id: string
    blob: Uint8Array
    ttlMs?: number
  }): Promise<void> {
    const now = this.clock.now()
    const full = (reason: string) => new E2eError(E2E_ERRORS.MAILBOX_FULL, reason, { action: 'ignore' })
    if (m.blob.length > this.maxMessageBytes)
      throw full(`message of ${m.blob.length} bytes exceeds ${this.maxMessageBytes}`)
    let total = 0
    let fromSender = 0
    let bytesFromSender = 0
    for await (const [, r] of this.items(m.recipient)) {
      if (r.expiresAt <= now) continue
      if (r.id === m.id) return
      total++
      if (r.sender === m.sender) {
        fromSender++
        bytesFromSender += Math.floor((r.blob.length * 3) / 4)
      }
    }
    if (fromSender >= this.maxPerSender)
      throw full(`sender ${m.sender} already has ${fromSender} messages waiting`)
    if (bytesFromSender + m.blob.length > this.maxBytesPerSender) {
      throw full(`sender ${m.sender} would exceed ${this.maxBytesPerSender} bytes waiting`)
    }
    if (total >= this.maxPerRecipient) throw full(`mailbox of ${m.recipient} holds ${total} messages`)
    const ttl = Math.min(m.ttlMs ?? this.defaultTtl, this.maxTtl)
    const rec: Rec = { id: m.id, sender: m.sender, storedAt: now, expiresAt: now + ttl, blob: toB64(m.blob) }
    await this.kv.put(
      `m/${m.recipient}/${String(now).padStart(15, '0')}/${m.id}`,
      enc.encode(JSON.stringify(rec)),
    )
  }

  /** Everything still valid for `recipient`, oldest first; removes all of it (and expired items). */
  async drain(recipient: string): Promise<MailItem[]> {
    const now = this.clock.now()
    const out: MailItem[] = []
    const ops: KvOp[] = []
    for await (const [k, r] of this.items(recipient)) {
      ops.push({ type: 'del', key: k })
      if (r.expiresAt > now && r.id !== '') {
        out.push({
          id: r.id,
          sender: r.sender,
          storedAt: r.storedAt,
          expiresAt: r.expiresAt,
          blob: fromB64(r.blob),
        })
      }
    }
    if (ops.length > 0) await this.kv.batch(ops)
    return out
  }

  /** Number of valid messages waiting for `recipient`. */
  async pending(recipient: string): Promise<number> {
    const now = this.clock.now()
    let n = 0
    for await (const [, r] of this.items(recipient)) if (r.expiresAt > now && r.id !== '') n++
    return n
  }

  /** Delete expired messages of every recipient; returns how many. */
  async purgeExpired(): Promise<number> {
    const now = this.clock.now()
    const ops: KvOp[] = []
    for await (const [k, v] of this.kv.entries('m/')) {
      let exp = 0
      try {
        exp = (JSON.parse(dec.decode(v)) as Rec).expiresAt
      } catch {
        // An unreadable record counts as expired (exp stays 0) and is purged.
      }
      if (exp <= now) ops.push({ type: 'del', key: k })
    }
    if (ops.length > 0) await this.kv.batch(ops)
    return ops.length
  }
}
