import type { Libp2p, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSigningKey } from '../../src/common/index.ts'
import { NODE_PROTOCOL, type SwarmNode } from '../../src/node/node.ts'
import { encodeEnvelope, sealEnvelope } from '../../src/node/wire/envelope.ts'
import { hostileSetup } from './hostile_helpers.ts'
import { Cleanup, waitFor } from './node_helpers.ts'

function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}

/** Write raw bytes on a fresh stream, half-close, and report whether the daemon reset it. */
async function sendRaw(attacker: Libp2p, target: string, bytes: Uint8Array): Promise<'reset' | 'closed'> {
  const stream: Stream = await attacker.dialProtocol(multiaddr(target), NODE_PROTOCOL, {
    signal: AbortSignal.timeout(5000),
  })
  stream.send(bytes)
  await stream.close().catch(() => {})
  try {
    for await (const _ of stream) {
      // the daemon must not answer
    }
    return stream.status === 'reset' || stream.status === 'aborted' ? 'reset' : 'closed'
  } catch {
    return 'reset'
  }
}

describe('a hostile peer', () => {
  const cleanup = new Cleanup()
  let daemon: SwarmNode
  let friend: SwarmNode
  let attacker: Libp2p
  let target: string

  beforeAll(async () => {
    ;({ daemon, friend, attacker, target } = await hostileSetup(cleanup))
  })
  afterAll(() => cleanup.run())

  it('gets garbage, oversized, truncated and forged frames reset, loses score, and is banned', async () => {
    const me = attacker.peerId.toString()
    // 1. a well-framed frame of garbage
    expect(await sendRaw(attacker, target, new Uint8Array([5, 1, 2, 3, 4, 5]))).toBe('reset')
    await waitFor(() => daemon.peerScore.get(me) < 0)
    const afterGarbage = daemon.peerScore.get(me)
    // 2. a frame announcing 2 MiB (limit 64 KiB)
    expect(await sendRaw(attacker, target, new Uint8Array([...varint(2 * 1024 * 1024), 1, 2, 3]))).toBe(
      'reset',
    )
    await waitFor(() => daemon.peerScore.get(me) < afterGarbage)
    const afterOversized = daemon.peerScore.get(me)
    // 3. a frame cut short: announces 100 bytes, sends 10, closes
    expect(await sendRaw(attacker, target, new Uint8Array([...varint(100), ...new Uint8Array(10)]))).toBe(
      'reset',
    )
    await waitFor(() => daemon.peerScore.get(me) < afterOversized)
    expect(daemon.peerScore.isBanned(me)).toBe(false)

    // The daemon keeps serving its other peers meanwhile.
    const info = await friend.wire.request(daemon.peerId, NODE_PROTOCOL, {
      type: 'node.info',
      payload: new Uint8Array(),
    })
    expect(JSON.parse(new TextDecoder().decode(info.payload)).peerId).toBe(daemon.peerId)

    // 4. a well-formed envelope signed by a key that is not the attacker's peer id
    const other = generateSigningKey()
    const forged = encodeEnvelope(
      sealEnvelope(
        { type: 'node.info', payload: new Uint8Array() },
        other,
        Date.now(),
        new Uint8Array(16).fill(9),
      ),
    )
    // (the ban hangs up the whole connection, so the stream may end as closed rather than reset)
    await sendRaw(attacker, target, new Uint8Array([...varint(forged.length), ...forged]))
    await waitFor(() => daemon.peerScore.isBanned(me))
    // Banned: disconnected and refused.
    await waitFor(() => daemon.libp2p.getConnections().every((c) => c.remotePeer.toString() !== me))
    await waitFor(() => attacker.getConnections().length === 0)
    const redial = await attacker
      .dialProtocol(multiaddr(target), NODE_PROTOCOL, { signal: AbortSignal.timeout(5000) })
      .then(() => 'connected')
      .catch(() => 'refused')
    expect(redial).toBe('refused')

    // Still serving the friend, whose score is untouched.
    const again = await friend.wire.request(daemon.peerId, NODE_PROTOCOL, {
      type: 'node.info',
      payload: new Uint8Array(),
    })
    expect(again.type).toBe('node.info')
    expect(daemon.peerScore.get(friend.peerId)).toBe(0)
  })
})
