import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sign, toHex } from '../../src/common/index.ts'
import { agentCardBody, generateAgentKeys, signAgentCard } from '../../src/e2e/index.ts'
import { CARD_DOMAIN, cardKey, encodeCard } from '../../src/node/agent-card.ts'
import type { SwarmNode } from '../../src/node/node.ts'
import { Cleanup, startNode, tempDir, waitFor } from './node_helpers.ts'

describe('five in-process nodes on loopback (k = 2)', () => {
  const cleanup = new Cleanup()
  const nodes: SwarmNode[] = []

  beforeAll(async () => {
    const dir = tempDir(cleanup)
    // A chain: each node knows only the previous one; the DHT fills in the rest.
    for (let i = 0; i < 5; i++) {
      const prev = nodes[i - 1]
      const bootstrap = prev ? [`${prev.addresses()[0]}`] : []
      nodes.push(await startNode(cleanup, dir, `n${i}`, { 'dht.kBucketSize': 2, bootstrap }))
    }
    await waitFor(() => nodes.every((n) => n.status().dht.routingTableSize >= 1))
  })
  afterAll(() => cleanup.run())

  it('finds a capability provided on the first node from the last', async () => {
    await nodes[0]!.discovery.provide('image-ocr')
    expect(nodes[0]!.status().capabilities).toEqual(['image-ocr'])
    const providers = await nodes[4]!.discovery.find('image-ocr', { timeoutMs: 10_000 })
    const ids = providers.map((p) => p.peerId)
    expect(ids).toContain(nodes[0]!.peerId)
    const p0 = providers.find((p) => p.peerId === nodes[0]!.peerId)!
    expect(p0.addresses.length).toBeGreaterThan(0)
    // The full query (no early return after the first provider) finds it too, and so does limit 1.
    const all = await nodes[3]!.discovery.find('image-ocr', { settleMs: Number.POSITIVE_INFINITY })
    expect(all.map((p) => p.peerId)).toContain(nodes[0]!.peerId)
    expect(await nodes[2]!.discovery.find('image-ocr', { limit: 1 })).toHaveLength(1)
    expect(await nodes[3]!.discovery.find('no-such-capability', { timeoutMs: 3000 })).toEqual([])
  })

  it('delivers gossipsub messages to every subscribed node', async () => {
    const topic = 'swarmd/test/v1'
    const got = new Map<string, string>()
    for (const n of nodes) {
      n.pubsub.subscribe(topic)
      n.pubsub.addEventListener('message', (ev) => {
        if (ev.detail.topic === topic) got.set(n.peerId, new TextDecoder().decode(ev.detail.data))
      })
    }
    const others = nodes.slice(1)
    await waitFor(() => nodes[0]!.pubsub.getSubscribers(topic).length >= 1, 10_000)
    // Publish until the mesh has formed and every node got it.
    await waitFor(
      async () => {
        await nodes[0]!.pubsub.publish(topic, new TextEncoder().encode('hello swarm')).catch(() => {})
        return others.every((n) => got.get(n.peerId) === 'hello swarm')
      },
      15_000,
      500,
    )
    expect(got.size).toBe(4)
  })

  it('stores and fetches a signed agent card and refuses a forged one', async () => {
    const agent = generateAgentKeys()
    const agentId = agent.agentId
    const now = Date.now()
    const opts = {
      priceHints: { 'image-ocr': 5 },
      node: nodes[1]!.peerId,
      addresses: nodes[1]!.addresses(),
      seq: 1,
      issuedAt: now,
      expiresAt: now + 3600_000,
    }
    const body = agentCardBody(agent, ['image-ocr'], opts)
    const card = signAgentCard(agent, body)
    expect(await nodes[1]!.discovery.putCard(card)).toBeGreaterThan(0)
    const got = await nodes[4]!.discovery.getCard(agentId)
    expect(got).toEqual(card)

    // A newer card wins.
    const card2 = signAgentCard(agent, { ...body, seq: 2, priceHints: { 'image-ocr': 7 } })
    await nodes[2]!.discovery.putCard(card2)
    expect((await nodes[3]!.discovery.getCard(agentId))?.body.seq).toBe(2)

    // A forged card (signed by another key) is refused locally...
    const mallory = generateAgentKeys()
    const forged = {
      body: { ...body, seq: 99, node: nodes[4]!.peerId },
      sig: toHex(sign(CARD_DOMAIN, { ...body, seq: 99, node: nodes[4]!.peerId }, mallory.signing.secretKey)),
    }
    await expect(nodes[4]!.discovery.putCard(forged)).rejects.toThrow('signature does not verify')
    // ...and by remote nodes when pushed straight into the DHT, bypassing the local check.
    const events: string[] = []
    try {
      for await (const ev of nodes[4]!.libp2p.services.dht.put(cardKey(agentId), encodeCard(forged), {
        signal: AbortSignal.timeout(5000),
      })) {
        events.push(ev.name)
      }
    } catch {
      // the local validator may refuse it first
    }
    const after = await nodes[0]!.discovery.getCard(agentId)
    expect(after?.body.seq).toBe(2)
    expect(after?.body.node).toBe(nodes[1]!.peerId)
  })
})
