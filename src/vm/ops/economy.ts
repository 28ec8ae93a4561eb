/**
 * Economic opcodes (seed 004, part 3): calls for proposals, auctions, escrow,
 * reputation and stake, all served by the host's `Economy` (the daemon's
 * market and reputation services). Offline (`swarmd vm run`) there is no
 * economy and these opcodes halt with HOST_ERROR.
 *
 * They commit their own ledger batches, so they are refused inside
 * TX_BEGIN … TX_COMMIT. Each one that moves credits passes the host a
 * deterministic id (agent + gas used at the instruction): an instruction
 * re-executed after a crash, before its checkpoint was written, is applied
 * once. A failing call (network, funds, a closed auction) is logged, sets the
 * task-failed flag and yields null or false; it never halts the agent.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import type { CfpSpec, Economy, OfferSpec, TermsSpec } from '../host.ts'
import { asNumber, invalid, VmFault } from '../fault.ts'
import type { Machine } from '../interp.ts'
import { isMap, sizeOf, toText, truthy, type Value } from '../values.ts'
import { gated } from './plugins.ts'
import { arg, argOr, type Ins, type OpSpec, valueParam, MAX_WAIT_MS } from './types.ts'
import { put } from './util.ts'

const p = valueParam
const OUTCOMES = new Set(['success', 'failure', 'timeout'])
const ACTS = new Set(['propose', 'accept', 'reject'])
const TERM_KEYS = new Set(['price', 'deadline_ms', 'quality', 'upfront_pct'])

function economy(m: Machine, ins: Ins): Economy {
  if (m.tx)
    throw invalid(`${ins.name} cannot run inside TX_BEGIN … TX_COMMIT (it commits its own ledger batch)`)
  const e = m.host.economy
  if (!e)
    throw new VmFault('HOST_ERROR', `${ins.name} needs the swarmd daemon's market (not available offline)`)
  return e
}

/** A deterministic id for the instruction being executed (stable across a crash and re-execution). */
function opId(m: Machine, ins: Ins, prefix: string): string {
  const h = sha256(new TextEncoder().encode(`${m.agentId()}:${m.gasUsed}:${ins.pc}:${ins.name}`))
  return `${prefix}-${bytesToHex(h).slice(0, 24)}`
}

function posInt(v: Value, what: string, min = 1): number {
  const n = asNumber(v, what)
  if (!Number.isSafeInteger(n) || n < min) throw invalid(`${what} must be an integer >= ${min}, got ${n}`)
  return n
}

/** Make the host call; on failure log, set task-failed and yield `dflt`. */
async function call(
  m: Machine,
  ins: Ins,
  kind: string,
  args: Value,
  live: () => Promise<unknown>,
  dflt: Value,
) {
  const a = await m.gate.call(kind, args, live)
  m.taskFailed = !a.ok
  if (!a.ok) {
    m.log(`${ins.name} failed: ${a.error}`)
    return put(m, ins, dflt)
  }
  return put(m, ins, a.value)
}

function cfpSpecArgs(m: Machine, ins: Ins, prefix: string) {
  const capability = toText(arg(m, ins, 0))
  if (capability.length === 0 || capability.length > 128)
    throw invalid('capability must be 1..128 characters')
  return {
    id: opId(m, ins, prefix),
    capability,
    units: posInt(arg(m, ins, 1), 'units'),
    reserve: posInt(arg(m, ins, 2), 'reserve'),
    deadlineMs: posInt(arg(m, ins, 3), 'deadline_ms'),
    payload: argOr(m, ins, 4, null),
    mechanism: toText(argOr(m, ins, 5, 'vcg')),
    negotiation: truthy(argOr(m, ins, 6, false)),
    ...(ins.given[7] ? { resultTimeoutMs: posInt(arg(m, ins, 7), 'result_timeout_ms') } : {}),
  }
}

const cfpParams = [
  p('capability', false, 'string'),
  p('units', false, 'number'),
  p('reserve', false, 'number'),
  p('deadline_ms', false, 'number'),
  p('payload', true),
  p('mechanism', true, 'string'),
  p('negotiation', true, 'boolean'),
  p('result_timeout_ms', true, 'number'),
]

function offersOf(v: Value): OfferSpec[] {
  if (v === null) return []
  const list = isMap(v) ? [v] : v
  if (!Array.isArray(list)) throw invalid('offers must be a list of {units, price} (or one such map)')
  if (list.length > 16) throw invalid('at most 16 offers per bid')
  return list.map((o, i) => {
    if (!isMap(o)) throw invalid(`offer ${i} must be a map {units, price}`)
    return {
      units: posInt(o.units ?? null, `offer ${i} units`),
      price: posInt(o.price ?? null, `offer ${i} price`, 0),
    }
  })
}

/** NEGOTIATE's terms map `{price, deadline_ms, quality, upfront_pct}` (any subset). */
function termsOf(v: Value): TermsSpec {
  if (v === null) return {}
  if (!isMap(v)) throw invalid('terms must be a map {price, deadline_ms, quality, upfront_pct}')
  for (const k of Object.keys(v))
    if (!TERM_KEYS.has(k)) throw invalid(`unknown term ${k} (price, deadline_ms, quality, upfront_pct)`)
  const out: TermsSpec = {}
  if (v.price != null) out.price = posInt(v.price, 'terms.price', 0)
  if (v.deadline_ms != null) out.deadlineMs = posInt(v.deadline_ms, 'terms.deadline_ms')
  if (v.quality != null) out.quality = toText(v.quality)
  if (v.upfront_pct != null) {
    out.upfrontPct = posInt(v.upfront_pct, 'terms.upfront_pct', 0)
    if (out.upfrontPct > 100) throw invalid(`terms.upfront_pct must be at most 100, got ${out.upfrontPct}`)
  }
  return out
}

/**
 * CFP and AUCTION_CREATE: the same operands, spend check (the whole budget,
 * `units × reserve`) and recorded host answer; they differ in gas, id prefix
 * and what the host does with the spec.
 */
function cfpOp(
  name: string,
  gas: number,
  idPrefix: string,
  hostCall: string,
  doc: string,
  issue: (e: Economy, agent: string, spec: CfpSpec) => Promise<string>,
): OpSpec {
  return {
    name,
    params: cfpParams,
    result: true,
    gas,
    dynGas: (m, ins) => sizeOf(argOr(m, ins, 4, null)) >>> 7,
    gasDoc: `${gas} + payload bytes/128`,
    async: true,
    doc,
    run: async (m, ins) => {
      const e = economy(m, ins)
      const spec = cfpSpecArgs(m, ins, idPrefix)
      const held = await gated(m, ins, {
        kind: 'cfp',
        amount: spec.units * spec.reserve,
        detail: spec.capability,
      })
      if (held !== null) return held
      return call(m, ins, hostCall, { ...spec }, () => issue(e, m.agentId(), spec), null)
    },
  }
}

export const economyOps: OpSpec[] = [
  cfpOp(
    'CFP',
    50,
    'cfp',
    'market.cfp',
    'Issue a signed call for proposals as this agent (it pays): `capability, units, reserve (per unit), deadline_ms (bid window), payload`, optional `mechanism` (vcg), `negotiation`, `result_timeout_ms`. Routed to providers; returns the auction id or null.',
    (e, agent, spec) => e.cfp(agent, spec),
  ),
  cfpOp(
    'AUCTION_CREATE',
    40,
    'auc',
    'market.auction_create',
    "Open an auction offered only to this node's agents with the capability (not routed); same operands as CFP. Returns the auction id or null.",
    (e, agent, spec) => e.auctionCreate(agent, spec),
  ),
  {
    name: 'AUCTION_BID',
    params: [p('auction_id', false, 'string'), p('offers')],
    result: true,
    gas: 10,
    dynGas: (m, ins) => sizeOf(arg(m, ins, 1)) >>> 7,
    gasDoc: '10 + bytes/128',
    async: true,
    doc: 'Bid on an auction this agent was offered (a `cfp` message): XOR `offers` `[{units, price}]` (price = total for the units). Signed by the agent and sealed to the requester. An empty list or null declines. Returns whether the bid was taken.',
    run: async (m, ins) => {
      const e = economy(m, ins)
      const id = toText(arg(m, ins, 0))
      const offers = offersOf(arg(m, ins, 1))
      return call(
        m,
        ins,
        'market.bid',
        { id, offers: offers as unknown as Value },
        () => e.auctionBid(m.agentId(), id, offers),
        false,
      )
    },
  },
  {
    name: 'NEGOTIATE',
    params: [p('negotiation_id', false, 'string'), p('act', false, 'string'), p('terms', true)],
    result: true,
    gas: 10,
    async: true,
    doc: 'Answer a negotiation this agent takes part in as a provisional winner (the `negotiation_id` of its `negotiate` message): `act` "propose" with `terms` `{price, deadline_ms, quality, upfront_pct}` (fields left out keep the requester\'s last proposal), "accept" (the requester\'s last proposal) or "reject". Signed and sealed to the requester. Returns whether it went out as asked and the requester took it.',
    run: async (m, ins) => {
      const e = economy(m, ins)
      const id = toText(arg(m, ins, 0))
      const act = toText(arg(m, ins, 1))
      if (!ACTS.has(act)) throw invalid(`act must be propose, accept or reject, got ${act}`)
      const terms = termsOf(argOr(m, ins, 2, null))
      return call(
        m,
        ins,
        'market.negotiate',
        { id, act, terms: { ...terms } as Value },
        () => e.negotiate(m.agentId(), id, act, terms),
        false,
      )
    },
  },
  {
    name: 'AUCTION_SETTLE',
    params: [p('auction_id', false, 'string'), p('wait_ms', true, 'number'), p('close', true, 'boolean')],
    result: true,
    gas: 20,
    async: true,
    doc: 'Wait up to `wait_ms` (default 30000) until an auction this agent opened is settled (results paid or refunded), clearing it at once when `close`. Returns `{auction_id, phase, bids, welfare, total_payment, winners: [{bidder, units, price, payment, escrow_id, status, output}]}`.',
    run: async (m, ins) => {
      const e = economy(m, ins)
      const id = toText(arg(m, ins, 0))
      const wait = Math.min(MAX_WAIT_MS, asNumber(argOr(m, ins, 1, 30_000), 'wait_ms'))
      const close = truthy(argOr(m, ins, 2, false))
      return call(
        m,
        ins,
        'market.settle',
        { id, wait, close },
        () => e.auctionSettle(m.agentId(), id, wait, close),
        null,
      )
    },
  },
  {
    name: 'TASK_RESULT',
    params: [p('escrow_id', false, 'string'), p('output'), p('ok', true, 'boolean')],
    result: true,
    gas: 10,
    dynGas: (m, ins) => sizeOf(arg(m, ins, 1)) >>> 7,
    gasDoc: '10 + bytes/128',
    async: true,
    doc: 'Return the result of a task this agent won (the `escrow_id` of its `task` message), signed and sealed to the requester; `ok=false` reports a failure. Returns true when the requester accepted it and paid (false: late, refused, failed or unreachable).',
    run: async (m, ins) => {
      const e = economy(m, ins)
      const id = toText(arg(m, ins, 0))
      const ok = truthy(argOr(m, ins, 2, true))
      const out = arg(m, ins, 1)
      return call(
        m,
        ins,
        'market.result',
        { id, ok, output: out },
        () => e.taskResult(m.agentId(), id, ok, out),
        false,
      )
    },
  },
  {
    name: 'ESCROW_CREATE',
    params: [p('payee', false, 'string'), p('amount', false, 'number'), p('timeout_ms', true, 'number')],
    result: true,
    gas: 10,
    async: true,
    doc: "Lock `amount` of this agent's credits for `payee` (an agent id, here or on another node) until ESCROW_RELEASE, or a refund after `timeout_ms` (default 1 hour). Returns the escrow id or null.",
    run: async (m, ins) => {
      const e = economy(m, ins)
      const payee = toText(arg(m, ins, 0))
      const amount = posInt(arg(m, ins, 1), 'amount')
      const timeout = posInt(argOr(m, ins, 2, 3_600_000), 'timeout_ms')
      const held = await gated(m, ins, { kind: 'escrow', amount, detail: payee })
      if (held !== null) return held
      const id = opId(m, ins, 'esc')
      return call(
        m,
        ins,
        'escrow.create',
        { id, payee, amount, timeout },
        () => e.escrowCreate(m.agentId(), id, payee, amount, timeout),
        null,
      )
    },
  },
  {
    name: 'ESCROW_RELEASE',
    params: [p('escrow_id', false, 'string')],
    result: true,
    gas: 5,
    async: true,
    doc: 'Pay an escrow this agent created to its payee (by a signed receipt when the payee lives on another node). Returns true, or false when it is not open.',
    run: async (m, ins) => {
      const e = economy(m, ins)
      const id = toText(arg(m, ins, 0))
      return call(m, ins, 'escrow.release', { id }, () => e.escrowRelease(m.agentId(), id), false)
    },
  },
  {
    name: 'ESCROW_REFUND',
    params: [p('escrow_id', false, 'string')],
    result: true,
    gas: 5,
    async: true,
    doc: 'Refund an escrow: the payee may refund at any time, the depositor once its timeout passed (expired escrows are also refunded automatically). Returns true or false.',
    run: async (m, ins) => {
      const e = economy(m, ins)
      const id = toText(arg(m, ins, 0))
      return call(m, ins, 'escrow.refund', { id }, () => e.escrowRefund(m.agentId(), id), false)
    },
  },
  {
    name: 'REPUTATION_QUERY',
    params: [p('agent', true, 'string')],
    result: true,
    gas: 5,
    async: true,
    doc: "This node's view of an agent (default: this one): `{agent, trust, relative_trust, distrust, pre_trusted, reports_as_provider, reports_as_requester, bonded, blacklisted, slashes}`.",
    run: async (m, ins) => {
      const e = economy(m, ins)
      const subject = ins.given[0] ? toText(arg(m, ins, 0)) : m.agentId()
      return call(m, ins, 'rep.query', { subject }, () => e.reputationQuery(m.agentId(), subject), null)
    },
  },
  {
    name: 'REPUTATION_UPDATE',
    params: [p('task_id', false, 'string'), p('outcome', false, 'string'), p('rating', true, 'number')],
    result: true,
    gas: 10,
    async: true,
    doc: 'Sign and gossip a report on a task this agent took part in (its escrow id): `outcome` success|failure|timeout, `rating` 0..1 (default 1 on success, 0 otherwise). Returns whether it was accepted.',
    run: async (m, ins) => {
      const e = economy(m, ins)
      const task = toText(arg(m, ins, 0))
      const outcome = toText(arg(m, ins, 1))
      if (!OUTCOMES.has(outcome)) throw invalid(`outcome must be success, failure or timeout, got ${outcome}`)
      const rating = asNumber(argOr(m, ins, 2, outcome === 'success' ? 1 : 0), 'rating')
      if (!(rating >= 0 && rating <= 1)) throw invalid(`rating must be in [0, 1], got ${rating}`)
      return call(
        m,
        ins,
        'rep.update',
        { task, outcome, rating },
        () => e.reputationUpdate(m.agentId(), task, outcome, rating),
        false,
      )
    },
  },
  {
    name: 'STAKE_LOCK',
    params: [p('amount', false, 'number')],
    result: true,
    gas: 10,
    async: true,
    doc: "Bond `amount` of this agent's credits as stake (CFPs above a value require a minimum bond; a proven failure slashes it). Returns the bonded total or null.",
    run: async (m, ins) => {
      const e = economy(m, ins)
      const amount = posInt(arg(m, ins, 0), 'amount')
      const held = await gated(m, ins, { kind: 'stake', amount })
      if (held !== null) return held
      const id = opId(m, ins, 'stk')
      return call(m, ins, 'stake.lock', { id, amount }, () => e.stakeLock(m.agentId(), id, amount), null)
    },
  },
  {
    name: 'STAKE_RELEASE',
    params: [p('amount', true, 'number')],
    result: true,
    gas: 10,
    async: true,
    doc: 'Start unbonding `amount` of stake (all of it when omitted); it returns to the balance after the unbonding period. Returns `{bonded, unbonding}` or null.',
    run: async (m, ins) => {
      const e = economy(m, ins)
      const amount = ins.given[0] ? posInt(arg(m, ins, 0), 'amount') : null
      return call(m, ins, 'stake.release', { amount }, () => e.stakeRelease(m.agentId(), amount), null)
    },
  },
]
