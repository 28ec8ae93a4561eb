/** Host-backed opcode families (the pure ones are in control.ts and data.ts). */
import { economyOps } from './economy.ts'
import { pluginOps } from './plugins.ts'
import { selfOps } from './self.ts'
import { storageOps } from './storage.ts'
import { swarmWalletOps } from './swarm-wallet.ts'
import { timeStateOps } from './time-state.ts'
import type { OpSpec } from './types.ts'

export const FAMILIES: OpSpec[] = [
  ...timeStateOps,
  ...storageOps,
  ...swarmWalletOps,
  ...pluginOps,
  ...selfOps,
  ...economyOps,
]
