/**
 * The `swarmd` command line. Each subsystem contributes its commands from
 * `src/cli/*.ts`; this file only assembles the tree and turns errors into one
 * clear line and a non-zero exit code.
 */
import { type Command, type Io, runCommand } from './cli/command.ts'
import { errorMessage, isSwarmdError } from './common/errors.ts'

export const VERSION = '0.1.0'

async function loadCommands(): Promise<Command[]> {
  // Each entry is a module exporting `commands: Command[]`. Loaded lazily so
  // that `swarmd vm run` does not pay for importing libp2p.
  const modules = await Promise.all(COMMAND_MODULES.map((load) => load()))
  return modules.flatMap((m) => m.commands)
}

/** Command modules, one per subsystem, each exporting `commands: Command[]`. */
const COMMAND_MODULES: (() => Promise<{ commands: Command[] }>)[] = [
  () => import('./cli/node.ts'),
  () => import('./cli/vm.ts'),
  () => import('./cli/route.ts'),
  () => import('./cli/msg.ts'),
  () => import('./cli/market.ts'),
  () => import('./cli/rep.ts'),
  () => import('./cli/routectl.ts'),
  () => import('./cli/agent.ts'),
  () => import('./cli/ledger.ts'),
]

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
      subcommands: await loadCommands(),
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
