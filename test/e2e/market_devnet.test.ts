/**
 * Issue 6's end-to-end acceptance: the market on a devnet of 20 real
 * `swarmd start` processes on loopback (3 bootstrap nodes, the rest pointing
 * at them; test/e2e/devnet_helpers.ts), driven through the CLI.
 *
 *  - Providers are AVM programs deployed with `swarmd agent deploy` on four
 *    nodes (examples/agents/market-*.avm): a flat price, a price per
 *    character of the payload, a unit price that rises with the quantity,
 *    and a slow one (its own capability) for the crash drill.
 *  - Requesters are the node-owned agents of three other nodes (credits from
 *    `swarmd market mint`), issuing CFPs with `swarmd cfp ... --wait`.
 *  - VCG picks the winners (checked against an offline clearing of the
 *    programs' cost functions, and the bids recorded against those
 *    functions); the winners run the task in their VM and return results;
 *    payments settle by receipt; every node's `swarmd ledger audit` balances
 *    and `auditAcross` balances over all 20 reports.
 *  - `kill -9` of the slow provider's daemon after its award: the requester
 *    refunds at the result deadline; the provider restarts and its agent's
 *    late result is refused; nothing is paid for that task.
 *  - `kill -9` of a requester's daemon after the bids are in and before the
 *    deadline; it restarts (market.recovery = resume): the auction clears
 *    with the stored bids and pays its winner exactly once.
 *
 * Reaching providers: flooded CFPs travel on the gossipsub topic of their
 * capability. Each requester is connected directly to every provider node
 * (`/v1/connect`, what `swarmd connect` does), so the flood publish reaches
 * them all in one hop, and a warm-up CFP per requester waits until all three
 * `uppercase` providers bid before the checked auctions start.
 *
 * Timing: no assertion depends on the machine's speed. CFPs get a long bid
 * window and are closed (`POST /v1/market/close`) as soon as the expected
 * bids are in; crashes are triggered on observed states (bids stored, task
 * held by the program), and waits poll with generous timeouts.
 *
 * Requester nodes run with `market.reputation: false` so that the clearing
 * is plain VCG and comparable to an offline clearing (with reputation on, the
 * trust weights gossiped between the auctions change the payments).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type AuctionRecord,
  auditAcross,
  type Bid,
  type EscrowRecord,
  getMechanism,
  type LedgerReport,
  type Offer,
} from '../../src/market/index.ts'
import type { AgentSummary } from '../../src/node/agents/index.ts'
import type { AuctionSummary } from '../../src/node/market/routes.ts'
import { ProcessDevnet } from './devnet_helpers.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'
import { BIN } from './process_helpers.ts'

const EXAMPLES = fileURLToPath(new URL('../../examples/agents/', import.meta.url))
const N_NODES = 20
const REQUESTERS = [3, 4, 5]
const CAP = 'uppercase'
const SLOW_CAP = 'uppercase-slow'

/** The provider programs, their nodes, and the cost functions they implement (u units, payload text). */
const PROVIDERS = [
  { node: 6, name: 'flat', file: 'market-flat.avm', cost: (u: number) => 12 * u },
  {
    node: 7,
    name: 'per-char',
    file: 'market-per-char.avm',
    cost: (u: number, t: string) => u * (2 + t.length),
  },
  { node: 8, name: 'rising', file: 'market-rising.avm', cost: (u: number) => u * (7 + 2 * (u - 1)) },
] as const
const SLOW = { node: 9, name: 'slow', file: 'market-slow.avm' }
const MAX_UNITS = 3

const expectedOffers = (cost: (u: number, t: string) => number, units: number, text: string): Offer[] =>
  Array.from({ length: Math.min(units, MAX_UNITS) }, (_, i) => ({ units: i + 1, price: cost(i + 1, text) }))

interface Detail {
  auction: AuctionRecord
  bids: Bid[]
  escrows: EscrowRecord[]
}
interface Issued {
  cfpId: string
  auction?: AuctionRecord
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('the market on a devnet of 20 daemon processes', () => {
  const cleanup = new Cleanup()
  afterAll(() => cleanup.run())

  it('clears by VCG, runs tasks in AVM providers, settles, survives kill -9 of a provider and a requester', async () => {
    const t0 = Date.now()
    const step = (s: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${s}`)
    const dir = tempDir(cleanup, 'swarmd-mdev-')
    const net = await ProcessDevnet.up(cleanup, dir, {
      nodes: N_NODES,
      config: (i) => ({
        'market.tickMs': 50,
        ...(REQUESTERS.includes(i) ? { 'market.reputation': false } : {}),
      }),
      log: step,
      stopGraceMs: 5_000,
    })
    const involved = [...REQUESTERS, ...PROVIDERS.map((p) => p.node), SLOW.node]
    try {
      // ---------------------------------------------------------------- providers, credits, reach
      const agents = new Map<string, string>() // name -> agent id
      await Promise.all(
        [...PROVIDERS, SLOW].map(async (p) => {
          const input = p === SLOW ? ['--input', JSON.stringify({ delay_ms: 20_000 })] : []
          const a = await net.cliJson<AgentSummary>(p.node, [
            'agent',
            'deploy',
            `${EXAMPLES}${p.file}`,
            '--name',
            p.name,
            ...input,
          ])
          expect(a.capabilities).toEqual([p === SLOW ? SLOW_CAP : CAP])
          agents.set(p.name, a.id)
        }),
      )
      const agentNode = new Map([...PROVIDERS, SLOW].map((p) => [agents.get(p.name)!, p.node]))
      step('provider programs deployed')
      const requesterAgent = new Map<number, string>()
      for (const r of REQUESTERS) for (const p of [...PROVIDERS, SLOW]) await net.connect(r, p.node)
      await Promise.all(
        REQUESTERS.map(async (r) => {
          const m = await net.cliJson<{ account: string; balance: number }>(r, [
            'market',
            'mint',
            '1000',
            '--reason',
            'devnet test',
          ])
          expect(m.balance).toBe(1000)
          requesterAgent.set(r, m.account)
        }),
      )

      const show = (r: number, id: string) =>
        net.api<Detail>(r, 'GET', `/v1/market/show?${new URLSearchParams({ id })}`)
      const close = (r: number, id: string) => net.api(r, 'POST', '/v1/market/close', { id })
      const balance = async (i: number, account: string) =>
        (
          await net.api<{ accounts: { account: string; balance: number }[] }>(
            i,
            'GET',
            `/v1/ledger/balance?${new URLSearchParams({ account })}`,
          )
        ).accounts[0]?.balance ?? 0
      const settled = (r: number, id: string) =>
        waitFor(async () => ['done', 'cancelled'].includes((await show(r, id)).auction.phase), 120_000, 250)

      // Every requester reaches the three providers: a warm-up CFP gets their three bids.
      await Promise.all(
        REQUESTERS.map(async (r) => {
          for (let attempt = 1; ; attempt++) {
            const issued = await net.api<Issued>(r, 'POST', '/v1/market/cfp', {
              capability: CAP,
              units: 1,
              reserve: 40,
              deadlineMs: 60_000,
              payload: 'warm-up',
            })
            const all = await waitFor(
              async () => (await show(r, issued.cfpId)).auction.bidCount >= 3,
              20_000,
              250,
            ).then(
              () => true,
              () => false,
            )
            await close(r, issued.cfpId)
            await settled(r, issued.cfpId)
            if (all) return
            if (attempt >= 5) throw new Error(`node-${r}: CFPs do not reach the three providers`)
            for (const p of PROVIDERS) await net.connect(r, p.node).catch(() => {})
          }
        }),
      )
      step('every requester reaches the three providers')

      // ---------------------------------------------------------------- auctions from three nodes
      /**
       * `swarmd cfp CAP ... --json --wait` on node r in the background; once the
       * auction has `bids` bids it is closed, and the command prints the settled record.
       */
      const cfpCli = async (
        r: number,
        capability: string,
        args: string[],
        bids: number,
        whenBidsIn?: (cfpId: string) => Promise<void>,
      ): Promise<Issued & { code: number }> => {
        const before = new Set(
          (await net.api<{ auctions: AuctionSummary[] }>(r, 'GET', '/v1/market/list')).auctions.map(
            (a) => a.cfpId,
          ),
        )
        const child = spawn(
          process.execPath,
          [BIN, 'cfp', capability, ...args, '--json', '--wait', '--repo', net.nodes[r]!.repo],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        )
        cleanup.push(() => void child.kill('SIGKILL'))
        const out = collect(child)
        let cfpId = ''
        await waitFor(
          async () => {
            const list = await net.api<{ auctions: AuctionSummary[] }>(r, 'GET', '/v1/market/list?active=1')
            cfpId =
              list.auctions.find((a) => !before.has(a.cfpId) && a.capability === capability)?.cfpId ?? ''
            return cfpId !== ''
          },
          60_000,
          250,
        )
        await waitFor(async () => (await show(r, cfpId)).auction.bidCount >= bids, 60_000, 250)
        if (whenBidsIn) await whenBidsIn(cfpId)
        else await close(r, cfpId)
        const res = await out
        if (!res.stdout.trim()) throw new Error(`swarmd cfp on node-${r} printed nothing: ${res.stderr}`)
        return { ...(JSON.parse(res.stdout) as Issued), code: res.code }
      }

      const orders = [
        { r: 3, units: 1, reserve: 40, payload: 'hi' }, // per-char asks 4: the cheapest
        { r: 4, units: 1, reserve: 40, payload: 'a much longer payload text' }, // per-char asks 28
        { r: 5, units: 3, reserve: 30, payload: 'three units' }, // two winners
      ]
      const results = await Promise.all(
        orders.map(async (o) => {
          const before = await balance(o.r, requesterAgent.get(o.r)!)
          const res = await cfpCli(
            o.r,
            CAP,
            [
              '--units',
              String(o.units),
              '--reserve',
              String(o.reserve),
              '--deadline',
              '60000',
              '--payload',
              JSON.stringify(o.payload),
            ],
            3,
          )
          return { ...o, res, before, detail: await show(o.r, res.cfpId) }
        }),
      )
      step('three auctions cleared and settled')
      for (const { r, units, reserve, payload, res, before, detail } of results) {
        expect(res.code).toBe(0)
        const rec = res.auction!
        expect(rec.phase).toBe('done')
        expect(rec.bidCount).toBe(3)
        // The programs bid their cost functions...
        const bids = new Map(detail.bids.map((b) => [b.bidder, b.offers]))
        for (const p of PROVIDERS)
          expect(bids.get(agents.get(p.name)!)).toEqual(expectedOffers(p.cost, units, payload))
        // ...and the daemon's clearing is VCG's.
        const offline = getMechanism('vcg').clear({
          units,
          reserve,
          bids: PROVIDERS.map((p) => ({
            bidder: agents.get(p.name)!,
            offers: expectedOffers(p.cost, units, payload),
          })),
        })
        const key = (w: { bidder: string }) => w.bidder
        expect(
          rec.awards
            .map((a) => ({
              bidder: a.award.winner,
              units: a.award.units,
              price: a.award.price,
              payment: a.award.payment,
            }))
            .sort((a, b) => key(a).localeCompare(key(b))),
        ).toEqual(
          offline.winners
            .map((w) => ({ bidder: w.bidder, units: w.units, price: w.price, payment: w.payment }))
            .sort((a, b) => key(a).localeCompare(key(b))),
        )
        expect(rec.totalPayment).toBe(offline.totalPayment)
        // The winners ran the task in their VM and were paid.
        for (const a of rec.awards) {
          expect(a.status).toBe('paid')
          expect(a.output).toBe(payload.toUpperCase())
        }
        for (const e of detail.escrows) expect(e.status).toBe('released')
        expect(await balance(r, requesterAgent.get(r)!)).toBe(before - offline.totalPayment)
      }
      // The expected winners (hand-checked against the cost functions).
      const won = (i: number) =>
        results[i]!.res.auction!.awards.map((a) => [
          [...agents].find(([, id]) => id === a.award.winner)![0],
          a.award.units,
          a.award.payment,
        ])
      expect(won(0)).toEqual([['per-char', 1, 7]])
      expect(won(1)).toEqual([['rising', 1, 12]])
      expect(won(2).sort()).toEqual([
        ['flat', 1, 13],
        ['rising', 2, 24],
      ])

      // ---------------------------------------------------------------- kill -9: provider and requester
      const slowId = agents.get(SLOW.name)!
      const slowRegisters = async () =>
        (
          await net.api<{ machine?: { registers?: Record<string, unknown> } }>(
            SLOW.node,
            'GET',
            `/v1/agents/inspect?${new URLSearchParams({ id: SLOW.name })}`,
          )
        ).machine?.registers ?? {}

      /** Node 4 buys from the slow provider (node 9), whose daemon is killed while its program works. */
      const providerCrash = async () => {
        const r = 4
        const before = await balance(r, requesterAgent.get(r)!)
        let escrowId = ''
        const res = await cfpCli(
          r,
          SLOW_CAP,
          ['--reserve', '20', '--deadline', '60000', '--result-timeout', '8000', '--payload', '"too late"'],
          1,
          async (cfpId) => {
            await close(r, cfpId)
            escrowId = `${cfpId}/${slowId}`
            // The award reached the program: it holds the task and waits (20 s) before answering.
            await waitFor(async () => (await slowRegisters()).task === escrowId, 60_000, 200)
            await sleep(500) // its checkpoint (written when the slice that took the task ended)
            await net.kill(SLOW.node, 'SIGKILL')
            step('slow provider killed (-9) holding its task')
          },
        )
        const a = res.auction!.awards[0]!
        expect(a.award.winner).toBe(slowId)
        expect(a.status).toBe('refunded')
        expect(a.reason).toMatch(/timeout/)
        expect(await balance(r, requesterAgent.get(r)!)).toBe(before)
        step('requester refunded at the result deadline; restarting the provider')
        await net.start(SLOW.node)
        await net.connect(r, SLOW.node).catch(() => {})
        // The program is restored from its last checkpoint. If that holds the task, it finishes its wait and
        // answers: refused, the escrow is closed. If it predates the task (the inbox is in memory; a slice
        // ends, and is checkpointed, at the first host call after 100 ms, so a kill right after the task
        // arrived can precede it), the task is simply gone. Nothing is paid either way.
        let restored: Record<string, unknown> = {}
        await waitFor(
          async () => {
            restored = await slowRegisters()
            return Object.keys(restored).length > 0
          },
          60_000,
          200,
        )
        if (restored.task === escrowId) {
          await waitFor(async () => (await slowRegisters()).late === false, 90_000, 500)
          step("the restarted provider's late result was refused")
        } else {
          expect(restored.task).toBeUndefined()
          step(
            `the restarted provider resumed from a checkpoint without the task (bids ${String(restored.bids)})`,
          )
        }
        const d = await show(r, res.cfpId)
        expect(d.escrows.map((e) => [e.status, e.paid ?? 0, e.refunded])).toEqual([['refunded', 0, 20]])
        expect(await balance(SLOW.node, slowId)).toBe(0)
        expect(await balance(r, requesterAgent.get(r)!)).toBe(before)
      }

      /** Node 5's daemon is killed after the bids are in and before the bid window closes; it resumes. */
      const requesterCrash = async () => {
        const r = 5
        const before = await balance(r, requesterAgent.get(r)!)
        const issued = await net.cliJson<Issued>(r, [
          'cfp',
          CAP,
          '--reserve',
          '40',
          '--deadline',
          '30000',
          '--payload',
          '"resumed"',
        ])
        await waitFor(async () => (await show(r, issued.cfpId)).auction.bidCount >= 3, 25_000, 250)
        expect((await show(r, issued.cfpId)).auction.phase).toBe('open')
        await net.kill(r, 'SIGKILL')
        step('requester killed (-9) mid-auction, bids in; restarting it')
        await net.start(r)
        for (const p of PROVIDERS) await net.connect(r, p.node).catch(() => {})
        await settled(r, issued.cfpId)
        const d = await show(r, issued.cfpId)
        step(`resumed auction ${d.auction.phase}`)
        expect(d.auction.phase).toBe('done')
        expect(d.auction.bidCount).toBe(3)
        // "resumed" (7 characters): per-char asks 9, flat 12, rising 7: rising wins and is paid 9.
        expect(d.auction.awards).toHaveLength(1)
        const a = d.auction.awards[0]!
        expect([a.award.winner, a.award.price, a.award.payment, a.status, a.output]).toEqual([
          agents.get('rising'),
          7,
          9,
          'paid',
          'RESUMED',
        ])
        expect(d.escrows.map((e) => [e.status, e.paid, e.refunded ?? 0])).toEqual([['released', 9, 31]])
        expect(await balance(r, requesterAgent.get(r)!)).toBe(before - 9)
      }
      await Promise.all([providerCrash(), requesterCrash()])

      // ---------------------------------------------------------------- books: every award once, audits
      const records = (
        await Promise.all(
          REQUESTERS.map(async (r) => {
            const list = await net.api<{ auctions: AuctionSummary[] }>(r, 'GET', '/v1/market/list')
            return Promise.all(list.auctions.map(async (a) => ({ r, ...(await show(r, a.cfpId)) })))
          }),
        )
      ).flat()
      expect(records.length).toBe(REQUESTERS.length + orders.length + 2)
      const paidTo = new Map<string, number>()
      for (const { r, auction, escrows } of records) {
        expect(auction.phase).toBe('done')
        expect(auction.awards.length).toBeGreaterThan(0)
        for (const a of auction.awards) {
          // exactly one outcome per award: paid (escrow released) or refunded (escrow refunded)
          const e = escrows.find((x) => x.id === a.award.escrowId)!
          expect(a.status === 'paid' ? e.status === 'released' : e.status === 'refunded').toBe(true)
          expect((e.paid ?? 0) + (e.refunded ?? 0)).toBe(e.amount)
          if (a.status === 'paid') {
            expect(e.paid).toBe(a.award.payment)
            paidTo.set(a.award.winner, (paidTo.get(a.award.winner) ?? 0) + a.award.payment)
          }
        }
        expect(auction.cfp.requester).toBe(requesterAgent.get(r))
      }
      // Every provider agent holds exactly what it was paid, once.
      await waitFor(
        async () => {
          for (const [agent, node] of agentNode)
            if ((await balance(node, agent)) !== (paidTo.get(agent) ?? 0)) return false
          return true
        },
        60_000,
        500,
      )
      expect(paidTo.get(slowId)).toBeUndefined()
      const spent = [...paidTo.values()].reduce((s, x) => s + x, 0)
      let reqTotal = 0
      for (const r of REQUESTERS) reqTotal += await balance(r, requesterAgent.get(r)!)
      expect(reqTotal).toBe(3 * 1000 - spent)

      // Each node's own `swarmd ledger audit`, and conservation across the devnet (nothing in flight).
      await waitFor(
        async () => {
          const reports = await Promise.all(
            net.nodes.map((x) => net.api<LedgerReport>(x.index, 'GET', '/v1/ledger/audit')),
          )
          const across = auditAcross(reports)
          return across.ok && across.inFlight === 0 && across.openEscrows === 0
        },
        60_000,
        1000,
      )
      const reports: LedgerReport[] = []
      for (let i = 0; i < N_NODES; i += 5)
        reports.push(
          ...(await Promise.all(
            net.nodes.slice(i, i + 5).map((x) => net.cliJson<LedgerReport>(x.index, ['ledger', 'audit'])),
          )),
        )
      for (const [i, rep] of reports.entries()) {
        expect(rep.problems, `node-${i}`).toEqual([])
        expect(rep.ok).toBe(true)
      }
      const across = auditAcross(reports)
      expect(across.problems).toEqual([])
      expect(across).toMatchObject({ ok: true, minted: 3000, inFlight: 0, openEscrows: 0, nodes: N_NODES })
      expect(across.balances).toBe(3000)
      step(`audits balance on all ${N_NODES} nodes and across them`)
    } catch (err) {
      for (const i of involved) console.error(net.logTail(i, 15))
      throw err
    }
  }, 600_000)
})

function collect(child: ChildProcess): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += String(d)))
  child.stderr!.on('data', (d) => (stderr += String(d)))
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr })))
}
