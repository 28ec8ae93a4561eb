import { describe, expect, it } from 'vitest'
import { KvTransaction, ManualClock, MemoryKv } from '../../../src/common/index.ts'
import {
  AWARD_DOMAIN,
  type AwardBody,
  KvFunds,
  RESULT_DOMAIN,
  StakeLedger,
  signEnvelope,
  verifySlash,
} from '../../../src/reputation/index.ts'
import { agentKey } from './helpers.ts'

const req = agentKey(1)
const prov = agentKey(2)
const DAY = 24 * 3600_000

async function setup() {
  const root = new MemoryKv()
  const clock = new ManualClock(1_000_000)
  const funds = new KvFunds(root)
  const seed = new KvTransaction(root)
  await funds.credit(prov.id, 1000, seed)
  await funds.credit(req.id, 1000, seed)
  await seed.commit()
  const stake = new StakeLedger({ store: root, funds, clock, minimumStake: 100, deadlineGraceMs: 1000 })
  return { root, clock, funds, stake }
}

function award(extra: Partial<AwardBody> = {}) {
  const body: AwardBody = {
    taskId: 'task-9',
    requester: req.id,
    provider: prov.id,
    price: 60,
    deadline: 1_000_000 + 5000,
    ...extra,
  }
  return signEnvelope(AWARD_DOMAIN, body, req.sk)
}

describe('stake', () => {
  it('bond moves funds into the bond; release only after the unbonding delay', async () => {
    const { clock, funds, stake } = await setup()
    await stake.bond(prov.id, 300)
    expect(await funds.balance(prov.id)).toBe(700)
    expect(await stake.bonded(prov.id)).toBe(300)
    const { releaseAt } = await stake.unbond(prov.id, 100)
    expect(releaseAt).toBe(1_000_000 + 7 * DAY)
    expect(await stake.release(prov.id)).toBe(0)
    clock.advance(7 * DAY)
    expect(await stake.release(prov.id)).toBe(100)
    expect(await funds.balance(prov.id)).toBe(800)
    expect(await stake.bonded(prov.id)).toBe(200)
  })

  it('bond is atomic: insufficient funds leave nothing half-written', async () => {
    const { root, funds, stake } = await setup()
    await expect(stake.bond(prov.id, 5000)).rejects.toThrow(/balance/)
    expect(await stake.bonded(prov.id)).toBe(0)
    expect(await funds.balance(prov.id)).toBe(1000)
    // inside an outer transaction nothing is visible until it commits
    const tx = new KvTransaction(root)
    await stake.bond(prov.id, 200, tx)
    expect(await stake.bonded(prov.id)).toBe(0)
    await tx.commit()
    expect(await stake.bonded(prov.id)).toBe(200)
  })

  it('requiredStake: free below the threshold, 10 % of value (at least the minimum) above', async () => {
    const { stake } = await setup()
    expect(stake.requiredStake(100)).toBe(0)
    expect(stake.requiredStake(101)).toBe(100)
    expect(stake.requiredStake(5000)).toBe(500)
    await stake.bond(prov.id, 150)
    expect((await stake.eligibility(prov.id, 1000)).ok).toBe(true)
    expect((await stake.eligibility(prov.id, 2000)).ok).toBe(false)
  })

  it('a missed deadline slashes price + penalty, pays the requester the price, burns the penalty', async () => {
    const { clock, funds, stake } = await setup()
    await stake.bond(prov.id, 300)
    const a = award()
    await expect(stake.slashMissedDeadline(a)).rejects.toThrow(/deadline/) // not yet due
    clock.advance(6001)
    const rec = await stake.slashMissedDeadline(a)
    // amount = min(300, 60 + 50) = 110; toVictim = min(110, 60) = 60; burned = 50
    expect(rec).toMatchObject({ amount: 110, toVictim: 60, burned: 50, bondedAfter: 190, blacklisted: false })
    expect(await funds.balance(req.id)).toBe(1060)
    expect(verifySlash(rec)).toEqual({ ok: true })
    await expect(stake.slashMissedDeadline(a)).rejects.toThrow(/already used/)
    // a second failure takes the bond below the minimum: blacklisted, cannot bond or bid any more
    clock.advance(1)
    const rec2 = await stake.slashMissedDeadline(award({ taskId: 'task-10' }))
    expect(rec2).toMatchObject({ amount: 110, bondedAfter: 80, blacklisted: true })
    expect(await stake.eligibility(prov.id, 0)).toMatchObject({ ok: false, reason: 'blacklisted' })
    await expect(stake.bond(prov.id, 500)).rejects.toThrow(/blacklisted/)
    expect((await stake.slashes(prov.id)).length).toBe(2)
  })

  it('unbonding credits stay slashable', async () => {
    const { clock, stake } = await setup()
    await stake.bond(prov.id, 200)
    await stake.unbond(prov.id, 200)
    clock.advance(6001)
    const rec = await stake.slashMissedDeadline(award({ price: 150 }))
    expect(rec.amount).toBe(200) // 150 + 50, all of it from the unbonding entry
    expect((await stake.account(prov.id)).unbonding).toEqual([])
  })

  it('forged awards cannot slash, and third parties catch tampered records or a rebuttal', async () => {
    const { clock, stake } = await setup()
    await stake.bond(prov.id, 300)
    clock.advance(6001)
    const forged = signEnvelope(AWARD_DOMAIN, award().body, prov.sk) // not signed by the requester
    await expect(stake.slashMissedDeadline(forged)).rejects.toThrow(/requester/)
    expect(await stake.bonded(prov.id)).toBe(300)
    const rec = await stake.slashMissedDeadline(award())
    expect(verifySlash({ ...rec, toVictim: 100, burned: 10 }).ok).toBe(false)
    const tampered = { ...rec, evidence: { ...rec.evidence, award: award({ price: 999 }) } }
    expect(verifySlash(tampered).ok).toBe(false)
    const onTime = signEnvelope(
      RESULT_DOMAIN,
      { taskId: 'task-9', provider: prov.id, outputHash: 'ab', issuedAt: 1_000_000 + 100 },
      prov.sk,
    )
    expect(verifySlash(rec, { result: onTime })).toMatchObject({ ok: false, problem: /before the deadline/ })
  })
})
