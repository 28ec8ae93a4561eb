import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type Command, type Io, runCommand } from '../../../src/cli/command.ts'
import { commands } from '../../../src/cli/route.ts'

const root: Command = { name: 'swarmd', summary: 'test', subcommands: commands }

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = ''
  const io: Io = { out: (t) => (out += t), err: () => {}, isTty: false }
  const code = await runCommand(root, argv, io)
  return { code, out }
}

describe('swarmd sim', () => {
  it('runs the classic experiment and prints the documented JSON', async () => {
    const { code, out } = await run(
      ['sim', '--topology', 'boyan-littman', '--router', 'q', '--load', '1', '--seeds', '3'].concat([
        '--duration',
        '1000',
        '--warmup',
        '500',
        '--json',
      ]),
    )
    expect(code).toBe(0)
    const j = JSON.parse(out)
    expect(Object.keys(j)).toEqual(['router', 'load', 'seeds', 'meanDeliveryTime', 'perSeed'])
    expect(j.perSeed).toHaveLength(3)
    const sorted = j.perSeed
      .map((s: { meanDeliveryTime: number }) => s.meanDeliveryTime)
      .sort((a: number, b: number) => a - b)
    expect(j.meanDeliveryTime).toBe(sorted[1])
  })

  it('sweeps loads and writes an SVG chart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmd-sim-'))
    try {
      const chart = join(dir, 'curve.svg')
      const { out } = await run(
        ['sim', '--compare', 'q,shortest-path', '--sweep', '0.5:1.5:0.5', '--seeds', '1'].concat([
          '--duration',
          '600',
          '--warmup',
          '300',
          '--json',
          '--chart',
          chart,
        ]),
      )
      const j = JSON.parse(out)
      expect(j.map((r: { router: string }) => r.router)).toEqual(['q', 'shortest-path'])
      expect(j[0].sweep.map((p: { load: number }) => p.load)).toEqual([0.5, 1, 1.5])
      expect(await readFile(chart, 'utf8')).toMatch(/^<svg/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('compares routers on the capability workload', async () => {
    const { out } = await run(
      ['sim', '--topology', 'small-world', '--nodes', '200', '--cfps', '1000', '--caps', '5'].concat([
        '--replication',
        '2%',
        '--compare',
        'cq,flood,dht',
        '--flood-cfps',
        '50',
        '--json',
      ]),
    )
    const j = JSON.parse(out)
    expect(j.map((r: { router: string }) => r.router)).toEqual(['cq', 'flood', 'dht'])
    for (const r of j) {
      for (const k of [
        'router',
        'nodes',
        'cfps',
        'deliveryRate',
        'meanTime',
        'p95Time',
        'messagesPerCfp',
        'bytesPerCfp',
      ]) {
        expect(r).toHaveProperty(k)
      }
    }
  })

  it.each([
    [['--topology', 'small-world', '--nodes', '1'], /--nodes must be at least 2/],
    [
      ['--topology', 'small-world', '--nodes', '10', '--degree', '4', '--replication', '11'],
      /cannot exceed the number of nodes/,
    ],
    [['--load', '0'], /--load must be > 0/],
    [['--load', '-1'], /--load must be > 0/],
    [['--warmup', '100', '--duration', '100'], /--warmup \(100\) must be smaller than --duration/],
    [['--router', 'teleport'], /unknown router 'teleport'/],
    [['--router', 'flood'], /does not apply to the classic experiment/],
    [['--topology', 'torus'], /--topology must be one of/],
    [['--sweep', '2:1:0.5'], /--sweep needs/],
    [['--topology', 'file'], /needs --file/],
  ])('rejects %j', async (args, msg) => {
    await expect(run(['sim', ...args])).rejects.toThrow(msg)
  })
})
