import { describe, expect, it } from 'vitest'
import { seededRandom, silentLogger } from '../../../src/common/index.ts'
import { FLOOD_MIN_PEERS, FloodMesh } from '../../../src/node/routing/flood-mesh.ts'

/** A fake network: `providers` in the DHT, a set of connected peers (all of them subscribed). */
function setup(providers: string[], connectedAtStart: string[] = []) {
  const connected = new Set(connectedAtStart)
  let now = 0
  let finds = 0
  const dialled: string[] = []
  const mesh = new FloodMesh({
    self: 'me',
    subscribers: () => connected.size,
    find: async () => {
      finds++
      return ['me', ...providers].map((peerId) => ({ peerId, addresses: [] }))
    },
    connected: (p) => connected.has(p),
    dial: async (p) => {
      if (p.startsWith('down')) throw new Error('unreachable')
      dialled.push(p)
      connected.add(p)
    },
    now: () => now,
    random: seededRandom(7),
    log: silentLogger,
  })
  return {
    mesh,
    connected,
    dialled,
    finds: () => finds,
    advance: (ms: number) => {
      now += ms
    },
  }
}

describe('flood mesh keeper', () => {
  it('dials providers until the topic has enough connected subscribers, never itself', async () => {
    const t = setup(['a', 'b', 'c', 'd', 'e'], ['a'])
    expect(t.mesh.wants('topic')).toBe(true)
    expect(await t.mesh.ensure('cap', 'topic')).toBe(FLOOD_MIN_PEERS - 1)
    expect(t.connected.size).toBe(FLOOD_MIN_PEERS)
    expect(t.dialled).not.toContain('me')
    expect(t.dialled).not.toContain('a')
    expect(t.mesh.wants('topic')).toBe(false)
    // Enough peers: no lookup at all.
    expect(await t.mesh.ensure('cap', 'topic')).toBe(0)
    expect(t.finds()).toBe(1)
  })

  it('backs off while a lookup finds nobody new, and shares concurrent lookups', async () => {
    const t = setup(['a', 'down-1'])
    const [x, y] = await Promise.all([t.mesh.ensure('cap', 'topic'), t.mesh.ensure('cap', 'topic')])
    expect([x, y]).toEqual([1, 1])
    expect(t.finds()).toBe(1)
    // 'a' is connected, 'down-1' cannot be dialled: still short of peers, but the next lookups wait.
    expect(await t.mesh.ensure('cap', 'topic')).toBe(0)
    expect(t.finds()).toBe(1)
    t.advance(5_000)
    expect(await t.mesh.ensure('cap', 'topic')).toBe(0) // looked up, nobody new
    expect(t.finds()).toBe(2)
    t.advance(5_000)
    await t.mesh.ensure('cap', 'topic')
    expect(t.finds()).toBe(2) // backing off: 10 s now
    t.advance(5_000)
    await t.mesh.ensure('cap', 'topic')
    expect(t.finds()).toBe(3)
    // The back-off is capped at 60 s.
    for (let i = 0; i < 10; i++) {
      t.advance(60_000)
      await t.mesh.ensure('cap', 'topic')
    }
    expect(t.finds()).toBe(13)
  })

  it('survives a failing lookup', async () => {
    const mesh = new FloodMesh({
      self: 'me',
      subscribers: () => 0,
      find: async () => {
        throw new Error('DHT down')
      },
      connected: () => false,
      dial: async () => {},
      now: () => 0,
      random: seededRandom(1),
      log: silentLogger,
    })
    expect(await mesh.ensure('cap', 'topic')).toBe(0)
  })
})
