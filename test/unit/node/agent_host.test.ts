/**
 * The agent host's pieces without a daemon: the VM store that folds ledger
 * writes into agent checkpoints, host-answer records kept across a crash (one
 * whole-life trace that replays), fair scheduling, quarantine, plugin
 * allow-lists by name, the E2E inbound seam and the `agents` config section.
 */
import { describe, expect, it } from 'vitest'
import {
  ManualClock,
  MemoryKv,
  seededRandom,
  signingKeyFromSeed,
  silentLogger,
  toHex,
} from '../../../src/common/index.ts'
import { Ledger } from '../../../src/market/index.ts'
import { HostRecords } from '../../../src/node/agents/records.ts'
import { deliverInbound, VmStore } from '../../../src/node/agents/index.ts'
import { AgentPlugins, loadAgentPlugins } from '../../../src/node/agents/plugins.ts'
import { exportAgentTrace } from '../../../src/node/agents/trace.ts'
import { SerialWallet } from '../../../src/node/agents/wallet.ts'
import { parseConfig } from '../../../src/node/config.ts'
import { AgentRuntime, LocalBus, replayTrace } from '../../../src/vm/index.ts'

const tick = () => new Promise((r) => setTimeout(r, 1))

interface Host {
  rt: AgentRuntime
  ledger: Ledger
  records: HostRecords
  plugins: AgentPlugins
}

async function host(root: MemoryKv, sleep?: (ms: number) => Promise<void>): Promise<Host> {
  const store = new VmStore(root)
  const ledger = new Ledger({ store: root, clock: new ManualClock(0) })
  const records = new HostRecords(store)
  await records.load()
  const plugins = await loadAgentPlugins([], {}, '.')
  const wallet = new SerialWallet(ledger, store)
  const rt = new AgentRuntime({
    store,
    clock: new ManualClock(1000),
    random: seededRandom(3),
    plugins,
    wallet,
    onCheckpoint: records.stage,
    onMachine: records.attach,
    sliceGas: 1000,
    ...(sleep ? { sleep } : {}),
  })
  return { rt, ledger, records, plugins }
}

async function deploy(h: Host, source: string, seed: number, balance = 0): Promise<string> {
  const s = new Uint8Array(32).fill(seed)
  const id = toHex(signingKeyFromSeed(s).publicKey)
  if (balance) await h.ledger.mint(id, balance, 'deploy')
  await h.records.saveStart(id, { file: `a${seed}`, source, gasLimit: 1_000_000, inputs: {} })
  expect(await h.rt.deploy(source, { seed: s, name: `a${seed}`, gasLimit: 1_000_000, trace: true })).toBe(id)
  return id
}

describe('VmStore', () => {
  it('keeps VM keys under vm/ and ledger keys at the root, in one batch', async () => {
    const root = new MemoryKv()
    const vm = new VmStore(root)
    await vm.batch([
      { type: 'put', key: 'ckpt/x', value: Uint8Array.of(1) },
      { type: 'put', key: 'ledger/b/x', value: Uint8Array.of(2) },
    ])
    expect(await root.get('vm/ckpt/x')).toEqual(Uint8Array.of(1))
    expect(await root.get('ledger/b/x')).toEqual(Uint8Array.of(2))
    expect(await root.get('vm/ledger/b/x')).toBeUndefined()
    const keys: string[] = []
    for await (const [k] of vm.entries('ckpt/')) keys.push(k)
    expect(keys).toEqual(['ckpt/x'])
  })
})

describe('hosted agents over the ledger', () => {
  it('a crash after a payment: identical balances, no repeated payment, one trace that replays', async () => {
    const map = new Map<string, Uint8Array>()
    const root = new MemoryKv(map)
    const pending: (() => void)[] = []
    const h1 = await host(root, () => new Promise<void>((r) => pending.push(r)))
    const bob = await deploy(h1, 'HALT 0', 2)
    const src = `SET n = 0\n:l\nPAY_AGENT bob, 10 -> ok\nWAIT 1000\nADD n, 1 -> n\nLT n, 3 -> c\nJUMP_IF_TRUE c, l\nCHECK_BALANCE -> b\nHALT b`
    const payer = await deploy(h1, src.replace(/bob/g, `"${bob}"`), 1, 100)
    h1.rt.start()
    while (pending.length < 1) await tick()
    pending.shift()?.()
    while (pending.length < 1) await tick()
    // two payments made, the payer is in its second WAIT: the process dies here
    const snapshot = new Map(map)
    expect(await h1.ledger.balance(bob)).toBe(20)

    const root2 = new MemoryKv(snapshot)
    const h2 = await host(root2, async () => {})
    expect((await h2.rt.restore()).sort()).toEqual([bob, payer].sort())
    expect(await h2.ledger.balance(bob)).toBe(20)
    expect(await h2.ledger.balance(payer)).toBe(80)
    h2.rt.start()
    await h2.rt.idle()
    expect(h2.rt.inspect(payer)?.result?.output).toBe(70)
    expect(await h2.ledger.balance(bob)).toBe(30)
    expect((await h2.ledger.audit()).ok).toBe(true)

    const t = await exportAgentTrace(payer, h2.rt, h2.records, h2.plugins)
    expect(t.verified).toBe(true)
    expect(t.complete).toBe(true)
    const rep = await replayTrace(t.jsonl)
    expect(rep.ok).toBe(true)
    expect(rep.result.output).toBe(70)
  })

  it('one agent cannot starve the others', async () => {
    const h = await host(new MemoryKv())
    const hog = await deploy(h, 'SET n = 0\n:l\nADD n, 1 -> n\nJUMP l', 1)
    const worker = await deploy(
      h,
      'SET i = 0\n:l\nADD i, 1 -> i\nLT i, 5000 -> c\nJUMP_IF_TRUE c, l\nHALT i',
      2,
    )
    h.rt.start()
    while (h.rt.inspect(worker)?.status !== 'done') await tick()
    expect(h.rt.inspect(worker)?.result?.output).toBe(5000)
    expect(h.rt.inspect(hog)?.status).toBe('running')
    expect(h.rt.stopAgent(hog)).toBe(true)
    await h.rt.idle()
    expect(h.rt.inspect(hog)?.status).toBe('stopped')
    expect(h.rt.resume(hog)).toBe(true)
    expect(h.rt.stopAgent(hog)).toBe(true)
    await h.rt.stop()
  })

  it('a corrupted checkpoint quarantines that agent only', async () => {
    const root = new MemoryKv()
    const pending: (() => void)[] = []
    const h1 = await host(root, () => new Promise<void>((r) => pending.push(r)))
    const a = await deploy(h1, 'WAIT 10\nHALT 1', 1)
    const b = await deploy(h1, 'WAIT 10\nHALT 2', 2)
    await root.put(`vm/ckpt/${a}`, new TextEncoder().encode('AVM1 not a checkpoint'))
    const h2 = await host(root, async () => {})
    await h2.rt.restore()
    h2.rt.start()
    await h2.rt.idle()
    expect(h2.rt.inspect(a)?.status).toBe('quarantined')
    expect(h2.rt.inspect(a)?.message).toMatch(/checkpoint unreadable: saved state is corrupted/)
    expect(h2.rt.inspect(b)?.status).toBe('done')
    expect(h2.rt.inspect(b)?.result?.output).toBe(2)
  })
})

/** A store whose reads complete on a later macrotask, as LevelDB's do. */
class SlowKv extends MemoryKv {
  override async get(key: string): Promise<Uint8Array | undefined> {
    await new Promise((r) => setImmediate(r))
    return super.get(key)
  }
}

describe('concurrent payments', () => {
  it('payments from many agents to one account are never lost', async () => {
    const h = await host(new SlowKv())
    const sink = await deploy(h, 'HALT 0', 9)
    const payers: string[] = []
    const src = `SET n = 0\n:l\nPAY_AGENT "${sink}", 1 -> ok\nADD n, 1 -> n\nLT n, 20 -> c\nJUMP_IF_TRUE c, l\nHALT n`
    for (let i = 1; i <= 4; i++) payers.push(await deploy(h, src, i, 20))
    h.rt.start()
    await h.rt.idle()
    for (const p of payers) expect(await h.ledger.balance(p)).toBe(0)
    expect(await h.ledger.balance(sink)).toBe(80)
    expect((await h.ledger.audit()).ok).toBe(true)
  })
})

describe('plugins and messages', () => {
  it('allow-lists by agent name or id', () => {
    const p = new AgentPlugins(
      [
        { name: 'x', call: () => 1 },
        { name: 'y', call: () => 2 },
      ],
      {
        bot: ['x'],
        ['f'.repeat(64)]: ['*'],
      },
    )
    p.nameOf = (id) => (id === 'a'.repeat(64) ? 'bot' : undefined)
    expect(p.allowed('a'.repeat(64), 'x')).toBe(true)
    expect(p.allowed('a'.repeat(64), 'y')).toBe(false)
    expect(p.allowed('f'.repeat(64), 'y')).toBe(true)
    expect(p.allowed('b'.repeat(64), 'y')).toBe(true)
  })

  it('refuses a plugin module that does not load', async () => {
    await expect(loadAgentPlugins([{ module: './nope.ts' }], {}, '/tmp')).rejects.toThrow(
      /agents\.plugins: cannot load \.\/nope\.ts/,
    )
  })

  it('delivers inbound E2E messages with the authenticated sender; drops junk', async () => {
    const bus = new LocalBus()
    bus.register('me')
    const msg = (payload: string) => ({
      from: 'them',
      to: 'me',
      messageId: 'm1',
      payload: new TextEncoder().encode(payload),
      receivedAt: 0,
      via: 'direct' as const,
    })
    expect(deliverInbound(bus, msg('not json'), silentLogger)).toBe(false)
    expect(deliverInbound(bus, msg('{"data":1}'), silentLogger)).toBe(false)
    expect(
      deliverInbound(bus, msg('{"from":"forged","topic":"t","data":[1],"reward":-4}'), silentLogger),
    ).toBe(true)
    const got = await bus.receive('me', 0)
    expect(got).toMatchObject({ from: 'them', topic: 't', data: [1], reward: 0, id: 'm1' })
  })
})

describe('agents config', () => {
  it('has safe defaults and validates every key', () => {
    const c = parseConfig({})
    expect(c.agents.defaults.approvalRequired).toEqual(['fork'])
    expect(c.agents.trace).toBe(true)
    const ok = parseConfig({
      agents: {
        plugins: [
          {
            module: 'builtin:http',
            name: 'web',
            gas: { base: 30, perKb: 1 },
            options: { allow: ['https://x/'] },
          },
        ],
        allow: { bot: ['web'] },
        defaults: { spendPerDay: 100, approvalRequired: ['pay', 'self_modify'] },
      },
    })
    expect(ok.agents.plugins[0]?.name).toBe('web')
    expect(ok.agents.defaults.gasLimit).toBe(1_000_000)
    expect(() => parseConfig({ agents: { plugins: [{ name: 'x' }] } })).toThrow(/agents\.plugins/)
    expect(() => parseConfig({ agents: { plugins: [{ module: 'm', gas: { base: -1 } }] } })).toThrow(
      /agents\.plugins/,
    )
    expect(() => parseConfig({ agents: { defaults: { approvalRequired: ['launch'] } } })).toThrow(
      /agents\.defaults\.approvalRequired" must be a list of action kinds/,
    )
    expect(() => parseConfig({ agents: { slicegas: 5 } })).toThrow(/did you mean "sliceGas"/)
    expect(() => parseConfig({ agents: { allow: { bot: 'web' } } })).toThrow(/agents\.allow/)
  })
})
