import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { ManualClock, MemoryKv, seededRandom } from '../../../src/common/index.ts'
import { AgentRuntime, defaultRegistry, httpTool, offlineHost, runSource } from '../../../src/vm/index.ts'
import { loadRegistry } from '../../../src/vm/plugins/loader.ts'

const dir = new URL('../../../examples/agents/', import.meta.url)
const ex = (f: string) => readFileSync(new URL(f, dir), 'utf8')

describe('examples/agents', () => {
  it('RAG bot retrieves the relevant document and answers from it', async () => {
    const reg = await loadRegistry(JSON.parse(ex('plugins.json')), dir.pathname)
    const host = offlineHost({ plugins: reg })
    const inputs = { R_state: { conversation: [{ role: 'user', text: 'What happens when gas runs out?' }] } }
    const { result, machine } = await runSource(ex('rag-bot.avm'), { gas: 100_000, host, inputs })
    expect(result.status).toBe('ok')
    expect((result.output as { id: string }[])[0]?.id).toBe('gas')
    const conv = (machine.getNamed('R_state') as { conversation: { role: string; content: string }[] })
      .conversation
    expect(conv.at(-1)).toEqual({
      role: 'assistant',
      content: 'Every instruction costs gas; a run stops with OUT_OF_GAS when the limit is reached.',
    })
  })

  it('sentiment swarm: a requester and three workers on one node', async () => {
    const rt = new AgentRuntime({
      store: new MemoryKv(),
      clock: new ManualClock(0),
      random: seededRandom(3),
      sliceGas: 40,
    })
    const workers = [
      await rt.deploy(ex('sentiment-worker.avm'), { name: 'w1' }),
      await rt.deploy(ex('sentiment-worker.avm'), { name: 'w2' }),
      await rt.deploy(ex('sentiment-worker.avm'), { name: 'w3' }),
    ]
    const req = await rt.deploy(ex('sentiment-requester.avm'), { name: 'req', balance: 50 })
    expect(rt.inspect(workers[0] as string)?.capabilities).toEqual(['sentiment'])
    rt.start()
    while (rt.inspect(req)?.status === 'running') await new Promise((r) => setTimeout(r, 5))
    // "BTC up ETH to the moon DOGE down" scores 1 + 1 - 1 = 1 at every worker
    expect(rt.inspect(req)?.result?.output).toBe(1)
    expect(await rt.wallet.balance(req)).toBe(45)
    await rt.stop()
  })

  it('self-improving agent patches its editable region after sandbox tests pass', async () => {
    const { result, machine } = await runSource(ex('self-improving.avm'), { gas: 100_000, trace: true })
    expect(result).toMatchObject({ status: 'ok', output: 12 })
    expect(machine.trace?.changes.map((c) => c.ok)).toEqual([true])
    expect(machine.logs[0]).toContain('strategy too weak')
    expect(machine.program.source).toContain('SET price = 12')
  })
})

describe('http tool', () => {
  it('reads allow-listed URLs only; a refused URL sets the plugin status', async () => {
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ price: 42 }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    try {
      const host = offlineHost({ plugins: defaultRegistry([httpTool({ allow: [`${base}ok/`] })]) })
      const src = `READ_FROM_TOOL "http", "${base}ok/price" -> a
READ_FROM_TOOL "http", "${base}secret" -> b
READ_FROM_TOOL "http", "http://127.0.0.1.evil.test/ok/x" -> e
JUMP_IF_PLUGIN_FAILED refused
HALT "leak"
:refused
HALT [a.price, b, e]`
      const { result } = await runSource(src, { gas: 1000, host })
      expect(result.output).toEqual([42, null, null])
    } finally {
      server.close()
    }
  })
})
