import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DeliveredCfp } from '../../src/node/routing/index.ts'
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
  }, 60_000)
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
})
