/**
 * `swarmd agent ...`: deploy and manage the agents hosted by the running
 * daemon (through its control API). Agents are named by id, unique id prefix
 * or name.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { isSwarmdError, UserError } from '../common/index.ts'
import { AgentClient, type AgentSummary } from '../node/agents/index.ts'
import { daemonClient } from './daemon.ts'
import { type Command, type CommandContext, printJson, table } from './command.ts'

const client = (ctx: CommandContext) => new AgentClient(daemonClient(ctx))

const idArg = { name: 'ID', description: 'agent id, id prefix or name', required: true }

function summaryLine(a: AgentSummary): string {
  return `${a.id}  ${a.name}  ${a.status}${a.message ? ` (${a.message})` : ''}  gas ${a.gasUsed}  balance ${a.balance}\n`
}

const deploy: Command = {
  name: 'deploy',
  summary: 'verify and deploy an AVM program as a new agent',
  description:
    'The daemon verifies the program first (errors are printed as file:line:col). --balance mints credits for the agent on the ledger (logged).',
  positionals: [{ name: 'FILE', description: 'program (.avm)', required: true }],
  flags: {
    name: { type: 'string', description: 'agent name (unique on this node)', placeholder: 'N' },
    'gas-limit': { type: 'integer', description: 'gas limit over the agent life', min: 1, placeholder: 'G' },
    balance: { type: 'integer', description: 'credits to mint for the agent', min: 0, placeholder: 'B' },
    input: { type: 'string', description: 'JSON object of input registers', placeholder: 'JSON' },
    'spend-per-day': { type: 'integer', description: 'credits it may pay per day (0: no limit)', min: 0 },
    'gas-per-day': { type: 'integer', description: 'gas it may use per day (0: no limit)', min: 0 },
    'max-gas-per-minute': {
      type: 'integer',
      description: 'anomaly stop above this gas rate (0: off)',
      min: 0,
    },
    approve: {
      type: 'list',
      description: 'action kinds held for `agent approve` (pay, fork, self_modify, tool_write; "none")',
    },
    deny: { type: 'list', description: 'opcodes the agent may not execute' },
  },
  async run(ctx) {
    const file = ctx.args.FILE as string
    let source: string
    try {
      source = await readFile(file, 'utf8')
    } catch {
      throw new UserError(`cannot read ${file}`)
    }
    let inputs: Record<string, unknown> | undefined
    if (typeof ctx.flags.input === 'string') {
      try {
        inputs = JSON.parse(ctx.flags.input) as Record<string, unknown>
      } catch {
        throw new UserError('--input must be a JSON object')
      }
    }
    const f = ctx.flags
    const list = (v: unknown) =>
      Array.isArray(v)
        ? (v as string[]).flatMap((s) => s.split(',')).filter((s) => s && s !== 'none')
        : undefined
    const req = {
      source,
      file,
      ...(typeof f.name === 'string' ? { name: f.name } : {}),
      ...(typeof f['gas-limit'] === 'number' ? { gasLimit: f['gas-limit'] } : {}),
      ...(typeof f.balance === 'number' ? { balance: f.balance } : {}),
      ...(typeof f['spend-per-day'] === 'number' ? { spendPerDay: f['spend-per-day'] } : {}),
      ...(typeof f['gas-per-day'] === 'number' ? { gasPerDay: f['gas-per-day'] } : {}),
      ...(typeof f['max-gas-per-minute'] === 'number' ? { maxGasPerMinute: f['max-gas-per-minute'] } : {}),
      ...(list(f.approve) ? { approvalRequired: list(f.approve) } : {}),
      ...(list(f.deny) ? { deniedOpcodes: list(f.deny) } : {}),
      ...(inputs ? { inputs: inputs as never } : {}),
    }
    let a: AgentSummary
    try {
      a = await client(ctx).deploy(req)
    } catch (err) {
      if (isSwarmdError(err) && err.code === 'VERIFY_FAILED') {
        ctx.io.err(`${err.message}\n`)
        return 1
      }
      throw err
    }
    if (ctx.flags.json) printJson(ctx.io, a)
    else ctx.io.out(`deployed ${summaryLine(a)}`)
    return 0
  },
}

const list: Command = {
  name: 'list',
  summary: 'list hosted agents: id, name, status, gas used, balance, capabilities',
  async run(ctx) {
    const { agents } = await client(ctx).list()
    if (ctx.flags.json) printJson(ctx.io, agents)
    else if (agents.length === 0) ctx.io.out('no agents\n')
    else
      ctx.io.out(
        `${table(
          ['ID', 'NAME', 'STATUS', 'GAS', 'BALANCE', 'CAPABILITIES'],
          agents.map((a) => [
            a.id.slice(0, 16),
            a.name,
            a.status,
            a.gasUsed,
            a.balance,
            a.capabilities.join(',') || '-',
          ]),
        )}\n`,
      )
    return 0
  },
}

const inspect: Command = {
  name: 'inspect',
  summary: 'show an agent: registers, pc, regions, limits, pending approvals, last halt',
  positionals: [idArg],
  async run(ctx) {
    const r = await client(ctx).inspect(ctx.args.ID as string)
    if (ctx.flags.json) {
      printJson(ctx.io, r)
      return 0
    }
    const m = r.machine as Record<string, unknown> | null
    const lines = [
      `id           ${r.id}`,
      `name         ${r.name}`,
      `status       ${r.status}${r.message ? ` (${r.message})` : ''}`,
      `balance      ${r.balance}`,
      `capabilities ${r.capabilities.join(', ') || '-'}`,
      `approvals    ${r.held ? `${r.held.actionId} ${r.held.action}` : '-'}`,
    ]
    if (m) {
      lines.push(
        `pc           ${m.pc} (line ${m.line})`,
        `gas          ${m.gasUsed} used of ${m.gasLimit}`,
        `observer     ${m.observer}`,
        `regions      ${(m.regions as { name: string; mode: string }[]).map((x) => `${x.name}:${x.mode}`).join(', ') || '-'}`,
        `limits       ${JSON.stringify(m.limits)}`,
        `last halt    ${m.lastHalt ? JSON.stringify(m.lastHalt) : '-'}`,
        `registers    ${JSON.stringify(m.registers)}`,
      )
    }
    ctx.io.out(`${lines.join('\n')}\n`)
    return 0
  },
}

/** An agent command whose answer is the agent's summary (stop, resume, approve). */
function summaryCommand(
  name: string,
  summary: string,
  positionals: Command['positionals'],
  call: (c: AgentClient, ctx: CommandContext) => Promise<AgentSummary>,
  prefix = '',
): Command {
  return {
    name,
    summary,
    positionals,
    async run(ctx) {
      const a = await call(client(ctx), ctx)
      if (ctx.flags.json) printJson(ctx.io, a)
      else ctx.io.out(`${prefix}${summaryLine(a)}`)
      return 0
    },
  }
}

const stop = summaryCommand(
  'stop',
  'stop an agent (it stays stopped across restarts until resumed)',
  [idArg],
  (c, ctx) => c.stop(ctx.args.ID as string),
)

const resume = summaryCommand('resume', 'resume a stopped agent', [idArg], (c, ctx) =>
  c.resume(ctx.args.ID as string),
)

const approve = summaryCommand(
  'approve',
  'release an action the agent holds for operator approval',
  [idArg, { name: 'ACTION_ID', description: 'from `agent inspect`', required: true }],
  (c, ctx) => c.approve(ctx.args.ID as string, ctx.args.ACTION_ID as string),
  'approved; ',
)

const trace: Command = {
  name: 'trace',
  summary: "export the agent's whole-life trace as JSONL (replay it with `swarmd vm replay`)",
  positionals: [idArg],
  flags: {
    out: { type: 'string', description: 'write the JSONL here (default: stdout)', placeholder: 'FILE' },
  },
  async run(ctx) {
    const t = await client(ctx).trace(ctx.args.ID as string)
    if (!t.jsonl) throw new UserError(t.message)
    if (typeof ctx.flags.out === 'string') {
      await writeFile(ctx.flags.out, t.jsonl)
      const { jsonl: _, ...rest } = t
      if (ctx.flags.json) printJson(ctx.io, { ...rest, out: ctx.flags.out })
      else ctx.io.out(`${ctx.flags.out}: ${t.steps} instructions; ${t.message}\n`)
    } else ctx.io.out(t.jsonl)
    return t.verified ? 0 : 1
  },
}

export const commands: Command[] = [
  {
    name: 'agent',
    summary: 'deploy and manage agents hosted by the daemon',
    subcommands: [deploy, list, inspect, stop, resume, trace, approve],
  },
]
