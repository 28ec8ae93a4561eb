/**
 * The economic opcodes against a recording `Economy` (the daemon's is
 * exercised in test/e2e/market_avm.test.ts): operands, deterministic ids,
 * failures that never halt, the offline halt and the TX refusal.
 */
import { describe, expect, it } from 'vitest'
import {
  type CfpSpec,
  defaultRegistry,
  type Economy,
  offlineHost,
  type OfferSpec,
  type TermsSpec,
  type Value,
} from '../../../src/vm/index.ts'
import { exec } from './helpers.ts'

function recorder() {
  const calls: [string, ...unknown[]][] = []
  const economy: Economy = {
    cfp: async (a: string, s: CfpSpec) => (calls.push(['cfp', a, s]), s.id),
    auctionCreate: async (a: string, s: CfpSpec) => (calls.push(['create', a, s]), s.id),
    auctionBid: async (a: string, id: string, o: OfferSpec[]) => (
      calls.push(['bid', a, id, o]),
      o.length > 0
    ),
    auctionSettle: async (a: string, id: string, w: number, c: boolean) => (
      calls.push(['settle', a, id, w, c]),
      { phase: 'done', winners: [] }
    ),
    negotiate: async (a: string, id: string, act: string, t: TermsSpec) => (
      calls.push(['negotiate', a, id, act, t]),
      true
    ),
    taskResult: async (a: string, id: string, ok: boolean, out: Value) => (
      calls.push(['result', a, id, ok, out]),
      true
    ),
    escrowCreate: async (a: string, id: string, p: string, n: number, t: number) => (
      calls.push(['escrow', a, id, p, n, t]),
      id
    ),
    escrowRelease: async () => {
      throw new Error('escrow esc-1 is not open')
    },
    escrowRefund: async () => true,
    reputationQuery: async (_a: string, s: string) => ({ agent: s, trust: 0.5 }),
    reputationUpdate: async (a: string, t: string, o: string, r: number) => (
      calls.push(['report', a, t, o, r]),
      true
    ),
    stakeLock: async (a: string, id: string, n: number) => (calls.push(['stake', a, id, n]), n),
    stakeRelease: async () => ({ bonded: 0, unbonding: 10 }),
  }
  const host = { ...offlineHost({ plugins: defaultRegistry([]) }), economy }
  return { calls, host }
}

describe('economic opcodes', () => {
  it('issues a CFP with defaults and keywords, and settles it', async () => {
    const { calls, host } = recorder()
    const { result } = await exec(
      'CFP "ocr", 2, 30, 500, {doc: 1}, result_timeout_ms=9000 -> id\nAUCTION_SETTLE id, 100, close=true -> out\nHALT [id, out]',
      { host },
    )
    const [id, out] = result.output as [string, Value]
    expect(id).toMatch(/^cfp-[0-9a-f]{24}$/)
    expect(out).toEqual({ phase: 'done', winners: [] })
    expect(calls[0]![2]).toMatchObject({
      id,
      capability: 'ocr',
      units: 2,
      reserve: 30,
      deadlineMs: 500,
      payload: { doc: 1 },
      mechanism: 'vcg',
      negotiation: false,
      resultTimeoutMs: 9000,
    })
    expect(calls[1]).toEqual(['settle', host.agentId, id, 100, true])
  })

  it('derives the same ids when the same instruction runs again (crash before the checkpoint)', async () => {
    const a = recorder()
    const b = recorder()
    const src = 'ESCROW_CREATE "' + 'ab'.repeat(32) + '", 5 -> e\nSTAKE_LOCK 7 -> s\nHALT e'
    const r1 = await exec(src, { host: a.host })
    const r2 = await exec(src, { host: b.host })
    expect(r1.result.output).toBe(r2.result.output)
    expect(a.calls).toEqual(b.calls)
    expect(a.calls[0]).toEqual(['escrow', a.host.agentId, r1.result.output, 'ab'.repeat(32), 5, 3_600_000])
  })

  it('bids, declines, returns results and reports', async () => {
    const { calls, host } = recorder()
    const { result } = await exec(
      `AUCTION_BID "cfp-1", [{units: 1, price: 4}, {units: 2, price: 7}] -> a
AUCTION_BID "cfp-2", [] -> b
TASK_RESULT "cfp-1/x", "out", ok=false -> c
REPUTATION_UPDATE "t1", "failure" -> d
REPUTATION_QUERY -> q
HALT [a, b, c, d, q.trust]`,
      { host },
    )
    expect(result.output).toEqual([true, false, true, true, 0.5])
    expect(calls).toContainEqual([
      'bid',
      host.agentId,
      'cfp-1',
      [
        { units: 1, price: 4 },
        { units: 2, price: 7 },
      ],
    ])
    expect(calls).toContainEqual(['result', host.agentId, 'cfp-1/x', false, 'out'])
    expect(calls).toContainEqual(['report', host.agentId, 't1', 'failure', 0])
  })

  it('a failing call yields false and sets task-failed, without halting', async () => {
    const { host } = recorder()
    const { result } = await exec(
      'ESCROW_RELEASE "esc-1" -> r\nJUMP_IF_TASK_FAILED failed\nHALT "no"\n:failed\nHALT r',
      { host },
    )
    expect(result.status).toBe('ok')
    expect(result.halt).toBeNull()
    expect(result.output).toBe(false)
  })

  it('refuses bad operands with INVALID_OPERAND', async () => {
    const { host } = recorder()
    for (const src of [
      'CFP "x", 0, 10, 100 -> id',
      'CFP "x", 1, 1.5, 100 -> id',
      'AUCTION_BID "c", [{units: 1}] -> b',
      'AUCTION_BID "c", "cheap" -> b',
      'REPUTATION_UPDATE "t", "great" -> r',
      'REPUTATION_UPDATE "t", "success", 2 -> r',
      'STAKE_LOCK -5 -> s',
    ]) {
      const { result } = await exec(src, { host })
      expect(result.halt?.reason, src).toBe('INVALID_OPERAND')
    }
  })

  it('halts with HOST_ERROR offline and refuses to run inside a transaction', async () => {
    const offline = await exec('CFP "x", 1, 10, 100 -> id')
    expect(offline.result.halt?.reason).toBe('HOST_ERROR')
    expect(offline.result.halt?.message).toMatch(/daemon/)
    const { host } = recorder()
    const inTx = await exec('TX_BEGIN\nSTAKE_LOCK 5 -> s\nTX_COMMIT', { host })
    expect(inTx.result.halt?.reason).toBe('INVALID_OPERAND')
    expect(inTx.result.halt?.message).toMatch(/TX_BEGIN/)
  })
})
