/** The running daemon of the repository a command names (`--repo`, else the default). */
import { NodeClient } from '../node/client.ts'
import { resolveRepoPath } from '../node/repo.ts'
import type { CommandContext } from './command.ts'

export const daemonClient = (ctx: CommandContext): NodeClient =>
  NodeClient.forRepo(resolveRepoPath(ctx.flags.repo as string | undefined))
