import { randomBytes } from 'node:crypto'
import type { Libp2p } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSigningKey } from '../../src/common/index.ts'
import { NODE_PROTOCOL, type SwarmNode } from '../../src/node/node.ts'
import { encodeEnvelope, sealEnvelope } from '../../src/node/wire/envelope.ts'
import { decodeFrame, encodeFrame, FRAME, MUX_PROTOCOL } from '../../src/node/wire/mux.ts'
import { MAX_MUX_INFLIGHT } from '../../src/node/wire/wire.ts'
import { hostileSetup } from './hostile_helpers.ts'
import { Cleanup, waitFor } from './node_helpers.ts'

const dec = new TextDecoder()
const SLOW = '/swarmd/test-slow/1.0.0'

/**
 * The wire's mux session (`/swarmd/mux/1.0.0`): every request between two
 * nodes shares one stream per direction, and a hostile peer speaking the mux
 * protocol by hand is answered or cut off without harming anyone else.
 */
describe('the wire mux session', () => {
  const cleanup = new Cleanup()
  let daemon: SwarmNode
  let friend: SwarmNode
  let attacker: Libp2p
  let target: string

  beforeAll(async () => {
    ;({ daemon, friend, attacker, target } = await hostileSetup(cleanup))
    await daemon.wire.handle(
      SLOW,
      async (env) => {
        await new Promise((r) => setTimeout(r, 1500))
        return { type: 'slow.reply', payload: env.payload }
      },
      { types: ['slow.request'] },
    )
  })
  afterAll(() => cleanup.run())

  const info = () =>
    friend.wire.request(daemon.peerId, NODE_PROTOCOL, { type: 'node.info', payload: new Uint8Array() })

  it('carries many concurrent requests on one stream per direction', async () => {
    const replies = await Promise.all(Array.from({ length: 50 }, () => info()))
    expect(replies.every((r) => JSON.parse(dec.decode(r.payload)).peerId === daemon.peerId)).toBe(true)
    const conn = friend.libp2p.getConnections(daemon.libp2p.peerId)
    const mux = conn.flatMap((c) => c.streams).filter((s) => s.protocol === MUX_PROTOCOL)
    expect(mux.filter((s) => s.direction === 'outbound')).toHaveLength(1)
    expect(conn.flatMap((c) => c.streams).filter((s) => s.protocol === NODE_PROTOCOL)).toHaveLength(0)
    // The per-message path stays available (older peers, tools).
    const direct = await friend.wire.request(
      daemon.peerId,
      NODE_PROTOCOL,
      { type: 'node.info', payload: new Uint8Array() },
      { direct: true },
    )
    expect(direct.type).toBe('node.info')
  })

  it('answers busy beyond MAX_MUX_INFLIGHT requests in flight from one peer, across its streams', async () => {
    const me = attacker.peerId.publicKey!.raw
    const open = async () =>
      lpStream(
        await attacker.dialProtocol(multiaddr(target), MUX_PROTOCOL, { signal: AbortSignal.timeout(5000) }),
      )
    const streams = [await open(), await open()]
    const total = MAX_MUX_INFLIGHT + 10
    for (let i = 0; i < total; i++) {
      const env = encodeEnvelope(
        sealEnvelope(
          { type: 'slow.request', payload: new Uint8Array([i & 255]) },
          { publicKey: me, secretKey: new Uint8Array(32) },
          Date.now(),
          new Uint8Array(randomBytes(16)),
          false,
        ),
      )
      await streams[i % 2]!.write(encodeFrame({ kind: FRAME.REQUEST, id: i + 1, protocol: SLOW, body: env }))
    }
    const kinds: number[] = []
    await Promise.all(
      [0, 1].map(async (k) => {
        for (let i = 0; i < total / 2; i++)
          kinds.push(
            decodeFrame((await streams[k]!.read({ signal: AbortSignal.timeout(20_000) })).subarray()).kind,
          )
      }),
    )
    expect(kinds.filter((k) => k === FRAME.REPLY)).toHaveLength(MAX_MUX_INFLIGHT)
    expect(kinds.filter((k) => k === FRAME.ERROR)).toHaveLength(10)
  }, 60_000)

  it('answers bad frames alone, resets a garbled stream, penalises, and keeps serving others', async () => {
    const me = attacker.peerId.toString()
    const stream = await attacker.dialProtocol(multiaddr(target), MUX_PROTOCOL, {
      signal: AbortSignal.timeout(5000),
    })
    const lp = lpStream(stream)
    const ask = async (id: number, protocol: string, body: Uint8Array) => {
      await lp.write(encodeFrame({ kind: FRAME.REQUEST, id, protocol, body }))
      return decodeFrame((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray())
    }
    // 1. A protocol the daemon does not serve: answered, not penalised.
    const unknown = await ask(1, '/nobody/1.0.0', new Uint8Array([1, 2, 3]))
    expect(unknown.kind).toBe(FRAME.ERROR)
    expect(dec.decode(unknown.body)).toBe('unsupported-protocol')
    expect(daemon.peerScore.get(me)).toBe(0)
    // 1b. An unsigned envelope: the Noise channel vouches for the attacker's own key (step 3: not for another's).
    const unsigned = (sender: Uint8Array, fill: number) =>
      encodeEnvelope(
        sealEnvelope(
          { type: 'node.info', payload: new Uint8Array() },
          { publicKey: sender, secretKey: new Uint8Array(32) },
          Date.now(),
          new Uint8Array(16).fill(fill),
          false,
        ),
      )
    const own = await ask(10, NODE_PROTOCOL, unsigned(attacker.peerId.publicKey!.raw, 1))
    expect(own.kind).toBe(FRAME.REPLY)
    expect(daemon.peerScore.get(me)).toBe(0)
    // 2. Garbage where an envelope should be: refused and penalised; the stream stays up.
    const garbage = await ask(2, NODE_PROTOCOL, new Uint8Array([9, 9, 9, 9]))
    expect(garbage.kind).toBe(FRAME.ERROR)
    expect(dec.decode(garbage.body)).toMatch(/^rejected:/)
    expect(garbage.id).toBe(2)
    const afterGarbage = daemon.peerScore.get(me)
    expect(afterGarbage).toBeLessThan(0)
    // 3. An envelope signed by another key than the connection's peer: refused as a forgery.
    const forged = encodeEnvelope(
      sealEnvelope(
        { type: 'node.info', payload: new Uint8Array() },
        generateSigningKey(),
        Date.now(),
        new Uint8Array(16).fill(7),
      ),
    )
    const refused = await ask(3, NODE_PROTOCOL, forged)
    expect(dec.decode(refused.body)).toBe('rejected:wrong-sender')
    expect(daemon.peerScore.get(me)).toBeLessThan(afterGarbage)
    const afterForged = daemon.peerScore.get(me)
    // 4. A frame that is not a frame: the stream is reset.
    stream.send(new Uint8Array([2, 77, 1]))
    await waitFor(() => stream.status !== 'open')
    await waitFor(() => daemon.peerScore.get(me) < afterForged)

    // The friend never noticed.
    expect((await info()).type).toBe('node.info')
    expect(daemon.peerScore.get(friend.peerId)).toBe(0)
  })

  it('opens a new session after the stream dies', async () => {
    expect((await info()).type).toBe('node.info')
    for (const c of friend.libp2p.getConnections(daemon.libp2p.peerId))
      for (const s of c.streams) if (s.protocol === MUX_PROTOCOL) s.abort(new Error('test: kill the session'))
    await waitFor(
      async () =>
        (await info().then(
          () => true,
          () => false,
        )) === true,
    )
    expect((await info()).type).toBe('node.info')
  })
})
