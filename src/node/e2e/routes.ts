/**
 * Control API of the E2E service (used by `swarmd msg`):
 *
 * - `POST /v1/msg/send` `{ to, text, from? }` → `{ messageId, to, via }`
 * - `GET /v1/msg/inbox?agent=<id>&limit=<n>` → `{ agentId, messages: [{ from, messageId, text, receivedAt, via }] }`
 * - `GET /v1/msg/whoami` → `{ agentId, card }` (the node-owned agent)
 */
import { UserError } from '../../common/index.ts'
import type { ControlServer } from '../control.ts'
import type { E2EService } from './service.ts'

const registered = new WeakSet<ControlServer>()

export function registerMsgRoutes(control: ControlServer, svc: E2EService): void {
  if (registered.has(control)) return
  registered.add(control)
  const nodeAgent = (): string => {
    const id = svc.nodeAgent
    if (!id) throw new UserError('this node has no node-owned agent')
    return id
  }
  control.route('POST', '/v1/msg/send', async (req) => {
    const b = (req.body ?? {}) as { to?: unknown; text?: unknown; from?: unknown }
    if (typeof b.to !== 'string' || typeof b.text !== 'string')
      throw new UserError('body must be {"to": "<agent id>", "text": "...", "from"?: "<agent id>"}')
    const from = typeof b.from === 'string' ? b.from : nodeAgent()
    const res = await svc.send(from, b.to, new TextEncoder().encode(b.text), { signal: req.signal })
    return { messageId: res.messageId, to: b.to, via: res.via }
  })
  control.route('GET', '/v1/msg/inbox', (req) => {
    const agentId = req.query.get('agent') || nodeAgent()
    if (!svc.localCard(agentId)) throw new UserError(`${agentId} is not an agent of this node`)
    const limitRaw = req.query.get('limit')
    const limit = limitRaw === null ? undefined : Number(limitRaw)
    if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0))
      throw new UserError(`limit must be a positive integer, got ${JSON.stringify(limitRaw)}`)
    const dec = new TextDecoder()
    return {
      agentId,
      messages: svc.inbox(agentId, limit === undefined ? {} : { limit }).map((m) => ({
        from: m.from,
        messageId: m.messageId,
        text: dec.decode(m.payload),
        receivedAt: m.receivedAt,
        via: m.via,
      })),
    }
  })
  control.route('GET', '/v1/msg/whoami', () => {
    const agentId = nodeAgent()
    return { agentId, card: svc.localCard(agentId) }
  })
}
