/**
 * Conservation audits. `auditLedger` recomputes one node's totals from its
 * stored records; `auditAcross` sums the reports of every node of a devnet
 * and checks that credits were neither created nor destroyed except by
 * logged minting: every credited receipt matches exactly one debited one.
 */
import type { KvStore } from '../common/index.ts'
import type { EscrowRecord, HistoryEntry, LedgerReport, Totals } from './ledger-types.ts'

const dec = new TextDecoder()
const parse = <T>(v: Uint8Array): T => JSON.parse(dec.decode(v)) as T

export async function auditLedger(
  store: KvStore,
  prefix: string,
  at: number,
  node?: string,
): Promise<LedgerReport> {
  const problems: string[] = []
  const n = prefix.length
  let balances = 0
  let accounts = 0
  const bal = new Map<string, number>()
  for await (const [k, v] of store.entries(`${prefix}b/`)) {
    const b = parse<number>(v)
    const a = k.slice(n + 2)
    if (!Number.isSafeInteger(b) || b < 0) problems.push(`account ${a} has an invalid balance ${b}`)
    bal.set(a, b)
    balances += b
    accounts++
  }
  // History: the deltas of each account must add up to its balance.
  const histSum = new Map<string, number>()
  for await (const [k, v] of store.entries(`${prefix}h/`)) {
    const a = k.slice(n + 2, k.lastIndexOf('/'))
    histSum.set(a, (histSum.get(a) ?? 0) + parse<HistoryEntry>(v).delta)
  }
  for (const [a, b] of bal) {
    if ((histSum.get(a) ?? 0) !== b)
      problems.push(`history of ${a} sums to ${histSum.get(a) ?? 0}, balance is ${b}`)
  }
  for (const a of histSum.keys()) if (!bal.has(a)) problems.push(`history for ${a} without a balance`)

  let openEscrows = 0
  let openEscrowCount = 0
  for await (const [, v] of store.entries(`${prefix}e/`)) {
    const e = parse<EscrowRecord>(v)
    if (e.status === 'open') {
      openEscrows += e.amount
      openEscrowCount++
    } else if ((e.paid ?? 0) + (e.refunded ?? 0) !== e.amount) {
      problems.push(
        `escrow ${e.id} closed with ${e.paid ?? 0} paid + ${e.refunded ?? 0} refunded ≠ ${e.amount}`,
      )
    }
  }
  let minted = 0
  for await (const [, v] of store.entries(`${prefix}m/`)) minted += parse<{ amount: number }>(v).amount
  const outbound: { id: string; amount: number }[] = []
  for await (const [k, v] of store.entries(`${prefix}so/`))
    outbound.push({ id: k.slice(n + 3), amount: parse<{ amount: number }>(v).amount })
  const inbound: { id: string; amount: number }[] = []
  for await (const [k, v] of store.entries(`${prefix}si/`))
    inbound.push({ id: k.slice(n + 3), amount: parse<{ amount: number }>(v).amount })
  const settledOut = outbound.reduce((s, x) => s + x.amount, 0)
  const settledIn = inbound.reduce((s, x) => s + x.amount, 0)

  const v = await store.get(`${prefix}t`)
  const t: Totals = v ? parse<Totals>(v) : { minted: 0, settledOut: 0, settledIn: 0 }
  if (t.minted !== minted) problems.push(`running total minted ${t.minted} ≠ mint log ${minted}`)
  if (t.settledOut !== settledOut)
    problems.push(`running total settled out ${t.settledOut} ≠ records ${settledOut}`)
  if (t.settledIn !== settledIn)
    problems.push(`running total settled in ${t.settledIn} ≠ records ${settledIn}`)
  const held = balances + openEscrows + settledOut
  const sources = minted + settledIn
  if (held !== sources)
    problems.push(
      `conservation broken: balances ${balances} + open escrows ${openEscrows} + settled out ${settledOut} = ${held} ≠ minted ${minted} + settled in ${settledIn} = ${sources}`,
    )
  return {
    node,
    at,
    ok: problems.length === 0,
    accounts,
    balances,
    openEscrows,
    openEscrowCount,
    minted,
    settledOut,
    settledIn,
    outbound,
    inbound,
    problems,
  }
}

export interface NetworkAudit {
  ok: boolean
  nodes: number
  minted: number
  balances: number
  openEscrows: number
  /** Receipts debited on their payer's node but not (yet) credited anywhere. */
  inFlight: number
  inFlightReceipts: string[]
  problems: string[]
}

/**
 * Devnet-wide conservation: Σ balances + Σ open escrows + Σ in-flight
 * receipts = Σ minted, every credited receipt was debited exactly once with
 * the same amount, and every node's own audit passed.
 */
export function auditAcross(reports: LedgerReport[]): NetworkAudit {
  const problems: string[] = []
  let minted = 0
  let balances = 0
  let openEscrows = 0
  const out = new Map<string, { amount: number; node: string }>()
  reports.forEach((r, i) => {
    const node = r.node ?? `#${i}`
    for (const p of r.problems) problems.push(`${node}: ${p}`)
    minted += r.minted
    balances += r.balances
    openEscrows += r.openEscrows
    for (const o of r.outbound) {
      if (out.has(o.id)) problems.push(`receipt ${o.id} debited on both ${out.get(o.id)!.node} and ${node}`)
      out.set(o.id, { amount: o.amount, node })
    }
  })
  const credited = new Map<string, string>()
  reports.forEach((r, i) => {
    const node = r.node ?? `#${i}`
    for (const x of r.inbound) {
      const o = out.get(x.id)
      if (!o) problems.push(`${node} credited receipt ${x.id} (${x.amount}) that no node debited`)
      else if (o.amount !== x.amount)
        problems.push(`receipt ${x.id}: debited ${o.amount} on ${o.node}, credited ${x.amount} on ${node}`)
      if (credited.has(x.id))
        problems.push(`receipt ${x.id} credited twice (${credited.get(x.id)} and ${node})`)
      credited.set(x.id, node)
    }
  })
  const inFlightReceipts = [...out.keys()].filter((id) => !credited.has(id)).sort()
  const inFlight = inFlightReceipts.reduce((s, id) => s + out.get(id)!.amount, 0)
  if (balances + openEscrows + inFlight !== minted && problems.length === 0)
    problems.push(
      `network conservation broken: balances ${balances} + escrows ${openEscrows} + in flight ${inFlight} ≠ minted ${minted}`,
    )
  return {
    ok: problems.length === 0,
    nodes: reports.length,
    minted,
    balances,
    openEscrows,
    inFlight,
    inFlightReceipts,
    problems,
  }
}
