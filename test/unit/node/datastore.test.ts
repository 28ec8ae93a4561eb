import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { afterEach, describe, expect, it } from 'vitest'
import { PeerCachedDatastore } from '../../../src/node/datastore.ts'

const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'swarmd-ds-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

/** What a plain LevelDB datastore over the same directory holds (the cached one must be closed). */
async function onDisk(dir: string, key: string): Promise<string | undefined> {
  const plain = new LevelDatastore(dir)
  await plain.open()
  try {
    return text(await plain.get(new Key(key)))
  } catch {
    return undefined
  } finally {
    await plain.close()
  }
}

describe('the peer-store cache over LevelDB', () => {
  it('serves peer records from memory, writes them behind, and flushes on close', async () => {
    const dir = tmp()
    const ds = new PeerCachedDatastore(dir, 60_000)
    await ds.open()
    const peer = new Key('/peers/abc')
    await expect(ds.get(peer)).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(await ds.has(peer)).toBe(false)
    await ds.put(peer, bytes('v1'))
    await ds.put(peer, bytes('v2'))
    expect(text(await ds.get(peer))).toBe('v2')
    expect(await ds.has(peer)).toBe(true)
    // Other keys go straight to LevelDB.
    await ds.put(new Key('/dht/record/x'), bytes('r'))
    // A query flushes first, so it sees the peer record written behind.
    const seen: string[] = []
    for await (const { key, value } of ds.query({ prefix: '/peers/' })) seen.push(`${key}=${text(value)}`)
    expect(seen).toEqual(['/peers/abc=v2'])
    await ds.put(new Key('/peers/def'), bytes('d'))
    await ds.delete(peer)
    await expect(ds.get(peer)).rejects.toMatchObject({ name: 'NotFoundError' })
    await ds.close()
    expect(await onDisk(dir, '/peers/abc')).toBeUndefined()
    expect(await onDisk(dir, '/peers/def')).toBe('d')
    expect(await onDisk(dir, '/dht/record/x')).toBe('r')
  })

  it('reads back after a reopen what an earlier run flushed', async () => {
    const dir = tmp()
    const first = new PeerCachedDatastore(dir, 20)
    await first.open()
    await first.put(new Key('/peers/p1'), bytes('one'))
    await first.flush()
    await first.close()
    const second = new PeerCachedDatastore(dir, 60_000)
    await second.open()
    expect(text(await second.get(new Key('/peers/p1')))).toBe('one')
    await second.close()
  })
})
