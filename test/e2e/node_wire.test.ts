import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SwarmdError } from '../../src/common/index.ts'
import type { SwarmNode } from '../../src/node/node.ts'
import type { Envelope } from '../../src/node/wire/envelope.ts'
import { Cleanup, startNode, tempDir, waitFor } from './node_helpers.ts'

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(b)
const ECHO = '/swarmd/test-echo/1.0.0'

describe('wire request/response between two nodes', () => {
  const cleanup = new Cleanup()
  let a: SwarmNode
  let b: SwarmNode
  const oneWay: string[] = []

  beforeAll(async () => {
    const dir = tempDir(cleanup)
    a = await startNode(cleanup, dir, 'a')
    b = await startNode(cleanup, dir, 'b')
    await b.connect(`${a.addresses()[0]}`)
    await a.wire.handle(
      ECHO,
      async (env: Envelope, ctx) => {
        const text = dec(env.payload)
        if (env.type === 'echo.note') {
          oneWay.push(`${ctx.peerId}:${text}`)
          return undefined
        }
        if (text === 'throw') throw new Error('handler bug')
        if (text === 'bad-payload')
          throw new SwarmdError('BAD_PAYLOAD', 'payload makes no sense', { action: 'penalise' })
        if (text === 'slow') await new Promise((r) => setTimeout(r, 3000))
        return { type: 'echo.reply', payload: enc(`${text}!`) }
      },
      { types: ['echo.request', 'echo.note'] },
    )
  })
  afterAll(() => cleanup.run())

  it('answers a request with a signed reply from the right peer', async () => {
    const reply = await b.wire.request(a.peerId, ECHO, { type: 'echo.request', payload: enc('hi') })
    expect(reply.type).toBe('echo.reply')
    expect(dec(reply.payload)).toBe('hi!')
    expect(reply.sender).toEqual(a.libp2p.peerId.publicKey!.raw)
  })

  it('delivers one-way messages', async () => {
    await b.wire.send(a.peerId, ECHO, { type: 'echo.note', payload: enc('note') })
    await waitFor(() => oneWay.includes(`${b.peerId}:note`))
  })

  it('reports a handler that replies nothing, throws, or is too slow, without breaking the node', async () => {
    await expect(
      b.wire.request(a.peerId, ECHO, { type: 'echo.note', payload: enc('x') }),
    ).rejects.toMatchObject({
      code: 'WIRE_NO_REPLY',
    })
    await expect(
      b.wire.request(a.peerId, ECHO, { type: 'echo.request', payload: enc('throw') }),
    ).rejects.toMatchObject({ code: 'WIRE_RESET' })
    expect(a.peerScore.get(b.peerId)).toBe(0) // a bug on our side is not the peer's fault
    await expect(
      b.wire.request(a.peerId, ECHO, { type: 'echo.request', payload: enc('slow') }, { timeoutMs: 500 }),
    ).rejects.toMatchObject({ code: 'WIRE_TIMEOUT' })
    await expect(
      b.wire.request(a.peerId, ECHO, { type: 'echo.request', payload: enc('bad-payload') }),
    ).rejects.toThrow()
    expect(a.peerScore.get(b.peerId)).toBeLessThan(0) // the handler said: penalise
    // An undeclared type is refused.
    await expect(b.wire.request(a.peerId, ECHO, { type: 'echo.other', payload: enc('x') })).rejects.toThrow()
    const ok = await b.wire.request(a.peerId, ECHO, { type: 'echo.request', payload: enc('still') })
    expect(dec(ok.payload)).toBe('still!')
    // Resets by the responder are errors for the caller, not misbehaviour to score.
    expect(b.peerScore.get(a.peerId)).toBe(0)
  })

  it('counts messages in the metrics', async () => {
    const text = await a.metrics.text()
    expect(text).toMatch(
      /swarmd_wire_messages_total\{protocol="\/swarmd\/test-echo\/1.0.0",direction="in"\} \d+/,
    )
    expect(text).toContain(
      'swarmd_wire_rejected_total{protocol="/swarmd/test-echo/1.0.0",reason="unsupported"} 1',
    )
  })
})
