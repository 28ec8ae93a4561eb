import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv, seededRandom } from '../../../src/common/index.ts'
import { AgentRuntime, replayTrace } from '../../../src/vm/index.ts'

const tick = () => new Promise((r) => setTimeout(r, 1))

describe('AgentRuntime resilience and constitution', () => {
  it('survives a crash mid-run: resumes from the checkpoint with identical balances', async () => {
    const store = new MemoryKv()
    const pending: (() => void)[] = []
    const rt1 = new AgentRuntime({
      store,
      clock: new ManualClock(0),
      random: seededRandom(5),
      sleep: () => new Promise<void>((r) => pending.push(r)),
    })
    const src =
      'SET n = 0\n:l\nPAY_AGENT "bob", 10\nWAIT 1000\nADD n, 1 -> n\nLT n, 5 -> c\nJUMP_IF_TRUE c, l\nHALT n'
    const id = await rt1.deploy(src, { balance: 100 })
    rt1.start()
    while (pending.length < 1) await tick()
    pending.shift()?.()
    while (pending.length < 1) await tick()
    // two payments made, agent is inside its second WAIT: the node dies here (nothing is stopped or flushed)
    expect(await rt1.wallet.balance('bob')).toBe(20)
    const rt2 = new AgentRuntime({
      store,
      clock: new ManualClock(0),
      random: seededRandom(6),
      sleep: async () => {},
    })
    expect(await rt2.restore()).toEqual([id])
    rt2.start()
    await rt2.idle()
    expect(rt2.inspect(id)?.result?.output).toBe(5)
    expect(await rt2.wallet.balance('bob')).toBe(50)
    expect(await rt2.wallet.balance(id)).toBe(50)
  })

  it('holds gated payments until the operator approves', async () => {
    const rt = new AgentRuntime({ store: new MemoryKv(), clock: new ManualClock(0), random: seededRandom(1) })
    const id = await rt.deploy('PAY_AGENT "bob", 7 -> ok\nHALT ok', {
      balance: 10,
      constitution: { approvalRequired: ['pay'] },
    })
    rt.start()
    while (rt.inspect(id)?.status !== 'held') await tick()
    expect(await rt.wallet.balance('bob')).toBe(0)
    const held = rt.inspect(id)?.held
    expect(rt.approve(id, 'wrong')).toBe(false)
    expect(rt.approve(id, held?.actionId ?? '')).toBe(true)
    await rt.idle()
    expect(rt.inspect(id)?.result?.output).toBe(true)
    expect(await rt.wallet.balance('bob')).toBe(7)
  })

  it('enforces spend per day, denied opcodes and the anomaly stop', async () => {
    const rt = new AgentRuntime({
      store: new MemoryKv(),
      clock: new ManualClock(0),
      random: seededRandom(2),
      sliceGas: 100,
    })
    const spender = await rt.deploy('PAY_AGENT "bob", 5 -> a\nPAY_AGENT "bob", 5 -> b\nHALT [a, b]', {
      balance: 100,
      constitution: { spendPerDay: 8 },
    })
    const forbidden = await rt.deploy('KV_STORE "k", 1\nHALT 1', {
      constitution: { deniedOpcodes: ['KV_STORE'] },
    })
    const spinner = await rt.deploy(':l\nJUMP l', {
      gasLimit: 1_000_000,
      constitution: { maxGasPerMinute: 1000 },
    })
    const other = await rt.deploy('SET i = 0\n:l\nADD i, 1 -> i\nLT i, 300 -> c\nJUMP_IF_TRUE c, l\nHALT i')
    rt.start()
    await rt.idle()
    expect(rt.inspect(spender)?.result?.output).toEqual([true, false])
    expect(rt.inspect(forbidden)?.result?.halt?.reason).toBe('PERMISSION_DENIED')
    expect(rt.inspect(spinner)?.status).toBe('stopped')
    expect(rt.inspect(spinner)?.message).toMatch(/anomaly/)
    // the spinning agent did not starve the others
    expect(rt.inspect(other)?.result?.output).toBe(300)
  })

  it('FORK_AGENT spawns a local agent from a region of the parent', async () => {
    const rt = new AgentRuntime({ store: new MemoryKv(), clock: new ManualClock(0), random: seededRandom(9) })
    const src = `FORK_AGENT "CHILD", "jobs" -> kid
HALT kid
.region CHILD locked
KV_STORE "hello", "from child"
HALT 42
.end`
    const parent = await rt.deploy(src)
    rt.start()
    await rt.idle()
    await rt.idle()
    const kid = rt.inspect(parent)?.result?.output as string
    expect(kid).toMatch(/^[0-9a-f]{64}$/)
    expect(rt.inspect(kid)?.result?.output).toBe(42)
  })
})

describe('operator controls', () => {
  it('stopAgent stops at a slice boundary, survives a restart, and resume continues', async () => {
    const store = new MemoryKv()
    const rt = new AgentRuntime({ store, clock: new ManualClock(0), random: seededRandom(4), sliceGas: 50 })
    const id = await rt.deploy(
      'SET i = 0\n:l\nADD i, 1 -> i\nLT i, 2000 -> c\nJUMP_IF_TRUE c, l\nKV_STORE "i", i\nHALT i',
      {
        gasLimit: 100_000,
      },
    )
    rt.start()
    await tick()
    expect(rt.stopAgent(id)).toBe(true)
    await rt.idle()
    expect(rt.inspect(id)?.status).toBe('stopped')
    const rt2 = new AgentRuntime({ store, clock: new ManualClock(0), random: seededRandom(5), sliceGas: 50 })
    await rt2.restore()
    expect(rt2.inspect(id)?.status).toBe('stopped')
    rt2.start()
    expect(rt2.resume(id)).toBe(true)
    await rt2.idle()
    expect(rt2.inspect(id)?.result?.output).toBe(2000)
  })
})

describe('done-when scenario (runtime level)', () => {
  it('pays, stores and searches docs, patches itself, survives a crash with identical balances, and its trace replays', async () => {
    const store = new MemoryKv()
    const pending: (() => void)[] = []
    const rt1 = new AgentRuntime({
      store,
      clock: new ManualClock(0),
      random: seededRandom(11),
      sleep: () => new Promise<void>((r) => pending.push(r)),
    })
    const bob = await rt1.deploy('HALT 0', { name: 'bob' })
    const src = `DOC_EMBED "kb", "a", "cats purr and chase mice"
DOC_EMBED "kb", "b", "stock markets fell today"
CALC_EMBED "a purring cat" -> q
DOC_SEARCH "kb", q, 1 -> hits
PAY_AGENT BOB, 10 -> paid
WAIT 1000
SELF_OBSERVER_MODE true
SELF_MODIFY "S", ":s\\n  SET v = 2\\n  RET" -> ok
SELF_OBSERVER_MODE false
CALL s
PAY_AGENT BOB, 5
HALT [hits[0].id, v, ok]
.region S editable
:s
  SET v = 1
  RET
.end`
    const id = await rt1.deploy(src, { name: 'main', balance: 100, inputs: { BOB: bob }, trace: true })
    rt1.start()
    while (pending.length < 1) await tick()
    expect(await rt1.wallet.balance(bob)).toBe(10)
    // crash: the node disappears inside WAIT; nothing is flushed
    const rt2 = new AgentRuntime({
      store,
      clock: new ManualClock(5000),
      random: seededRandom(12),
      sleep: async () => {},
    })
    await rt2.restore()
    rt2.start()
    await rt2.idle()
    expect(rt2.inspect(id)?.result?.output).toEqual(['a', 2, true])
    expect(await rt2.wallet.balance(bob)).toBe(15)
    expect(await rt2.wallet.balance(id)).toBe(85)
    const trace = await rt2.exportTrace(id)
    const rep = await replayTrace(trace)
    expect(rep.ok).toBe(true)
    expect(rep.result.output).toEqual(['a', 2, true])
  })
})

describe('constitution usage survives a restart', () => {
  it('the day spend already used is not reset by restarting the node', async () => {
    const store = new MemoryKv()
    const rt = new AgentRuntime({ store, clock: new ManualClock(0), random: seededRandom(21) })
    const id = await rt.deploy('PAY_AGENT "bob", 6 -> a\nWAIT 10\nPAY_AGENT "bob", 6 -> b\nHALT [a, b]', {
      balance: 100,
      constitution: { spendPerDay: 10 },
    })
    const pending: (() => void)[] = []
    const rt1 = new AgentRuntime({
      store,
      clock: new ManualClock(0),
      random: seededRandom(22),
      sleep: () => new Promise<void>((r) => pending.push(r)),
    })
    await rt1.restore()
    rt1.start()
    while (pending.length < 1) await tick()
    // crash after the first payment; a new node process resumes
    const rt2 = new AgentRuntime({
      store,
      clock: new ManualClock(1000),
      random: seededRandom(23),
      sleep: async () => {},
    })
    await rt2.restore()
    rt2.start()
    await rt2.idle()
    expect(rt2.inspect(id)?.result?.output).toEqual([true, false])
    expect(await rt2.wallet.balance('bob')).toBe(6)
    void rt
  })
})
