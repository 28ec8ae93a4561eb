import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Command, type Io, runCommand } from '../../../src/cli/command.ts'
import { commands } from '../../../src/cli/market.ts'

const root: Command = { name: 'swarmd', summary: 'test', subcommands: commands }
function capture(): Io & { text: () => string } {
  let out = ''
  const add = (t: string) => {
    out += t
  }
  return { out: add, err: add, isTty: false, text: () => out }
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmd-market-'))
  await writeFile(
    join(dir, 'ok.json'),
    JSON.stringify({
      units: 1,
      reserve: 100,
      bids: [
        { bidder: 'a', offers: [{ units: 1, price: 40 }] },
        { bidder: 'b', offers: [{ units: 1, price: 60 }] },
      ],
    }),
  )
  await writeFile(
    join(dir, 'bad.json'),
    '{"units": 1, "reserve": 5, "bids": [{"bidder": "a", "offers": [{"units": 1, "price": -1}]}]}',
  )
  await writeFile(join(dir, 'broken.json'), '{"units": ')
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('swarmd market clear', () => {
  it('prints the VCG outcome as JSON', async () => {
    const io = capture()
    expect(await runCommand(root, ['market', 'clear', '--input', join(dir, 'ok.json'), '--json'], io)).toBe(0)
    expect(JSON.parse(io.text())).toEqual({
      welfare: 60,
      winners: [{ bidder: 'a', units: 1, price: 40, payment: 60 }],
      totalPayment: 60,
    })
  })
  it('prints a table, and honours --mechanism', async () => {
    const io = capture()
    await runCommand(
      root,
      ['market', 'clear', '--input', join(dir, 'ok.json'), '--mechanism', 'first-price'],
      io,
    )
    expect(io.text()).toMatch(/mechanism first-price: welfare 60, total payment 40/)
    expect(io.text()).toMatch(/a\s+1\s+40\s+40/)
  })
  it.each([
    ['bad.json', /bad\.json: bidder 'a' offer #0: price must be >= 0, got -1/],
    ['broken.json', /broken\.json is not valid JSON/],
    ['missing.json', /cannot read .*missing\.json/],
  ])('%s → one clear line', async (file, msg) => {
    await expect(
      runCommand(root, ['market', 'clear', '--input', join(dir, file)], capture()),
    ).rejects.toThrow(msg)
  })
  it('rejects an unknown mechanism and a missing --input', async () => {
    await expect(
      runCommand(root, ['market', 'clear', '--input', 'x', '--mechanism', 'dutch'], capture()),
    ).rejects.toThrow(/--mechanism must be one of/)
    await expect(runCommand(root, ['market', 'clear'], capture())).rejects.toThrow(/missing --input/)
  })
})
