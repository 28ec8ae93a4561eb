/**
 * AVM programs in the market, on three real libp2p nodes on loopback (one
 * process, the default services): a requester agent on A issues a CFP with
 * the CFP opcode and waits with AUCTION_SETTLE; provider agents on B and C
 * (different cost functions) get the CFP in their inbox, bid with
 * AUCTION_BID, and the winner answers its task with TASK_RESULT. Then a
 * local auction (AUCTION_CREATE), an escrow paid across nodes by receipt
 * (ESCROW_CREATE/RELEASE), a refund by the payee, REPUTATION_QUERY,
 * REPUTATION_UPDATE and STAKE_LOCK/RELEASE. Ledgers audit on every node and
 * across nodes.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditAcross } from '../../src/market/index.ts'
import { connectMarket, type MarketNode as N, startMarketNode as start } from './market_helpers.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'

/** A provider: bids `base + perChar × payload length` per unit on CFPs of `upper`, upper-cases the payload. */
const PROVIDER = `
.capability upper
:loop
  RECV_SWARM_MSG 600000 -> m
  JUMP_IF_FALSE m, loop
  IF m.topic == "cfp" THEN
    STR_LEN m.data.payload -> n
    SET price = base + perChar * n
    AUCTION_BID m.data.cfp_id, [{units: 1, price: price}] -> ok
    LOG "bid", price, ok
  ENDIF
  IF m.topic == "task" THEN
    UPPER m.data.payload -> up
    TASK_RESULT m.data.escrow_id, up -> sent
    LOG "result sent", sent
  ENDIF
  JUMP loop
`

const REQUESTER = `
CFP "upper", 1, 100, 1500, "hello avm" -> id
AUCTION_SETTLE id, 60000 -> out
HALT out
`

const done = (n: N, id: string) => waitFor(() => n.agents.runtime.inspect(id)?.status === 'done', 90_000)
const output = (n: N, id: string) => n.agents.runtime.inspect(id)?.result?.output as Record<string, unknown>

describe('AVM agents in the market', () => {
  const cleanup = new Cleanup()
  let A: N
  let B: N
  let C: N
  let cheap: string
  let dear: string

  beforeAll(async () => {
    const dir = tempDir(cleanup, 'swarmd-mavm-')
    A = await start(cleanup, join(dir, 'a'))
    B = await start(cleanup, join(dir, 'b'))
    C = await start(cleanup, join(dir, 'c'))
    cheap = (await B.agents.deploy({ name: 'cheap', source: PROVIDER, inputs: { base: 5, perChar: 1 } })).id
    dear = (await C.agents.deploy({ name: 'dear', source: PROVIDER, inputs: { base: 20, perChar: 2 } })).id
    await connectMarket(A, [B, C], 'upper')
  }, 180_000)
  afterAll(() => cleanup.run())

  it('a CFP from an AVM requester is bid on by AVM providers, cleared by VCG, executed and paid', async () => {
    const req = await A.agents.deploy({ name: 'req', source: REQUESTER, balance: 1000 })
    await done(A, req.id)
    const out = output(A, req.id)
    expect(out.phase).toBe('done')
    expect(out.bids).toBe(2)
    const winners = out.winners as Record<string, unknown>[]
    expect(winners).toHaveLength(1)
    // payload "hello avm" (9 chars): cheap asks 5 + 9 = 14, dear 20 + 18 = 38: VCG pays cheap the second price
    expect(winners[0]).toMatchObject({
      bidder: cheap,
      price: 14,
      payment: 38,
      status: 'paid',
      output: 'HELLO AVM',
    })
    await waitFor(async () => (await B.market.ledger.balance(cheap)) === 38, 30_000)
    expect(await A.market.ledger.balance(req.id)).toBe(1000 - 38)
    expect(await C.market.ledger.balance(dear)).toBe(0)
    const reports = await Promise.all([A, B, C].map((n) => n.market.ledger.audit()))
    for (const r of reports) expect(r.problems).toEqual([])
    expect(auditAcross(reports).ok).toBe(true)
  }, 120_000)

  it('runs a local auction (AUCTION_CREATE) among the agents of one node, closed early by AUCTION_SETTLE', async () => {
    const local = await B.agents.deploy({
      name: 'local-req',
      balance: 100,
      source: `
AUCTION_CREATE "upper", 1, 50, 60000, "abc" -> id
WAIT 1500
AUCTION_SETTLE id, 30000, close=true -> out
HALT out`,
    })
    await done(B, local.id)
    const out = output(B, local.id)
    expect(out.phase).toBe('done')
    expect(out.bids).toBe(1) // only B's own provider was offered it
    expect(out.winners).toMatchObject([
      { bidder: cheap, price: 8, payment: 50, output: 'ABC', status: 'paid' },
    ])
    expect(await B.market.ledger.balance(local.id)).toBe(50)
  }, 120_000)

  it('pays an escrow across nodes by receipt, and lets the payee refund another', async () => {
    const payer = await A.agents.deploy({
      name: 'payer',
      balance: 200,
      inputs: { payee: dear },
      source: `
ESCROW_CREATE payee, 30, 60000 -> e1
ESCROW_RELEASE e1 -> r1
ESCROW_RELEASE e1 -> again
ESCROW_CREATE payee, 20, 60000 -> e2
ESCROW_REFUND e2 -> early
HALT {e1: e1, r1: r1, again: again, e2: e2, early: early}`,
    })
    await done(A, payer.id)
    const out = output(A, payer.id)
    expect(out.r1).toBe(true)
    expect(out.again).toBe(false) // already released
    expect(out.early).toBe(false) // the payer may not refund before the timeout
    await waitFor(async () => (await C.market.ledger.balance(dear)) === 30, 30_000)
    expect(await A.market.ledger.balance(payer.id)).toBe(200 - 30 - 20)
    const escrow = await A.market.ledger.escrow(out.e2 as string)
    expect(escrow?.status).toBe('open')
    const reports = await Promise.all([A, B, C].map((n) => n.market.ledger.audit()))
    for (const r of reports) expect(r.problems).toEqual([])
    expect(auditAcross(reports).ok).toBe(true)
  }, 120_000)

  it('queries reputation, reports on an escrow deal, bonds and releases stake', async () => {
    const agent = await B.agents.deploy({
      name: 'staker',
      balance: 500,
      inputs: { other: cheap },
      source: `
STAKE_LOCK 200 -> bonded
REPUTATION_QUERY -> me
ESCROW_CREATE other, 10, 60000 -> e
ESCROW_RELEASE e -> paid
REPUTATION_UPDATE e, "success", 0.8 -> reported
REPUTATION_UPDATE e, "failure" -> twice
STAKE_RELEASE 50 -> rel
STAKE_RELEASE -> all
HALT {bonded: bonded, me: me, paid: paid, reported: reported, twice: twice, rel: rel, all: all}`,
    })
    await done(B, agent.id)
    const out = output(B, agent.id)
    expect(out.bonded).toBe(200)
    expect(out.me).toMatchObject({ agent: agent.id, bonded: 200, blacklisted: false })
    expect(out.paid).toBe(true)
    expect(out.reported).toBe(true)
    expect(out.twice).toBe(false) // one report per task and requester
    expect(out.rel).toEqual({ bonded: 150, unbonding: 50 })
    expect(out.all).toEqual({ bonded: 0, unbonding: 200 }) // no operand: all of it
    expect(await B.market.ledger.balance(cheap)).toBeGreaterThanOrEqual(10)
    const r = await B.rep.show(cheap)
    expect(r.reports.asProvider).toBeGreaterThanOrEqual(1)
  }, 120_000)
})
