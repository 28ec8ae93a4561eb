/**
 * `LocalBus`: agent messaging on one node. Channels, inboxes, responses to
 * broadcasts. Messages for agents that are not local go to a
 * `RemoteMessenger` (the seam the routing/E2E layer fills).
 */
import type { Messenger, SwarmMessage } from './host.ts'
import type { Value } from './values.ts'

export interface RemoteMessenger {
  /** Deliver a message to an agent on another node; false if unknown/unreachable. */
  deliver(to: string, msg: SwarmMessage): Promise<boolean>
}

type Waiter = { resolve: () => void }

/**
 * Longest single wait of a receiving agent: a delivery wakes it at once, so
 * this only bounds how late a timeout is noticed (each step costs two timers).
 */
const POLL_MS = 1000

export class LocalBus implements Messenger {
  private readonly channels = new Map<string, Set<string>>()
  private readonly inbox = new Map<string, SwarmMessage[]>()
  private readonly responses = new Map<string, SwarmMessage[]>()
  private readonly expected = new Map<string, number>()
  private readonly waiters = new Map<string, Waiter[]>()
  private seq = 0
  /** Set by the runtime: spawns agents for FORK_AGENT. */
  spawn: ((parent: string, source: string, channel: string, gas: number) => Promise<string>) | null = null
  remote: RemoteMessenger | null = null
  /** Timer used for timeouts (the runtime passes its host's). */
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))

  private wake(key: string): void {
    const ws = this.waiters.get(key) ?? []
    this.waiters.delete(key)
    for (const w of ws) w.resolve()
  }
  private wait(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? []
      list.push({ resolve })
      this.waiters.set(key, list)
      if (ms > 0) void this.sleep(ms).then(resolve)
      else resolve()
    })
  }
  /** Deliver a message to a local inbox (also used by the remote side for incoming messages). */
  deliverLocal(to: string, msg: SwarmMessage): void {
    if (msg.re) {
      const key = `${to}|${msg.re}`
      const l = this.responses.get(key) ?? []
      l.push(msg)
      this.responses.set(key, l)
      this.wake(`r:${key}`)
      return
    }
    const l = this.inbox.get(to) ?? []
    l.push(msg)
    this.inbox.set(to, l)
    this.wake(`i:${to}`)
  }
  register(agent: string): void {
    if (!this.inbox.has(agent)) this.inbox.set(agent, [])
  }
  async connect(agent: string, channel: string): Promise<boolean> {
    const s = this.channels.get(channel) ?? new Set()
    s.add(agent)
    this.channels.set(channel, s)
    this.register(agent)
    return true
  }
  private msg(
    from: string,
    channel: string,
    topic: string,
    data: Value,
    reward: number,
    re?: string,
  ): SwarmMessage {
    return { id: `m${++this.seq}`, from, channel, topic, data, reward, ...(re ? { re } : {}) }
  }
  async broadcast(
    agent: string,
    channel: string,
    topic: string,
    data: Value,
    reward: number,
  ): Promise<number> {
    const members = [...(this.channels.get(channel) ?? [])].filter((a) => a !== agent)
    this.expected.set(`${agent}|${topic}`, members.length)
    this.responses.set(`${agent}|${topic}`, [])
    for (const to of members) this.deliverLocal(to, this.msg(agent, channel, topic, data, reward))
    return members.length
  }
  async send(agent: string, to: string, topic: string, data: Value, reward: number): Promise<boolean> {
    if (this.channels.has(to)) return (await this.broadcast(agent, to, topic, data, reward)) > 0
    this.expected.set(`${agent}|${topic}`, 1)
    const m = this.msg(agent, '', topic, data, reward)
    if (this.inbox.has(to)) {
      this.deliverLocal(to, m)
      return true
    }
    return this.remote ? this.remote.deliver(to, m) : false
  }
  async reply(agent: string, to: string, re: string, data: Value): Promise<boolean> {
    const m = this.msg(agent, '', re, data, 0, re)
    if (this.inbox.has(to)) {
      this.deliverLocal(to, m)
      return true
    }
    return this.remote ? this.remote.deliver(to, m) : false
  }
  async fetch(agent: string, dataType: string, requestId: string): Promise<string> {
    const handle = `${dataType}:${requestId}`
    const ch = [...this.channels.entries()].find(([, s]) => s.has(agent))?.[0] ?? 'default'
    await this.broadcast(agent, ch, handle, { fetch: dataType, requestId }, 0)
    return handle
  }
  async waitResponse(agent: string, handle: string, timeoutMs: number): Promise<SwarmMessage[]> {
    const key = `${agent}|${handle}`
    const want = this.expected.get(key) ?? 1
    const deadline = timeoutMs
    let waited = 0
    while ((this.responses.get(key)?.length ?? 0) < want && waited < deadline) {
      const step = Math.min(POLL_MS, deadline - waited)
      await Promise.race([this.wait(`r:${key}`, step), this.sleep(step)])
      waited += step
    }
    const got = this.responses.get(key) ?? []
    this.responses.set(key, [])
    return got
  }
  async receive(agent: string, timeoutMs: number): Promise<SwarmMessage | null> {
    let waited = 0
    for (;;) {
      const l = this.inbox.get(agent) ?? []
      const m = l.shift()
      if (m) return m
      if (waited >= timeoutMs) return null
      const step = Math.min(POLL_MS, timeoutMs - waited)
      await Promise.race([this.wait(`i:${agent}`, step), this.sleep(step)])
      waited += step
    }
  }
  async fork(agent: string, source: string, channel: string, gas: number): Promise<string> {
    if (!this.spawn) throw new Error('FORK_AGENT is not available on this host')
    return this.spawn(agent, source, channel, gas)
  }
}
