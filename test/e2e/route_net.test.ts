import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type DeliveredCfp,
  decodeEstimate,
  encodeCfp,
  ROUTE_PROTOCOL,
  type RouteCfp,
  signOrigin,
} from '../../src/node/routing/index.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'
import { type Net, provide, RING_WITH_CHORD, startNet } from './route_helpers.ts'

describe('CFP routing on 10 real nodes (defaults: CQ with DHT fallback)', () => {
  const cleanup = new Cleanup()
  let net: Net
  const delivered: DeliveredCfp[] = []

  beforeAll(async () => {
    net = await startNet(cleanup, tempDir(cleanup, 'swarmd-route-'), 10, RING_WITH_CHORD, {})
    net.routing[0]!.onDeliver((c) => delivered.push(c))
    await provide(net.nodes[0]!, 'image-ocr')
    // The provider record must be findable before we rely on the DHT fallback.
    await waitFor(
      async () => (await net.nodes[5]!.discovery.find('image-ocr', { timeoutMs: 2000 })).length > 0,
      20_000,
    )
  }, 150_000)
  afterAll(() => cleanup.run())

  it('delivers CFPs for a capability held by one node, from every other node', async () => {
    const cfpIds: string[] = []
    let ok = 0
    for (const i of [5, 3, 7, 9, 1]) {
      const res = await net.routing[i]!.probe('image-ocr', 4)
      expect(res.sent).toBe(4)
      expect(res.delivered).toBeGreaterThan(0)
      ok += res.delivered
      cfpIds.push(...res.cfpIds)
    }
    // A loaded machine may time out one acknowledgement; every CFP still reaches the provider.
    expect(ok).toBeGreaterThanOrEqual(18)
    await waitFor(() => cfpIds.every((id) => delivered.some((d) => d.cfpId === id)), 15_000)
    // The payload arrives untouched and the origin is the probing node.
    const one = delivered.find((d) => d.cfpId === cfpIds[0])!
    expect(one.origin).toBe(net.ids[5])
    expect(JSON.parse(new TextDecoder().decode(one.payload))).toEqual({ probe: true, seq: 0 })
  }, 60_000)

  it('explains the path of a delivered CFP at its origin', async () => {
    const res = await net.routing[5]!.probe('image-ocr', 1)
    const t = await net.routing[5]!.explain(res.cfpIds[0]!)
    expect(t?.status).toBe('delivered')
    expect(t?.deliveredBy).toBe(net.ids[0])
    expect(t?.path?.[0]).toBe(net.ids[5])
    expect(t?.path?.at(-1)).toBe(net.ids[0])
    expect(t?.hops?.at(-1)?.reason).toBe('local')
    expect(t?.hops?.length).toBe(t?.path?.length)
  }, 30_000)

  it('floods through gossipsub as the baseline and says so in the explanation', async () => {
    await waitFor(
      () => net.nodes[5]!.pubsub.getSubscribers('swarmd/cfp/image-ocr/1').length > 0,
      15_000,
    ).catch(() => {})
    const flood = await net.routing[5]!.probe('image-ocr', 5, 'flood')
    expect(flood.mode).toBe('flood')
    expect(flood.delivered).toBeGreaterThan(0)
    const t = await net.routing[5]!.explain(flood.cfpIds[0]!)
    expect(t?.mode).toBe('flood')
  }, 30_000)

  it('reports a CFP for a capability nobody provides as not delivered, with the reason', async () => {
    const res = await net.routing[2]!.probe('nobody-has-this', 1)
    expect(res.delivered).toBe(0)
    const t = await net.routing[2]!.explain(res.cfpIds[0]!)
    expect(t?.status).toBe('failed')
    expect(t?.error).toBeTruthy()
  }, 60_000)

  it('keeps the table across a restart of the service', async () => {
    const before = net.routing[5]!.table('image-ocr').entries
    expect(before.length).toBeGreaterThan(0)
    await net.restart(5)
    const after = net.routing[5]!.table('image-ocr').entries
    expect(after.map((e) => [e.neighbour, e.visits])).toEqual(before.map((e) => [e.neighbour, e.visits]))
  }, 30_000)

  it('drops forged, looping and bad-TTL CFPs from a real peer and lowers its score', async () => {
    const send = async (from: number, to: number, cfp: RouteCfp) => {
      const reply = await net.nodes[from]!.wire.request(net.ids[to]!, ROUTE_PROTOCOL, {
        type: 'route.cfp',
        payload: encodeCfp(cfp),
      })
      return decodeEstimate(reply.payload)
    }
    const make = (signer: number, over: Partial<RouteCfp>): RouteCfp => {
      const base = {
        cfpId: 'cd'.repeat(16),
        capability: 'image-ocr',
        origin: net.ids[5]!,
        createdAt: Date.now(),
        payload: new Uint8Array([1]),
      }
      const seed = net.nodes[signer]!.repo.privateKey.raw.subarray(0, 32)
      return {
        ...base,
        originAddrs: [],
        originSig: signOrigin(base, seed),
        ttl: 8,
        path: [],
        hopTimes: [],
        hops: [],
        mode: 'cq',
        ...over,
      }
    }
    // Node 3 claims to relay a CFP from node 5, but signed the origin part itself.
    const forged = make(3, { path: [net.ids[5]!, net.ids[3]!], hopTimes: [1, 2] })
    expect(await send(3, 4, forged)).toMatchObject({ accepted: false, reason: 'forged-origin' })
    expect(net.nodes[4]!.peerScore.get(net.ids[3]!)).toBeLessThan(0)
    // Node 1 sends its own CFP with TTL 0.
    const dead = make(1, { origin: net.ids[1]!, path: [net.ids[1]!], hopTimes: [1], ttl: 0 })
    dead.originSig = signOrigin({ ...dead }, net.nodes[1]!.repo.privateKey.raw.subarray(0, 32))
    expect(await send(1, 2, dead)).toMatchObject({ accepted: false, reason: 'bad-ttl' })
    expect(net.nodes[2]!.peerScore.get(net.ids[1]!)).toBeLessThan(0)
    // Node 6 sends back a CFP whose path already contains node 7.
    const loop = make(6, {
      origin: net.ids[6]!,
      path: [net.ids[6]!, net.ids[7]!, net.ids[6]!],
      hopTimes: [1, 2, 3],
    })
    loop.originSig = signOrigin({ ...loop }, net.nodes[6]!.repo.privateKey.raw.subarray(0, 32))
    expect(await send(6, 7, loop)).toMatchObject({ accepted: false, reason: 'loop' })
    expect(net.nodes[7]!.peerScore.get(net.ids[6]!)).toBeLessThan(0)
    const metrics = await net.nodes[4]!.metrics.text()
    expect(metrics).toMatch(/swarmd_route_dropped_total\{reason="forged-origin"\} [1-9]/)
  }, 30_000)
})
