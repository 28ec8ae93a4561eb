import { ManualClock } from '../../../src/common/index.ts'
import type { AgentCard, AgentKeys, Received } from '../../../src/e2e/index.ts'
import { agentCardBody, agentKeysFromSeed, SessionManager, signAgentCard } from '../../../src/e2e/index.ts'

export function agent(seed: number, caps: string[] = ['chat']): { keys: AgentKeys; card: AgentCard } {
  const keys = agentKeysFromSeed(new Uint8Array(32).fill(seed))
  return { keys, card: signAgentCard(keys, agentCardBody(keys, caps, { issuedAt: 0, pq: true })) }
}

export interface Net {
  clock: ManualClock
  managers: Map<string, SessionManager>
  inbox: Map<string, Received[]>
  /** Every byte string that crossed the relay. */
  captured: Uint8Array[]
  /** Pending frames (to, from, bytes); `pump()` delivers them. */
  queue: Array<{ to: string; from: string; bytes: Uint8Array }>
  errors: unknown[]
  pump(): Promise<void>
}

/** Managers connected through an in-memory relay that records every frame it carries. */
export function makeNet(
  agents: Array<{ keys: AgentKeys; card: AgentCard }>,
  opts: { directory?: boolean; hybrid?: boolean; sessionTtlMs?: number } = {},
): Net {
  const clock = new ManualClock(1_000)
  const cards = new Map(agents.map((a) => [a.keys.agentId, a.card]))
  const net: Net = {
    clock,
    managers: new Map(),
    inbox: new Map(),
    captured: [],
    queue: [],
    errors: [],
    async pump() {
      while (net.queue.length > 0) {
        const f = net.queue.shift()
        if (!f) break
        const m = net.managers.get(f.to)
        if (!m) continue
        try {
          const got = await m.onMessage(f.from, f.bytes)
          net.inbox.get(f.to)?.push(...got)
        } catch (err) {
          net.errors.push(err)
        }
      }
    },
  }
  for (const a of agents) {
    const id = a.keys.agentId
    net.inbox.set(id, [])
    net.managers.set(
      id,
      new SessionManager({
        keys: a.keys,
        card: a.card,
        clock,
        hybrid: opts.hybrid ?? false,
        ...(opts.sessionTtlMs ? { sessionTtlMs: opts.sessionTtlMs } : {}),
        send: (to, bytes) => {
          net.captured.push(Uint8Array.from(bytes))
          net.queue.push({ to, from: id, bytes })
        },
        ...(opts.directory ? { lookupCard: (x: string) => cards.get(x) } : {}),
      }),
    )
  }
  return net
}

export function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}
