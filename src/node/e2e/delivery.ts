/**
 * Outbound delivery of encoded e2e envelopes: direct to the recipient's
 * hosting node, else through a relay (a connected peer that forwards the
 * envelope unchanged but for its hop data), else — for sealed messages only —
 * into mailboxes held by the sender's node and a few connected peers.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../../common/index.ts'
import { SwarmdError } from '../../common/index.ts'
import type { Mailbox } from '../../e2e/index.ts'
import type { SwarmNode } from '../node.ts'
import {
  ACK,
  type Ack,
  decodeAck,
  E2E_PROTOCOL,
  encodeDeliver,
  encodeDeposit,
  encodeRelay,
  MSG,
} from './codec.ts'

export type Via = 'local' | 'direct' | 'relay' | 'mailbox'

export interface DeliveryOptions {
  timeoutMs: number
  maxRelays: number
  mailboxReplicas: number
  mailboxTtlMs: number
}

/** Thrown when neither the hosting node nor any relay could take the envelope. */
export class UnreachableError extends SwarmdError<'E2E_UNREACHABLE'> {
  constructor(message: string) {
    super('E2E_UNREACHABLE', message, { action: 'ignore' })
    this.name = 'UnreachableError'
  }
}

/** The recipient's node answered but refused the envelope (`reason` says why). */
export class RejectedError extends SwarmdError<'E2E_REJECTED', { status: string; reason: string }> {
  readonly status: string
  readonly reason: string
  constructor(ack: Ack) {
    super('E2E_REJECTED', `recipient node answered ${ack.status}: ${ack.reason}`, {
      payload: { status: ack.status, reason: ack.reason },
      action: 'ignore',
    })
    this.name = 'RejectedError'
    this.status = ack.status
    this.reason = ack.reason
  }
}

/** Bytes-level delivery over `/swarmd/e2e/1.0.0` for one node. */
export class Delivery {
  private readonly node: SwarmNode
  private readonly opts: DeliveryOptions
  private readonly log: Logger

  constructor(node: SwarmNode, opts: DeliveryOptions, log: Logger) {
    this.node = node
    this.opts = opts
    this.log = log
  }

  private async ask(
    peer: string,
    type: string,
    payload: Uint8Array,
    signal?: AbortSignal,
    timeoutMs = this.opts.timeoutMs,
  ): Promise<Ack> {
    const reply = await this.node.wire.request(
      peer,
      E2E_PROTOCOL,
      { type, payload },
      { timeoutMs, ...(signal ? { signal } : {}) },
    )
    if (reply.type !== MSG.ACK) throw new SwarmdError('E2E_BAD_REPLY', `expected e2e.ack, got ${reply.type}`)
    return decodeAck(reply.payload)
  }

  /** Learn the addresses of a peer from its card so that it can be dialled. */
  async learnAddresses(peer: string, addresses: string[]): Promise<void> {
    const mas = []
    for (const a of addresses) {
      try {
        mas.push(multiaddr(a))
      } catch {
        // an unparsable address in a card: skip it
      }
    }
    if (mas.length === 0) return
    try {
      await this.node.libp2p.peerStore.merge(peerIdFromString(peer), { multiaddrs: mas })
    } catch {
      // not a valid peer id: the dial will fail
    }
  }

  /** One direct attempt; undefined when the node cannot be reached. */
  async direct(
    target: string,
    addresses: string[],
    envelope: Uint8Array,
    signal?: AbortSignal,
  ): Promise<Ack | undefined> {
    if (target === this.node.peerId || this.node.peerScore.isBanned(target)) return undefined
    await this.learnAddresses(target, addresses)
    try {
      return await this.ask(target, MSG.DELIVER, encodeDeliver(envelope), signal)
    } catch (err) {
      this.log.debug('direct delivery failed', { peer: target, error: err })
      return undefined
    }
  }

  /** Connected peers that may relay towards `target`, at most `maxRelays`. */
  relayCandidates(target: string): string[] {
    const self = this.node.peerId
    return this.node.libp2p
      .getPeers()
      .map((p) => p.toString())
      .filter((p) => p !== target && p !== self && !this.node.peerScore.isBanned(p))
      .slice(0, this.opts.maxRelays)
  }

  /**
   * Deliver an envelope to `target`'s node: directly, else through relays.
   * Returns the via and the recipient node's ack; throws `UnreachableError`.
   */
  async toNode(
    target: string,
    addresses: string[],
    envelope: Uint8Array,
    signal?: AbortSignal,
  ): Promise<{ via: 'direct' | 'relay'; ack: Ack }> {
    const ack = await this.direct(target, addresses, envelope, signal)
    if (ack && ack.status !== ACK.UNREACHABLE) return { via: 'direct', ack }
    const tried: string[] = []
    for (const relay of this.relayCandidates(target)) {
      signal?.throwIfAborted()
      tried.push(relay)
      try {
        // Twice the direct timeout: the relay makes a direct attempt of its own.
        const r = await this.ask(
          relay,
          MSG.RELAY,
          encodeRelay({ envelope, target, addresses }),
          signal,
          2 * this.opts.timeoutMs,
        )
        if (r.status !== ACK.UNREACHABLE) return { via: 'relay', ack: r }
      } catch (err) {
        this.log.debug('relay attempt failed', { relay, target, error: err })
      }
    }
    throw new UnreachableError(`node ${target} is unreachable directly and through ${tried.length} relay(s)`)
  }

  /**
   * The peers asked to hold a message for an offline agent: connected peers
   * closest to the agent id (XOR of SHA-256 digests), at most `mailboxReplicas`.
   */
  mailboxHolders(agentId: string, exclude: string[]): string[] {
    const key = sha256(new TextEncoder().encode(agentId))
    const dist = (p: string): Uint8Array => {
      const h = sha256(new TextEncoder().encode(p))
      return h.map((b, i) => b ^ (key[i] ?? 0))
    }
    const cmp = (a: Uint8Array, b: Uint8Array): number => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0)
      return 0
    }
    const self = this.node.peerId
    return this.node.libp2p
      .getPeers()
      .map((p) => p.toString())
      .filter((p) => p !== self && !exclude.includes(p) && !this.node.peerScore.isBanned(p))
      .map((p) => ({ p, d: dist(p) }))
      .sort((a, b) => cmp(a.d, b.d))
      .slice(0, this.opts.mailboxReplicas)
      .map((x) => x.p)
  }

  /**
   * Leave a sealed envelope with the local mailbox and remote holders.
   * Returns where it was stored and why holders refused.
   */
  async deposit(
    mailbox: Mailbox,
    recipient: string,
    id: string,
    envelope: Uint8Array,
    hostingNode: string | undefined,
  ): Promise<{ stored: string[]; refused: string[] }> {
    const stored: string[] = []
    const refused: string[] = []
    const self = this.node.peerId
    try {
      await mailbox.deposit({ recipient, sender: self, id, blob: envelope, ttlMs: this.opts.mailboxTtlMs })
      stored.push(self)
    } catch (err) {
      refused.push(`${self}: ${(err as Error).message}`)
    }
    const holders = this.mailboxHolders(recipient, [])
    if (hostingNode && hostingNode !== self && !holders.includes(hostingNode)) {
      const connected = this.node.libp2p.getPeers().some((p) => p.toString() === hostingNode)
      if (connected) holders.push(hostingNode)
    }
    await Promise.all(
      holders.map(async (peer) => {
        try {
          const ack = await this.ask(
            peer,
            MSG.DEPOSIT,
            encodeDeposit({ envelope, ttlMs: this.opts.mailboxTtlMs }),
          )
          if (ack.status === ACK.STORED || ack.status === ACK.DELIVERED) stored.push(peer)
          else refused.push(`${peer}: ${ack.status} ${ack.reason}`)
        } catch (err) {
          refused.push(`${peer}: ${(err as Error).message}`)
        }
      }),
    )
    return { stored, refused }
  }
}
