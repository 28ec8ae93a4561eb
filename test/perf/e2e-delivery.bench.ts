/**
 * `npm run bench -- e2e-delivery`: end-to-end delivery latency of the E2E
 * service between real libp2p nodes on loopback, in one process: a message
 * from an agent on node A to an agent on node C, direct and through a relay
 * node B (A and C refuse each other). Latency = `e2e.send()` until it
 * resolves, i.e. until the recipient's node has decrypted the message, handed
 * it to the agent and acknowledged it. Baseline, same run: a plain signed
 * wire request/response (`node.wire.request`) with the same payload size
 * between the same nodes. Prints one Markdown section to stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { E2EService } from '../../src/node/e2e/index.ts'
import { SwarmNode } from '../../src/node/node.ts'
import { initRepo, openRepo } from '../../src/node/repo.ts'

const N = 300
const WARMUP = 20
const SIZES = [1024, 16 * 1024]
const log = (s: string) => process.stderr.write(`e2e-delivery bench: ${s}\n`)
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}
const p95 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length * 0.95)] ?? 0
}

const dir = mkdtempSync(join(tmpdir(), 'swarmd-bench-e2e-'))
const nodes: SwarmNode[] = []

async function start(name: string, bootstrap: string[]): Promise<{ node: SwarmNode; e2e: E2EService }> {
  const root = join(dir, name)
  await initRepo(root, {
    overrides: { listen: ['/ip4/127.0.0.1/tcp/0'], 'api.port': 0, mdns: false, bootstrap },
  })
  const e2e = new E2EService()
  const node = new SwarmNode({
    repo: openRepo(root),
    processMetrics: false,
    writeDaemonInfo: false,
    services: [e2e],
  })
  await node.start()
  nodes.push(node)
  return { node, e2e }
}

async function until(cond: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await cond()) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error('condition not met in time')
}

let failures = 0

/**
 * Latencies of `base` and `fn`, called alternately (so that both see the same
 * machine load); a call that fails (a stream reset by libp2p under load) is
 * counted and retried.
 */
async function timePairs(
  base: () => Promise<unknown>,
  fn: () => Promise<unknown>,
): Promise<[number[], number[]]> {
  for (let i = 0; i < WARMUP; i++) {
    await base().catch(() => failures++)
    await fn().catch(() => failures++)
  }
  const out: [number[], number[]] = [[], []]
  const once = async (f: () => Promise<unknown>, into: number[]) => {
    for (;;) {
      const t0 = performance.now()
      try {
        await f()
        into.push(performance.now() - t0)
        return
      } catch (err) {
        failures++
        log(`call failed (${(err as Error).message}), retrying`)
        if (failures > N) throw err
      }
    }
  }
  for (let i = 0; i < N; i++) {
    await once(base, out[0])
    await once(fn, out[1])
  }
  return out
}

const ECHO = '/swarmd/bench-echo/1.0.0'

try {
  const b = await start('b', [])
  const boot = [b.node.addresses()[0]!]
  const a = await start('a', boot)
  const c = await start('c', boot)
  for (const n of [a, b, c]) {
    await n.node.wire.handle(ECHO, (env) => ({ type: 'echo', payload: env.payload.subarray(0, 16) }), {
      types: ['echo'],
    })
  }
  log('waiting for agent cards in the DHT')
  await until(
    async () => (await a.node.discovery.getCard(c.e2e.nodeAgent!, { timeoutMs: 2000 })) !== undefined,
  )
  await until(
    async () => (await c.node.discovery.getCard(a.e2e.nodeAgent!, { timeoutMs: 2000 })) !== undefined,
  )
  await a.node.connect(c.node.addresses()[0]! + `/p2p/${c.node.peerId}`)

  const rows: string[][] = []
  const row = (label: string, size: number, xs: number[], base?: number) => {
    const m = median(xs)
    rows.push([
      label,
      `${size / 1024} KiB`,
      m.toFixed(2),
      p95(xs).toFixed(2),
      base ? `${(m / base).toFixed(2)}×` : '1.00× (baseline)',
    ])
    log(`${label} ${size}: median ${m.toFixed(2)} ms`)
    return m
  }
  const sendVia =
    (from: { e2e: E2EService }, to: { e2e: E2EService }, payload: Uint8Array, via: string) => async () => {
      const r = await from.e2e.send(from.e2e.nodeAgent!, to.e2e.nodeAgent!, payload)
      if (r.via !== via) throw new Error(`expected via ${via}, got ${r.via}`)
    }
  const echo = (from: SwarmNode, to: SwarmNode, payload: Uint8Array) => () =>
    from.wire.request(to.peerId, ECHO, { type: 'echo', payload })

  for (const size of SIZES) {
    const payload = new Uint8Array(size).fill(7)
    const [bx, ex] = await timePairs(echo(a.node, c.node, payload), sendVia(a, c, payload, 'direct'))
    const base = row('wire request/response A→C (baseline)', size, bx)
    row('e2e send A→C, direct', size, ex, base)
  }
  log('A and C refuse each other: relay through B')
  a.node.peerScore.penalise(c.node.peerId, 1_000_000, 'bench: force relay')
  c.node.peerScore.penalise(a.node.peerId, 1_000_000, 'bench: force relay')
  await until(() => !a.node.libp2p.getPeers().some((p) => p.toString() === c.node.peerId))
  for (const size of SIZES) {
    const payload = new Uint8Array(size).fill(7)
    const [bx, ex] = await timePairs(echo(a.node, b.node, payload), sendVia(a, c, payload, 'relay'))
    const base = row('wire request/response A→B (baseline)', size, bx)
    row('e2e send A→C, through relay B', size, ex, base)
  }

  const out = [
    '## E2E delivery latency between real nodes (`npm run bench -- e2e-delivery`)',
    '',
    `Three swarmd nodes in one process on loopback (TCP, libp2p Noise + yamux). Each row: ${N} sequential`,
    `messages after ${WARMUP} warm-up ones, on an established E2E session (IK, ChaChaPoly). An e2e send resolves`,
    "when the recipient's node has decrypted the message, handed it to the agent and acknowledged it. The",
    'baseline is a signed wire request/response of the same size between the same nodes (what the e2e',
    'protocol itself rides on), called in alternation with the e2e sends so that both see the same',
    'machine load. For the relay rows A and C refuse each other, so the message goes A → B → C and the ack',
    'comes back C → B → A; the baseline there is one A → B round trip.',
    '',
    '| path | payload | median ms | p95 ms | vs baseline |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `Failed calls (retried, not counted in the figures): ${failures}.`,
    '',
  ]
  process.stdout.write(`${out.join('\n')}\n`)
} finally {
  for (const n of nodes.reverse()) await n.stop().catch(() => {})
  rmSync(dir, { recursive: true, force: true })
}
