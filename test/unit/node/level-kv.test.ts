import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Db } from '../../../src/node/db.ts'

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))

describe('LevelKv', () => {
  let dir: string
  let db: Db
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'swarmd-kv-'))
    db = await Db.open(join(dir, 'db'))
  })
  afterAll(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('maps not-found to undefined and round-trips bytes', async () => {
    expect(await db.kv.get('missing')).toBeUndefined()
    await db.kv.put('a', enc('1'))
    expect(dec(await db.kv.get('a'))).toBe('1')
    await db.kv.del('a')
    expect(await db.kv.get('a')).toBeUndefined()
  })

  it('scopes sublevels by prefix and lists entries in key order', async () => {
    const ledger = db.kv.sublevel('ledger/')
    const acct = ledger.sublevel('acct/')
    await acct.put('b', enc('2'))
    await acct.put('a', enc('1'))
    await acct.put('c', enc('3'))
    await db.kv.put('ledger/acctX', enc('outside'))
    expect(dec(await db.kv.get('ledger/acct/a'))).toBe('1')
    const seen: [string, string | undefined][] = []
    for await (const [k, v] of acct.entries('')) seen.push([k, dec(v)])
    expect(seen).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ])
    const all: string[] = []
    for await (const [k] of ledger.entries('acct')) all.push(k)
    expect(all).toEqual(['acct/a', 'acct/b', 'acct/c', 'acctX'])
  })

  it('applies a batch atomically: all or nothing', async () => {
    const kv = db.kv.sublevel('market/')
    await kv.batch([
      { type: 'put', key: 'x', value: enc('1') },
      { type: 'put', key: 'y', value: enc('2') },
      { type: 'del', key: 'x' },
    ])
    expect(await kv.get('x')).toBeUndefined()
    expect(dec(await kv.get('y'))).toBe('2')
    // an invalid op makes the whole batch fail, nothing is written
    await expect(
      kv.batch([
        { type: 'put', key: 'z', value: enc('3') },
        { type: 'put', key: 'w', value: undefined as unknown as Uint8Array },
      ]),
    ).rejects.toThrow()
    expect(await kv.get('z')).toBeUndefined()
  })
})
