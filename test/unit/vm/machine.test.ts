import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv, seededRandom } from '../../../src/common/index.ts'
import {
  AgentRuntime,
  assemble,
  exportTrace,
  formatDiagnostic,
  Machine,
  offlineHost,
  replayTrace,
  restoreMachine,
  runSource,
  serializeState,
} from '../../../src/vm/index.ts'

describe('verifier', () => {
  it('collects every error with file:line:col', () => {
    const r = assemble('FOO 1\nJUMP nowhere\nADD 1\n.region L locked\nNOP\n.end\nSELF_MODIFY "L", "NOP"', {
      file: 'x.avm',
    })
    const m = r.errors.map(formatDiagnostic)
    expect(m).toContain("x.avm:1:1 unknown opcode 'FOO'")
    expect(m.some((e) => e.startsWith('x.avm:2:6 undefined label'))).toBe(true)
    expect(m.some((e) => e.startsWith('x.avm:3:1 ADD is missing operand'))).toBe(true)
    expect(m.some((e) => e.includes("region 'L' is locked"))).toBe(true)
  })
  it('checks the types of constant operands', () => {
    const r = assemble('#define D "soon"\nWAIT D\nPAY_AGENT "bob", "ten"\nDOC_SEARCH "kb", [1], k="3"', {
      file: 't.avm',
    })
    expect(r.errors.map(formatDiagnostic)).toEqual([
      't.avm:2:6 WAIT: operand \'ms\' must be a number, got string "soon"',
      't.avm:3:18 PAY_AGENT: operand \'amount\' must be a number, got string "ten"',
      't.avm:4:23 DOC_SEARCH: operand \'k\' must be a number, got string "3"',
    ])
  })
  it('never throws on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        assemble(s)
      }),
      { numRuns: 300 },
    )
  })
})

describe('interpreter', () => {
  it('runs arithmetic, IF sugar, CALL/RET', async () => {
    const src =
      'SET x = 2\nCALL double\nIF x > 3 THEN\nSET y = "big"\nELSE\nSET y = "small"\nENDIF\nHALT y + ":" + x\n:double\nMUL x, 2 -> x\nRET'
    const { result } = await runSource(src, { gas: 1000 })
    expect(result).toMatchObject({ status: 'ok', output: 'big:4', halt: null })
  })
  it('an infinite loop halts with OUT_OF_GAS at the exact instruction', async () => {
    const { result } = await runSource(':l\nADD 1, 1\nJUMP l', { gas: 11 })
    expect(result.status).toBe('error')
    expect(result.halt).toMatchObject({ reason: 'OUT_OF_GAS', pc: 1, line: 3 })
    expect(result.gasUsed).toBe(11)
  })
  it('an allocation bomb halts with MEMORY_LIMIT', async () => {
    const { result } = await runSource('SET s = "xxxxxxxxxxxxxxxx"\n:l\nADD s, s -> s\nJUMP l', { gas: 1e6 })
    expect(['MEMORY_LIMIT', 'VALUE_TOO_LARGE']).toContain(result.halt?.reason)
  })
  it('random programs never make the interpreter throw', async () => {
    const ops = [
      'ADD a, b -> a',
      'SUB a, 1 -> b',
      'DIV a, b -> c',
      'LIST_PUSH l, a -> l',
      'JUMP_IF_TRUE a, top',
      'CONCAT s, a -> s',
      'GET l, -1 -> d',
      'KV_STORE "k", a',
      'KV_FETCH "k" -> b',
      'CALL top',
      'RET',
    ]
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...ops), { maxLength: 12 }), async (lines) => {
        const { result } = await runSource(`SET a = 1\nSET b = 0\n:top\n${lines.join('\n')}`, { gas: 500 })
        expect(['ok', 'error']).toContain(result.status)
      }),
      { numRuns: 100 },
    )
  })
})

describe('storage, documents and payments', () => {
  it('stores and searches documents with the local embedder', async () => {
    const src = `DOC_EMBED "kb", "a", "cats purr and chase mice"
DOC_EMBED "kb", "b", "stock markets fell sharply today"
DOC_EMBED "kb", "c", "kittens and cats love to play"
CALC_EMBED "my cat chases a mouse" -> q
DOC_SEARCH "kb", q, 2, MMR=false -> hits
HALT hits`
    const { result } = await runSource(src, { gas: 10_000 })
    expect(result.status).toBe('ok')
    const hits = result.output as { id: string }[]
    expect(hits.map((h) => h.id)).not.toContain('b')
  })
  it('TX_ABORT discards writes; TX_COMMIT applies them atomically with a payment', async () => {
    const host = offlineHost()
    await host.wallet.mint(host.agentId, 50)
    const src = `TX_BEGIN\nKV_STORE "x", 1\nTX_ABORT\nKV_FETCH "x" -> a\nTX_BEGIN\nKV_STORE "y", 2\nPAY_AGENT "bob", 20\nTX_COMMIT\nPAY_AGENT "bob", 100 -> over\nKV_FETCH "y" -> b\nHALT [a, b, over]`
    const { result } = await runSource(src, { gas: 1000, host })
    expect(result.output).toEqual([null, 2, false])
    expect(await host.wallet.balance('bob')).toBe(20)
    expect(await host.wallet.balance(host.agentId)).toBe(30)
  })
})

describe('self-modification', () => {
  const prog = `.region STRAT editable
SET v = 1
.end
SELF_MODIFY "STRAT", "SET v = 2"
SET denied = lastRewriteFailed
SELF_OBSERVER_MODE true
SELF_MODIFY "STRAT", "SET v = 2" -> ok
JUMP_IF_FALSE ok, fail
SET v = 0
CALL_STRAT:
HALT [denied, lastRewriteFailed]
:fail
HALT "fail"`
  it('outside observer mode records PERMISSION_DENIED and continues; in observer mode applies', async () => {
    const { result, machine } = await runSource(prog, { gas: 5000, trace: true })
    expect(result.output).toEqual([true, false])
    const ch = machine.trace?.changes ?? []
    expect(ch[0]).toMatchObject({ ok: false, region: 'STRAT' })
    expect(ch[0]?.reason).toMatch(/^PERMISSION_DENIED/)
    expect(ch[1]).toMatchObject({ ok: true, before: 'SET v = 1', after: 'SET v = 2' })
    expect(machine.program.source).toContain('SET v = 2')
  })
})

describe('state and replay', () => {
  it('checkpoint/restore round trip; corruption is detected', async () => {
    const r = assemble('SET a = 0\n:l\nADD a, 1 -> a\nLT a, 100 -> c\nJUMP_IF_TRUE c, l\nHALT a')
    const host = offlineHost()
    const m = new Machine({ program: r.program!, host, gasLimit: 10_000 })
    await m.run(50)
    const bytes = serializeState(m)
    const m2 = restoreMachine(bytes, host)
    expect((await m2.run()).output).toBe(100)
    const bad = bytes.slice()
    bad[bad.length - 3] = (bad[bad.length - 3] ?? 0) ^ 1
    expect(() => restoreMachine(bad, host)).toThrow(/corrupted/)
  })
  it('plugin prices used by the live run travel with the trace (regression)', async () => {
    const host = offlineHost()
    const src = 'CALC_EMBED 0\nNOP'
    const { machine } = await runSource(src, { gas: 100, host, trace: true })
    const text = await exportTrace(machine, {
      file: 'p.avm',
      source: src,
      agentId: host.agentId,
      gasLimit: 100,
      inputs: {},
    })
    expect((await replayTrace(text)).ok).toBe(true)
  })
  it('replay reproduces a run and reports the first divergence', async () => {
    const src =
      'GET_CURRENT_TIME -> t\nRANDOM -> r\nKV_STORE "k", t\nKV_FETCH "k" -> v\nADD v, 1 -> w\nHALT w'
    const host = offlineHost({ startMs: 1234 })
    const { machine } = await runSource(src, { gas: 1000, host, trace: true })
    const text = await exportTrace(machine, {
      file: 'p.avm',
      source: src,
      agentId: host.agentId,
      gasLimit: 1000,
      inputs: {},
    })
    expect((await replayTrace(text)).ok).toBe(true)
    const tampered = text.replace('"answer":1234', '"answer":999')
    const rep = await replayTrace(tampered)
    expect(rep.ok).toBe(false)
    expect(rep.divergence?.index).toBe(0)
  })
})

describe('AgentRuntime', () => {
  it('agents message and pay each other on one node and resume after a restart', async () => {
    const store = new MemoryKv()
    const rt = new AgentRuntime({ store, clock: new ManualClock(0), random: seededRandom(7), sliceGas: 50 })
    const worker = `SWARM_CONNECT "S"\n:l\nRECV_SWARM_MSG 5000 -> m\nJUMP_IF_FALSE m, l\nREPLY_SWARM_MSG m, 0.5\nHALT`
    const boss = `SWARM_CONNECT "S"\nWAIT 10\nSWARM_BROADCAST "REQ", [1], REWARD=5\nWAIT_FOR_RESPONSE "REQ", 5000 -> got\nREDUCE_MODEL_CALL "average", got -> avg\nHALT avg`
    const w1 = await rt.deploy(worker, { name: 'w1' })
    const w2 = await rt.deploy(worker, { name: 'w2' })
    const b = await rt.deploy(boss, { name: 'boss', balance: 100 })
    rt.start()
    await rt.idle()
    expect(rt.inspect(b)?.result?.output).toBe(0.5)
    const paid = (await rt.wallet.balance(w1)) + (await rt.wallet.balance(w2))
    expect(paid).toBe(5)
    expect(await rt.wallet.balance(b)).toBe(95)
    // a fresh runtime over the same store restores every agent
    const rt2 = new AgentRuntime({ store, clock: new ManualClock(0), random: seededRandom(8) })
    const ids = await rt2.restore()
    expect(ids.sort()).toEqual([w1, w2, b].sort())
    expect(rt2.inspect(b)?.status).toBe('done')
  })
  it('a corrupted checkpoint quarantines only that agent', async () => {
    const store = new MemoryKv()
    const rt = new AgentRuntime({ store, clock: new ManualClock(0), random: seededRandom(1) })
    const a = await rt.deploy('WAIT 10\nHALT 1')
    const b = await rt.deploy('WAIT 10\nHALT 2')
    const raw = (await store.get(`ckpt/${a}`))!
    raw[40] = (raw[40] ?? 0) ^ 0xff
    await store.put(`ckpt/${a}`, raw)
    const rt2 = new AgentRuntime({ store, clock: new ManualClock(0), random: seededRandom(2) })
    await rt2.restore()
    rt2.start()
    await rt2.idle()
    expect(rt2.inspect(a)?.status).toBe('quarantined')
    expect(rt2.inspect(b)?.result?.output).toBe(2)
  })
})
