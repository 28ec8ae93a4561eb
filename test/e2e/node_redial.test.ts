import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { initRepo, openRepo, SwarmNode } from '../../src/node/index.ts'
import { Cleanup, LOOPBACK, startNode, tempDir, waitFor } from './node_helpers.ts'

/** A TCP port that is free right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

describe('a node whose bootstrap peer is down at start', () => {
  const cleanup = new Cleanup()
  afterAll(() => cleanup.run())

  it('keeps redialling and connects once the bootstrap peer comes up', async () => {
    const dir = tempDir(cleanup, 'swarmd-redial-')
    // The bootstrap node's repository (and so its peer id) exists, but it is not running yet.
    const port = await freePort()
    const bootRoot = join(dir, 'boot')
    const { peerId } = await initRepo(bootRoot, {
      overrides: { ...LOOPBACK, listen: [`/ip4/127.0.0.1/tcp/${port}`] },
    })
    const addr = `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`
    const node = await startNode(cleanup, dir, 'node', {
      bootstrap: [addr],
      'connections.redialIntervalMs': 1000,
    })
    await new Promise((r) => setTimeout(r, 1500))
    expect(node.peers()).toHaveLength(0)

    const boot = new SwarmNode({ repo: openRepo(bootRoot), processMetrics: false, writeDaemonInfo: false })
    await boot.start()
    cleanup.push(() => boot.stop())
    await waitFor(() => node.peers().some((p) => p.peerId === peerId), 20_000)
  })
})
