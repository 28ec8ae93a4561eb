/** CLI commands of the daemon's CFP routing (`swarmd route ...`). */
import type { Command } from './command.ts'

export const commands: Command[] = []
