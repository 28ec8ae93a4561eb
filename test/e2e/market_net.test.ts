/**
 * The market in the daemon, on four real libp2p nodes on loopback (one
 * process, the default services): a requester on A, JS providers on B
 * (cheap) and C (dear), a provider on D that never delivers. VCG picks B,
 * B runs the task and returns the result, A pays the second price by a
 * receipt, the ledgers audit on each node and across nodes; a missing
 * result is refunded; a restarted requester resumes its auction and pays
 * once; forged bids and replayed or forged receipts are refused.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSigningKey } from '../../src/common/index.ts'
import { auditAcross, type Receipt, signBid } from '../../src/market/index.ts'
import type { ConfigOverrides } from '../../src/node/config.ts'
import type { E2EService } from '../../src/node/e2e/index.ts'
import { MARKET_PROTOCOL, MarketService } from '../../src/node/market/index.ts'
import { decodeAck, encodeJson, encodeSealed } from '../../src/node/market/messages.ts'
import { SwarmNode } from '../../src/node/node.ts'
import type { ReputationService } from '../../src/node/reputation/index.ts'
import { initRepo, openRepo } from '../../src/node/repo.ts'
import { defaultServices } from '../../src/node/services.ts'
import { marketCli as cli } from './market_helpers.ts'
import { Cleanup, LOOPBACK, tempDir, waitFor } from './node_helpers.ts'

interface MNode {
  node: SwarmNode
  market: MarketService
  e2e: E2EService
  agent: string
  root: string
}

async function boot(cleanup: Cleanup, root: string, daemonInfo = false): Promise<MNode> {
  const node = new SwarmNode({
    repo: openRepo(root),
    processMetrics: false,
    writeDaemonInfo: daemonInfo,
    services: defaultServices(),
  })
  await node.start()
  cleanup.push(() => node.stop())
  const market = node.service<MarketService>('market')!
  const e2e = node.service<E2EService>('e2e')!
  return { node, market, e2e, agent: e2e.nodeAgent!, root }
}

async function create(cleanup: Cleanup, dir: string, name: string, o: ConfigOverrides = {}): Promise<MNode> {
  const root = join(dir, name)
  await initRepo(root, { overrides: { ...LOOPBACK, 'market.tickMs': 50, ...o } })
  return boot(cleanup, root, name === 'a')
}

const provider = (capability: string, cost: number) => ({
  'market.providers': [{ capability, cost, units: 1, markup: 0, task: 'uppercase' }],
})

describe('the market on four nodes', () => {
  const cleanup = new Cleanup()
  let A: MNode
  let B: MNode
  let C: MNode
  let D: MNode
  const topic = 'swarmd/cfp/uppercase/1'

  const audits = async (ns: MNode[]) => Promise.all(ns.map((n) => n.market.ledger.audit()))

  beforeAll(async () => {
    const dir = tempDir(cleanup, 'swarmd-market-')
    A = await create(cleanup, dir, 'a')
    B = await create(cleanup, dir, 'b', provider('uppercase', 10))
    C = await create(cleanup, dir, 'c', provider('uppercase', 30))
    D = await create(cleanup, dir, 'd')
    D.market.registerBidHandler(
      'slow',
      D.agent,
      async () => ({ offers: [{ units: 1, price: 5 }] }),
      () => new Promise(() => {}), // never delivers
    )
    await new Promise((r) => setTimeout(r, 1100)) // the routing service subscribes to the new topic
    for (const n of [B, C, D]) await A.node.connect(n.node.addresses()[0]!)
    await B.node.connect(C.node.addresses()[0]!)
    await waitFor(() => A.node.pubsub.getSubscribers(topic).length >= 2, 60_000)
    await waitFor(() => A.node.pubsub.getSubscribers('swarmd/cfp/slow/1').length >= 1, 60_000)
    await A.market.mint(A.agent, 1000, 'test faucet')
  }, 180_000)
  afterAll(() => cleanup.run())

  it('runs a CFP end to end: VCG picks the cheaper provider, pays the second price by receipt', async () => {
    const issued = await A.market.issueCfp({
      capability: 'uppercase',
      units: 1,
      reserve: 100,
      deadlineMs: 60_000,
      payload: 'hello market',
    })
    expect(issued.route.delivered).toBe(true)
    // Both bids in: clear now rather than at the deadline (no dependence on the machine's speed).
    await waitFor(async () => (await A.market.house.get(issued.cfpId))?.bidCount === 2, 30_000)
    await A.market.close(issued.cfpId)
    const rec = await A.market.waitSettled(issued.cfpId, 30_000)
    expect(rec?.phase).toBe('done')
    expect(rec?.bidCount).toBe(2)
    expect(rec?.awards).toHaveLength(1)
    const a = rec!.awards[0]!
    expect(a.award.winner).toBe(B.agent)
    expect(a.award.price).toBe(10)
    expect(a.award.payment).toBe(30) // the second price, below the reserve
    expect(a.status).toBe('paid')
    expect(a.output).toBe('HELLO MARKET')
    expect(a.receipt?.amount).toBe(30)
    await waitFor(async () => (await B.market.ledger.balance(B.agent)) === 30)
    expect(await A.market.ledger.balance(A.agent)).toBe(970)
    expect(await C.market.ledger.balance(C.agent)).toBe(0)
    // Reputation: the requester's report, co-signed by the winner on its receipt, is accepted as such.
    for (const n of [A, B])
      await waitFor(async () => {
        for await (const x of n.node.service<ReputationService>('reputation')!.intake.accepted())
          if (x.report.body.taskId === a.award.escrowId && x.coSigned)
            return x.report.body.outcome === 'success'
        return false
      }, 20_000)
    const reports = await audits([A, B, C, D])
    for (const r of reports) expect(r.problems).toEqual([])
    expect(auditAcross(reports).ok).toBe(true)
  }, 60_000)

  it('refunds the escrow when the winner never returns a result', async () => {
    const issued = await A.market.issueCfp({
      capability: 'slow',
      units: 1,
      reserve: 50,
      deadlineMs: 60_000,
      resultTimeoutMs: 2000,
      payload: 'x',
    })
    await waitFor(async () => (await A.market.house.get(issued.cfpId))?.bidCount === 1, 30_000)
    await A.market.close(issued.cfpId)
    const rec = await A.market.waitSettled(issued.cfpId, 30_000)
    expect(rec?.phase).toBe('done')
    expect(rec?.awards[0]?.award.winner).toBe(D.agent)
    expect(rec?.awards[0]?.status).toBe('refunded')
    expect(rec?.awards[0]?.reason).toMatch(/timeout/)
    expect(await A.market.ledger.balance(A.agent)).toBe(970)
    expect(await D.market.ledger.balance(D.agent)).toBe(0)
    const reports = await audits([A, B, C, D])
    expect(auditAcross(reports).ok).toBe(true)
  }, 60_000)

  it('refuses a forged bid and penalises the sender', async () => {
    const issued = await A.market.issueCfp({
      capability: 'nobody-provides-this',
      units: 1,
      reserve: 10,
      deadlineMs: 20_000,
      payload: null,
    })
    const impostor = generateSigningKey()
    const forged = signBid(
      {
        cfpId: issued.cfpId,
        bidder: C.agent,
        offers: [{ units: 1, price: 1 }],
        expiresAt: Date.now() + 60_000,
      },
      impostor.secretKey, // not C's key
    )
    const sealed = C.e2e.seal(
      C.agent,
      A.e2e.localCard(A.agent)!,
      encodeJson({ bid: forged, card: C.e2e.localCard(C.agent) }),
    )
    const before = A.node.peerScore.get(C.node.peerId)
    const reply = await C.node.wire.request(A.node.peerId, MARKET_PROTOCOL, {
      type: 'market.bid',
      payload: encodeSealed(A.agent, sealed),
    })
    const ack = decodeAck(reply.payload)
    expect(ack.ok).toBe(false)
    expect(ack.code).toBe('MARKET_BAD_SIGNATURE')
    expect(A.node.peerScore.get(C.node.peerId)).toBeLessThan(before)
    // Garbage is refused with a reason too, and the node keeps serving.
    const junk = await C.node.wire.request(A.node.peerId, MARKET_PROTOCOL, {
      type: 'market.bid',
      payload: new TextEncoder().encode('{"to": 1}'),
    })
    expect(decodeAck(junk.payload)).toMatchObject({ ok: false, code: 'MARKET_BAD_MESSAGE' })
    expect((await A.market.house.get(issued.cfpId))?.bidCount).toBe(0)
    await A.market.house.cancel(issued.cfpId, 'test done')
  }, 30_000)

  it('refuses a replayed or forged receipt', async () => {
    const done = (await A.market.house.list()).find((r) => r.awards[0]?.receipt)!
    const receipt = done.awards[0]!.receipt!
    const send = async (r: Receipt) => {
      const sealed = A.e2e.seal(A.agent, B.e2e.localCard(B.agent)!, encodeJson({ receipt: r }))
      const reply = await A.node.wire.request(B.node.peerId, MARKET_PROTOCOL, {
        type: 'market.receipt',
        payload: encodeSealed(B.agent, sealed),
      })
      return decodeAck(reply.payload)
    }
    const balance = await B.market.ledger.balance(B.agent)
    expect(await send(receipt)).toMatchObject({ ok: false, code: 'LEDGER_RECEIPT_REPLAY' })
    expect(await send({ ...receipt, id: `${receipt.id}x`, amount: 999 })).toMatchObject({
      ok: false,
      code: 'LEDGER_BAD_RECEIPT',
    })
    expect(await B.market.ledger.balance(B.agent)).toBe(balance)
  }, 30_000)

  it('resumes an auction after the requester restarts mid-auction, paying once', async () => {
    const received = A.market.stats.bidsReceived
    const issued = await A.market.issueCfp({
      capability: 'uppercase',
      units: 1,
      reserve: 100,
      deadlineMs: 10_000,
      payload: 'after restart',
    })
    await waitFor(() => A.market.stats.bidsReceived >= received + 2, 20_000)
    const aBefore = await A.market.ledger.balance(A.agent)
    await A.node.stop()
    // The deadline passes while A is down.
    await new Promise((r) => setTimeout(r, Math.max(0, issued.closesAt - Date.now()) + 200))
    const bBefore = await B.market.ledger.balance(B.agent)
    A = await boot(cleanup, A.root, true)
    for (const n of [B, C, D]) await A.node.connect(n.node.addresses()[0]!).catch(() => {})
    const rec = await A.market.waitSettled(issued.cfpId, 30_000)
    expect(rec?.phase).toBe('done')
    expect(rec?.awards[0]?.status).toBe('paid')
    expect(rec?.awards[0]?.output).toBe('AFTER RESTART')
    expect(rec?.awards[0]?.award.winner).toBe(B.agent)
    // Reputation (market.reputation): B's earlier paid job makes it trusted in A's view (recomputed at
    // restart) while C is still a newcomer, so B's threshold payment rises above C's asking price 30,
    // up to the reserve. Always raw credits between B's price and the reserve.
    const paid = rec!.awards[0]!.award.payment
    expect(paid).toBeGreaterThanOrEqual(30)
    expect(paid).toBeLessThanOrEqual(100)
    await waitFor(async () => (await B.market.ledger.balance(B.agent)) === bBefore + paid)
    expect(await A.market.ledger.balance(A.agent)).toBe(aBefore - paid)
    // Nothing more arrives later (no double payment).
    await new Promise((r) => setTimeout(r, 500))
    expect(await B.market.ledger.balance(B.agent)).toBe(bBefore + paid)
    const reports = await audits([A, B, C, D])
    for (const r of reports) expect(r.problems).toEqual([])
    expect(auditAcross(reports).ok).toBe(true)
  }, 60_000)

  it('drives the market from the CLI: mint, cfp --wait, list, show', async () => {
    const before = await A.market.ledger.balance(A.agent)
    const m = await cli(A.root, 'market', 'mint', '100', '--reason', 'cli test', '--json')
    expect(m.code).toBe(0)
    expect(JSON.parse(m.out)).toEqual({ account: A.agent, balance: before + 100 })
    const r = await cli(
      A.root,
      'cfp',
      'uppercase',
      '--units',
      '1',
      '--reserve',
      '50',
      '--deadline',
      '8000',
      '--payload',
      '"via the cli"',
      '--wait',
      '--json',
    )
    expect(r.code).toBe(0)
    const res = JSON.parse(r.out)
    expect(res.auction.phase).toBe('done')
    expect(res.auction.awards[0].award.winner).toBe(B.agent)
    expect(res.auction.awards[0].output).toBe('VIA THE CLI')
    const list = await cli(A.root, 'market', 'list', '--json')
    expect(JSON.parse(list.out).auctions.some((a: { cfpId: string }) => a.cfpId === res.cfpId)).toBe(true)
    const show = await cli(A.root, 'market', 'show', res.cfpId)
    expect(show.code).toBe(0)
    expect(show.out).toContain('paid')
    expect(show.out).toContain(`escrow ${res.cfpId}/${B.agent}: released`)
    await expect(cli(A.root, 'cfp', 'uppercase', '--reserve', '5', '--payload', '{oops')).rejects.toThrow(
      /--payload is not valid JSON/,
    )
  }, 60_000)

  it('reputation: a provider with a failure history loses to an honest one despite a lower price', async () => {
    // A's operator pre-trusts its own agent (its personal view): A's reports then carry weight, and D's
    // timeout on the 'slow' award above counts as distrust. Restart A with that config.
    await A.node.stop()
    const file = join(A.root, 'config.json')
    const conf = JSON.parse(readFileSync(file, 'utf8')) as { reputation: { preTrusted: string[] } }
    conf.reputation.preTrusted = [A.agent]
    writeFileSync(file, `${JSON.stringify(conf, null, 2)}\n`)
    A = await boot(cleanup, A.root, true)
    for (const n of [B, C, D]) await A.node.connect(n.node.addresses()[0]!).catch(() => {})
    // D now bids on uppercase far below B (10) and C (30).
    const off = D.market.registerBidHandler(
      'uppercase',
      D.agent,
      async () => ({ offers: [{ units: 1, price: 2 }] }),
      async (_award, payload) => ({ ok: true, output: String(payload).toUpperCase() }),
    )
    try {
      await waitFor(() => A.node.pubsub.getSubscribers(topic).length >= 3, 30_000)
      const issued = await A.market.issueCfp({
        capability: 'uppercase',
        units: 1,
        reserve: 100,
        deadlineMs: 60_000,
        payload: 'trust',
      })
      await waitFor(async () => (await A.market.house.get(issued.cfpId))?.bidCount === 3, 30_000)
      await A.market.close(issued.cfpId)
      const rec = await A.market.waitSettled(issued.cfpId, 30_000)
      expect(rec?.dropped).toEqual([{ bidder: D.agent, reason: 'reputation: more distrust than trust' }])
      expect(rec?.awards[0]?.award.winner).toBe(B.agent)
      expect(rec?.awards[0]?.award.price).toBe(10)
      expect(rec?.awards[0]?.status).toBe('paid')
    } finally {
      off()
    }
  }, 90_000)
})
