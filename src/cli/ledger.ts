/** `swarmd ledger ...`: the node's credit ledger (balances, history, audit) through the daemon. */
import { AgentClient } from '../node/agents/index.ts'
import { daemonClient } from './daemon.ts'
import { type Command, type CommandContext, printJson, table } from './command.ts'

const client = (ctx: CommandContext) => new AgentClient(daemonClient(ctx))

const balance: Command = {
  name: 'balance',
  summary: 'balance of one account (agent id, prefix or name), or of every account',
  positionals: [{ name: 'AGENT', description: 'agent id, id prefix, name or account' }],
  async run(ctx) {
    const r = await client(ctx).balances(ctx.args.AGENT)
    if (ctx.flags.json) printJson(ctx.io, ctx.args.AGENT ? r.accounts[0] : r.accounts)
    else if (r.accounts.length === 0) ctx.io.out('no accounts\n')
    else
      ctx.io.out(
        `${table(
          ['ACCOUNT', 'BALANCE'],
          r.accounts.map((a) => [a.account, a.balance]),
        )}\n`,
      )
    return 0
  },
}

const history: Command = {
  name: 'history',
  summary: "an account's history: mints, transfers, escrows (oldest first)",
  positionals: [{ name: 'AGENT', description: 'agent id, id prefix, name or account', required: true }],
  async run(ctx) {
    const r = await client(ctx).history(ctx.args.AGENT as string)
    if (ctx.flags.json) printJson(ctx.io, r)
    else if (r.history.length === 0) ctx.io.out(`no history for ${r.account}\n`)
    else
      ctx.io.out(
        `${table(
          ['SEQ', 'AT', 'KIND', 'DELTA', 'BALANCE', 'REF', 'MEMO'],
          r.history.map((h) => [
            h.seq,
            new Date(h.at).toISOString(),
            h.kind,
            h.delta,
            h.balance,
            h.ref ?? '-',
            h.memo ?? '-',
          ]),
        )}\n`,
      )
    return 0
  },
}

const audit: Command = {
  name: 'audit',
  summary: 'recompute the node-local ledger totals and check its invariants',
  async run(ctx) {
    const r = await client(ctx).audit()
    if (ctx.flags.json) printJson(ctx.io, r)
    else {
      ctx.io.out(
        `${r.ok ? 'ok' : 'PROBLEMS'}: ${r.accounts} accounts, balances ${r.balances}, open escrows ${r.openEscrows} (${r.openEscrowCount}), minted ${r.minted}, settled out ${r.settledOut}, in ${r.settledIn}\n`,
      )
      for (const p of r.problems) ctx.io.out(`  ${p}\n`)
    }
    return r.ok ? 0 : 1
  },
}

export const commands: Command[] = [
  { name: 'ledger', summary: "the node's credit ledger", subcommands: [balance, history, audit] },
]
