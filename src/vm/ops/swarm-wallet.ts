/** Swarm messaging, wallet and security opcodes (all through the host). */
import { fromHex, verify } from '../../common/index.ts'
import { asNumber, invalid } from '../fault.ts'
import { must } from '../gate.ts'
import type { Machine } from '../interp.ts'
import { isMap, sizeOf, toText, truthy, type Value } from '../values.ts'
import { gated } from './plugins.ts'
import { arg, argOr, CONTINUE, type Ins, type OpSpec, valueParam, MAX_WAIT_MS } from './types.ts'
import { atomically, put } from './util.ts'

const p = valueParam

/** Pay `amount` credits to `to`, atomically (inside TX_BEGIN it is staged). Sets dst to the status. */
async function pay(m: Machine, ins: Ins, to: string, amount: number): Promise<number> {
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw invalid(`payment amount must be a positive integer, got ${amount}`)
  const held = await gated(m, ins, { kind: 'pay', amount, detail: to })
  if (held !== null) return held
  const a = await m.gate.call('wallet.pay', { to, amount }, () =>
    atomically(
      m,
      (tx) => m.host.wallet.transfer(m.agentId(), to, amount, tx),
      () => m.set(ins.dst, true),
    ).then(() => true),
  )
  if (!a.ok) m.log(`PAY_AGENT ${to} ${amount} failed: ${a.error}`)
  return put(m, ins, a.ok)
}

/**
 * Pay a promised swarm reward. The instruction's result is already in place,
 * so the checkpoint written with the payment is exact. A reward is never held
 * for approval: a `hold` or `deny` from the constitution skips it (logged).
 */
async function payReward(m: Machine, to: string, amount: number): Promise<void> {
  const d = await m.gate.call('policy.authorize', { kind: 'reward', amount, detail: to }, () =>
    m.host.policy.authorize(m.agentId(), { kind: 'reward', amount, detail: to }),
  )
  const decision = d.ok && isMap(d.value) ? d.value.decision : 'deny'
  if (decision !== 'allow') {
    m.log(`reward of ${amount} to ${to} not paid (${String(decision)})`)
    return
  }
  const a = await m.gate.call('wallet.pay', { to, amount }, () =>
    atomically(
      m,
      (tx) => m.host.wallet.transfer(m.agentId(), to, amount, tx),
      () => {},
    ).then(() => true),
  )
  if (!a.ok) m.log(`reward of ${amount} to ${to} failed: ${a.error}`)
}

export const swarmWalletOps: OpSpec[] = [
  {
    name: 'SWARM_CONNECT',
    params: [p('channel', false, 'string')],
    result: true,
    gas: 20,
    async: true,
    doc: 'Join a swarm channel (it becomes the default channel for broadcasts); returns true.',
    run: async (m, ins) => {
      const ch = toText(arg(m, ins, 0))
      const ok = must(
        await m.gate.call('swarm.connect', [ch], () => m.host.messenger.connect(m.agentId(), ch)),
        'SWARM_CONNECT',
      )
      m.channel = ch
      return put(m, ins, ok)
    },
  },
  {
    name: 'SWARM_BROADCAST',
    params: [p('topic'), p('data', true), p('reward', true, 'number'), p('channel', true, 'string')],
    result: true,
    gas: 1,
    dynGas: (m, ins) => sizeOf(arg(m, ins, 1)) >>> 7,
    gasDoc: '1 + bytes/128',
    async: true,
    doc: 'Publish `{topic, data}` to every other member of the channel; `REWARD=n` is paid to the first responder. Returns the number of receivers.',
    run: async (m, ins) => {
      const topic = toText(arg(m, ins, 0))
      const reward = asNumber(argOr(m, ins, 2, 0), 'reward')
      const ch = ins.given[3] ? toText(arg(m, ins, 3)) : m.channel || 'default'
      const n = must(
        await m.gate.call('swarm.broadcast', [ch, topic, arg(m, ins, 1), reward], () =>
          m.host.messenger.broadcast(m.agentId(), ch, topic, arg(m, ins, 1), reward),
        ),
        'SWARM_BROADCAST',
      )
      if (reward > 0) m.rewards[topic] = reward
      return put(m, ins, n)
    },
  },
  {
    name: 'SEND_SWARM_MSG',
    params: [p('to', false, 'string'), p('message'), p('reward', true, 'number')],
    result: true,
    gas: 5,
    dynGas: (m, ins) => sizeOf(arg(m, ins, 1)) >>> 7,
    gasDoc: '5 + bytes/128',
    async: true,
    doc: 'Send to an agent id or a channel; `message` is `{topic, data}` or any value (topic "msg"). Returns delivered?',
    run: async (m, ins) => {
      const to = toText(arg(m, ins, 0))
      const msg = arg(m, ins, 1)
      const topic = isMap(msg) && typeof msg.topic === 'string' ? msg.topic : 'msg'
      const data = isMap(msg) && Object.hasOwn(msg, 'data') ? (msg.data as Value) : msg
      const reward = asNumber(argOr(m, ins, 2, 0), 'reward')
      const a = await m.gate.call('swarm.send', [to, topic, data, reward], () =>
        m.host.messenger.send(m.agentId(), to, topic, data, reward),
      )
      if (reward > 0) m.rewards[topic] = reward
      return put(m, ins, a.ok && a.value === true)
    },
  },
  {
    name: 'RECV_SWARM_MSG',
    params: [p('timeout_ms', true, 'number')],
    result: true,
    gas: 2,
    async: true,
    doc: 'Next inbox message `{id, from, channel, topic, data, re}` or null after `timeout_ms` (default 0 = only what is waiting).',
    run: async (m, ins) => {
      const t = Math.min(MAX_WAIT_MS, asNumber(argOr(m, ins, 0, 0), 'timeout'))
      const a = await m.gate.call('swarm.receive', [t], () => m.host.messenger.receive(m.agentId(), t))
      return put(m, ins, a.ok ? a.value : null)
    },
  },
  {
    name: 'REPLY_SWARM_MSG',
    params: [p('message'), p('data')],
    result: true,
    gas: 3,
    dynGas: (m, ins) => sizeOf(arg(m, ins, 1)) >>> 7,
    gasDoc: '3 + bytes/128',
    async: true,
    doc: 'Answer a received message; the sender collects it with WAIT_FOR_RESPONSE on the message topic.',
    run: async (m, ins) => {
      const msg = arg(m, ins, 0)
      if (!isMap(msg) || typeof msg.from !== 'string')
        throw invalid('REPLY_SWARM_MSG needs a message from RECV_SWARM_MSG')
      const re = typeof msg.re === 'string' && msg.re ? msg.re : toText(msg.topic ?? null)
      const a = await m.gate.call('swarm.reply', [msg.from, re, arg(m, ins, 1)], () =>
        m.host.messenger.reply(m.agentId(), msg.from as string, re, arg(m, ins, 1)),
      )
      return put(m, ins, a.ok && a.value === true)
    },
  },
  {
    name: 'SWARM_FETCH',
    params: [p('data_type'), p('request_id', true)],
    result: true,
    gas: 5,
    dynGas: (m, ins) => sizeOf(arg(m, ins, 1)) >>> 7,
    gasDoc: '5 + bytes/128',
    async: true,
    doc: 'Request data from the swarm; returns a handle for WAIT_FOR_RESPONSE.',
    run: async (m, ins) => {
      const dt = toText(arg(m, ins, 0))
      const rid = toText(argOr(m, ins, 1, dt))
      const a = await m.gate.call('swarm.fetch', [dt, rid], () =>
        m.host.messenger.fetch(m.agentId(), dt, rid),
      )
      m.taskFailed = !a.ok
      return put(m, ins, a.ok ? a.value : null)
    },
  },
  {
    name: 'WAIT_FOR_RESPONSE',
    params: [p('handle'), p('timeout_ms', true, 'number')],
    result: true,
    gas: 1,
    async: true,
    doc: 'Suspend until the responses to a broadcast/fetch arrive (or timeout, default 30 s) → list of response data. Pays the promised reward to the first responder.',
    run: async (m, ins) => {
      const h = toText(arg(m, ins, 0))
      const t = Math.min(MAX_WAIT_MS, asNumber(argOr(m, ins, 1, 30_000), 'timeout'))
      const a = await m.gate.call('swarm.wait', [h, t], () =>
        m.host.messenger.waitResponse(m.agentId(), h, t),
      )
      const msgs = a.ok && Array.isArray(a.value) ? a.value : []
      m.taskFailed = msgs.length === 0
      m.set(
        ins.dst,
        msgs.map((x) => (isMap(x) ? (x.data ?? null) : null)),
      )
      const reward = m.rewards[h]
      const first = msgs[0] ?? null
      if (reward && isMap(first) && typeof first.from === 'string') {
        delete m.rewards[h]
        await payReward(m, first.from, reward)
      }
      return CONTINUE
    },
  },
  {
    name: 'WAIT_FOR_TASK',
    params: [p('handle'), p('timeout_ms', true, 'number')],
    result: true,
    gas: 1,
    async: true,
    doc: 'Wait for a task handle; returns true when it produced at least one response (else sets task-failed).',
    run: async (m, ins) => {
      const h = toText(arg(m, ins, 0))
      const t = Math.min(MAX_WAIT_MS, asNumber(argOr(m, ins, 1, 30_000), 'timeout'))
      const a = await m.gate.call('swarm.wait', [h, t], () =>
        m.host.messenger.waitResponse(m.agentId(), h, t),
      )
      const ok = a.ok && Array.isArray(a.value) && a.value.length > 0
      m.taskFailed = !ok
      return put(m, ins, ok)
    },
  },
  {
    name: 'FORK_AGENT',
    params: [p('code'), p('channel', true)],
    result: true,
    gas: 50,
    dynGas: (m, ins) => Math.ceil(sizeOf(arg(m, ins, 0)) / 2 / 16),
    gasDoc: '50 + source bytes/32',
    async: true,
    doc: 'Spawn an agent from AVM source (or a region name of this program); returns its id.',
    run: async (m, ins) => {
      const ref = toText(arg(m, ins, 0))
      const region = m.program.regions.find((r) => r.name === ref)
      const src = region ? regionBody(m, region.name) : ref
      const held = await gated(m, ins, { kind: 'fork', detail: ref })
      if (held !== null) return held
      const ch = ins.given[1] ? toText(arg(m, ins, 1)) : ''
      const a = await m.gate.call('swarm.fork', [src, ch], () =>
        m.host.messenger.fork(m.agentId(), src, ch, Math.floor(m.gasLeft / 2)),
      )
      m.taskFailed = !a.ok
      if (!a.ok) m.log(`FORK_AGENT failed: ${a.error}`)
      return put(m, ins, a.ok ? a.value : null)
    },
  },
  {
    name: 'CHECK_BALANCE',
    params: [p('token', true, 'string'), p('min', true, 'number')],
    result: true,
    gas: 2,
    async: true,
    doc: 'With `min`: whether the balance is at least `min` (boolean); without: the balance.',
    run: async (m, ins) => {
      const bal = must(
        await m.gate.call('wallet.balance', null, () => m.host.wallet.balance(m.agentId())),
        'CHECK_BALANCE',
      )
      if (!ins.given[1]) return put(m, ins, bal)
      return put(m, ins, typeof bal === 'number' && bal >= asNumber(arg(m, ins, 1), 'minimum'))
    },
  },
  {
    name: 'PAY_AGENT',
    params: [p('to', false, 'string'), p('amount', false, 'number'), p('token', true, 'string')],
    result: true,
    gas: 3,
    async: true,
    doc: 'Transfer integer credits to another agent, atomically; returns true, or false (logged) on overdraft/denial.',
    run: async (m, ins) => pay(m, ins, toText(arg(m, ins, 0)), asNumber(arg(m, ins, 1), 'amount')),
  },
  {
    name: 'CHECK_PERMISSIONS',
    params: [p('role', false, 'string'), p('action', false, 'string')],
    result: true,
    gas: 1,
    doc: "Whether the operator's policy lets `role` perform `action`.",
    run: (m, ins) => {
      const a = m.gate.callSync('policy.permission', [toText(arg(m, ins, 0)), toText(arg(m, ins, 1))], () =>
        m.host.policy.checkPermission(m.agentId(), toText(arg(m, ins, 0)), toText(arg(m, ins, 1))),
      )
      return put(m, ins, a.ok && a.value === true)
    },
  },
  {
    name: 'CHECK_SIG',
    params: [p('pubkey', false, 'string'), p('sig', false, 'string'), p('message')],
    result: true,
    gas: 1,
    dynGas: (m, ins) => 20 + (sizeOf(arg(m, ins, 2)) >>> 8),
    gasDoc: '21 + bytes/256',
    doc: 'Verify an Ed25519 signature (hex) by a public key / agent id (hex) over `message` (domain "swarmd/avm").',
    run: (m, ins) => {
      let ok = false
      try {
        ok = verify(
          'swarmd/avm',
          arg(m, ins, 2),
          fromHex(toText(arg(m, ins, 1))),
          fromHex(toText(arg(m, ins, 0))),
        )
      } catch {
        ok = false
      }
      return put(m, ins, ok)
    },
  },
  {
    name: 'SECURITY_CHECK',
    params: [p('object')],
    result: true,
    gas: 1,
    dynGas: (m, ins) => sizeOf(arg(m, ins, 0)) >>> 8,
    gasDoc: '1 + bytes/256',
    doc: "Run the operator's security policy on an object → true/false (reason logged).",
    run: (m, ins) => {
      const a = m.gate.callSync('policy.security', [arg(m, ins, 0)], () =>
        m.host.policy.securityCheck(m.agentId(), arg(m, ins, 0)),
      )
      const v = a.ok ? a.value : { ok: false, reason: a.error }
      const ok = isMap(v) && truthy(v.ok ?? null)
      if (!ok) m.log(`SECURITY_CHECK failed: ${isMap(v) ? toText(v.reason ?? null) : ''}`)
      return put(m, ins, ok)
    },
  },
]

/** Body text of a region (lines between `.region` and `.end`). */
export function regionBody(m: Machine, name: string): string {
  const r = m.program.regions.find((x) => x.name === name)
  if (!r) return ''
  return m.program.source
    .split('\n')
    .slice(r.line, r.endLine - 1)
    .join('\n')
}
