/**
 * Agents hosted by a REAL daemon process: deploy through the CLI, pay between
 * agents, store/search documents with a configured plugin, self-modify in
 * observer mode, fair scheduling next to an infinite loop, `kill -9` and
 * resume with identical balances, whole-life trace replayed by `swarmd vm
 * replay`, and a corrupted checkpoint quarantining one agent only.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { AgentClient, type AgentSummary } from '../../src/node/agents/index.ts'
import { NodeClient } from '../../src/node/client.ts'
import { Db } from '../../src/node/db.ts'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'
import { cli as runCli, startDaemon } from './process_helpers.ts'

/** The CLI with a generous timeout: deploys verify and run agents on a shared, loaded machine. */
const cli = (args: string[]) => runCli(args, 60_000)

const EXAMPLES = fileURLToPath(new URL('../../examples/agents/', import.meta.url))

const PAYEE = `; waits until it has been paid 15 credits
.capability sentiment
:loop
  RECV_SWARM_MSG 200 -> msg
  CHECK_BALANCE -> bal
  GE bal, 15 -> paid
  JUMP_IF_FALSE paid, loop
  HALT bal
`
const PAYER = `; pays 10, waits for a "go" message, pays 5 (input: payee)
.capability payments
  PAY_AGENT payee, 10 -> ok1
  RECV_SWARM_MSG 600000 -> go
  PAY_AGENT payee, 5 -> ok2
  CHECK_BALANCE -> bal
  HALT bal
`
const HOG = `; an infinite loop: must not starve anyone
  SET n = 0
:spin
  ADD n, 1 -> n
  JUMP spin
`
const BAD = `  SET x = 1
  FROB x
  JUMP nowhere
`
const TRIGGER = `; tells the payer to go on (input: payer)
  SEND_SWARM_MSG payer, "go" -> sent
  HALT sent
`
const SMALL = `  ADD 2, 3 -> r
  HALT r
`

describe('agents in a real daemon', () => {
  const cleanup = new Cleanup()
  afterAll(() => cleanup.run())

  it('deploys, pays, searches, self-modifies, survives kill -9, replays, quarantines one corrupt agent', async () => {
    const dir = tempDir(cleanup, 'swarmd-agents-')
    const repo = join(dir, 'repo')
    const init = await cli([
      'init',
      '--repo',
      repo,
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      '--api-port',
      '0',
      '--no-mdns',
    ])
    expect(init.code).toBe(0)
    // plugins are declared in config: the RAG bot's "LLama" generator
    const cfgPath = join(repo, 'config.json')
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>
    cfg.agents = { plugins: [{ module: join(EXAMPLES, 'plugins/extractive-answer.ts'), gas: { base: 25 } }] }
    writeFileSync(cfgPath, JSON.stringify(cfg, null, 2))
    const file = (name: string, text: string) => {
      const p = join(dir, name)
      writeFileSync(p, text)
      return p
    }
    const R = ['--repo', repo]

    let daemon = await startDaemon(cleanup, ['--repo', repo], 45_000)
    const agents = () => new AgentClient(NodeClient.forRepo(repo))
    const byName = async (name: string): Promise<AgentSummary> => {
      const a = (await agents().list()).agents.find((x) => x.name === name)
      if (!a) throw new Error(`no agent ${name}`)
      return a
    }

    // a malformed program: verifier errors with positions, nothing deployed
    const bad = await cli(['agent', 'deploy', file('bad.avm', BAD), ...R])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/bad\.avm:2:\d+ .*FROB/)
    expect(bad.stderr).toMatch(/bad\.avm:3:\d+ .*nowhere/)

    // fairness: an infinite loop first, everybody else still finishes
    const hog = await cli([
      'agent',
      'deploy',
      file('hog.avm', HOG),
      '--name',
      'hog',
      '--gas-limit',
      '1000000000000',
      ...R,
    ])
    expect(hog.code).toBe(0)

    const payee = JSON.parse(
      (await cli(['agent', 'deploy', file('payee.avm', PAYEE), '--name', 'payee', '--json', ...R])).stdout,
    ) as AgentSummary
    expect(payee.id).toMatch(/^[0-9a-f]{64}$/)
    const payer = JSON.parse(
      (
        await cli([
          'agent',
          'deploy',
          file('payer.avm', PAYER),
          '--name',
          'payer',
          '--balance',
          '100',
          '--input',
          JSON.stringify({ payee: payee.id }),
          '--json',
          ...R,
        ])
      ).stdout,
    ) as AgentSummary
    expect(payer.balance).toBe(100)

    // capabilities of live agents are advertised in the DHT (locally recorded)
    const st = await NodeClient.forRepo(repo).status()
    expect(st.capabilities).toEqual(expect.arrayContaining(['sentiment', 'payments']))

    // the first payment is made; then kill -9 while the payer waits for its message
    await waitFor(async () => (await byName('payee')).balance === 10, 90_000)
    const before = JSON.parse((await cli(['ledger', 'balance', '--json', ...R])).stdout) as unknown[]
    expect((await byName('payer')).balance).toBe(90)
    daemon.child.kill('SIGKILL')
    await daemon.exited

    daemon = await startDaemon(cleanup, ['--repo', repo], 45_000)
    const after = JSON.parse((await cli(['ledger', 'balance', '--json', ...R])).stdout) as unknown[]
    expect(after).toEqual(before)
    const resumed = await agents().list()
    console.log(
      `resume after kill -9: daemon ready in ${Math.round(daemon.readyMs)} ms, agents restored in ${resumed.resumeMs} ms`,
    )
    const status = Object.fromEntries(resumed.agents.map((a) => [a.name, a.status]))
    expect(status).toMatchObject({ hog: 'running', payee: 'running', payer: 'running' })

    const rag = await cli([
      'agent',
      'deploy',
      join(EXAMPLES, 'rag-bot.avm'),
      '--name',
      'rag',
      '--input',
      JSON.stringify({
        R_state: { conversation: [{ role: 'user', text: 'what happens when gas runs out?' }] },
      }),
      ...R,
    ])
    expect(rag.code, rag.stderr).toBe(0)
    const selfImp = await cli([
      'agent',
      'deploy',
      join(EXAMPLES, 'self-improving.avm'),
      '--name',
      'improver',
      ...R,
    ])
    expect(selfImp.code, selfImp.stderr).toBe(0)

    // fairness: they finish while the loop keeps running
    await waitFor(async () => (await byName('rag')).status === 'done', 90_000)
    await waitFor(async () => (await byName('improver')).status === 'done', 90_000)
    expect((await byName('hog')).status).toBe('running')

    // documents stored and searched: the answer cites the gas document
    const ragInfo = (await agents().inspect('rag')) as unknown as {
      result: { output: { id: string }[] }
      machine: { registers: Record<string, unknown> }
    }
    expect(ragInfo.result.output.map((d) => d.id)).toContain('gas')
    expect(JSON.stringify(ragInfo.machine.registers.Rfinal)).toMatch(/OUT_OF_GAS/)

    // self-modification of the editable region, in observer mode
    const imp = (await agents().inspect('improver')) as unknown as {
      result: { output: number; status: string }
    }
    expect(imp.result.output).toBe(12)

    // list (text), operator stop of the loop (kept across restarts)
    const listText = await cli(['agent', 'list', ...R])
    expect(listText.stdout).toMatch(/hog\s+running/)
    const stopped = await cli(['agent', 'stop', 'hog', ...R])
    expect(stopped.code).toBe(0)
    expect((await byName('hog')).status).toBe('stopped')

    // the payer resumes from its checkpoint: the first payment is not repeated
    const trigger = await cli([
      'agent',
      'deploy',
      file('trigger.avm', TRIGGER),
      '--name',
      'trigger',
      '--input',
      JSON.stringify({ payer: payer.id }),
      ...R,
    ])
    expect(trigger.code, trigger.stderr).toBe(0)
    await waitFor(async () => (await byName('payer')).status === 'done', 90_000)
    await waitFor(async () => (await byName('payee')).status === 'done', 90_000)
    expect((await byName('payer')).balance).toBe(85)
    expect((await byName('payee')).balance).toBe(15)
    const audit = await cli(['ledger', 'audit', '--json', ...R])
    expect(audit.code).toBe(0)
    expect(JSON.parse(audit.stdout)).toMatchObject({ ok: true, minted: 100, balances: 100 })
    const hist = JSON.parse((await cli(['ledger', 'history', 'payer', '--json', ...R])).stdout) as {
      history: { kind: string; delta: number; memo?: string }[]
    }
    expect(hist.history.map((h) => [h.kind, h.delta])).toEqual([
      ['mint', 100],
      ['transfer-out', -10],
      ['transfer-out', -5],
    ])
    expect(hist.history[0]?.memo).toMatch(/deploy payer/)

    // the whole-life trace (across the crash) replays exactly
    for (const name of ['payer', 'improver', 'rag']) {
      const out = join(dir, `${name}.jsonl`)
      const t = await cli(['agent', 'trace', name, '--out', out, ...R])
      expect(t.code, t.stdout + t.stderr).toBe(0)
      const rep = await cli(['vm', 'replay', out])
      expect(rep.code, rep.stdout).toBe(0)
      expect(rep.stdout).toMatch(/replay ok/)
    }

    // corrupt the payee's checkpoint while the daemon is down: only it is quarantined
    daemon.child.kill('SIGTERM')
    expect(await daemon.exited).toBe(0)
    const db = await Db.open(join(repo, 'db'))
    await db.kv.put(`vm/ckpt/${payee.id}`, new TextEncoder().encode('AVM1 garbage'))
    await db.close()
    daemon = await startDaemon(cleanup, ['--repo', repo], 45_000)
    const q = await byName('payee')
    expect(q.status).toBe('quarantined')
    expect(q.message).toMatch(/checkpoint unreadable: .*corrupted/)
    expect((await byName('payer')).status).toBe('done')
    expect((await byName('payer')).balance).toBe(85)
    expect(q.balance).toBe(15)
    expect((await byName('hog')).status).toBe('stopped')
    const small = await cli(['agent', 'deploy', file('small.avm', SMALL), '--name', 'small', ...R])
    expect(small.code).toBe(0)
    await waitFor(async () => (await byName('small')).status === 'done', 90_000)
    const hogGas = (await byName('hog')).gasUsed
    expect((await cli(['agent', 'resume', 'hog', ...R])).code).toBe(0)
    await waitFor(async () => (await byName('hog')).gasUsed > hogGas, 90_000)
    const inspect = await cli(['agent', 'inspect', 'payee', ...R])
    expect(inspect.stdout).toMatch(/quarantined/)

    daemon.child.kill('SIGTERM')
    expect(await daemon.exited).toBe(0)
  }, 300_000)
})
