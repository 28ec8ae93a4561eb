/** Helpers shared by the host-backed opcode families. */
import { KvTransaction } from '../../common/index.ts'
import { VmFault } from '../fault.ts'
import { must } from '../gate.ts'
import type { Machine } from '../interp.ts'
import { sizeOf, toText, type Value } from '../values.ts'
import { CONTINUE, type Ins, val } from './types.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

export function agentPrefix(m: Machine): string {
  return `a/${m.agentId()}/`
}

export function encodeValue(v: Value): Uint8Array {
  return enc.encode(JSON.stringify(v))
}
export function decodeValue(b: Uint8Array | undefined): Value {
  if (b === undefined) return null
  try {
    return JSON.parse(dec.decode(b)) as Value
  } catch {
    return null
  }
}

/** Read a storage key (through the open transaction if any), recorded by the gate. */
export async function storeGet(m: Machine, key: string): Promise<Value> {
  const a = await m.gate.call('store.get', [key], async () =>
    decodeValue(m.tx ? await m.tx.get(key) : await m.host.store.get(key)),
  )
  return must(a, `reading ${key}`)
}

/** Write (or delete with null) a storage key; inside TX_BEGIN the write is staged. */
export async function storePut(m: Machine, key: string, value: Value | undefined): Promise<void> {
  const a = await m.gate.call('store.put', [key, value === undefined ? '<del>' : value], async () => {
    if (m.tx) {
      if (value === undefined) m.tx.del(key)
      else m.tx.put(key, encodeValue(value))
    } else if (value === undefined) await m.host.store.del(key)
    else await m.host.store.put(key, encodeValue(value))
    return true
  })
  must(a, `writing ${key}`)
}

export async function storeList(m: Machine, prefix: string): Promise<[string, Value][]> {
  const a = await m.gate.call('store.list', [prefix], async () => {
    const out: [string, Value][] = []
    const staged = new Map<string, Value | undefined>()
    if (m.tx) {
      for (const op of m.tx.ops())
        if (op.key.startsWith(prefix))
          staged.set(op.key, op.type === 'put' ? decodeValue(op.value) : undefined)
    }
    for await (const [k, v] of m.host.store.entries(prefix)) {
      if (staged.has(k)) continue
      out.push([k.slice(prefix.length), decodeValue(v)])
    }
    for (const [k, v] of staged) if (v !== undefined) out.push([k.slice(prefix.length), v])
    out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    return out
  })
  return must(a, `listing ${prefix}`) as [string, Value][]
}

/** Write the result of an op to its destination register. */
export function put(m: Machine, ins: Ins, v: Value): number {
  m.set(ins.dst, v)
  return CONTINUE
}

export function sizeArg(m: Machine, ins: Ins, i: number): number {
  const o = ins.args[i]
  return o ? sizeOf(val(m, o)) : 0
}

export function keyText(v: Value, what: string): string {
  if (v === null) throw new VmFault('INVALID_OPERAND', `${what} is null`)
  const s = toText(v)
  if (s.length === 0 || s.length > 512)
    throw new VmFault('INVALID_OPERAND', `${what} must be 1..512 characters`)
  return s
}

/** Run `stage` in the open transaction, or in a fresh one committed atomically (with the host's checkpoint hook). */
export async function atomically(
  m: Machine,
  stage: (tx: KvTransaction) => Promise<void>,
  beforeCommit: () => void,
): Promise<void> {
  if (m.tx) {
    await stage(m.tx)
    beforeCommit()
    return
  }
  const tx = new KvTransaction(m.host.store)
  await stage(tx)
  beforeCommit()
  m.host.onCommit?.(tx)
  await tx.commit()
}
