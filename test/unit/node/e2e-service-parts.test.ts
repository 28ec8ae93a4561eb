import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../src/common/index.ts'
import { type AgentCard, agentCardBody, agentKeysFromSeed, signAgentCard } from '../../../src/e2e/index.ts'
import { parseConfig } from '../../../src/node/config.ts'
import { CardDirectory } from '../../../src/node/e2e/cards.ts'
import {
  decodeAck,
  decodeDeliver,
  decodeDeposit,
  decodeDrain,
  decodeDrained,
  decodeRelay,
  encodeAck,
  encodeDeliver,
  encodeDeposit,
  encodeDrain,
  encodeDrained,
  encodeRelay,
} from '../../../src/node/e2e/codec.ts'

describe('e2e config section', () => {
  it('has defaults and validates each key', () => {
    const cfg = parseConfig({})
    expect(cfg.e2e.hopLimit).toBe(4)
    expect(cfg.e2e.mailboxReplicas).toBe(2)
    expect(parseConfig({ e2e: { mailboxMaxPerSender: 3 } }).e2e.mailboxMaxPerSender).toBe(3)
    expect(() => parseConfig({ e2e: { hopLimit: 0 } })).toThrow(
      '"e2e.hopLimit" must be an integer 1..64, got 0',
    )
    expect(() => parseConfig({ e2e: { cardTtlMs: 30 * 24 * 3600_000 } })).toThrow(/e2e.cardTtlMs/)
    expect(() => parseConfig({ e2e: { mailboxTTL: 1 } })).toThrow(/unknown key "e2e.mailboxTTL"/)
  })
})

describe('/swarmd/e2e/1.0.0 codecs', () => {
  it('round-trip every message', () => {
    const env = new Uint8Array([1, 2, 3])
    expect(decodeDeliver(encodeDeliver(env))).toEqual(env)
    const relay = { envelope: env, target: '12D3KooWx', addresses: ['/ip4/1.2.3.4/tcp/1'] }
    expect(decodeRelay(encodeRelay(relay))).toEqual(relay)
    expect(decodeDeposit(encodeDeposit({ envelope: env, ttlMs: 5000 }))).toEqual({
      envelope: env,
      ttlMs: 5000,
    })
    const drain = {
      agentId: 'ab'.repeat(32),
      holder: 'p',
      timestamp: 123,
      signature: new Uint8Array(64).fill(1),
    }
    expect(decodeDrain(encodeDrain(drain))).toEqual(drain)
    expect(decodeDrained(encodeDrained([env, env]))).toEqual([env, env])
    expect(decodeAck(encodeAck({ status: 'rejected', reason: 'why' }))).toEqual({
      status: 'rejected',
      reason: 'why',
    })
  })

  it('refuses garbage as malformed, and unknown ack statuses', () => {
    expect(() => decodeDeliver(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(/malformed/)
    expect(() => decodeAck(encodeAck({ status: 'maybe' as 'stored', reason: '' }))).toThrow(
      /unknown ack status/,
    )
  })
})

describe('CardDirectory', () => {
  const keys = agentKeysFromSeed(new Uint8Array(32).fill(3))
  const card = (seq: number, issuedAt: number): AgentCard =>
    signAgentCard(
      keys,
      agentCardBody(keys, [], { issuedAt, expiresAt: issuedAt + 10_000, node: 'n', addresses: [], seq }),
    )

  it('caches DHT answers until cardCacheMs, shares concurrent lookups, falls back to an unexpired card', async () => {
    const clock = new ManualClock(1000)
    let answer: AgentCard | undefined = card(1, 1000)
    let queries = 0
    const dir = new CardDirectory(
      {
        getCard: async () => {
          queries++
          await new Promise((r) => setTimeout(r, 5))
          return answer
        },
      },
      clock,
      500,
      1000,
    )
    const [x, y] = await Promise.all([dir.lookup(keys.agentId), dir.lookup(keys.agentId)])
    expect(x).toBe(y)
    expect(queries).toBe(1)
    await dir.lookup(keys.agentId)
    expect(queries).toBe(1)
    clock.advance(600)
    answer = card(2, 1500)
    expect((await dir.lookup(keys.agentId))?.body.seq).toBe(2)
    expect(queries).toBe(2)
    // An older card from the DHT does not replace a newer cached one.
    answer = card(1, 1000)
    expect((await dir.lookup(keys.agentId, { fresh: true }))?.body.seq).toBe(2)
    // Nothing in the DHT: the cached card while it is valid, then nothing.
    answer = undefined
    expect((await dir.lookup(keys.agentId, { fresh: true }))?.body.seq).toBe(2)
    clock.advance(20_000)
    expect(await dir.lookup(keys.agentId)).toBeUndefined()
    // Local cards win without a query.
    const own = card(9, clock.now())
    dir.setLocal(own)
    const before = queries
    expect(await dir.lookup(keys.agentId)).toBe(own)
    expect(queries).toBe(before)
  })
})
