/**
 * CLI commands of the reputation subsystem. `swarmd rep sim` runs the attack
 * simulation on the real trust, scoring and stake code; `rep show`, `rep top`
 * and `rep stats` ask the running daemon for its trust view; `swarmd stake
 * bond|release` move an agent's credits into and out of its bond on the
 * daemon's ledger.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { UserError } from '../common/index.ts'
import {
  ATTACKS,
  type AttackChoice,
  DEFAULT_SIM,
  lineChart,
  type ResultBody,
  runSim,
  type IntakeResult,
  type SignedEnvelope,
  type SignedReport,
  type SimResult,
  type SlashRecord,
  verifySlash,
  WIN_RATE_TARGET,
} from '../reputation/index.ts'
import { ReputationClient } from '../node/reputation/client.ts'
import type { AgentReputation } from '../node/reputation/service.ts'
import type { StakeState } from '../node/reputation/stake.ts'
import { daemonClient } from './daemon.ts'
import { type Command, type CommandContext, printJson, table } from './command.ts'

const daemon = (ctx: CommandContext) => new ReputationClient(daemonClient(ctx))

const num = (x: number) => (x === 0 ? '0' : x >= 0.001 ? x.toFixed(4) : x.toExponential(2))
const when = (ms: number) => new Date(ms).toISOString()
/** " (2.5 reports each)" */
const perBatch = (reports: number, batches: number) =>
  batches === 0 ? '' : ` (${Math.round((reports / batches) * 10) / 10} reports each)`
const agentArg = { name: 'AGENT', description: 'agent id (64 hex characters)', required: true }

function showText(r: AgentReputation): string {
  const lines = [
    `agent          ${r.agentId}${r.preTrusted ? ' (pre-trusted)' : ''}`,
    `trust          ${num(r.trust)} (relative ${num(r.relativeTrust)}, 1 = average agent)`,
    `distrust       ${num(r.distrust)} (relative ${num(r.relativeDistrust)})`,
    `reports        ${r.reports.asProvider} as provider, ${r.reports.asRequester} as requester`,
    `stake          bonded ${r.stake.bonded}${r.stake.blacklisted ? ', BLACKLISTED' : ''}`,
    ...r.stake.unbonding.map((u) => `               unbonding ${u.amount} until ${when(u.releaseAt)}`),
    `slashes        ${r.slashes.length}`,
    ...r.slashes.map(
      (s) =>
        `               ${s.evidence.kind}: ${s.amount} (${s.toVictim} to ${s.victim.slice(0, 12)}, ${s.burned} burned) at ${when(s.slashedAt)}`,
    ),
  ]
  return `${lines.join('\n')}\n`
}

function stakeText(s: StakeState): string {
  const lines = [
    `agent ${s.agentId}: bonded ${s.bonded}, balance ${s.balance}${s.blacklisted ? ', BLACKLISTED' : ''}`,
    ...s.unbonding.map((u) => `  unbonding ${u.amount} until ${when(u.releaseAt)}`),
  ]
  return `${lines.join('\n')}\n`
}

const show: Command = {
  name: 'show',
  summary: "an agent's trust in this node's view, its reports, stake and slashes",
  positionals: [agentArg],
  run: async (ctx) => {
    const r = await daemon(ctx).show(ctx.args.AGENT!)
    if (ctx.flags.json) printJson(ctx.io, r)
    else ctx.io.out(showText(r))
    return 0
  },
}

const top: Command = {
  name: 'top',
  summary: "the most trusted agents in this node's view",
  flags: { limit: { type: 'integer', description: 'how many', default: 10, min: 1, max: 10_000 } },
  run: async (ctx) => {
    const r = await daemon(ctx).top(ctx.flags.limit as number)
    if (ctx.flags.json) printJson(ctx.io, r)
    else if (r.agents.length === 0) ctx.io.out('no agents known yet (no reports received)\n')
    else
      ctx.io.out(
        `${table(
          ['agent', 'trust', 'relative', 'distrust', 'as provider', 'as requester'],
          r.agents.map((a) => [
            a.agentId,
            num(a.trust),
            num(a.relativeTrust),
            num(a.distrust),
            a.reports.asProvider,
            a.reports.asRequester,
          ]),
        )}\n`,
      )
    return 0
  },
}

const stats: Command = {
  name: 'stats',
  summary: 'report intake counters and the size of the trust graph',
  run: async (ctx) => {
    const r = await daemon(ctx).stats()
    if (ctx.flags.json) printJson(ctx.io, r)
    else {
      const b = r.batches
      const rej = Object.entries(r.rejected)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
      ctx.io.out(
        `gossip peers on the report topic: ${r.topicPeers}\n` +
          `accepted ${r.accepted}, held ${r.held}, published ${r.published}, rejected: ${rej || 'none'}\n` +
          `batches: published ${b.published}${perBatch(r.published, b.published)}, received ${b.received}${perBatch(b.receivedReports, b.received)}` +
          `${b.rejected > 0 ? `, rejected ${b.rejected}` : ''}${r.queued > 0 ? `; ${r.queued} reports queued` : ''}\n` +
          `trust graph: ${r.agents} agents, ${r.edges} edges, last computed ${r.lastComputedAt === undefined ? 'never' : when(r.lastComputedAt)} (${r.iterations} iterations)\n`,
      )
    }
    return 0
  },
}

const publish: Command = {
  name: 'publish',
  summary: 'validate signed interaction reports (JSON files) on the daemon and gossip them',
  description: `Each FILE holds one report {"body": {...}, "requesterSig": "...", "providerSig": "..."}
as signed with makeReport/signReportAs (domain swarmd/rep-report/v1). The daemon runs it through the
same checks as a report from the network, stores it, and unless it was rejected gossips it at once
(in one batch with any reports the daemon had queued). --json prints [{ file, result, recipients }]. Exit code 1 if any was rejected.`,
  positionals: [
    { name: 'FILE', description: 'JSON file with a signed report', required: true, variadic: true },
  ],
  run: async (ctx) => {
    const client = daemon(ctx)
    const files = ctx.rest
    const out: { file: string; result: IntakeResult; recipients: number }[] = []
    for (const file of files) {
      let report: unknown
      try {
        report = JSON.parse(await readFile(file, 'utf8'))
      } catch (err) {
        throw new UserError(`cannot read ${file}: ${(err as Error).message}`)
      }
      const r = await client.publish(report as SignedReport)
      out.push({ file, ...r })
      if (ctx.flags.json) continue
      const res = r.result
      ctx.io.out(
        res.status === 'rejected'
          ? `${file}: rejected: ${res.reason}${res.detail ? ` (${res.detail})` : ''}\n`
          : `${file}: ${res.status} ${res.id}, sent to ${r.recipients} peers\n`,
      )
    }
    if (ctx.flags.json) printJson(ctx.io, out)
    return out.some((x) => x.result.status === 'rejected') ? 1 : 0
  },
}

const stakeShow: Command = {
  name: 'show',
  summary: "an agent's balance, bond, unbonding entries and blacklist state on the daemon's ledger",
  positionals: [agentArg],
  run: async (ctx) => {
    const s = await daemon(ctx).stake(ctx.args.AGENT!)
    if (ctx.flags.json) printJson(ctx.io, s)
    else ctx.io.out(stakeText(s))
    return 0
  },
}

const bond: Command = {
  name: 'bond',
  summary: "move AMOUNT credits from the agent's balance into its bond (STAKE_LOCK)",
  positionals: [agentArg, { name: 'AMOUNT', description: 'credits (positive integer)', required: true }],
  run: async (ctx) => {
    const amount = Number(ctx.args.AMOUNT)
    if (!Number.isSafeInteger(amount) || amount <= 0)
      throw new UserError(`AMOUNT must be a positive integer, got ${JSON.stringify(ctx.args.AMOUNT)}`)
    const s = await daemon(ctx).bond(ctx.args.AGENT!, amount)
    if (ctx.flags.json) printJson(ctx.io, s)
    else ctx.io.out(stakeText(s))
    return 0
  },
}

const release: Command = {
  name: 'release',
  summary: 'start unbonding AMOUNT (STAKE_RELEASE) and pay back whatever finished its delay',
  description: `Bonded credits come back only after the unbonding delay (config
reputation.stake.unbondingDelayMs), during which they stay slashable. With AMOUNT, that much
starts unbonding now; without, nothing new starts. Either way every entry whose delay has passed
is paid back to the agent's balance. Run it again after the delay to collect.`,
  positionals: [agentArg, { name: 'AMOUNT', description: 'credits to start unbonding' }],
  run: async (ctx) => {
    let amount: number | undefined
    if (ctx.args.AMOUNT !== undefined) {
      amount = Number(ctx.args.AMOUNT)
      if (!Number.isSafeInteger(amount) || amount <= 0)
        throw new UserError(`AMOUNT must be a positive integer, got ${JSON.stringify(ctx.args.AMOUNT)}`)
    }
    const r = await daemon(ctx).release(ctx.args.AGENT!, amount)
    if (ctx.flags.json) printJson(ctx.io, r)
    else
      ctx.io.out(
        (r.unbonded > 0 && r.releaseAt !== undefined
          ? `unbonding ${r.unbonded} until ${when(r.releaseAt)}\n`
          : '') + `released ${r.released}\n${stakeText(r.state)}`,
      )
    return 0
  },
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`

function summary(r: SimResult, baseline: SimResult | undefined): string {
  const c = r.config
  const lines = [
    `attack simulation: ${c.agents} agents, ${pct(c.malicious)} malicious (${c.attack}), ${c.rounds} rounds × ${c.auctionsPerRound} auctions, seed ${c.seed}`,
    `trust ${c.useTrust ? 'on' : 'off'}, stake ${c.useStake ? 'on' : 'off'}`,
    '',
  ]
  const marks = [1, 5, 10, 20, 40, c.rounds].filter((x, i, a) => x <= c.rounds && a.indexOf(x) === i)
  const rate = (res: SimResult, round: number) => {
    const w = res.rounds.slice(Math.max(0, round - 5), round)
    const n = w.reduce((s, x) => s + x.auctions, 0)
    return n ? w.reduce((s, x) => s + x.maliciousWins, 0) / n : 0
  }
  lines.push(
    table(
      ['round', 'malicious win rate (5-round avg)', ...(baseline ? ['without reputation'] : [])],
      marks.map((m) => [m, pct(rate(r, m)), ...(baseline ? [pct(rate(baseline, m))] : [])]),
    ),
    '',
    r.belowTargetFrom === undefined
      ? `malicious win rate did NOT stay below ${pct(WIN_RATE_TARGET)} within ${c.rounds} rounds`
      : `malicious win rate stays below ${pct(WIN_RATE_TARGET)} from round ${r.belowTargetFrom}`,
    `honest agents: ${r.honest.agents}, ${r.honest.wins} wins, profit ${r.honest.profit} (mean ${r.honest.meanProfit.toFixed(0)}), slashed ${r.honest.slashed}` +
      (baseline ? ` — without reputation: profit ${baseline.honest.profit}` : ''),
    '',
    table(
      ['attack', 'attackers', 'identities', 'wins', 'delivered', 'paid', 'work cost', 'slashed', 'net'],
      r.attacks.map((a) => [
        a.attack,
        a.attackers,
        a.identities,
        a.wins,
        a.delivered,
        a.payments,
        a.workCost,
        a.slashed,
        a.net,
      ]),
    ),
  )
  return `${lines.join('\n')}\n`
}

/** Malicious win rate over the 5 rounds ending at each round. */
function movingRate(res: SimResult): (readonly [number, number])[] {
  return res.rounds.map((x, i) => {
    const w = res.rounds.slice(Math.max(0, i - 4), i + 1)
    const n = w.reduce((s, y) => s + y.auctions, 0)
    return [x.round, n ? w.reduce((s, y) => s + y.maliciousWins, 0) / n : 0] as const
  })
}

function chart(r: SimResult, baseline: SimResult | undefined): string {
  const label =
    r.config.useTrust && r.config.useStake
      ? 'with reputation'
      : `trust ${r.config.useTrust ? 'on' : 'off'}, stake ${r.config.useStake ? 'on' : 'off'}`
  const series = [{ name: label, color: '#1f77b4', points: movingRate(r) }]
  if (baseline) series.push({ name: 'without reputation', color: '#999', points: movingRate(baseline) })
  return lineChart({
    title: `Malicious win rate (${r.config.attack}, ${pct(r.config.malicious)} malicious, seed ${r.config.seed})`,
    xLabel: 'round',
    yLabel: 'malicious win rate (5-round average)',
    series,
    yMin: 0,
    yMax: 1,
    reference: { y: WIN_RATE_TARGET, label: '5 % target' },
    yFormat: (y) => `${Math.round(y * 100)} %`,
  })
}

function profitChart(r: SimResult, baseline: SimResult | undefined): string {
  const pts = (res: SimResult) =>
    res.rounds.map((x) => [x.round, x.honestProfit / res.honest.agents] as const)
  const series = [{ name: 'with reputation', color: '#2ca02c', points: pts(r) }]
  if (baseline) series.push({ name: 'without reputation', color: '#999', points: pts(baseline) })
  return lineChart({
    title: `Honest agents' mean cumulative profit (${r.config.attack}, seed ${r.config.seed})`,
    xLabel: 'round',
    yLabel: 'credits per honest agent',
    series,
  })
}

const sim: Command = {
  name: 'sim',
  summary: 'simulate repeated auctions with malicious agents on the real trust, scoring and stake code',
  description: `Malicious agents bid low and fail (low-bid-fail), also rate each other up in rings
(collusion), or also take a fresh identity after each failure (whitewash); 'all' mixes the three.
Prints the malicious win rate over time, honest agents' profit and what each attack cost, next to
the same population without reputation (--no-baseline to skip). Seeded and reproducible.`,
  flags: {
    agents: {
      type: 'integer',
      description: 'population size',
      default: DEFAULT_SIM.agents,
      min: 10,
      max: 2000,
    },
    malicious: {
      type: 'number',
      description: 'share of malicious agents',
      default: DEFAULT_SIM.malicious,
      min: 0,
      max: 0.9,
    },
    rounds: { type: 'integer', description: 'rounds', default: DEFAULT_SIM.rounds, min: 1, max: 5000 },
    auctions: {
      type: 'integer',
      description: 'auctions per round',
      default: DEFAULT_SIM.auctionsPerRound,
      min: 1,
      max: 1000,
    },
    attack: { type: 'string', description: 'attack', default: DEFAULT_SIM.attack, choices: ATTACKS },
    seed: { type: 'integer', description: 'random seed', default: DEFAULT_SIM.seed, min: 0 },
    trust: { type: 'boolean', description: 'score bids by trust', default: true },
    stake: { type: 'boolean', description: 'require and slash stake', default: true },
    baseline: { type: 'boolean', description: 'also run without reputation for comparison', default: true },
    chart: { type: 'string', description: 'write an SVG chart of the win rate to FILE', placeholder: 'FILE' },
    'profit-chart': {
      type: 'string',
      description: "write an SVG chart of honest agents' profit to FILE",
      placeholder: 'FILE',
    },
  },
  run: async ({ flags, io }) => {
    const cfg = {
      agents: flags.agents as number,
      malicious: flags.malicious as number,
      rounds: flags.rounds as number,
      auctionsPerRound: flags.auctions as number,
      attack: flags.attack as AttackChoice,
      seed: flags.seed as number,
      useTrust: flags.trust as boolean,
      useStake: flags.stake as boolean,
    }
    if (Math.round(cfg.agents * (1 - cfg.malicious)) < 2) throw new UserError('need at least 2 honest agents')
    const result = await runSim(cfg)
    const baseline = flags.baseline ? await runSim({ ...cfg, useTrust: false, useStake: false }) : undefined
    if (typeof flags.chart === 'string') await writeFile(flags.chart, chart(result, baseline))
    const pc = flags['profit-chart']
    if (typeof pc === 'string') await writeFile(pc, profitChart(result, baseline))
    if (flags.json) printJson(io, { result, baseline })
    else io.out(summary(result, baseline))
    return 0
  },
}

const verifySlashCmd: Command = {
  name: 'verify-slash',
  summary: 'check a slash record (JSON) from its signed evidence alone',
  description: `Re-verifies the evidence of a SlashRecord as a third party: the signed award and the
deadline (missed deadline), or the dispute, the seeded arbitrator panel and the signed votes (lost
dispute). With --result, a signed result the provider presents in its defence is checked too.
Exit code 0 if the slash stands, 1 if it does not.`,
  positionals: [{ name: 'RECORD', description: 'JSON file with the SlashRecord', required: true }],
  flags: {
    result: {
      type: 'string',
      description: "JSON file with the provider's signed result",
      placeholder: 'FILE',
    },
  },
  run: async ({ args, flags, io }) => {
    const load = async (f: string): Promise<unknown> => {
      try {
        return JSON.parse(await readFile(f, 'utf8'))
      } catch (err) {
        throw new UserError(`cannot read ${f}: ${(err as Error).message}`)
      }
    }
    const record = (await load(args.RECORD!)) as SlashRecord
    if (typeof record !== 'object' || record === null || typeof record.evidence !== 'object')
      throw new UserError(`${args.RECORD} is not a slash record`)
    const result =
      typeof flags.result === 'string'
        ? ((await load(flags.result)) as SignedEnvelope<ResultBody>)
        : undefined
    let check: ReturnType<typeof verifySlash>
    try {
      check = verifySlash(record, result ? { result } : {})
    } catch (err) {
      check = { ok: false, problem: `malformed record: ${(err as Error).message}` }
    }
    if (flags.json) printJson(io, { ...check, id: record.id, agent: record.agent, amount: record.amount })
    else if (check.ok)
      io.out(
        `slash ${record.id} stands: ${record.amount} credits from ${record.agent} (${record.evidence.kind})\n`,
      )
    else io.out(`slash ${record.id} does NOT stand: ${check.problem}\n`)
    return check.ok ? 0 : 1
  },
}

export const commands: Command[] = [
  {
    name: 'rep',
    summary: 'reputation: trust, stake and the attack simulation',
    subcommands: [show, top, stats, publish, sim, verifySlashCmd],
  },
  {
    name: 'stake',
    summary: "an agent's stake on the daemon's ledger: show, bond and release",
    subcommands: [stakeShow, bond, release],
  },
]
