import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Io, runCommand } from '../../../src/cli/command.ts'
import { commands } from '../../../src/cli/rep.ts'
import { KvTransaction, ManualClock, MemoryKv } from '../../../src/common/index.ts'
import { AWARD_DOMAIN, KvFunds, StakeLedger, signEnvelope } from '../../../src/reputation/index.ts'
import { agentKey } from './helpers.ts'

const root = { name: 'swarmd', summary: 'test', subcommands: commands }
function capture(): Io & { text: () => string } {
  let out = ''
  return { out: (t) => (out += t), err: (t) => (out += t), isTty: false, text: () => out }
}
let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmd-rep-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('swarmd rep', () => {
  it('sim prints the win rate table, the attack costs and writes a chart', async () => {
    const io = capture()
    const chart = join(dir, 'c.svg')
    const code = await runCommand(
      root,
      ['rep', 'sim', '--agents', '30', '--rounds', '6', '--auctions', '5', '--seed', '4', '--chart', chart],
      io,
    )
    expect(code).toBe(0)
    expect(io.text()).toMatch(/malicious win rate/)
    expect(io.text()).toMatch(/whitewash/)
    expect(io.text()).toMatch(/without reputation/)
    expect(await readFile(chart, 'utf8')).toMatch(/^<svg/)
    const j = capture()
    await runCommand(root, ['rep', 'sim', '--agents', '30', '--rounds', '3', '--no-baseline', '--json'], j)
    const parsed = JSON.parse(j.text())
    expect(parsed.result.rounds).toHaveLength(3)
    expect(parsed.baseline).toBeUndefined()
  }, 60_000)

  it('verify-slash accepts a genuine record and refuses a tampered one', async () => {
    const req = agentKey(1)
    const prov = agentKey(2)
    const kv = new MemoryKv()
    const funds = new KvFunds(kv)
    const tx = new KvTransaction(kv)
    await funds.credit(prov.id, 500, tx)
    await tx.commit()
    const stake = new StakeLedger({ store: kv, funds, clock: new ManualClock(100_000) })
    await stake.bond(prov.id, 300)
    const award = signEnvelope(
      AWARD_DOMAIN,
      { taskId: 'x', requester: req.id, provider: prov.id, price: 20, deadline: 1000 },
      req.sk,
    )
    const rec = await stake.slashMissedDeadline(award)
    const good = join(dir, 'good.json')
    const bad = join(dir, 'bad.json')
    await writeFile(good, JSON.stringify(rec))
    await writeFile(bad, JSON.stringify({ ...rec, victim: prov.id }))
    const a = capture()
    expect(await runCommand(root, ['rep', 'verify-slash', good], a)).toBe(0)
    expect(a.text()).toMatch(/stands/)
    const b = capture()
    expect(await runCommand(root, ['rep', 'verify-slash', bad, '--json'], b)).toBe(1)
    expect(JSON.parse(b.text())).toMatchObject({ ok: false, problem: 'victim is not the requester' })
  })
})
