/**
 * The `swarmd` command line. Each subsystem contributes its commands from
 * `src/cli/*.ts`; this file only assembles the tree and turns errors into one
 * clear line and a non-zero exit code.
 */
import { type Command, type Io, runCommand } from './cli/command.ts'
import { errorMessage, isSwarmdError } from './common/errors.ts'

export const VERSION = '0.1.0'

interface CommandModule {
  /** Top-level command names the module exports (checked by a unit test). */
  names: string[]
  load: () => Promise<{ commands: Command[] }>
}

/**
 * Command modules, one per subsystem. Only the module that owns the command
 * being run is imported, so `swarmd vm run` does not pay for libp2p; `--help`
 * and unknown commands load them all.
 */
export const COMMAND_MODULES: CommandModule[] = [
  {
    names: ['init', 'start', 'id', 'status', 'peers', 'connect', 'caps'],
    load: () => import('./cli/node.ts'),
  },
  { names: ['vm'], load: () => import('./cli/vm.ts') },
  { names: ['sim'], load: () => import('./cli/route.ts') },
  { names: ['route'], load: () => import('./cli/routectl.ts') },
  { names: ['msg'], load: () => import('./cli/msg.ts') },
  { names: ['market', 'cfp'], load: () => import('./cli/market.ts') },
  { names: ['rep', 'stake'], load: () => import('./cli/rep.ts') },
  { names: ['agent'], load: () => import('./cli/agent.ts') },
  { names: ['ledger'], load: () => import('./cli/ledger.ts') },
]

/** The first token of argv that is not a global flag (or its value): the command name. */
export function commandName(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--repo') {
      i++
      continue
    }
    if (a.startsWith('-')) continue
    return a
  }
  return undefined
}

export async function loadCommands(argv: string[] = []): Promise<Command[]> {
  const name = commandName(argv)
  const owner = COMMAND_MODULES.find((m) => name !== undefined && m.names.includes(name))
  const modules = await Promise.all((owner ? [owner] : COMMAND_MODULES).map((m) => m.load()))
  return modules.flatMap((m) => m.commands)
}

export async function main(argv: string[]): Promise<void> {
  const io: Io = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    isTty: Boolean(process.stdout.isTTY),
  }
  try {
    const root: Command = {
      name: 'swarmd',
      summary: `swarmd ${VERSION}: a peer-to-peer swarm node daemon`,
      subcommands: await loadCommands(argv),
    }
    if (argv[0] === '--version' || argv[0] === 'version') {
      io.out(`${VERSION}\n`)
      return
    }
    process.exitCode = await runCommand(root, argv, io)
  } catch (err) {
    if (isSwarmdError(err) || (err instanceof Error && (err as { code?: string }).code === 'USER_ERROR')) {
      io.err(`swarmd: ${errorMessage(err)}\n`)
      process.exitCode = 2
      return
    }
    if (process.env.SWARMD_DEBUG) io.err(`${(err as Error)?.stack ?? String(err)}\n`)
    io.err(`swarmd: ${errorMessage(err)}\n`)
    process.exitCode = 1
  }
}
