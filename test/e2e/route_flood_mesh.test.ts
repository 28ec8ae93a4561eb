import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'
import { type Net, provide, startNet } from './route_helpers.ts'

const CAP = 'flood-mesh-cap'
const TOPIC = `swarmd/cfp/${CAP}/1`
const PROVIDERS = [6, 7, 8]
const LINE: [number, number][] = Array.from({ length: 8 }, (_, i) => [i, i + 1] as [number, number])

/**
 * The flooding baseline on a sparse network: nine nodes in a line, three
 * providers at the far end, the requester at the other. Gossipsub reaches
 * only subscribers through connected subscribers, so the routing service
 * dials providers found in the DHT: the providers join one mesh, and a
 * requester with no subscribed peer dials some before it floods.
 */
describe('flooded CFPs reach every provider on a sparse network', () => {
  const cleanup = new Cleanup()
  let net: Net
  const got = new Map<number, Set<string>>()

  beforeAll(async () => {
    net = await startNet(cleanup, tempDir(cleanup, 'swarmd-flood-'), 9, LINE, {})
    for (const p of PROVIDERS) {
      await provide(net.nodes[p]!, CAP)
      got.set(p, new Set())
      net.routing[p]!.onDeliver((cfp) => got.get(p)!.add(cfp.cfpId))
    }
  }, 150_000)
  afterAll(() => cleanup.run())

  it('connects the providers to each other and the requester to some of them, and every provider gets the CFPs', async () => {
    const requester = net.nodes[0]!
    // Start from a requester connected to no provider (the DHT may have dialled some: hang up).
    for (const p of PROVIDERS) await requester.libp2p.hangUp(net.nodes[p]!.libp2p.peerId).catch(() => {})
    // Providers find each other in the DHT and connect (each wants FLOOD_MIN_PEERS subscribed peers,
    // so with three providers each ends up connected to the two others).
    await waitFor(
      () => PROVIDERS.every((p) => net.nodes[p]!.pubsub.getSubscribers(TOPIC).length >= 2),
      60_000,
      200,
    )
    const sent: string[] = []
    await waitFor(
      async () => {
        const r = await net.routing[0]!.probe(CAP, 3, 'flood')
        sent.push(...r.cfpIds)
        return PROVIDERS.every((p) => sent.some((id) => got.get(p)!.has(id)))
      },
      60_000,
      500,
    )
    const reach = PROVIDERS.map((p) => sent.filter((id) => got.get(p)!.has(id)).length)
    console.error('flood mesh', { sent: sent.length, reach })
    // The requester now has subscribed peers of its own, and each provider got CFPs it was not sent directly.
    expect(requester.pubsub.getSubscribers(TOPIC).length).toBeGreaterThan(0)
    expect(reach.every((n) => n > 0)).toBe(true)
  }, 150_000)
})
