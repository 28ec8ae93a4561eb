import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SwarmNode } from '../../src/node/node.ts'
import { initRepo, openRepo, repoPaths } from '../../src/node/repo.ts'
import { Cleanup, LOOPBACK, tempDir } from './node_helpers.ts'

describe('node lifecycle', () => {
  const cleanup = new Cleanup()
  afterAll(() => cleanup.run())

  it('undoes a half-finished start, is idempotent, and keeps its identity and data across restarts', async () => {
    const dir = tempDir(cleanup)
    const root = join(dir, 'n')
    const { peerId } = await initRepo(root, { overrides: LOOPBACK })

    // Occupy a port, then ask the node to use it for its control API: start fails late (after libp2p).
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    cleanup.push(() => new Promise<void>((r) => blocker.close(() => r())))
    const busy = (blocker.address() as { port: number }).port
    const failing = new SwarmNode({
      repo: openRepo(root),
      overrides: { 'api.port': busy },
      processMetrics: false,
    })
    await expect(failing.start()).rejects.toThrow(`control API port 127.0.0.1:${busy} is already in use`)
    expect(existsSync(repoPaths(root).lock)).toBe(false)
    expect(existsSync(repoPaths(root).daemon)).toBe(false)
    expect(failing.started).toBe(false)

    // The same repository starts fine afterwards (the database and the lock were released).
    const node = new SwarmNode({ repo: openRepo(root), processMetrics: false })
    node.control.route('GET', '/v1/hello', () => ({ hello: 'world' }))
    const seen: string[] = []
    node.onReady((n) => {
      seen.push(n.peerId)
    })
    await Promise.all([node.start(), node.start()])
    await node.start()
    expect(seen).toEqual([peerId])
    expect(node.peerId).toBe(peerId)
    expect(existsSync(repoPaths(root).daemon)).toBe(true)
    const res = await fetch(`http://127.0.0.1:${node.control.port}/v1/hello`, {
      headers: { authorization: `Bearer ${node.repo.token}` },
    })
    expect(await res.json()).toEqual({ hello: 'world' })
    await node.kv.sublevel('cfg/').put('k', new Uint8Array([7]))
    await node.discovery.provide('sentiment/v2')

    await Promise.all([node.stop(), node.stop()])
    await node.stop()
    expect(existsSync(repoPaths(root).daemon)).toBe(false)
    expect(existsSync(repoPaths(root).lock)).toBe(false)
    expect(() => node.kv).toThrow('available once the node started')

    const again = new SwarmNode({ repo: openRepo(root), processMetrics: false })
    await again.start()
    cleanup.push(() => again.stop())

    // A second node on the same TCP port fails with one clear line, and leaves its repository unlocked.
    const other = join(dir, 'other')
    await initRepo(other, {
      overrides: { ...LOOPBACK, listen: [again.addresses()[0]!.replace(/\/p2p\/.*$/, '')] },
    })
    const clash = new SwarmNode({ repo: openRepo(other), processMetrics: false })
    await expect(clash.start()).rejects.toThrow(
      /^cannot listen on \/ip4\/127\.0\.0\.1\/tcp\/\d+: address already in use$/,
    )
    expect(existsSync(repoPaths(other).lock)).toBe(false)

    expect(again.peerId).toBe(peerId)
    expect(await again.kv.sublevel('cfg/').get('k')).toEqual(new Uint8Array([7]))
    expect(again.status().capabilities).toEqual(['sentiment/v2'])
    await again.stop()
  })
})
