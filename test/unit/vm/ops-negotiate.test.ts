import { describe, expect, it } from 'vitest'
import { type Economy, offlineHost, type TermsSpec } from '../../../src/vm/index.ts'
import { exec } from './helpers.ts'

/** A host whose economy only answers NEGOTIATE, recording the calls. */
function hostWithEconomy(answer: (act: string) => Promise<boolean>) {
  const calls: { agent: string; id: string; act: string; terms: TermsSpec }[] = []
  const host = offlineHost()
  host.economy = {
    negotiate: async (agent: string, id: string, act: string, terms: TermsSpec) => {
      calls.push({ agent, id, act, terms })
      return answer(act)
    },
  } as unknown as Economy
  return { host, calls }
}

describe('NEGOTIATE', () => {
  it('passes the act and the terms it names to the host economy', async () => {
    const { host, calls } = hostWithEconomy(async () => true)
    const { result } = await exec(
      'NEGOTIATE "c/w", "propose", {price: 30, deadline_ms: 500, quality: "premium", upfront_pct: 0} -> a\nNEGOTIATE "c/w", "accept" -> b\nHALT [a, b]',
      { host },
    )
    expect(result.output).toEqual([true, true])
    expect(calls).toEqual([
      {
        agent: host.agentId,
        id: 'c/w',
        act: 'propose',
        terms: { price: 30, deadlineMs: 500, quality: 'premium', upfrontPct: 0 },
      },
      { agent: host.agentId, id: 'c/w', act: 'accept', terms: {} },
    ])
  })

  it('refuses a bad act or bad terms as operand errors', async () => {
    for (const src of [
      'NEGOTIATE "n", "haggle"',
      'NEGOTIATE "n", "propose", {price: 3, colour: "red"}',
      'NEGOTIATE "n", "propose", {price: 2.5}',
      'NEGOTIATE "n", "propose", {upfront_pct: 101}',
      'NEGOTIATE "n", "propose", [1]',
    ]) {
      const { result } = await exec(src, { host: hostWithEconomy(async () => true).host })
      expect(result.halt?.reason, src).toBe('INVALID_OPERAND')
    }
  })

  it('a refused answer is false with the task-failed flag; offline it halts with HOST_ERROR', async () => {
    const { host } = hostWithEconomy(async () => {
      throw new Error('not your turn')
    })
    const { result } = await exec(
      'NEGOTIATE "n", "reject" -> ok\nJUMP_IF_TASK_FAILED failed\nHALT "no"\n:failed\nHALT ok',
      { host },
    )
    expect(result.output).toBe(false)
    const offline = await exec('NEGOTIATE "n", "reject"')
    expect(offline.result.halt?.reason).toBe('HOST_ERROR')
  })
})
