import { describe, expect, it } from 'vitest'
import { MemoryKv, silentLogger } from '../../../src/common/index.ts'
import { type CfpTrace, TraceStore } from '../../../src/node/routing/index.ts'

const id = (i: number): string => i.toString(16).padStart(32, '0')
const trace = (i: number): CfpTrace => ({
  cfpId: id(i),
  capability: 'image-ocr',
  origin: 'o',
  mode: 'cq',
  seenAt: 1000 + i,
  status: 'relayed',
  decisions: [],
})
const settle = () => new Promise((r) => setTimeout(r, 10))

async function count(kv: MemoryKv): Promise<number> {
  let n = 0
  for await (const _ of kv.entries('trace/')) n++
  return n
}

describe('route traces', () => {
  it('keeps at most `cap` traces in memory and in the store, dropping the oldest', async () => {
    const kv = new MemoryKv()
    const store = new TraceStore(kv, 5, silentLogger)
    await store.load()
    for (let i = 0; i < 12; i++) {
      store.update(
        id(i),
        () => trace(i),
        (t) => t.decisions.push({} as CfpTrace['decisions'][number]),
      )
      await settle()
    }
    expect(await count(kv)).toBe(5)
    expect(await store.get(id(0))).toBeUndefined()
    expect((await store.get(id(11)))?.decisions).toHaveLength(1)
    expect(store.recent(10).map((t) => t.cfpId)).toEqual([11, 10, 9, 8, 7].map(id))
  })

  it('reads persisted traces after a restart and keeps the bound', async () => {
    const kv = new MemoryKv()
    const a = new TraceStore(kv, 3, silentLogger)
    await a.load()
    for (let i = 0; i < 3; i++) {
      a.update(
        id(i),
        () => trace(i),
        (t) => (t.status = 'delivered'),
      )
      await settle()
    }
    const b = new TraceStore(kv, 3, silentLogger)
    await b.load()
    expect((await b.get(id(1)))?.status).toBe('delivered')
    b.update(
      id(3),
      () => trace(3),
      () => {},
    )
    await settle()
    expect(await count(kv)).toBe(3)
    expect(await b.get(id(0))).toBeUndefined()
  })
})
