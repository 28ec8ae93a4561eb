/**
 * A devnet of real `swarmd start` processes on loopback for end-to-end tests
 * and benchmarks, bootstrapped like `npm run devnet -- up` (scripts/devnet):
 * the first B nodes are bootstrap nodes (connected to each other), the rest
 * point at them (`bootstrap` in their config). Repositories are initialised
 * in-process (`initRepo`, the config `swarmd init` writes) and started in
 * parallel batches. Every node listens on an ephemeral port once; a restart
 * (after `kill -9` or SIGTERM) listens on the same port again, so the
 * addresses other nodes hold for it (agent cards, peer store) stay valid.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ConfigOverrides } from '../../src/node/config.ts'
import { NodeClient } from '../../src/node/client.ts'
import type { NodeStatus } from '../../src/node/node.ts'
import { initRepo } from '../../src/node/repo.ts'
import { Cleanup, LOOPBACK, waitFor } from './node_helpers.ts'
import { cli, type CliResult, type Daemon, startDaemon } from './process_helpers.ts'

export interface DevnetNode {
  index: number
  repo: string
  peerId: string
  /** The TCP port it listens on (fixed after the first start). */
  port: number
  /** Its multiaddr with `/p2p/`. */
  addr: string
  daemon: Daemon | undefined
}

export interface DevnetOptions {
  nodes: number
  /** @default 3 */
  bootstraps?: number
  /** Daemons started at once. @default 5 */
  batch?: number
  /** Config of node i (dotted paths, as `initRepo` overrides). */
  config?: (i: number) => ConfigOverrides
  /** Per-daemon readiness timeout. @default 120 s */
  readyTimeoutMs?: number
  /** Progress lines (stderr by default). */
  log?: (s: string) => void
  /** How long `down` waits after SIGTERM before SIGKILL. @default 15 s */
  stopGraceMs?: number
  /** Node's own flags for node i's daemon (e.g. `--cpu-prof`). */
  nodeArgs?: (i: number) => string[]
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class ProcessDevnet {
  readonly nodes: DevnetNode[] = []
  /** The daemons' own kill-on-cleanup entries (run after the graceful `down`). */
  private readonly procs = new Cleanup()
  private readonly readyTimeoutMs: number
  private readonly clients = new Map<number, NodeClient>()
  private readonly nodeArgs: DevnetOptions['nodeArgs']
  private readonly stopGraceMs: number
  readonly log: (s: string) => void

  private constructor(opts: DevnetOptions, log: (s: string) => void) {
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 120_000
    this.nodeArgs = opts.nodeArgs
    this.stopGraceMs = opts.stopGraceMs ?? 15_000
    this.log = log
  }

  /** Initialise and start the devnet; resolves once every node has a peer and a DHT routing table. */
  static async up(cleanup: Cleanup, dir: string, opts: DevnetOptions): Promise<ProcessDevnet> {
    const t0 = Date.now()
    const log = opts.log ?? ((s: string) => process.stderr.write(`devnet: ${s}\n`))
    const net = new ProcessDevnet(opts, log)
    const n = opts.nodes
    const nBoot = Math.min(opts.bootstraps ?? 3, n)
    const batch = opts.batch ?? 5
    cleanup.push(async () => {
      await net.down()
      await net.procs.run()
    })
    const base: ConfigOverrides = { ...LOOPBACK, 'dht.kBucketSize': 8 }
    const init = async (i: number, extra: ConfigOverrides) => {
      const repo = join(dir, `node-${i}`)
      const { peerId } = await initRepo(repo, {
        overrides: { ...base, ...extra, ...(opts.config?.(i) ?? {}) },
      })
      net.nodes[i] = { index: i, repo, peerId, port: 0, addr: '', daemon: undefined }
    }
    for (let i = 0; i < nBoot; i++) await init(i, {})
    await net.startBatch([...Array(nBoot).keys()])
    const bootAddrs = net.nodes.slice(0, nBoot).map((x) => x.addr)
    for (const b of net.nodes.slice(0, nBoot))
      for (const a of bootAddrs)
        if (a !== b.addr) await net.api(b.index, 'POST', '/v1/connect', { multiaddr: a })
    for (let i = nBoot; i < n; i++) await init(i, { bootstrap: bootAddrs })
    const rest = [...Array(n).keys()].slice(nBoot)
    for (let i = 0; i < rest.length; i += batch) {
      const chunk = rest.slice(i, i + batch)
      log(`starting nodes ${chunk[0]}..${chunk[chunk.length - 1]} (${Date.now() - t0} ms)`)
      await net.startBatch(chunk)
    }
    log(`${n} daemons started (${Date.now() - t0} ms); waiting for peers and DHT tables`)
    const minTable = Math.min(n - 1, 2)
    let lagging: string[] = []
    try {
      await waitFor(
        async () => {
          const all = await Promise.all(net.nodes.map((x) => net.status(x.index).catch(() => undefined)))
          lagging = all.flatMap((s, i) =>
            s && s.peers > 0 && s.dht.routingTableSize >= minTable ? [] : [`node-${i}`],
          )
          return lagging.length === 0
        },
        net.readyTimeoutMs,
        500,
      )
    } catch (err) {
      throw new Error(`devnet not connected: ${lagging.join(', ')} lagging (${(err as Error).message})`)
    }
    log(`${n} nodes ready in ${Date.now() - t0} ms`)
    return net
  }

  private async startBatch(indexes: number[]): Promise<void> {
    await Promise.all(indexes.map((i) => this.start(i)))
  }

  /** Start (or restart) node i's daemon on its port; resolves when it printed its ready line. */
  async start(i: number): Promise<Daemon> {
    const x = this.nodes[i]!
    const args = ['--repo', x.repo]
    if (x.port > 0) args.push('--listen', `/ip4/127.0.0.1/tcp/${x.port}`)
    let d: Daemon
    try {
      d = await startDaemon(this.procs, args, this.readyTimeoutMs, this.nodeArgs?.(i))
    } catch (err) {
      throw new Error(`node-${i}: ${(err as Error).message}\n${this.logTail(i)}`)
    }
    x.daemon = d
    this.clients.delete(i)
    const m = /\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/p2p\/\S+/.exec(d.ready)
    if (!m) throw new Error(`node-${i}: no loopback address in its ready line: ${d.ready}`)
    x.port = Number(m[1])
    x.addr = m[0].replace(/,$/, '')
    return d
  }

  /** `kill -9` node i's daemon and wait until it is gone. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const d = this.nodes[i]!.daemon
    if (!d) return
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill(signal)
    await d.exited
    this.nodes[i]!.daemon = undefined
    this.clients.delete(i)
  }

  /** The control-API client of node i's running daemon (daemon.json is rewritten at each start). */
  client(i: number): NodeClient {
    let c = this.clients.get(i)
    if (!c) {
      c = NodeClient.forRepo(this.nodes[i]!.repo)
      this.clients.set(i, c)
    }
    return c
  }

  api<T>(i: number, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 60_000): Promise<T> {
    return this.client(i).request<T>(method, path, body, timeoutMs)
  }

  status(i: number): Promise<NodeStatus> {
    return this.api<NodeStatus>(i, 'GET', '/v1/status', undefined, 10_000)
  }

  /** Run `swarmd ARGS... --repo <node i>`. */
  cli(i: number, args: string[], timeoutMs = 120_000): Promise<CliResult> {
    return cli([...args, '--repo', this.nodes[i]!.repo], timeoutMs)
  }

  /** Run `swarmd ARGS... --json --repo <node i>` and parse its output; throws on a non-zero exit. */
  async cliJson<T>(i: number, args: string[], timeoutMs = 120_000): Promise<T> {
    const r = await this.cli(i, [...args, '--json'], timeoutMs)
    if (r.code !== 0)
      throw new Error(`node-${i}: swarmd ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`)
    return JSON.parse(r.stdout) as T
  }

  /** Connect node i to node j (control API `/v1/connect`, what `swarmd connect` does). */
  async connect(i: number, j: number): Promise<void> {
    await this.api(i, 'POST', '/v1/connect', { multiaddr: this.nodes[j]!.addr })
  }

  /** The last lines of node i's log, for failure messages. */
  logTail(i: number, lines = 30): string {
    try {
      const text = readFileSync(join(this.nodes[i]!.repo, 'logs', 'swarmd.log'), 'utf8')
      return `--- node-${i} log ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`
    } catch {
      return `--- node-${i}: no log ---`
    }
  }

  /** Stop every running daemon (SIGTERM in parallel; SIGKILL, named in the log, after `stopGraceMs`). */
  async down(): Promise<void> {
    const live = this.nodes.filter((x) => x?.daemon)
    for (const x of live) x.daemon!.child.kill('SIGTERM')
    await Promise.race([Promise.all(live.map((x) => x.daemon!.exited)), sleep(this.stopGraceMs)])
    const stuck = live.filter((x) => x.daemon!.child.exitCode === null && x.daemon!.child.signalCode === null)
    if (stuck.length > 0)
      this.log(
        `not stopped ${this.stopGraceMs / 1000} s after SIGTERM, killed: ${stuck.map((x) => `node-${x.index}`).join(', ')}`,
      )
    for (const x of stuck) x.daemon!.child.kill('SIGKILL')
    for (const x of live) x.daemon = undefined
  }
}
