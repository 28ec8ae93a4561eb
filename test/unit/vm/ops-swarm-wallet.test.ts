import { describe, expect, it } from 'vitest'
import { generateSigningKey, sign, toHex } from '../../../src/common/index.ts'
import { offlineHost } from '../../../src/vm/index.ts'
import { exec } from './helpers.ts'

describe('wallet opcodes', () => {
  it('CHECK_BALANCE and PAY_AGENT (integer credits, no overdraft)', async () => {
    const host = offlineHost()
    await host.wallet.mint(host.agentId, 30)
    const { result } = await exec(
      'CHECK_BALANCE "AVM_CREDITS", 25 -> enough\nPAY_AGENT "bob", 20 -> a\nPAY_AGENT "bob", 20 -> b\nCHECK_BALANCE -> left\nHALT [enough, a, b, left]',
      { host },
    )
    expect(result.output).toEqual([true, true, false, 10])
    expect(await host.wallet.balance('bob')).toBe(20)
  })
  it('a fractional payment is an operand error', async () => {
    const { result } = await exec('PAY_AGENT "bob", 1.5')
    expect(result.halt?.reason).toBe('INVALID_OPERAND')
  })
})

describe('swarm opcodes (offline host bus)', () => {
  it('SEND_SWARM_MSG to an unknown agent is a false status, not a crash', async () => {
    const { result } = await exec('SEND_SWARM_MSG "nobody", "hi" -> ok\nHALT ok')
    expect(result.output).toBe(false)
  })
  it('WAIT_FOR_RESPONSE with nobody listening times out with an empty list and task-failed', async () => {
    const { result } = await exec(
      'SWARM_CONNECT "x"\nSWARM_BROADCAST "Q", 1 -> n\nWAIT_FOR_RESPONSE "Q", 100 -> r\nJUMP_IF_TASK_FAILED none\nHALT 1\n:none\nHALT [n, r]',
    )
    expect(result.output).toEqual([0, []])
  })
  it('RECV_SWARM_MSG on an empty inbox gives null', async () => {
    const { result } = await exec('RECV_SWARM_MSG -> m\nHALT m')
    expect(result.output).toBeNull()
  })
})

describe('security opcodes', () => {
  it('CHECK_SIG verifies Ed25519 signatures by agent id', async () => {
    const k = generateSigningKey()
    const sig = toHex(sign('swarmd/avm', { order: 1 }, k.secretKey))
    const pk = toHex(k.publicKey)
    const { result } = await exec(
      `CHECK_SIG "${pk}", "${sig}", {order: 1} -> good\nCHECK_SIG "${pk}", "${sig}", {order: 2} -> bad\nCHECK_SIG "zz", "zz", 1 -> junk\nHALT [good, bad, junk]`,
    )
    expect(result.output).toEqual([true, false, false])
  })
  it('SECURITY_CHECK and CHECK_PERMISSIONS ask the operator policy', async () => {
    const host = offlineHost()
    host.policy = {
      checkPermission: (_a, role, action) => role === 'trader' && action === 'trade',
      securityCheck: (_a, o) => ({
        ok:
          typeof o === 'object' &&
          o !== null &&
          !Array.isArray(o) &&
          o.amount !== undefined &&
          Number(o.amount) < 100,
        reason: 'too big',
      }),
      authorize: () => ({ decision: 'allow' }),
    }
    const { result, machine } = await exec(
      'CHECK_PERMISSIONS "trader", "trade" -> p\nCHECK_PERMISSIONS "guest", "trade" -> q\nSECURITY_CHECK {amount: 5} -> a\nSECURITY_CHECK {amount: 500} -> b\nHALT [p, q, a, b]',
      { host },
    )
    expect(result.output).toEqual([true, false, true, false])
    expect(machine.logs.at(-1)).toContain('too big')
  })
})
