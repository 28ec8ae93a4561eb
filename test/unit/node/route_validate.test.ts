import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv, seededRandom, silentLogger } from '../../../src/common/index.ts'
import { createNodeMetrics } from '../../../src/node/metrics.ts'
import { createPeerScore } from '../../../src/node/peer-score.ts'
import {
  checkCfp,
  decodeCfp,
  encodeCfp,
  encodeQuery,
  RouteEngine,
  type RouteAck,
  type RouteCfp,
  type RouteEstimate,
  type RouteTransport,
  signOrigin,
  TraceStore,
} from '../../../src/node/routing/index.ts'
import { routeMetrics } from '../../../src/node/routing/metrics.ts'
import { createRouter } from '../../../src/routing/index.ts'

interface Id {
  id: string
  seed: Uint8Array
}

async function identity(): Promise<Id> {
  const key = await generateKeyPair('Ed25519')
  return { id: peerIdFromPrivateKey(key).toString(), seed: key.raw.subarray(0, 32) }
}

const publicKey = (id: string): Uint8Array | undefined => {
  try {
    return peerIdFromString(id).publicKey?.raw
  } catch {
    return undefined
  }
}

let origin: Id
let relay: Id
let self: Id
let mallory: Id

beforeAll(async () => {
  ;[origin, relay, self, mallory] = await Promise.all([identity(), identity(), identity(), identity()])
})

/** A CFP as `relay` forwards it after `origin` sent it (path origin → relay). */
function cfp(over: Partial<RouteCfp> = {}, signer: Id = origin): RouteCfp {
  const base = {
    cfpId: 'ab'.repeat(16),
    capability: 'image-ocr',
    origin: origin.id,
    createdAt: 1_000_000,
    payload: new TextEncoder().encode('cfp'),
  }
  return {
    ...base,
    originAddrs: [],
    originSig: signOrigin(base, signer.seed),
    ttl: 14,
    path: [origin.id, relay.id],
    hopTimes: [1_000_001, 1_000_002],
    hops: [],
    mode: 'cq',
    ...over,
  }
}

const check = (c: RouteCfp, sender = relay.id) => checkCfp(c, { self: self.id, sender, originKey: publicKey })

describe('route message validation', () => {
  it('accepts a well-formed CFP from the last node on its path', () => {
    expect(check(cfp())).toBeUndefined()
    expect(check(cfp({ path: [origin.id], hopTimes: [1] }), origin.id)).toBeUndefined()
  })

  it('refuses a bad TTL', () => {
    expect(check(cfp({ ttl: 0 }))?.reason).toBe('bad-ttl')
    expect(check(cfp({ ttl: 65 }))?.reason).toBe('bad-ttl')
    // TTL plus the hops already taken may not exceed the maximum (a relay that did not decrement).
    expect(check(cfp({ ttl: 64 }))?.reason).toBe('bad-ttl')
    expect(check(cfp({ ttl: 63 }))).toBeUndefined()
  })

  it('refuses a loop', () => {
    expect(check(cfp({ path: [origin.id, self.id, relay.id], hopTimes: [1, 2, 3] }))?.reason).toBe('loop')
    expect(
      check(cfp({ path: [origin.id, relay.id, origin.id, relay.id], hopTimes: [1, 2, 3, 4] }))?.reason,
    ).toBe('loop')
  })

  it('refuses a forged origin', () => {
    // The first hop's sender must be the origin.
    expect(check(cfp({ path: [origin.id], hopTimes: [1] }), mallory.id)?.reason).toBe('forged-origin')
    // path[0] must be the origin.
    expect(check(cfp({ path: [mallory.id, relay.id] }))?.reason).toBe('forged-origin')
    // The sender must be the last node on the path.
    expect(check(cfp(), mallory.id)?.reason).toBe('forged-origin')
    // The origin signature must be the origin's.
    expect(check(cfp({}, mallory))?.reason).toBe('forged-origin')
    const tampered = cfp()
    tampered.payload = new TextEncoder().encode('other')
    expect(check(tampered)?.reason).toBe('forged-origin')
  })

  it('refuses malformed fields', () => {
    expect(check(cfp({ cfpId: 'xyz' }))?.reason).toBe('malformed')
    expect(check(cfp({ capability: '' }))?.reason).toBe('malformed')
    expect(check(cfp({ hopTimes: [1] }))?.reason).toBe('malformed')
  })

  it('round-trips through protobuf', () => {
    const c = cfp()
    expect(decodeCfp(encodeCfp(c))).toEqual(c)
  })
})

describe('route engine, inbound CFPs', () => {
  function setup(opts: { local?: boolean; threshold?: number } = {}) {
    const clock = new ManualClock(1_000_100)
    const score = createPeerScore(clock)
    const sent: { peer: string; cfp: RouteCfp }[] = []
    const asked: string[] = []
    let lookups = 0
    const acks: RouteAck[] = []
    const next = 'next-peer'
    const router = createRouter('cq', {
      clock,
      random: seededRandom(1),
      isLocal: () => opts.local === true,
      neighbours: [relay.id, next, 'other-peer'],
      confidenceThreshold: opts.threshold ?? 0,
      initialQ: 1000,
    })
    const transport: RouteTransport = {
      forward: async (peer, bytes): Promise<RouteEstimate> => {
        sent.push({ peer, cfp: decodeCfp(bytes) })
        return { accepted: true, value: 5, confidence: 0.8, reason: '' }
      },
      ack: async (_o, _a, ack) => {
        acks.push(ack)
      },
      query: async (peer) => {
        asked.push(peer)
        // 'next-peer' is one hop from a provider and sure of it; 'other-peer' knows nothing.
        return peer === next
          ? { accepted: true, value: 3, confidence: 1, reason: '' }
          : { accepted: true, value: 1000, confidence: 0, reason: '' }
      },
      findProviders: async () => {
        lookups++
        return []
      },
      connect: async () => {},
      publish: async () => 0,
      publicKey,
    }
    const metrics = routeMetrics(createNodeMetrics())
    const engine = new RouteEngine({
      peerId: self.id,
      addresses: () => [],
      secretKey: self.seed,
      router,
      isLocal: () => opts.local === true,
      isConnected: () => true,
      transport,
      clock,
      logger: silentLogger,
      peerScore: score,
      traces: new TraceStore(new MemoryKv(), 100, silentLogger),
      metrics,
    })
    return { engine, score, sent, acks, router, metrics, next, asked, lookups: () => lookups }
  }

  const settle = () => new Promise((r) => setTimeout(r, 20))

  it.each([
    ['bad-ttl', () => cfp({ ttl: 0 })],
    ['loop', () => cfp({ path: [origin.id, self.id, relay.id], hopTimes: [1, 2, 3] })],
    ['forged-origin', () => cfp({}, mallory)],
  ])('drops a %s message, answers "refused" and lowers the sender score', async (reason, make) => {
    const { engine, score, sent, metrics } = setup()
    const reply = engine.onCfp(encodeCfp(make()), relay.id)
    expect(reply).toMatchObject({ accepted: false, reason })
    expect(score.get(relay.id)).toBeLessThan(0)
    await settle()
    expect(sent).toEqual([])
    expect((await metrics.dropped.get()).values.find((v) => v.labels.reason === reason)?.value).toBe(1)
  })

  it('drops garbage bytes as malformed without throwing', () => {
    const { engine, score } = setup()
    expect(engine.onCfp(new Uint8Array([0xff, 0xff, 0xff]), mallory.id).accepted).toBe(false)
    expect(score.get(mallory.id)).toBeLessThan(0)
  })

  it('forwards a valid CFP with the path extended and the TTL decremented, and learns from the answer', async () => {
    const { engine, score, sent, router, next } = setup()
    const reply = engine.onCfp(encodeCfp(cfp()), relay.id)
    expect(reply.accepted).toBe(true)
    await settle()
    expect(score.get(relay.id)).toBe(0)
    expect(sent).toHaveLength(1)
    const to = sent[0]!.peer
    expect([next, 'other-peer']).toContain(to) // the sender is on the path: never sent back
    expect(sent[0]!.cfp.path).toEqual([origin.id, relay.id, self.id])
    expect(sent[0]!.cfp.ttl).toBe(13)
    expect(sent[0]!.cfp.hops.at(-1)).toMatchObject({ peer: self.id, next: to })
    const entry = router.entries('image-ocr').find((e) => e.neighbour === to)!
    expect(entry.visits).toBe(1)
    expect(entry.confidence).toBeGreaterThan(0)
    // A duplicate is refused without a penalty.
    expect(engine.onCfp(encodeCfp(cfp()), relay.id)).toMatchObject({ accepted: false, reason: 'duplicate' })
    expect(score.get(relay.id)).toBe(0)
  })

  it('below the confidence threshold asks the eligible neighbours first and follows the confident answer', async () => {
    const { engine, sent, asked, lookups, next } = setup({ threshold: 0.5 })
    expect(engine.onCfp(encodeCfp(cfp()), relay.id).accepted).toBe(true)
    await settle()
    expect(asked.sort()).toEqual([next, 'other-peer'].sort()) // never the sender
    expect(lookups()).toBe(0) // a confident neighbour answer avoids the DHT lookup
    expect(sent.map((s) => s.peer)).toEqual([next])
    expect(sent[0]!.cfp.hops.at(-1)).toMatchObject({ queries: 2, reason: 'greedy' })
  })

  it('answers estimate queries with the path excluded, and drops malformed ones', () => {
    const { engine, score } = setup()
    const q = encodeQuery({ capability: 'image-ocr', path: [origin.id] })
    expect(engine.onQuery(q, relay.id)).toMatchObject({ accepted: true, value: 1000, confidence: 0 })
    expect(engine.onQuery(encodeQuery({ capability: '!!', path: [] }), mallory.id).accepted).toBe(false)
    expect(score.get(mallory.id)).toBeLessThan(0)
  })

  it('delivers locally and acknowledges to the origin with every decision', async () => {
    const { engine, sent, acks } = setup({ local: true })
    const got: string[] = []
    engine.onDeliver((d) => got.push(d.cfpId))
    expect(engine.onCfp(encodeCfp(cfp()), relay.id)).toMatchObject({
      accepted: true,
      value: 0,
      confidence: 1,
    })
    await settle()
    expect(got).toEqual(['ab'.repeat(16)])
    expect(sent).toEqual([])
    expect(acks).toHaveLength(1)
    expect(acks[0]).toMatchObject({ delivered: true, by: self.id, path: [origin.id, relay.id, self.id] })
    expect(acks[0]!.hops.at(-1)?.reason).toBe('local')
  })
})
