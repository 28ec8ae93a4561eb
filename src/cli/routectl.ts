/**
 * CLI commands of the daemon's CFP routing: `swarmd route table|explain|probe`
 * (they talk to the running daemon through the control API; see
 * docs/routing-daemon.md).
 */
import { UserError } from '../common/index.ts'
import type { CfpTrace, Hop, ProbeResult, TableRow } from '../node/routing/index.ts'
import { daemonClient } from './daemon.ts'
import { type Command, printJson, table } from './command.ts'

const clientOf = daemonClient

/** A peer id shortened for tables (`12D3Ko…a1b2c3`); `--json` always has the full ids. */
export function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id
}

const fmt = (x: number, digits = 1): string => (x < 0 || !Number.isFinite(x) ? '-' : x.toFixed(digits))

const routeTable: Command = {
  name: 'table',
  summary: 'show the routing table: Q (ms to a provider), confidence and visits per capability and neighbour',
  flags: {
    capability: { type: 'string', description: 'only this capability', placeholder: 'C' },
  },
  async run(ctx) {
    const cap = ctx.flags.capability as string | undefined
    const q = cap ? `?${new URLSearchParams({ capability: cap })}` : ''
    const res = await clientOf(ctx).request<{ router: string; neighbours: string[]; entries: TableRow[] }>(
      'GET',
      `/v1/route/table${q}`,
    )
    if (ctx.flags.json) {
      printJson(ctx.io, res)
      return 0
    }
    if (res.entries.length === 0) {
      ctx.io.out(
        `${res.router} router, ${res.neighbours.length} neighbour(s), no table entries${cap ? ` for ${cap}` : ''} yet\n`,
      )
      return 0
    }
    ctx.io.out(
      `${table(
        ['CAPABILITY', 'NEIGHBOUR', 'Q (ms)', 'CONFIDENCE', 'VISITS'],
        res.entries.map((e) => [e.capability, e.neighbour, fmt(e.q), fmt(e.confidence, 2), e.visits]),
      )}\n${res.router} router, ${res.neighbours.length} neighbour(s)\n`,
    )
    return 0
  },
}

function hopRows(hops: Hop[], origin: string): (string | number)[][] {
  return hops.map((h, i) => [
    i,
    shortId(h.peer) + (h.peer === origin ? ' (origin)' : ''),
    h.reason,
    h.next ? shortId(h.next) : '-',
    fmt(h.estimate),
    fmt(h.confidence, 2),
    h.candidates
      .map((c) => `${shortId(c.neighbour)} q=${fmt(c.q)} c=${fmt(c.confidence, 2)} v=${c.visits}`)
      .join(', ') || '-',
    h.note || '',
  ])
}

/** Human-readable explanation of a trace. */
export function explainText(t: CfpTrace): string {
  const lines: string[] = []
  const head = `CFP ${t.cfpId} for ${t.capability} (${t.mode}), origin ${t.origin}`
  if (t.status === 'delivered' && t.hops) {
    lines.push(
      `${head}\ndelivered by ${t.deliveredBy ?? '?'} in ${fmt(t.latencyMs ?? -1)} ms over ${Math.max(0, (t.path?.length ?? 1) - 1)} hop(s)`,
    )
  } else if (t.status === 'failed') {
    lines.push(`${head}\nnot delivered because ${t.error ?? 'of an unknown reason'}`)
  } else if (t.status === 'pending') {
    lines.push(`${head}\nstill waiting for an acknowledgement`)
  } else {
    lines.push(`${head}\n${t.status} by this node (the full path is known at the origin)`)
  }
  const headers = [
    '#',
    'NODE',
    'REASON',
    'NEXT',
    'EST ms',
    'CONF',
    'CANDIDATES (q ms, confidence, visits)',
    'NOTE',
  ]
  if (t.hops && t.hops.length > 0) {
    lines.push('', table(headers, hopRows(t.hops, t.origin)))
  } else if (t.decisions.length > 0) {
    const hops: Hop[] = t.decisions.map((d) => ({
      peer: `(this node, from ${d.from ? shortId(d.from) : 'origin'})`,
      at: d.at,
      reason: d.choice.reason,
      next: d.choice.next,
      estimate: d.choice.estimate,
      confidence: d.choice.confidence,
      candidates: d.candidates,
      note: d.note,
      queries: 0,
    }))
    lines.push('', table(headers, hopRows(hops, t.origin)))
  }
  if (t.error && t.status !== 'failed') lines.push(`error: ${t.error}`)
  return `${lines.join('\n')}\n`
}

const explain: Command = {
  name: 'explain',
  summary: 'show the path a CFP took and why each hop chose its next (or why it was not delivered)',
  positionals: [
    { name: 'CFP_ID', description: 'the CFP id (from `route probe` or the market)', required: true },
  ],
  async run(ctx) {
    const id = ctx.args.CFP_ID!
    if (!/^[0-9a-f]{32}$/.test(id))
      throw new UserError(`CFP id must be 32 hex characters, got ${JSON.stringify(id)}`)
    const t = await clientOf(ctx).request<CfpTrace>(
      'GET',
      `/v1/route/explain?${new URLSearchParams({ cfp: id })}`,
    )
    if (ctx.flags.json) printJson(ctx.io, t)
    else ctx.io.out(explainText(t))
    return 0
  },
}

const probe: Command = {
  name: 'probe',
  summary: 'send test CFPs for a capability and report delivery, latency, hops and messages',
  positionals: [{ name: 'CAPABILITY', description: 'capability name, e.g. image-ocr', required: true }],
  flags: {
    count: {
      type: 'integer',
      description: 'CFPs to send (one after the other)',
      default: 10,
      min: 1,
      max: 10_000,
    },
    mode: {
      type: 'string',
      description: 'routed by the learned tables, or the gossipsub flooding baseline',
      choices: ['cq', 'flood'],
      placeholder: 'MODE',
    },
  },
  async run(ctx) {
    const count = ctx.flags.count as number
    const body: Record<string, unknown> = { capability: ctx.args.CAPABILITY!, count }
    if (ctx.flags.mode !== undefined) body.mode = ctx.flags.mode
    const res = await clientOf(ctx).request<ProbeResult>(
      'POST',
      '/v1/route/probe',
      body,
      30_000 + count * 12_000,
    )
    if (ctx.flags.json) {
      printJson(ctx.io, res)
      return 0
    }
    ctx.io.out(
      `${res.capability} (${res.mode}): ${res.delivered}/${res.sent} delivered (${Math.round(res.deliveryRate * 100)}%)\n` +
        `latency ms   mean ${fmt(res.latencyMs.mean)}  p50 ${fmt(res.latencyMs.p50)}  p95 ${fmt(res.latencyMs.p95)}\n` +
        `hops         mean ${fmt(res.hops.mean, 2)}\n` +
        `messages     ${res.messages} (${fmt(res.messages / Math.max(1, res.sent), 1)} per CFP), DHT lookups ${res.dhtLookups}\n` +
        `last CFP     ${res.cfpIds.at(-1) ?? '-'} (swarmd route explain <id>)\n`,
    )
    for (const f of res.failures) ctx.io.out(`not delivered ${f.cfpId}: ${f.error}\n`)
    return 0
  },
}

const route: Command = {
  name: 'route',
  summary: 'CFP routing on the running daemon: table, explain, probe',
  subcommands: [routeTable, explain, probe],
}

export const commands: Command[] = [route]
