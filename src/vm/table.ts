/**
 * The opcode table: built once from every family, frozen. The interpreter
 * refuses to start if any opcode lacks a price.
 */

import { collectionOps } from './ops/collections.ts'
import { controlOps } from './ops/control.ts'
import { dataOps } from './ops/data.ts'
import { FAMILIES } from './ops/families.ts'
import type { OpSpec } from './ops/types.ts'

const all: OpSpec[] = [...controlOps, ...dataOps, ...collectionOps, ...FAMILIES]

export const OPCODES: readonly OpSpec[] = Object.freeze(all.map((o) => Object.freeze(o)))
const byName = new Map<string, number>()
OPCODES.forEach((o, i) => {
  if (byName.has(o.name)) throw new Error(`opcode ${o.name} defined twice`)
  byName.set(o.name, i)
})

/** Index of the generic plugin-opcode handler (opcodes a plugin declares). */
export const PLUGIN_OP = byName.get('PLUGIN_OPCODE') ?? -1

export function opcodeIndex(name: string): number {
  return byName.get(name) ?? -1
}

export function opcodeSpec(name: string): OpSpec | undefined {
  const i = byName.get(name)
  return i === undefined ? undefined : OPCODES[i]
}

let checked = false
/** Throws if any opcode has no valid base gas. */
export function assertPriced(): void {
  if (checked) return
  for (const o of OPCODES) {
    if (typeof o.gas !== 'number' || !Number.isFinite(o.gas) || o.gas < 0) {
      throw new Error(`opcode ${o.name} has no price: the interpreter refuses to start`)
    }
  }
  if (PLUGIN_OP < 0) throw new Error('PLUGIN_OPCODE handler missing')
  checked = true
}
