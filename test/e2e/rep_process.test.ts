/**
 * Reputation on a devnet of three `swarmd start` processes on loopback,
 * driven only through the CLI: reports published on one daemon reach the
 * others through gossip and move their trust views; a forged report is
 * refused; a restarted daemon keeps its view.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { makeReport, type ReportBody, type SignedReport } from '../../src/reputation/index.ts'
import { agentKey } from '../unit/reputation/helpers.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'
import { cli, cliJson, startDaemon } from './process_helpers.ts'

const LOOP = ['--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--no-mdns']

const req = agentKey(21)
const good = agentKey(22)
const bad = agentKey(23)
const mallory = agentKey(24)

interface Shown {
  agentId: string
  trust: number
  relativeTrust: number
  distrust: number
  reports: { asProvider: number; asRequester: number }
}

let seq = 0
function reportFile(dir: string, provider: typeof good, outcome: ReportBody['outcome']): string {
  const body: ReportBody = {
    taskId: `devnet-task-${++seq}`,
    requester: req.id,
    provider: provider.id,
    outcome,
    latencyMs: 200,
    rating: outcome === 'success' ? 1 : 0,
    price: 40,
    issuedAt: Date.now(),
  }
  const file = join(dir, `report-${seq}.json`)
  writeFileSync(file, JSON.stringify(makeReport(body, req.sk, provider.sk)))
  return file
}

describe('reputation on a devnet of daemon processes', () => {
  const cleanup = new Cleanup()
  afterAll(() => cleanup.run())

  it('gossips reports between daemons, refuses forgeries, and keeps the view across a restart', async () => {
    const dir = tempDir(cleanup, 'swarmd-rep-devnet-')
    const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir, n)) as [string, string, string]
    for (const r of [a, b, c]) {
      expect((await cli(['init', '--repo', r, ...LOOP])).code).toBe(0)
      const cfgFile = join(r, 'config.json')
      const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>
      cfg.reputation = { preTrusted: [req.id], trustIntervalMs: 200 }
      writeFileSync(cfgFile, JSON.stringify(cfg, null, 2))
    }
    await startDaemon(cleanup, ['--repo', a])
    const addr = (await cliJson<{ addresses: string[] }>(['status', '--repo', a])).addresses[0]!
    await startDaemon(cleanup, ['--repo', b])
    let dc = await startDaemon(cleanup, ['--repo', c])
    for (const r of [b, c]) expect((await cli(['connect', addr, '--repo', r])).code).toBe(0)
    await waitFor(
      async () => (await cliJson<{ topicPeers: number }>(['rep', 'stats', '--repo', a])).topicPeers >= 2,
      30_000,
      300,
    )

    const files = [
      reportFile(dir, good, 'success'),
      reportFile(dir, bad, 'success'),
      reportFile(dir, bad, 'success'),
      ...Array.from({ length: 5 }, () => reportFile(dir, bad, 'failure')),
    ]
    const published = await cliJson<{ result: { status: string }; recipients: number }[]>([
      'rep',
      'publish',
      ...files,
      '--repo',
      a,
    ])
    expect(published.map((r) => r.result.status)).toEqual(files.map(() => 'accepted'))
    for (const r of published) expect(r.recipients).toBeGreaterThanOrEqual(1)

    // a forged report (signatures do not match the body) is refused and never gossiped
    const genuine = JSON.parse(readFileSync(files[0]!, 'utf8')) as SignedReport
    const forgedFile = join(dir, 'forged.json')
    writeFileSync(
      forgedFile,
      JSON.stringify({ ...genuine, body: { ...genuine.body, taskId: 'forged-task', provider: mallory.id } }),
    )
    const forged = await cli(['rep', 'publish', forgedFile, '--repo', a])
    expect(forged.code).toBe(1)
    expect(forged.stdout).toMatch(/rejected: BAD_SIGNATURE/)

    const view = async (r: string) => {
      const top = await cliJson<{ agents: Shown[] }>(['rep', 'top', '--limit', '10', '--repo', r])
      return { order: top.agents.map((x) => x.agentId), by: new Map(top.agents.map((x) => [x.agentId, x])) }
    }
    for (const r of [b, c]) {
      let v = await view(r)
      await waitFor(
        async () => {
          v = await view(r)
          const x = v.by.get(bad.id)
          return x !== undefined && x.reports.asProvider === 7 && x.distrust > 0
        },
        20_000,
        300,
      )
      const g = v.by.get(good.id)!
      expect(g.relativeTrust).toBeGreaterThan(0.1)
      expect(v.by.get(bad.id)!.relativeTrust).toBeLessThan(g.relativeTrust / 10)
      expect(v.order.slice(0, 2)).toEqual([req.id, good.id])
      expect(v.by.has(mallory.id)).toBe(false)
    }

    // restart c: the view survives
    const before = await view(c)
    dc.child.kill('SIGTERM')
    await dc.exited
    dc = await startDaemon(cleanup, ['--repo', c])
    const after = await view(c)
    expect(after.order).toEqual(before.order)
    for (const id of [req.id, good.id, bad.id]) {
      expect(after.by.get(id)!.reports).toEqual(before.by.get(id)!.reports)
      expect(after.by.get(id)!.relativeTrust).toBeCloseTo(before.by.get(id)!.relativeTrust, 3)
    }
    dc.child.kill('SIGTERM')
    await dc.exited
  }, 120_000)
})
