/**
 * `npm run devnet -- <command>`: a local devnet of N swarmd daemon processes on
 * 127.0.0.1, each with its own repository under DIR (default .devnet/).
 *
 *   up --nodes N [--dir D] [--base-port P] [--bootstraps B] [--k K] [--json]
 *   status [--dir D] [--json]
 *   logs NODE [--dir D] [--lines N]
 *   down [--dir D]
 *
 * `up` starts (and so initialises) the bootstrap nodes first, then the rest in
 * small batches pointing at them, and waits until every node has peers and a
 * populated DHT routing table. The pids it started are recorded in
 * DIR/devnet.json; `down` sends SIGTERM, waits, then ends stragglers by pid
 * (only processes whose command line still names their repository).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type Command,
  type CommandContext,
  type Io,
  printJson,
  runCommand,
  table,
} from '../../src/cli/command.ts'
import { UserError, errorMessage } from '../../src/common/errors.ts'
import { readDaemonInfo, repoPaths } from '../../src/node/repo.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const cli = join(root, 'bin/swarmd.js')

interface DevnetNode {
  index: number
  repo: string
  pid: number
  peerId: string
  bootstrap: boolean
  listenPort: number
}
interface DevnetState {
  createdAt: string
  nodes: DevnetNode[]
}
interface NodeStatus {
  peerId: string
  addresses: string[]
  peers: number
  uptimeMs: number
  dht?: { routingTableSize?: number }
}

/** Node i listens on P+i and serves its control API on P+MAX_NODES+i. */
const MAX_NODES = 500
// Below Linux's ephemeral range (32768-60999), so no outgoing connection can hold a devnet port.
const DEFAULT_BASE_PORT = 21000

const statePath = (dir: string) => join(dir, 'devnet.json')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function readState(dir: string): DevnetState {
  const p = statePath(dir)
  if (!existsSync(p))
    throw new UserError(`no devnet in ${dir} (start one with 'npm run devnet -- up --nodes N')`)
  return JSON.parse(readFileSync(p, 'utf8')) as DevnetState
}

function writeState(dir: string, state: DevnetState): void {
  writeFileSync(statePath(dir), JSON.stringify(state, null, 2))
}

/** API tokens by repository (written once by `init`; read once here). */
const tokens = new Map<string, string>()
function apiToken(repo: string): string {
  let t = tokens.get(repo)
  if (t === undefined) {
    t = readFileSync(repoPaths(repo).token, 'utf8').trim()
    tokens.set(repo, t)
  }
  return t
}

/**
 * Call a control-API path of the daemon serving `repo` (GET, or POST with a
 * JSON body); undefined when it does not answer.
 */
async function apiCall<T>(
  repo: string,
  path: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<T | undefined> {
  const info = readDaemonInfo(repo)
  if (!info) return undefined
  try {
    const token = apiToken(repo)
    const res = await fetch(`http://127.0.0.1:${info.apiPort}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (!res.ok) return undefined
    return (await res.json()) as T
  } catch {
    return undefined
  }
}

const nodeStatus = (repo: string) => apiCall<NodeStatus>(repo, '/v1/status')

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** True when `pid` is still a swarmd process serving `repo` (guards against reused pids). */
function isOurs(pid: number, repo: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return cmdline.includes(repo)
  } catch {
    return isAlive(pid)
  }
}

/**
 * Start a daemon on a new repository: the first `swarmd start` initialises the
 * repository with these flags as its persisted config, so a node restarted by
 * hand (`swarmd start --repo ...`) keeps them.
 */
function startDaemon(
  repo: string,
  listenPort: number,
  apiPort: number,
  bootstrap: string[],
  k: number,
): ChildProcess {
  mkdirSync(repo, { recursive: true })
  const out = openSync(join(repo, 'stdout.log'), 'a')
  const args = [
    cli,
    'start',
    '--repo',
    repo,
    '--listen',
    `/ip4/127.0.0.1/tcp/${listenPort}`,
    '--api-port',
    String(apiPort),
  ]
  args.push('--no-mdns', '--k', String(k))
  if (bootstrap.length) args.push('--bootstrap', bootstrap.join(','))
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out] })
  child.unref()
  return child
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  detail?: () => string,
  stepMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) {
      throw new UserError(
        `timed out after ${timeoutMs} ms waiting for ${what}${detail ? `; ${detail()}` : ''}`,
      )
    }
    await sleep(stepMs)
  }
}

async function up(ctx: CommandContext): Promise<number> {
  const n = ctx.flags.nodes as number
  const dir = resolve(ctx.flags.dir as string)
  const basePort = ctx.flags['base-port'] as number
  const nBoot = Math.min(ctx.flags.bootstraps as number, n)
  const k = ctx.flags.k as number
  const timeoutMs = (ctx.flags.timeout as number) * 1000
  const batch = ctx.flags.batch as number
  if (existsSync(statePath(dir))) {
    const old = readState(dir)
    if (old.nodes.some((x) => isAlive(x.pid) && isOurs(x.pid, x.repo))) {
      throw new UserError(`a devnet is already running in ${dir} (stop it with 'npm run devnet -- down')`)
    }
  }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const t0 = Date.now()
  const log = (s: string) => ctx.io.err(`${s}\n`)
  const state: DevnetState = { createdAt: new Date().toISOString(), nodes: [] }

  const launch = async (indexes: number[], bootstrap: string[]) => {
    await Promise.all(
      indexes.map(async (i) => {
        const repo = join(dir, `node-${i}`)
        const listenPort = basePort + i
        const child = startDaemon(repo, listenPort, listenPort + MAX_NODES, bootstrap, k)
        const entry = { index: i, repo, pid: child.pid ?? -1, peerId: '', bootstrap: i < nBoot, listenPort }
        state.nodes.push(entry)
        writeState(dir, state)
        const st = await waitFor(`node-${i} to answer on its control API`, timeoutMs, async () => {
          if (child.exitCode !== null) {
            throw new UserError(
              `node-${i} exited with code ${child.exitCode} (see ${join(repo, 'stdout.log')})`,
            )
          }
          return nodeStatus(repo)
        })
        entry.peerId = st.peerId
        writeState(dir, state)
      }),
    )
  }

  const bootIdx = [...Array(nBoot).keys()]
  log(`devnet: starting ${nBoot} bootstrap node(s)`)
  await launch(bootIdx, [])
  const bootAddrs = state.nodes
    .filter((x) => x.bootstrap)
    .map((x) => `/ip4/127.0.0.1/tcp/${x.listenPort}/p2p/${x.peerId}`)
  // Bootstrap nodes know each other too.
  for (const b of state.nodes.filter((x) => x.bootstrap)) {
    for (const addr of bootAddrs) {
      if (!addr.endsWith(b.peerId)) await apiCall(b.repo, '/v1/connect', { multiaddr: addr })
    }
  }
  const rest = [...Array(n).keys()].slice(nBoot)
  for (let i = 0; i < rest.length; i += batch) {
    const chunk = rest.slice(i, i + batch)
    log(`devnet: starting nodes ${chunk[0]}..${chunk[chunk.length - 1]} (${Date.now() - t0} ms)`)
    await launch(chunk, bootAddrs)
  }
  state.nodes.sort((a, b) => a.index - b.index)
  writeState(dir, state)

  const minTable = Math.min(n - 1, 2)
  log(`devnet: waiting until every node has peers and a DHT routing table of at least ${minTable}`)
  let lagging: string[] = []
  const isReady = (s: NodeStatus | undefined) =>
    s !== undefined && s.peers > 0 && (s.dht?.routingTableSize ?? 0) >= minTable
  const statuses = await waitFor(
    'every node to have peers and a populated DHT routing table',
    timeoutMs,
    async () => {
      const all = await Promise.all(state.nodes.map((x) => nodeStatus(x.repo)))
      lagging = state.nodes.flatMap((x, i) => {
        const s = all[i]
        if (isReady(s)) return []
        return [
          `node-${x.index} (${s ? `peers ${s.peers}, dht ${s.dht?.routingTableSize ?? 0}` : 'not answering'})`,
        ]
      })
      return lagging.length === 0 ? (all as NodeStatus[]) : undefined
    },
    () => `not ready: ${lagging.slice(0, 8).join(', ')}${lagging.length > 8 ? ', ...' : ''}`,
    // Every poll asks every node: keep it light on a large devnet.
    Math.max(200, state.nodes.length * 20),
  )
  const readyMs = Date.now() - t0
  const rows = state.nodes.map((x, i) => ({
    node: `node-${x.index}`,
    peerId: x.peerId,
    pid: x.pid,
    apiPort: readDaemonInfo(x.repo)?.apiPort ?? 0,
    peers: statuses[i]?.peers ?? 0,
    routingTable: statuses[i]?.dht?.routingTableSize ?? 0,
    bootstrap: x.bootstrap,
  }))
  if (ctx.flags.json) {
    printJson(ctx.io, { dir, nodes: rows, readyMs })
  } else {
    ctx.io.out(
      `${table(
        ['NODE', 'PEER ID', 'API PORT', 'PEERS', 'DHT', 'ROLE'],
        rows.map((r) => [
          r.node,
          r.peerId,
          r.apiPort,
          r.peers,
          r.routingTable,
          r.bootstrap ? 'bootstrap' : '',
        ]),
      )}\n\n${n} nodes ready in ${(readyMs / 1000).toFixed(1)} s (dir ${dir})\n`,
    )
  }
  return 0
}

async function status(ctx: CommandContext): Promise<number> {
  const dir = resolve(ctx.flags.dir as string)
  const state = readState(dir)
  const rows = await Promise.all(
    state.nodes.map(async (x) => {
      const alive = isAlive(x.pid) && isOurs(x.pid, x.repo)
      const s = alive ? await nodeStatus(x.repo) : undefined
      return {
        node: `node-${x.index}`,
        peerId: x.peerId,
        pid: x.pid,
        alive,
        responding: s !== undefined,
        peers: s?.peers ?? 0,
        routingTable: s?.dht?.routingTableSize ?? 0,
        apiPort: readDaemonInfo(x.repo)?.apiPort ?? 0,
      }
    }),
  )
  if (ctx.flags.json) {
    printJson(ctx.io, { dir, nodes: rows })
  } else {
    ctx.io.out(
      `${table(
        ['NODE', 'PEER ID', 'PID', 'STATE', 'API PORT', 'PEERS', 'DHT'],
        rows.map((r) => [
          r.node,
          r.peerId,
          r.pid,
          r.alive ? (r.responding ? 'up' : 'not answering') : 'down',
          r.apiPort,
          r.peers,
          r.routingTable,
        ]),
      )}\n`,
    )
  }
  return rows.every((r) => r.alive && r.responding) ? 0 : 1
}

async function down(ctx: CommandContext): Promise<number> {
  const dir = resolve(ctx.flags.dir as string)
  const state = readState(dir)
  const live = state.nodes.filter((x) => isAlive(x.pid) && isOurs(x.pid, x.repo))
  for (const x of live) {
    try {
      process.kill(x.pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline && live.some((x) => isAlive(x.pid))) await sleep(100)
  const stragglers = live.filter((x) => isAlive(x.pid) && isOurs(x.pid, x.repo))
  for (const x of stragglers) {
    try {
      process.kill(x.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  ctx.io.out(
    `stopped ${live.length - stragglers.length} node(s) cleanly` +
      (stragglers.length ? `, killed ${stragglers.length} straggler(s)` : '') +
      '\n',
  )
  return 0
}

async function logs(ctx: CommandContext): Promise<number> {
  const dir = resolve(ctx.flags.dir as string)
  const state = readState(dir)
  const name = ctx.args.NODE ?? ''
  const idx = Number(name.replace(/^node-/, ''))
  const node = state.nodes.find((x) => x.index === idx)
  if (!node)
    throw new UserError(`no node '${name}' in this devnet (have node-0..node-${state.nodes.length - 1})`)
  const lines = ctx.flags.lines as number
  for (const f of ['stdout.log', 'logs/swarmd.log']) {
    const p = join(node.repo, f)
    if (!existsSync(p)) continue
    const text = readFileSync(p, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    ctx.io.out(`==> ${p} <==\n${text}\n`)
  }
  return 0
}

const dirFlag = {
  type: 'string' as const,
  description: 'devnet directory',
  default: '.devnet',
  placeholder: 'DIR',
}

export const devnetCommand: Command = {
  name: 'devnet',
  summary: 'start, inspect and stop a local devnet of swarmd processes on 127.0.0.1',
  subcommands: [
    {
      name: 'up',
      summary: 'initialise and start N daemons and wait until they are connected',
      flags: {
        nodes: { type: 'integer', description: 'number of daemons', default: 5, min: 1, max: MAX_NODES },
        dir: dirFlag,
        'base-port': {
          type: 'integer',
          description: `libp2p port of node-0: node-i listens on P+i, its control API on P+${MAX_NODES}+i`,
          default: DEFAULT_BASE_PORT,
          min: 1024,
          max: 65535 - 2 * MAX_NODES,
        },
        bootstraps: {
          type: 'integer',
          description: 'how many nodes act as bootstrap peers',
          default: 3,
          min: 1,
        },
        k: {
          type: 'integer',
          description: 'DHT k-bucket size (small k exercises multi-hop lookups)',
          default: 8,
          min: 2,
        },
        batch: { type: 'integer', description: 'daemons started at once', default: 6, min: 1 },
        timeout: { type: 'integer', description: 'seconds to wait for readiness', default: 180, min: 1 },
      },
      run: up,
    },
    { name: 'status', summary: 'liveness and peers of every node', flags: { dir: dirFlag }, run: status },
    {
      name: 'logs',
      summary: "show a node's log",
      positionals: [{ name: 'NODE', description: 'node name, e.g. node-3', required: true }],
      flags: { dir: dirFlag, lines: { type: 'integer', description: 'lines to show', default: 100, min: 1 } },
      run: logs,
    },
    {
      name: 'down',
      summary: 'stop every node (SIGTERM, then SIGKILL stragglers)',
      flags: { dir: dirFlag },
      run: down,
    },
  ],
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const io: Io = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    isTty: Boolean(process.stdout.isTTY),
  }
  try {
    process.exitCode = await runCommand(devnetCommand, process.argv.slice(2), io)
  } catch (err) {
    io.err(`devnet: ${errorMessage(err)}\n`)
    process.exitCode = err instanceof UserError ? 2 : 1
  }
}
