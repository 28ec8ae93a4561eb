/**
 * CLI commands of the market subsystem: offline clearing (`swarmd market
 * clear`), and against the running daemon `swarmd cfp` (issue a CFP as the
 * node-owned agent), `swarmd market list|show` and `swarmd market mint`
 * (credits for the node-owned agent on a devnet, logged as minting).
 */
import { readFile } from 'node:fs/promises'
import { errorMessage, UserError } from '../common/index.ts'
import { type AuctionRecord, getMechanism, MECHANISM_NAMES, type MechanismName } from '../market/index.ts'
import type { AuctionDetail, Job } from '../node/market/index.ts'
import { MarketClient } from '../node/market/index.ts'
import { daemonClient } from './daemon.ts'
import { type Command, type CommandContext, printJson, table } from './command.ts'

const daemon = (ctx: CommandContext) => new MarketClient(daemonClient(ctx))
const when = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString())
const short = (id: string) => `${id.slice(0, 12)}…`

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function readInput(file: string): Promise<unknown> {
  let text: string
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8')
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${errorMessage(err)}`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new UserError(`${file} is not valid JSON: ${errorMessage(err)}`)
  }
}

const clear: Command = {
  name: 'clear',
  summary: 'clear one procurement auction offline from a JSON file',
  description: `Input: { "units": K, "reserve": R, "bids": [{ "bidder": "id", "offers": [{ "units": u, "price": p }] }] }
The buyer wants up to K units worth R credits each; each seller's offers are XOR (at most one is accepted).
Units, prices and the reserve are whole numbers of credits.
Output: { "welfare", "winners": [{ "bidder", "units", "price", "payment" }], "totalPayment" }`,
  flags: {
    mechanism: {
      type: 'string',
      description: 'clearing mechanism',
      choices: MECHANISM_NAMES,
      default: 'vcg',
    },
    input: { type: 'string', description: "instance file (JSON), '-' for stdin", placeholder: 'FILE' },
  },
  async run({ flags, io }) {
    const file = flags.input
    if (typeof file !== 'string')
      throw new UserError("missing --input FILE (see 'swarmd market clear --help')")
    const input = await readInput(file)
    const mech = getMechanism(flags.mechanism as MechanismName)
    let res: ReturnType<typeof mech.clear>
    try {
      res = mech.clear(input as Parameters<typeof mech.clear>[0])
    } catch (err) {
      throw new UserError(`${file}: ${errorMessage(err)}`)
    }
    const out = {
      welfare: res.welfare,
      winners: res.winners.map((w) => ({
        bidder: w.bidder,
        units: w.units,
        price: w.price,
        payment: w.payment,
      })),
      totalPayment: res.totalPayment,
    }
    if (flags.json) {
      printJson(io, out)
      return 0
    }
    io.out(`mechanism ${mech.name}: welfare ${out.welfare}, total payment ${out.totalPayment}\n`)
    if (out.winners.length === 0) io.out('no winners\n')
    else
      io.out(
        `${table(
          ['bidder', 'units', 'price', 'payment'],
          out.winners.map((w) => [w.bidder, w.units, w.price, w.payment]),
        )}\n`,
      )
    return 0
  },
}

function auctionText(r: AuctionRecord): string {
  const c = r.cfp
  const lines = [
    `cfp        ${c.id} (${r.phase}${r.reason ? `: ${r.reason}` : ''})`,
    `capability ${c.capability}, ${c.units} unit(s) at reserve ${c.reserve}, ${c.mechanism}`,
    `requester  ${c.requester}`,
    `opened     ${when(r.openedAt)}, bids close ${when(c.issuedAt + c.deadlineMs)}`,
    `bids       ${r.bidCount}${r.welfare === undefined ? '' : `, welfare ${r.welfare}, total payment ${r.totalPayment ?? 0}`}`,
  ]
  for (const d of r.dropped ?? []) lines.push(`dropped    ${short(d.bidder)}: ${d.reason}`)
  if (r.awards.length > 0)
    lines.push(
      table(
        ['winner', 'units', 'price', 'payment', 'escrow', 'status', 'output / reason'],
        r.awards.map((a) => [
          short(a.award.winner),
          a.award.units,
          a.award.price,
          a.award.payment,
          a.locked,
          a.status,
          a.status === 'paid' ? JSON.stringify(a.output ?? null).slice(0, 60) : (a.reason ?? ''),
        ]),
      ),
    )
  for (const a of r.awards) {
    const t = a.award.terms
    if (t)
      lines.push(
        `negotiated ${short(a.award.winner)}: price ${t.price}, delivery ${t.deadlineMs} ms, ${t.quality}, ${t.upfrontPct}% up front`,
      )
  }
  return `${lines.join('\n')}\n`
}

const cfp: Command = {
  name: 'cfp',
  summary: 'issue a call for proposals from the node-owned agent (auctioned, executed and paid)',
  description: `The daemon signs the CFP with its node-owned agent, opens the auction (the agent must hold
reserve × units credits: see 'swarmd market mint'), and sends the CFP on the router. Providers bid
(sealed), the auction clears at the deadline, the winner runs the task and is paid.
With --wait, waits for the auction to settle and prints the award(s) and result(s).`,
  positionals: [{ name: 'CAPABILITY', description: 'capability wanted', required: true }],
  flags: {
    units: { type: 'integer', description: 'units wanted', default: 1, min: 1 },
    reserve: { type: 'integer', description: 'value of one unit (credits)', min: 0, placeholder: 'X' },
    deadline: {
      type: 'integer',
      description: 'bid window (ms)',
      default: 2000,
      min: 1,
      placeholder: 'MS',
    },
    payload: { type: 'string', description: 'task payload (JSON)', default: 'null', placeholder: 'JSON' },
    mechanism: {
      type: 'string',
      description: 'clearing mechanism',
      choices: MECHANISM_NAMES,
      default: 'vcg',
    },
    'result-timeout': {
      type: 'integer',
      description: 'time a winner has to deliver (ms)',
      min: 1,
      placeholder: 'MS',
    },
    route: {
      type: 'string',
      description: 'how the CFP travels (default: config market.routeMode)',
      choices: ['flood', 'cq'],
    },
    negotiate: {
      type: 'boolean',
      description: 'negotiate the price with the winners after clearing (config market.negotiation)',
    },
    wait: { type: 'boolean', description: 'wait for the award and the result' },
  },
  async run(ctx) {
    const { flags, io } = ctx
    if (typeof flags.reserve !== 'number') throw new UserError('missing --reserve X (credits per unit)')
    let payload: unknown
    try {
      payload = JSON.parse(flags.payload as string)
    } catch (err) {
      throw new UserError(`--payload is not valid JSON: ${errorMessage(err)}`)
    }
    const deadline = flags.deadline as number
    const resultTimeout = flags['result-timeout'] as number | undefined
    // A negotiated CFP also waits for the negotiation window (market.negotiation.windowMs, 5 s by default).
    const waitMs = deadline + (resultTimeout ?? 30_000) + 10_000 + (flags.negotiate ? 120_000 : 0)
    const res = await daemon(ctx).cfp(
      {
        capability: ctx.args.CAPABILITY!,
        units: flags.units as number,
        reserve: flags.reserve,
        deadlineMs: deadline,
        payload,
        mechanism: flags.mechanism as MechanismName,
        negotiation: flags.negotiate === true,
        resultTimeoutMs: resultTimeout,
        routeMode: flags.route as 'flood' | 'cq' | undefined,
        wait: flags.wait === true,
        waitMs,
      },
      waitMs + 15_000,
    )
    if (flags.json) {
      printJson(io, res)
      return res.auction && res.auction.phase !== 'done' ? 1 : 0
    }
    const r = res.route
    io.out(
      `issued ${res.cfpId} (bids close ${when(res.closesAt)}); ${r.delivered ? `delivered by ${r.mode} in ${r.latencyMs} ms` : `not delivered: ${r.error ?? 'unknown'}`}\n`,
    )
    if (res.auction) io.out(auctionText(res.auction))
    return res.auction && res.auction.phase !== 'done' ? 1 : 0
  },
}

const list: Command = {
  name: 'list',
  summary: "this node's auctions (as requester)",
  flags: { active: { type: 'boolean', description: 'only auctions not yet done or cancelled' } },
  async run(ctx) {
    const r = await daemon(ctx).list(ctx.flags.active === true)
    if (ctx.flags.json) printJson(ctx.io, r)
    else if (r.auctions.length === 0) ctx.io.out('no auctions\n')
    else
      ctx.io.out(
        `${table(
          [
            'cfp',
            'capability',
            'phase',
            'units',
            'reserve',
            'mechanism',
            'bids',
            'winners',
            'paid',
            'opened',
          ],
          r.auctions.map((a) => [
            a.cfpId,
            a.capability,
            a.phase,
            a.units,
            a.reserve,
            a.mechanism,
            a.bids,
            a.winners,
            a.totalPayment ?? '-',
            when(a.openedAt),
          ]),
        )}\n`,
      )
    return 0
  },
}

function jobsText(jobs: Job[]): string {
  return `${jobs
    .map(
      (j) =>
        `job ${j.award.escrowId}: ${j.status}, payment ${j.award.payment}${j.paid ? ' (receipt accepted)' : ''}, requester ${short(j.award.requester)}`,
    )
    .join('\n')}\n`
}

const show: Command = {
  name: 'show',
  summary: 'one auction: bids, clearing, winners, payments, escrow state, results',
  positionals: [{ name: 'CFP_ID', description: 'CFP id', required: true }],
  async run(ctx) {
    const r = await daemon(ctx).show(ctx.args.CFP_ID!)
    if (ctx.flags.json) {
      printJson(ctx.io, r)
      return 0
    }
    if ('jobs' in r) {
      ctx.io.out(jobsText(r.jobs))
      return 0
    }
    const d = r as AuctionDetail
    let text = auctionText(d.auction)
    if (d.bids.length > 0)
      text += `${table(
        ['bidder', 'offers (units:price)', 'expires'],
        d.bids.map((b) => [
          short(b.bidder),
          b.offers.map((o) => `${o.units}:${o.price}`).join(' '),
          when(b.expiresAt),
        ]),
      )}\n`
    for (const n of d.negotiations?.parties ?? [])
      text += `negotiation with ${short(n.winner)}: ${n.failed ? `failed (${n.failed})` : n.snapshot.state}${n.snapshot.thread
        .map(
          (m) =>
            `\n  ${m.round} ${m.from === n.winner ? 'winner' : 'requester'} ${m.act}${m.terms ? ` ${m.terms.price}` : ''}`,
        )
        .join('')}\n`
    for (const e of d.escrows)
      text += `escrow ${e.id}: ${e.status}, locked ${e.amount}${e.paid === undefined ? '' : `, paid ${e.paid}`}${e.refunded === undefined ? '' : `, refunded ${e.refunded}`}${e.reason ? ` (${e.reason})` : ''}\n`
    ctx.io.out(text)
    return 0
  },
}

const mint: Command = {
  name: 'mint',
  summary: 'create credits for the node-owned agent (devnets and tests; logged as minting)',
  positionals: [{ name: 'AMOUNT', description: 'credits (whole number)', required: true }],
  flags: {
    reason: { type: 'string', description: 'why (kept in the mint log)', default: 'devnet faucet' },
    agent: { type: 'string', description: 'the node-owned agent id (default: asked from the daemon)' },
  },
  async run(ctx) {
    const amount = Number(ctx.args.AMOUNT)
    if (!Number.isSafeInteger(amount) || amount <= 0)
      throw new UserError('AMOUNT must be a positive whole number')
    const client = daemon(ctx)
    const r = await client.mint(
      (ctx.flags.agent as string | undefined) ?? '',
      amount,
      ctx.flags.reason as string,
    )
    if (ctx.flags.json) printJson(ctx.io, r)
    else ctx.io.out(`minted ${amount} to ${r.account}: balance ${r.balance}\n`)
    return 0
  },
}

export const commands: Command[] = [
  {
    name: 'market',
    summary: 'auctions and clearing mechanisms',
    subcommands: [clear, list, show, mint],
  },
  cfp,
]
