/** CLI commands of the node subsystem (filled in by its issue). */
import type { Command } from './command.ts'

export const commands: Command[] = []
