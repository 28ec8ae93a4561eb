/** The cast of the hostile-peer suites: a daemon, a friend connected to it, and a bare libp2p node to attack with. */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { SwarmNode } from '../../src/node/node.ts'
import { type Cleanup, startNode, tempDir } from './node_helpers.ts'

export interface HostileSetup {
  /** The node under attack (wire frames limited to 64 KiB). */
  daemon: SwarmNode
  /** An honest node connected to it, to check that it is still served. */
  friend: SwarmNode
  /** A plain libp2p node (TCP, Noise, yamux) that speaks swarmd's protocols by hand. */
  attacker: Libp2p
  /** The daemon's first listen address. */
  target: string
}

export async function hostileSetup(cleanup: Cleanup): Promise<HostileSetup> {
  const dir = tempDir(cleanup)
  const daemon = await startNode(cleanup, dir, 'daemon', { 'wire.maxMessageBytes': 64 * 1024 })
  const friend = await startNode(cleanup, dir, 'friend')
  const target = `${daemon.addresses()[0]}`
  await friend.connect(target)
  const attacker = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  })
  cleanup.push(() => attacker.stop())
  return { daemon, friend, attacker, target }
}
