/** Host-backed opcode families. */
import type { OpSpec } from './types.ts'

export const FAMILIES: OpSpec[] = [
  {
    name: 'PLUGIN_OPCODE',
    params: [],
    variadic: true,
    anyKeywords: true,
    result: true,
    gas: 10,
    doc: 'placeholder',
    async: true,
    run: async () => -1,
  },
]
