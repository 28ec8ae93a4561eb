import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv, signingKeyFromSeed, toHex } from '../../../src/common/index.ts'
import {
  acceptReceipt,
  auditAcross,
  issueReceipt,
  Ledger,
  type Receipt,
  signReceipt,
} from '../../../src/market/index.ts'

const clock = new ManualClock(5_000)
const keyOf = (n: number) => signingKeyFromSeed(new Uint8Array(32).fill(n))
const payer = keyOf(1)
const payerId = toHex(payer.publicKey)
const payeeId = toHex(keyOf(2).publicKey)

async function twoNodes() {
  const a = new Ledger({ store: new MemoryKv(), clock, node: 'A' })
  const b = new Ledger({ store: new MemoryKv(), clock, node: 'B' })
  await a.mint(payerId, 100, 'genesis')
  await b.mint(payeeId, 7, 'genesis')
  return { a, b }
}
const body = (over: Partial<Receipt> = {}) => ({
  id: 'r1',
  from: payerId,
  to: payeeId,
  amount: 30,
  issuedAt: clock.now(),
  fromNode: 'A',
  toNode: 'B',
  ref: 'escrow-1',
  ...over,
})

describe('cross-node settlement receipts', () => {
  it('debits on the payer node, credits on the payee node, and the devnet audit balances', async () => {
    const { a, b } = await twoNodes()
    const { status, receipt } = await issueReceipt(a, body(), payer.secretKey)
    expect(status).toBe('applied')
    expect(await a.balance(payerId)).toBe(70)
    // In flight: debited on A, not yet credited on B.
    let net = auditAcross([await a.audit(), await b.audit()])
    expect(net).toMatchObject({ ok: true, minted: 107, inFlight: 30, inFlightReceipts: ['r1'] })
    expect(await acceptReceipt(b, JSON.parse(JSON.stringify(receipt)), { to: payeeId, amount: 30 })).toEqual({
      status: 'applied',
    })
    expect(await b.balance(payeeId)).toBe(37)
    net = auditAcross([await a.audit(), await b.audit()])
    expect(net).toMatchObject({ ok: true, minted: 107, balances: 107, inFlight: 0 })
  })

  it('re-issuing the same receipt id debits once and returns the same receipt', async () => {
    const { a } = await twoNodes()
    const first = await issueReceipt(a, body(), payer.secretKey)
    const again = await issueReceipt(a, body({ issuedAt: 9_999 }), payer.secretKey)
    expect(again.status).toBe('duplicate')
    expect(again.receipt).toEqual(first.receipt)
    expect(await a.balance(payerId)).toBe(70)
  })

  it('rejects a replayed receipt', async () => {
    const { a, b } = await twoNodes()
    const { receipt } = await issueReceipt(a, body(), payer.secretKey)
    await acceptReceipt(b, receipt)
    await expect(acceptReceipt(b, receipt)).rejects.toMatchObject({
      code: 'LEDGER_RECEIPT_REPLAY',
      action: 'ignore',
    })
    expect(await b.balance(payeeId)).toBe(37)
  })

  it('rejects forged receipts: altered amount, wrong signer, unexpected amount or payee', async () => {
    const { a, b } = await twoNodes()
    const { receipt } = await issueReceipt(a, body(), payer.secretKey)
    await expect(acceptReceipt(b, { ...receipt, amount: 300 })).rejects.toMatchObject({
      code: 'LEDGER_BAD_RECEIPT',
      action: 'penalise',
    })
    const mallory = signReceipt(body({ id: 'r2' }), keyOf(9).secretKey) // claims to be from the payer
    await expect(acceptReceipt(b, mallory)).rejects.toThrow(/signature does not verify/)
    await expect(acceptReceipt(b, receipt, { amount: 31 })).rejects.toThrow(/amount is 30, expected 31/)
    await expect(acceptReceipt(b, receipt, { to: 'someone' })).rejects.toThrow(/to is/)
    await expect(acceptReceipt(b, { ...receipt, signature: 'AAAA' })).rejects.toMatchObject({
      code: 'LEDGER_BAD_RECEIPT',
    })
    await expect(issueReceipt(a, body({ id: 'r3' }), keyOf(9).secretKey)).rejects.toThrow(
      /not the payer agent key/,
    )
    expect(await b.balance(payeeId)).toBe(7)
    expect(auditAcross([await a.audit(), await b.audit()]).ok).toBe(true)
  })

  it('auditAcross catches credits created from nothing and double credits', async () => {
    const { a, b } = await twoNodes()
    const { receipt } = await issueReceipt(a, body(), payer.secretKey)
    const c = new Ledger({ store: new MemoryKv(), clock, node: 'C' })
    await acceptReceipt(b, receipt)
    await acceptReceipt(c, receipt) // a second node crediting the same receipt
    const net = auditAcross([await a.audit(), await b.audit(), await c.audit()])
    expect(net.ok).toBe(false)
    expect(net.problems.join('\n')).toMatch(/credited twice/)
    const orphan = auditAcross([await b.audit()])
    expect(orphan.problems.join('\n')).toMatch(/that no node debited/)
  })
})
