/**
 * `swarmd msg`: end-to-end encrypted messages between agents, through the
 * running daemon (its node-owned agent is the default sender and inbox).
 */
import { NodeClient } from '../node/client.ts'
import { resolveRepoPath } from '../node/repo.ts'
import { type Command, type CommandContext, printJson, table } from './command.ts'

const repoOf = (ctx: CommandContext) => resolveRepoPath(ctx.flags.repo as string | undefined)

interface SendReply {
  messageId: string
  to: string
  via: string
}
interface InboxReply {
  agentId: string
  messages: { from: string; messageId: string; text: string; receivedAt: number; via: string }[]
}

const send: Command = {
  name: 'send',
  summary: 'send TEXT end-to-end encrypted to an agent',
  description:
    'Delivered directly to the node hosting the agent, through a relay when that node is not reachable,\n' +
    'or left (sealed) in mailboxes held by peers when the agent is offline. Prints the message id and how\n' +
    'it went (via local, direct, relay or mailbox).',
  positionals: [
    { name: 'AGENT_ID', description: 'recipient agent id (64 hex chars)', required: true },
    { name: 'TEXT', description: 'message text', required: true, variadic: true },
  ],
  flags: {
    from: {
      type: 'string',
      description: 'sending agent (default: the node-owned agent)',
      placeholder: 'AGENT',
    },
  },
  async run(ctx) {
    const body: Record<string, string> = { to: ctx.args.AGENT_ID!, text: ctx.rest.join(' ') }
    if (typeof ctx.flags.from === 'string') body.from = ctx.flags.from
    const res = await NodeClient.forRepo(repoOf(ctx)).request<SendReply>('POST', '/v1/msg/send', body, 60_000)
    if (ctx.flags.json) printJson(ctx.io, res)
    else ctx.io.out(`sent ${res.messageId} to ${res.to} via ${res.via}\n`)
    return 0
  },
}

const inbox: Command = {
  name: 'inbox',
  summary: 'recent messages received by an agent of this node',
  positionals: [{ name: 'AGENT_ID', description: 'local agent (default: the node-owned agent)' }],
  flags: { limit: { type: 'integer', description: 'at most this many (newest)', min: 1 } },
  async run(ctx) {
    const q = new URLSearchParams()
    if (ctx.args.AGENT_ID) q.set('agent', ctx.args.AGENT_ID)
    if (typeof ctx.flags.limit === 'number') q.set('limit', String(ctx.flags.limit))
    const res = await NodeClient.forRepo(repoOf(ctx)).request<InboxReply>('GET', `/v1/msg/inbox?${q}`)
    if (ctx.flags.json) {
      printJson(ctx.io, res)
      return 0
    }
    if (res.messages.length === 0) {
      ctx.io.out(`no messages for ${res.agentId}\n`)
      return 0
    }
    const rows = res.messages.map((m) => [
      new Date(m.receivedAt).toISOString(),
      `${m.from.slice(0, 12)}…`,
      m.via,
      m.text,
    ])
    ctx.io.out(`${table(['received', 'from', 'via', 'text'], rows)}\n`)
    return 0
  },
}

const whoami: Command = {
  name: 'whoami',
  summary: "this node's own agent: its id and signed card",
  async run(ctx) {
    const res = await NodeClient.forRepo(repoOf(ctx)).request<{ agentId: string; card: unknown }>(
      'GET',
      '/v1/msg/whoami',
    )
    if (ctx.flags.json) printJson(ctx.io, res)
    else ctx.io.out(`${res.agentId}\n`)
    return 0
  },
}

export const commands: Command[] = [
  {
    name: 'msg',
    summary: 'end-to-end encrypted agent messages (send, inbox, whoami)',
    subcommands: [send, inbox, whoami],
  },
]
