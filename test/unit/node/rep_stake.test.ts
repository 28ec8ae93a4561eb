import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv } from '../../../src/common/index.ts'
import { Ledger } from '../../../src/market/index.ts'
import { parseConfig } from '../../../src/node/config.ts'
import { NodeStake, STAKE_BURNED_ACCOUNT, STAKE_POOL_ACCOUNT } from '../../../src/node/reputation/index.ts'
import { AWARD_DOMAIN, signEnvelope, verifySlash } from '../../../src/reputation/index.ts'
import { agentKey } from '../reputation/helpers.ts'

const req = agentKey(1)
const prov = agentKey(2)
const DAY = 24 * 3600_000

function setup() {
  const clock = new ManualClock(1_000_000)
  const store = new MemoryKv()
  const ledger = new Ledger({ store, clock })
  const stake = new NodeStake({
    ledger,
    store,
    clock,
    params: {
      minimumStake: 100,
      stakeFreeValue: 100,
      stakePerValueBps: 1000,
      unbondingDelayMs: DAY,
      deadlineGraceMs: 1000,
    },
  })
  return { clock, store, ledger, stake }
}

describe('stake on the node ledger', () => {
  it('bonds from the balance into the pool, unbonds, and pays back only after the delay', async () => {
    const { clock, ledger, stake } = setup()
    await ledger.mint(prov.id, 500, 'test')
    const s = await stake.bond(prov.id, 300)
    expect(s).toMatchObject({ bonded: 300, balance: 200, blacklisted: false })
    expect(await ledger.balance(STAKE_POOL_ACCOUNT)).toBe(300)
    const r1 = await stake.release(prov.id, 100)
    expect(r1).toMatchObject({ unbonded: 100, released: 0, releaseAt: 1_000_000 + DAY })
    expect(r1.state).toMatchObject({ bonded: 200, balance: 200 })
    clock.advance(DAY)
    const r2 = await stake.release(prov.id)
    expect(r2).toMatchObject({ unbonded: 0, released: 100 })
    expect(r2.state).toMatchObject({ bonded: 200, balance: 300, unbonding: [] })
    expect((await ledger.audit()).ok).toBe(true)
  })

  it('refuses to bond more than the balance, atomically (nothing changes)', async () => {
    const { ledger, stake } = setup()
    await ledger.mint(prov.id, 50, 'test')
    await expect(stake.bond(prov.id, 80)).rejects.toThrow(/50 credits/)
    expect(await stake.state(prov.id)).toMatchObject({ bonded: 0, balance: 50 })
  })

  it('slashes a missed deadline: the victim is paid, the rest burned, the agent blacklisted below the minimum', async () => {
    const { clock, ledger, stake } = setup()
    await ledger.mint(prov.id, 300, 'test')
    await stake.bond(prov.id, 200)
    const award = signEnvelope(
      AWARD_DOMAIN,
      { taskId: 'task-1', requester: req.id, provider: prov.id, price: 80, deadline: clock.now() + 5000 },
      req.sk,
    )
    await expect(stake.slashMissedDeadline(award)).rejects.toThrow(/deadline/)
    clock.advance(10_000)
    const rec = await stake.slashMissedDeadline(award)
    expect(rec).toMatchObject({ amount: 130, toVictim: 80, burned: 50, bondedAfter: 70, blacklisted: true })
    expect(verifySlash(rec)).toEqual({ ok: true })
    expect(await ledger.balance(req.id)).toBe(80)
    expect(await ledger.balance(STAKE_BURNED_ACCOUNT)).toBe(50)
    expect(await ledger.balance(STAKE_POOL_ACCOUNT)).toBe(70)
    expect(await stake.state(prov.id)).toMatchObject({ bonded: 70, blacklisted: true, slashedTotal: 130 })
    await expect(stake.slashMissedDeadline(award)).rejects.toThrow(/already used/)
    await expect(stake.bond(prov.id, 10)).rejects.toThrow(/blacklisted/)
    expect(await stake.slashes(prov.id)).toHaveLength(1)
    expect((await ledger.audit()).ok).toBe(true)
  })
})

describe('reputation config', () => {
  it('has documented defaults and validates every key', () => {
    const cfg = parseConfig({})
    expect(cfg.reputation).toMatchObject({
      preTrusted: [],
      trustIntervalMs: 10_000,
      unknownTasks: 'accept-co-signed',
    })
    expect(cfg.reputation.stake.minimum).toBe(100)
    const ok = parseConfig({ reputation: { preTrusted: [req.id], stake: { minimum: 10 } } })
    expect(ok.reputation.preTrusted).toEqual([req.id])
    expect(ok.reputation.stake.minimum).toBe(10)
    expect(ok.reputation.stake.freeValue).toBe(100)
    expect(() => parseConfig({ reputation: { preTrusted: ['alice'] } })).toThrow(
      /"reputation.preTrusted" must be a list of agent ids/,
    )
    expect(() => parseConfig({ reputation: { unknownTasks: 'maybe' } })).toThrow(
      /one of hold, accept-co-signed, accept/,
    )
    expect(() => parseConfig({ reputation: { trustIntervalMs: 0 } })).toThrow(/reputation.trustIntervalMs/)
    expect(() => parseConfig({ reputation: { stake: { minimun: 1 } } })).toThrow(/did you mean "minimum"/)
  })
})
