/**
 * Devnet benchmark (issue 2): for devnets of 10 and 50 daemon processes on
 * loopback — time until all are ready, capability lookup latency from every
 * node for a capability provided by one node, idle RSS per daemon.
 *
 * Run: `npm run bench -- devnet` (sizes: BENCH_DEVNET_SIZES=10,50).
 */
import { spawn } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const devnetScript = join(root, 'scripts/devnet/devnet.ts')
const sizes = (process.env.BENCH_DEVNET_SIZES ?? '10,50').split(',').map(Number)
const LOOKUPS_PER_NODE = 5
const CAPABILITY = 'bench/image-ocr'

interface UpResult {
  dir: string
  readyMs: number
  nodes: { node: string; peerId: string; pid: number; apiPort: number; peers: number }[]
}

function devnet(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [devnetScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
      process.stderr.write(d)
    })
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`devnet ${args[0]} failed: ${err}`)),
    )
  })
}

async function api<T>(repo: string, path: string, body?: unknown): Promise<T> {
  const info = JSON.parse(readFileSync(join(repo, 'daemon.json'), 'utf8')) as { apiPort: number }
  const token = readFileSync(join(repo, 'api-token'), 'utf8').trim()
  const res = await fetch(`http://127.0.0.1:${info.apiPort}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

function rssMb(pids: number[]): number[] {
  const out = execFileSync('ps', ['-o', 'rss=', '-p', pids.join(',')], { encoding: 'utf8' })
  return out
    .trim()
    .split('\n')
    .map((l) => Number(l.trim()) / 1024)
}

const rows: string[] = []
for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), `swarmd-bench-devnet-${n}-`))
  process.stderr.write(`devnet bench: ${n} nodes in ${dir}\n`)
  try {
    const t0 = performance.now()
    const up = JSON.parse(
      await devnet(['up', '--nodes', String(n), '--dir', dir, '--json', '--timeout', '300']),
    ) as UpResult
    const wallReadyMs = performance.now() - t0
    const repos = up.nodes.map((_, i) => join(dir, `node-${i}`))

    await api(repos[0]!, '/v1/caps/provide', { name: CAPABILITY })
    const cold: number[] = []
    const warm: number[] = []
    let found = 0
    let attempts = 0
    // Look up from every other node, farthest-started first; the first lookup of each node is "cold".
    for (let i = n - 1; i >= 1; i--) {
      for (let j = 0; j < LOOKUPS_PER_NODE; j++) {
        const r = await api<{ providers: { peerId: string }[]; elapsedMs: number }>(
          repos[i]!,
          `/v1/caps/find?name=${encodeURIComponent(CAPABILITY)}&limit=1&timeout=10000`,
        )
        attempts++
        if (r.providers.some((p) => p.peerId === up.nodes[0]!.peerId)) found++
        ;(j === 0 ? cold : warm).push(r.elapsedMs)
      }
    }
    await new Promise((r) => setTimeout(r, 5000))
    const rss = rssMb(up.nodes.map((x) => x.pid))
    const all = [...cold, ...warm]
    rows.push(
      `| ${n} | ${(wallReadyMs / 1000).toFixed(1)} s | ${found}/${attempts} | ${quantile(cold, 0.5)} / ${quantile(cold, 0.95)} ms | ${quantile(all, 0.5)} / ${quantile(all, 0.95)} ms | ${quantile(rss, 0.5).toFixed(0)} MB (max ${Math.max(...rss).toFixed(0)}) |`,
    )
  } finally {
    await devnet(['down', '--dir', dir]).catch((e: unknown) => process.stderr.write(`${String(e)}\n`))
    rmSync(dir, { recursive: true, force: true })
  }
}

process.stdout.write(`## Node: devnet of daemon processes on loopback

Each row is one devnet brought up by \`npm run devnet -- up\` (3 bootstrap nodes, k = 8), then a
capability provided by node-0 and looked up ${LOOKUPS_PER_NODE} times from every other node
(\`/v1/caps/find\`, first provider, server-side time). "cold" is each node's first lookup; "all" every
lookup. RSS is measured 5 s after the last lookup. Goals (issue 2): ready within 60 s at 50 nodes,
lookup p95 ≤ 200 ms, idle RSS ≤ 120 MB per daemon.

| nodes | ready (wall) | providers found | lookup cold p50 / p95 | lookup all p50 / p95 | idle RSS per daemon (median) |
|---|---|---|---|---|---|
${rows.join('\n')}
`)
