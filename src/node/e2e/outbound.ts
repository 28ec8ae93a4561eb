/**
 * Outbound messages of the E2E service: a send goes through the sending
 * agent's `SessionManager` (IK, since routing needs the recipient's card
 * anyway), whose frames are wrapped in e2e envelopes and routed to the
 * recipient's node (direct, else relay). Sends from one agent to one
 * recipient are serialised and wait for a handshake in flight. When the node
 * cannot be reached or no longer hosts the agent, the payload is sealed
 * (Noise X) and left in mailboxes.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import { fromHex, SwarmdError, UserError } from '../../common/index.ts'
import { encodeEnvelope, type Envelope, newEnvelope, seal } from '../../e2e/index.ts'
import { ACK } from './codec.ts'
import { RejectedError, UnreachableError } from './delivery.ts'
import type { E2EService, LocalAgent, SendResult } from './service.ts'

const HEX64 = /^[0-9a-f]{64}$/

interface SendCtx {
  from: string
  to: string
  /** The message id: every envelope carrying this message (a retry, the mailbox copy) has it. */
  id: Uint8Array
  result: { messageId: string; via: 'local' | 'direct' | 'relay' } | undefined
}

export class Outbound {
  private readonly svc: E2EService
  private readonly als = new AsyncLocalStorage<SendCtx>()

  constructor(svc: E2EService) {
    this.svc = svc
  }

  /** The SessionManager's transport: wrap a frame in an envelope and route it. */
  async transport(from: string, to: string, body: Uint8Array): Promise<void> {
    const ctx = this.als.getStore()
    const mine = ctx !== undefined && ctx.from === from && ctx.to === to
    const env = newEnvelope({
      id: mine ? ctx.id : randomBytes(16),
      to,
      kind: 'session',
      replyTo: from,
      ttl: this.svc.node.config.e2e.hopLimit,
      body,
    })
    if (mine) {
      ctx.result = { messageId: env.id, via: await this.route(env) }
      return
    }
    // Frames produced while handling inbound ones (handshake replies): in the background.
    this.route(env).catch((err: unknown) =>
      this.svc.logger.debug('background e2e frame not delivered', { to, error: err }),
    )
  }

  /** Route one envelope to its recipient's node; throws when it cannot be delivered. */
  private async route(env: Envelope, signal?: AbortSignal): Promise<'local' | 'direct' | 'relay'> {
    if (this.svc.agents.has(env.to)) {
      const ack = await this.svc.inboundHandler.accept(env, 'local', undefined)
      if (ack.status !== ACK.DELIVERED) throw new RejectedError(ack)
      return 'local'
    }
    const bytes = encodeEnvelope(env)
    let card = await this.svc.cards.lookup(env.to)
    if (!card) throw agentNotFound(env.to)
    for (let attempt = 0; ; attempt++) {
      const target = card.body.node ?? ''
      try {
        const { via, ack } = await this.svc.delivery.toNode(target, card.body.addresses ?? [], bytes, signal)
        if (ack.status === ACK.DELIVERED) return via
        throw new RejectedError(ack)
      } catch (err) {
        if (!(err instanceof UnreachableError) || attempt > 0) throw err
        // The agent may have moved or its node changed address: look again once.
        const fresh = await this.svc.cards.lookup(env.to, { fresh: true })
        if (!fresh || fresh.sig === card.sig) throw err
        card = fresh
      }
    }
  }

  /** Run `fn` after the previous send from `from` to `to` finished. */
  private serial<T>(a: LocalAgent, to: string, fn: () => Promise<T>): Promise<T> {
    const prev = a.chains.get(to) ?? Promise.resolve()
    const next = prev.catch(() => {}).then(fn)
    a.chains.set(to, next)
    const done = (): void => {
      if (a.chains.get(to) === next) a.chains.delete(to)
    }
    next.then(done, done)
    return next
  }

  /** Wait for a handshake in flight with `to` to complete; forget it if it does not. */
  private async settleSession(a: LocalAgent, to: string): Promise<void> {
    const end = Date.now() + this.svc.node.config.e2e.deliveryTimeoutMs * 2
    for (;;) {
      const info = a.mgr.sessionInfo(to)
      if (!info || info.open) return
      if (Date.now() > end) {
        a.mgr.close(to)
        return
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  private async sendSession(
    a: LocalAgent,
    to: string,
    payload: Uint8Array,
    id: Uint8Array,
  ): Promise<SendResult> {
    const ctx: SendCtx = { from: a.ep.agentId, to, id, result: undefined }
    await this.als.run(ctx, () => a.mgr.encrypt(to, payload))
    if (!ctx.result) {
      a.mgr.close(to)
      throw new UnreachableError(`the message to ${to} was queued behind an unfinished handshake`)
    }
    return ctx.result
  }

  /** Everything but local delivery and metrics: see `E2EService.send`. */
  async send(
    from: string,
    to: string,
    payload: Uint8Array,
    opts: { signal?: AbortSignal } = {},
  ): Promise<SendResult> {
    const a = this.svc.agents.get(from)
    if (!a) throw new UserError(`${from} is not an agent of this node`)
    if (!HEX64.test(to))
      throw new UserError(`invalid agent id ${JSON.stringify(to)} (64 lowercase hex chars)`)
    if (this.svc.agents.has(to)) {
      const messageId = randomBytes(16).toString('hex')
      await this.svc.dispatch({
        from,
        to,
        messageId,
        payload,
        receivedAt: this.svc.node.clock.now(),
        via: 'local',
      })
      return { messageId, via: 'local' }
    }
    // One id for this message, whichever path it takes: if a delivery that timed out did arrive after
    // all, the recipient drops the other copy.
    const id = randomBytes(16)
    return this.serial(a, to, async () => {
      opts.signal?.throwIfAborted()
      await this.settleSession(a, to)
      try {
        return await this.sendSession(a, to, payload, id)
      } catch (first) {
        a.mgr.close(to)
        let err = first
        if (err instanceof RejectedError && /E2E_NO_SESSION|E2E_HANDSHAKE_STATE/.test(err.reason)) {
          // The recipient restarted and lost the session: negotiate a new one, once.
          try {
            return await this.sendSession(a, to, payload, id)
          } catch (again) {
            a.mgr.close(to)
            err = again
          }
        }
        if (err instanceof RejectedError && err.status === ACK.REJECTED) throw err
        if (isAgentNotFound(err)) throw err
        return this.sendToMailbox(a, to, payload, err, id)
      }
    })
  }

  private async sendToMailbox(
    a: LocalAgent,
    to: string,
    payload: Uint8Array,
    why: unknown,
    id: Uint8Array,
  ): Promise<SendResult> {
    const card = await this.svc.cards.lookup(to)
    if (!card) throw agentNotFound(to)
    const env = newEnvelope({
      id,
      to,
      kind: 'sealed',
      ttl: this.svc.node.config.e2e.hopLimit,
      body: seal(fromHex(card.body.noiseKey), a.ep.keys, a.card, payload),
    })
    const { stored, refused } = await this.svc.delivery.deposit(
      this.svc.mailbox,
      to,
      env.id,
      encodeEnvelope(env),
      card.body.node,
    )
    this.svc.logger.info('recipient unreachable, message left in mailboxes', {
      to,
      reason: (why as Error)?.message,
      holders: stored,
      refused,
    })
    if (stored.length === 0) {
      throw new SwarmdError(
        'E2E_UNDELIVERABLE',
        `agent ${to} is unreachable and no mailbox took the message: ${refused.join('; ')}`,
      )
    }
    return { messageId: env.id, via: 'mailbox' }
  }
}

function agentNotFound(agentId: string): SwarmdError {
  return new SwarmdError('E2E_AGENT_NOT_FOUND', `no card for agent ${agentId} in the DHT`, {
    action: 'ignore',
  })
}

function isAgentNotFound(err: unknown): boolean {
  return err instanceof SwarmdError && err.code === 'E2E_AGENT_NOT_FOUND'
}
