import { describe, expect, it } from 'vitest'
import { KvTransaction, ManualClock, MemoryKv } from '../../../src/common/index.ts'
import { Ledger, MarketError, type Wallet } from '../../../src/market/index.ts'
import { FailingKv } from './failing-kv.ts'

const clock = new ManualClock(1_000)
const ledger = (store = new MemoryKv()) => new Ledger({ store, clock, node: 'n1' })

describe('ledger basics', () => {
  it('mints, transfers and keeps an append-only history', async () => {
    const l = ledger()
    await l.mint('alice', 100, 'genesis')
    await l.transfer('alice', 'bob', 30)
    expect(await l.balance('alice')).toBe(70)
    expect(await l.balance('bob')).toBe(30)
    expect(await l.balance('carol')).toBe(0)
    const h = await l.history('alice')
    expect(h.map((e) => [e.kind, e.delta, e.balance])).toEqual([
      ['mint', 100, 100],
      ['transfer-out', -30, 70],
    ])
    expect(h[0]!.memo).toBe('genesis')
    const report = await l.audit()
    expect(report).toMatchObject({ ok: true, balances: 100, minted: 100, accounts: 2 })
  })

  it('refuses overdrafts, bad amounts and bad accounts with typed errors', async () => {
    const l = ledger()
    await l.mint('alice', 10, 'genesis')
    await expect(l.transfer('alice', 'bob', 11)).rejects.toMatchObject({ code: 'LEDGER_INSUFFICIENT_FUNDS' })
    await expect(l.transfer('alice', 'bob', 1.5)).rejects.toThrow(/whole number/)
    await expect(l.mint('bad/acct', 1, 'x')).rejects.toThrow(MarketError)
    await expect(l.lock('e1', 'alice', 11, {})).rejects.toMatchObject({ code: 'LEDGER_INSUFFICIENT_FUNDS' })
    expect(await l.balance('alice')).toBe(10)
    expect((await l.audit()).ok).toBe(true)
  })

  it('is idempotent by operation id', async () => {
    const l = ledger()
    expect(await l.mint('alice', 50, 'faucet', { opId: 'm1' })).toEqual({ status: 'applied' })
    expect(await l.mint('alice', 50, 'faucet', { opId: 'm1' })).toEqual({ status: 'duplicate' })
    expect(await l.pay('alice', 'bob', 5, { opId: 't1' })).toEqual({ status: 'applied' })
    expect(await l.pay('alice', 'bob', 5, { opId: 't1' })).toEqual({ status: 'duplicate' })
    await expect(l.pay('alice', 'bob', 6, { opId: 't1' })).rejects.toMatchObject({
      code: 'LEDGER_OP_CONFLICT',
    })
    expect(await l.balance('alice')).toBe(45)
  })

  it('serialises concurrent writes (no lost updates)', async () => {
    const l = ledger()
    await l.mint('alice', 1000, 'genesis')
    await Promise.all(Array.from({ length: 50 }, (_, i) => l.transfer('alice', `b${i % 5}`, 10)))
    expect(await l.balance('alice')).toBe(500)
    expect((await l.audit()).ok).toBe(true)
  })
})

describe('escrow', () => {
  it('locks on award, releases the payment and refunds the remainder', async () => {
    const l = ledger()
    await l.mint('req', 100, 'genesis')
    const locked = await l.lock('cfp1', 'req', 80, { cfp: 'cfp1' })
    expect(locked.status).toBe('applied')
    expect(await l.balance('req')).toBe(20)
    expect(await l.audit()).toMatchObject({ ok: true, openEscrows: 80, openEscrowCount: 1 })
    const rel = await l.release('cfp1', 'prov', 60)
    expect(rel.status).toBe('applied')
    expect(rel.escrow).toMatchObject({ status: 'released', paid: 60, refunded: 20, payee: 'prov' })
    expect(await l.balance('req')).toBe(40)
    expect(await l.balance('prov')).toBe(60)
    // Repeats are no-ops with a clear status, never a second payment.
    expect((await l.release('cfp1', 'prov', 60)).status).toBe('already-released')
    expect((await l.refund('cfp1', 'late timeout')).status).toBe('already-released')
    expect(await l.balance('prov')).toBe(60)
    expect(await l.audit()).toMatchObject({ ok: true, openEscrows: 0, balances: 100 })
  })

  it('refunds on timeout; a later release pays nothing', async () => {
    const l = ledger()
    await l.mint('req', 50, 'genesis')
    await l.lock('e', 'req', 50, null)
    expect((await l.refund('e', 'deadline passed')).status).toBe('applied')
    expect((await l.refund('e', 'again')).status).toBe('already-refunded')
    expect((await l.release('e', 'prov', 50)).status).toBe('already-refunded')
    expect(await l.balance('req')).toBe(50)
    expect(await l.balance('prov')).toBe(0)
    expect((await l.history('req')).map((h) => h.kind)).toEqual(['mint', 'escrow-lock', 'escrow-refund'])
  })

  it('treats a repeated lock as a duplicate and a conflicting one as an error', async () => {
    const l = ledger()
    await l.mint('req', 50, 'genesis')
    await l.lock('e', 'req', 20, null)
    expect((await l.lock('e', 'req', 20, null)).status).toBe('duplicate')
    await expect(l.lock('e', 'req', 30, null)).rejects.toMatchObject({ code: 'LEDGER_ESCROW_CONFLICT' })
    await expect(l.release('e', 'p', 21)).rejects.toMatchObject({ code: 'LEDGER_BAD_AMOUNT' })
    await expect(l.release('nope', 'p', 1)).rejects.toMatchObject({ code: 'LEDGER_UNKNOWN_ESCROW' })
    expect(await l.balance('req')).toBe(30)
  })

  it('folds into an outer transaction (the VM TX_BEGIN..TX_COMMIT): nothing visible until commit', async () => {
    const store = new MemoryKv()
    const l = ledger(store)
    await l.mint('agent', 40, 'genesis')
    const wallet: Wallet = l
    const tx = new KvTransaction(store)
    await wallet.transfer('agent', 'other', 15, tx)
    await l.lock('esc', 'agent', 10, {}, { tx })
    tx.put('vm/agent/counter', new Uint8Array([1]))
    expect(await l.balance('agent')).toBe(40) // not yet committed
    await tx.commit()
    expect(await l.balance('agent')).toBe(15)
    expect(await l.balance('other')).toBe(15)
    expect(await store.get('vm/agent/counter')).toBeDefined()
    const aborted = new KvTransaction(store)
    await l.transfer('agent', 'other', 15, aborted)
    aborted.abort()
    expect(await l.balance('agent')).toBe(15)
    expect((await l.audit()).ok).toBe(true)
  })

  it('audit notices tampering', async () => {
    const store = new MemoryKv()
    const l = ledger(store)
    await l.mint('a', 10, 'genesis')
    await store.put('ledger/b/a', new TextEncoder().encode('25'))
    const r = await l.audit()
    expect(r.ok).toBe(false)
    expect(r.problems.join('\n')).toMatch(/conservation broken/)
    expect(r.problems.join('\n')).toMatch(/history of a sums to 10, balance is 25/)
  })
})

describe('crashes between writes', () => {
  // Every step is idempotent by its id, so the whole script can be re-run after a crash.
  const script = async (l: Ledger) => {
    await l.mint('req', 100, 'genesis', { opId: 'mint-1' })
    await l.pay('req', 'other', 10, { opId: 'pay-1' })
    await l.lock('e1', 'req', 50, { cfp: 'c1' })
    await l.lock('e2', 'req', 20, { cfp: 'c2' })
    await l.release('e1', 'prov', 35)
    await l.refund('e2', 'timeout')
    await l.pay('prov', 'other', 5, { opId: 'pay-2' })
  }
  const clean = async () => {
    const kv = new FailingKv()
    await script(ledger(kv as unknown as MemoryKv))
    return kv.snapshot()
  }

  for (const mode of ['before', 'after'] as const) {
    it(`crash ${mode} the Nth batch: no partial state, totals conserved, retry converges (${mode})`, async () => {
      const expected = await clean()
      for (let n = 1; n <= 7; n++) {
        const kv = new FailingKv(n, mode)
        const l = ledger(kv as unknown as MemoryKv)
        let before = kv.snapshot()
        let crashed = false
        const spy = kv.batch.bind(kv)
        kv.batch = async (ops) => {
          if (kv.batches + 1 === n) before = kv.snapshot()
          return spy(ops)
        }
        await script(l).catch(() => {
          crashed = true
        })
        expect(crashed).toBe(true)
        const after = kv.snapshot()
        if (mode === 'before')
          expect(after).toEqual(before) // nothing of the failed batch landed
        else expect(after).not.toEqual(before) // the whole batch landed
        expect((await l.audit()).ok).toBe(true)
        // Restart on the same data and re-run everything: the final state is the clean run's.
        kv.failAt = Number.POSITIVE_INFINITY
        await script(ledger(kv as unknown as MemoryKv))
        expect(kv.snapshot()).toEqual(expected)
        const l2 = ledger(kv as unknown as MemoryKv)
        expect(await l2.balance('prov')).toBe(30)
        expect(await l2.balance('other')).toBe(15)
        expect(await l2.balance('req')).toBe(55)
      }
    })
  }
})
