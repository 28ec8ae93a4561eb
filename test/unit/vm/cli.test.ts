import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Io, runCommand } from '../../../src/cli/command.ts'
import { commands } from '../../../src/cli/vm.ts'

const root = { name: 'swarmd', summary: 'x', subcommands: commands }
let dir = ''

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), isTty: false }
  const code = await runCommand(root, ['vm', ...argv], io)
  return { code, out, err }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'avm-cli-'))
  await writeFile(
    join(dir, 'sum.avm'),
    'SET i = 1\nSET acc = 0\n:l\nADD acc, i -> acc\nADD i, 1 -> i\nLE i, 10 -> c\nJUMP_IF_TRUE c, l\nHALT acc\n',
  )
  await writeFile(join(dir, 'bad.avm'), 'FOO 1\nJUMP nowhere\n')
  await writeFile(join(dir, 'count.avm'), 'KV_FETCH "n", 0 -> n\nADD n, 1 -> n\nKV_STORE "n", n\nHALT n\n')
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('swarmd vm', () => {
  it('check reports every error with positions', async () => {
    const r = await cli('check', join(dir, 'bad.avm'))
    expect(r.code).toBe(1)
    expect(r.err).toContain('bad.avm:1:1 unknown opcode')
    expect(r.err).toContain("bad.avm:2:6 undefined label 'nowhere'")
  })
  it('run --json prints status, halt, gasUsed, output', async () => {
    const r = await cli('run', join(dir, 'sum.avm'), '--gas', '1000', '--json')
    expect(JSON.parse(r.out)).toEqual({ status: 'ok', halt: null, gasUsed: 42, output: 55 })
    const oog = await cli('run', join(dir, 'sum.avm'), '--gas', '20', '--json')
    expect(oog.code).toBe(1)
    expect(JSON.parse(oog.out).halt).toMatchObject({ reason: 'OUT_OF_GAS', line: 6 })
  })
  it('run --trace then replay; a tampered trace diverges', async () => {
    const t = join(dir, 't.jsonl')
    await cli('run', join(dir, 'count.avm'), '--trace', t)
    expect((await cli('replay', t)).out).toMatch(/^replay ok: 4 instructions/)
    const text = await readFile(t, 'utf8')
    await writeFile(t, text.replace('"answer":null', '"answer":41'))
    const bad = await cli('replay', t, '--json')
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.out).divergence).toMatchObject({ index: 0, field: 'out', expected: 0, actual: 41 })
  })
  it('run --state keeps storage in a LevelDB between runs', async () => {
    const db = join(dir, 'db')
    const outs: unknown[] = []
    for (let i = 0; i < 2; i++)
      outs.push(JSON.parse((await cli('run', join(dir, 'count.avm'), '--state', db, '--json')).out).output)
    expect(outs).toEqual([1, 2])
  })
  it('breed writes a verified child', async () => {
    await writeFile(join(dir, 'a.avm'), '.region S editable\nSET x = 10\n.end\nHALT x\n')
    await writeFile(join(dir, 'b.avm'), '.region S editable\nSET x = 20\n.end\nHALT x\n')
    const out = join(dir, 'child.avm')
    const r = await cli(
      'breed',
      join(dir, 'a.avm'),
      join(dir, 'b.avm'),
      '--seed',
      '3',
      '--out',
      out,
      '--json',
    )
    expect(r.code).toBe(0)
    expect((await cli('check', out)).code).toBe(0)
  })
})
