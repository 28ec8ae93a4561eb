/**
 * Reputation and stake in the live market, on a devnet of four `swarmd
 * start` processes driven only through the CLI. Two AVM provider agents bond
 * stake (STAKE_LOCK) and bid for the same capability: `bad` (node B) is
 * cheap and never delivers, `good` (node C) delivers. The requester (node A)
 * issues CFPs worth more than the free value, so bids need a bond, which
 * each provider's node attests with its bids. Every award `bad` wins is
 * refunded at the result deadline, reported as a timeout (gossiped to all
 * nodes, also the observer D), and claimed against its stake at B, which
 * slashes it below the minimum: blacklisted, it stops winning and `good`
 * wins the rest. Every ledger audits, and across nodes.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { auditAcross, type AuctionRecord, type LedgerReport } from '../../src/market/index.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'
import { stakedProvider } from './market_helpers.ts'
import { cli, cliJson, LOOPBACK_FLAGS, startDaemon } from './process_helpers.ts'

const PROVIDER = stakedProvider('staked-echo', 'm.data.payload')

interface Shown {
  distrust: number
  relativeTrust: number
  reports: { asProvider: number }
  stake: { bonded: number; blacklisted: boolean }
  slashes: { id: string; claim: number; amount: number }[]
}

describe('a failing provider on a devnet of daemon processes', () => {
  const cleanup = new Cleanup()
  afterAll(() => cleanup.run())

  it('loses trust and stake and stops winning', async () => {
    const dir = tempDir(cleanup, 'swarmd-rep-market-')
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => join(dir, n)) as [string, string, string, string]
    for (const r of [a, b, c, d]) {
      expect((await cli(['init', '--repo', r, ...LOOPBACK_FLAGS])).code).toBe(0)
      const cfgFile = join(r, 'config.json')
      const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>
      cfg.reputation = {
        trustIntervalMs: 200,
        stake: { freeValue: 10, minimum: 100, deadlineGraceMs: 300 },
      }
      cfg.market = { tickMs: 50 }
      writeFileSync(cfgFile, JSON.stringify(cfg, null, 2))
    }
    await Promise.all([a, b, c, d].map((r) => startDaemon(cleanup, ['--repo', r])))
    const addr = (await cliJson<{ addresses: string[] }>(['status', '--repo', a])).addresses[0]!
    for (const r of [b, c, d]) expect((await cli(['connect', addr, '--repo', r])).code).toBe(0)

    const file = join(dir, 'provider.avm')
    writeFileSync(file, PROVIDER)
    const deploy = async (repo: string, name: string, input: Record<string, unknown>) =>
      (
        await cliJson<{ id: string }>([
          'agent',
          'deploy',
          file,
          '--name',
          name,
          '--balance',
          '200',
          '--input',
          JSON.stringify(input),
          '--repo',
          repo,
        ])
      ).id
    const bad = await deploy(b, 'bad', { bond: 110, price: 5, honest: false })
    const good = await deploy(c, 'good', { bond: 150, price: 20, honest: true })
    for (const [repo, id, bond] of [
      [b, bad, 110],
      [c, good, 150],
    ] as const)
      await waitFor(
        async () => (await cliJson<Shown>(['rep', 'show', id, '--repo', repo])).stake.bonded === bond,
        30_000,
        300,
      )
    await cliJson(['market', 'mint', '5000', '--repo', a])

    const round = async (): Promise<AuctionRecord> => {
      const r = await cli(
        [
          'cfp',
          'staked-echo',
          '--units',
          '1',
          '--reserve',
          '60',
          '--deadline',
          '2500',
          '--result-timeout',
          '1500',
          '--payload',
          '"job"',
          '--wait',
          '--json',
          '--repo',
          a,
        ],
        60_000,
      )
      return (JSON.parse(r.stdout) as { auction: AuctionRecord }).auction
    }

    // Until `bad` is slashed (it wins whenever its bid arrives: it is the cheapest and bonded enough).
    const history: { winner?: string; status?: string; bids: number }[] = []
    for (let i = 0; i < 8; i++) {
      const rec = await round()
      history.push({ winner: rec.awards[0]?.award.winner, status: rec.awards[0]?.status, bids: rec.bidCount })
      if (rec.awards[0]?.award.winner === bad) {
        expect(rec.awards[0].status).toBe('refunded')
        break
      }
    }
    expect(history.some((h) => h.winner === bad)).toBe(true)
    await waitFor(
      async () => (await cliJson<Shown>(['rep', 'show', bad, '--repo', b])).stake.blacklisted,
      30_000,
      300,
    )
    const atB = await cliJson<Shown>(['rep', 'show', bad, '--repo', b])
    expect(atB.stake.bonded).toBeLessThan(100)
    expect(atB.slashes).toHaveLength(1)
    expect(atB.slashes[0]!.claim).toBe(20) // the VCG payment (good's price) the award promised

    // From now on the slashed agent's bids are dropped: `good` wins every round, and delivers.
    for (let i = 0; i < 3; i++) {
      const rec = await round()
      expect(rec.awards[0]?.award.winner).toBe(good)
      expect(rec.awards[0]?.status).toBe('paid')
      if (rec.bidCount === 2) expect(rec.dropped?.map((x) => x.bidder)).toContain(bad)
    }

    // Trust: the timeout report reaches the observer D too, although D knows nothing of the task and
    // `bad` never co-signs it: it carries the requester's signed award and `bad`'s own signed bid.
    // Every view ranks `good` above `bad`; the requester's also counts the timeout as distrust.
    const seen: Record<string, unknown> = {}
    for (const repo of [a, d])
      await waitFor(
        async () => {
          const x = await cliJson<Shown>(['rep', 'show', bad, '--repo', repo])
          const y = await cliJson<Shown>(['rep', 'show', good, '--repo', repo])
          seen[repo] = { bad: x, good: y }
          return (
            y.reports.asProvider >= 3 &&
            y.relativeTrust > x.relativeTrust &&
            x.reports.asProvider >= 1 &&
            (repo !== a || x.distrust > y.distrust)
          )
        },
        30_000,
        300,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}: ${JSON.stringify(seen[repo])}`)
      })

    const audits = await Promise.all(
      [a, b, c, d].map((repo) => cliJson<LedgerReport>(['ledger', 'audit', '--repo', repo])),
    )
    for (const r of audits) expect(r.problems).toEqual([])
    expect(auditAcross(audits).ok).toBe(true)
  }, 300_000)
})
