/**
 * `npm run bench -- wire`: the CPU and wall time of one signed wire
 * request/response between two real libp2p nodes on loopback (one process,
 * so the CPU counted is both sides'). Baseline, same run: the same request
 * on a stream of its own (`{ direct: true }`), against the mux session every
 * request uses by default. Sequential and 20 concurrent callers; five rounds
 * each, medians. Prints one Markdown section to stdout.
 */
import { Cleanup, startNode, tempDir } from '../e2e/node_helpers.ts'

const PROTOCOL = '/swarmd/bench-echo/1.0.0'
const N = 1000
const ROUNDS = 5
const PAYLOAD = 512
const log = (s: string) => process.stderr.write(`wire bench: ${s}\n`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

const cleanup = new Cleanup()
const dir = tempDir(cleanup, 'swarmd-bench-wire-')
const a = await startNode(cleanup, dir, 'a')
const b = await startNode(cleanup, dir, 'b')
try {
  await b.wire.handle(PROTOCOL, (env) => ({ type: 'echo.reply', payload: env.payload }), {
    types: ['echo.request'],
  })
  await a.connect(b.addresses()[0]!)
  const payload = new Uint8Array(PAYLOAD).fill(7)
  const ask = (direct: boolean) =>
    a.wire.request(b.peerId, PROTOCOL, { type: 'echo.request', payload }, { direct })

  const measure = async (direct: boolean, callers: number) => {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: callers }, async () => {
        for (let i = 0; i < N / callers; i++) await ask(direct)
      }),
    )
    const wall = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    return { cpuMs: (cpu.user + cpu.system) / 1000 / N, wallMs: wall / N }
  }

  for (let i = 0; i < 200; i++) await ask(i % 2 === 0) // warm up both paths
  const rows: string[] = []
  for (const callers of [1, 20]) {
    const res = {
      direct: { cpu: [] as number[], wall: [] as number[] },
      mux: { cpu: [] as number[], wall: [] as number[] },
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of ['direct', 'mux'] as const) {
        const m = await measure(mode === 'direct', callers)
        res[mode].cpu.push(m.cpuMs)
        res[mode].wall.push(m.wallMs)
      }
      log(`${callers} caller(s), round ${r + 1}/${ROUNDS}`)
    }
    const base = median(res.direct.cpu)
    for (const mode of ['direct', 'mux'] as const) {
      const cpu = median(res[mode].cpu)
      const name = mode === 'direct' ? 'a stream per message (baseline)' : 'mux session (default)'
      rows.push(
        `| ${name} | ${callers} | ${cpu.toFixed(3)} | ${median(res[mode].wall).toFixed(3)} | ${(base / cpu).toFixed(2)}× |`,
      )
    }
  }
  process.stdout.write(`## Wire request/response (\`npm run bench -- wire\`)

Two nodes in one process on loopback TCP (Noise, yamux); one signed envelope of ${PAYLOAD} bytes each way
(request, echoed reply), ${N} requests per round, ${ROUNDS} rounds, medians. CPU is the process's user +
system time per request: both nodes' share. Baseline: the same request on a stream of its own, with a
signed envelope (what every swarmd message cost before the session).

| transport | concurrent callers | CPU per request (ms) | wall per request (ms) | baseline CPU ÷ this CPU |
|---|---|---|---|---|
${rows.join('\n')}

A stream per message pays a yamux open and close, a multistream-select negotiation and a peer-store
lookup on both sides, and signs and verifies every envelope; the session pays only the frames, its
Noise channel authenticating the sender (docs/wire.md).
`)
} finally {
  await cleanup.run()
}
process.exit(0)
