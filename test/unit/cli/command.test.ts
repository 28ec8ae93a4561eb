import { describe, expect, it } from 'vitest'
import { type Command, type Io, parseArgs, runCommand } from '../../../src/cli/command.ts'

const cmd: Command = {
  name: 'sim',
  summary: 'simulate',
  flags: {
    load: { type: 'number', description: 'load', min: 0 },
    seeds: { type: 'integer', description: 'seeds', default: 1, min: 1 },
    router: { type: 'string', description: 'router', choices: ['q', 'cq'] },
    compare: { type: 'list', description: 'routers to compare' },
  },
  positionals: [{ name: 'FILE', description: 'input' }],
  run: () => 0,
}

describe('parseArgs', () => {
  it('parses flags of every type and positionals', () => {
    const r = parseArgs(
      cmd,
      ['x.json', '--load', '1.5', '--seeds=3', '--router', 'cq', '--compare', 'a,b', '--json'],
      'sim',
    )
    expect(r.args.FILE).toBe('x.json')
    expect(r.flags).toMatchObject({ load: 1.5, seeds: 3, router: 'cq', compare: ['a', 'b'], json: true })
  })
  it('applies defaults', () => {
    expect(parseArgs(cmd, [], 'sim').flags.seeds).toBe(1)
  })
  it.each([
    [['--bogus'], /unknown flag --bogus/],
    [['--load', 'abc'], /--load must be a number/],
    [['--load', '-1'], /--load must be >= 0/],
    [['--seeds', '1.5'], /whole number/],
    [['--router', 'x'], /must be one of q, cq/],
    [['--load'], /needs a value/],
    [['a', 'b'], /unexpected argument 'b'/],
  ])('rejects %j with a clear message', (argv, msg) => {
    expect(() => parseArgs(cmd, argv as string[], 'sim')).toThrow(msg)
  })
})

describe('runCommand', () => {
  it('prints help for --help and refuses unknown commands', async () => {
    let out = ''
    const io: Io = { out: (t) => (out += t), err: () => {}, isTty: false }
    const root: Command = { name: 'swarmd', summary: 'root', subcommands: [cmd] }
    expect(await runCommand(root, ['sim', '--help'], io)).toBe(0)
    expect(out).toContain('Usage: swarmd sim [FILE] [flags]')
    expect(out).toContain('--load NUMBER')
    await expect(runCommand(root, ['nope'], io)).rejects.toThrow(/unknown command 'nope'/)
  })
})
